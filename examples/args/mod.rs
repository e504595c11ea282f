//! The command line of the measuring examples (`results`, `clip_sweep`, `pix2pix_sweep`):
//! `--flag value` pairs and the `--only NAME,NAME` filter they share, and the settings more than
//! one of them trains. Each example compiles its own copy and uses part of it.
#![allow(dead_code)]

use gans::prelude::*;

/// Notebook 05's Pix2Pix on edges → emoji (1 → 3 channels, 64×64): U-Net and 16×16 PatchGAN at
/// width 16, resize decoder, no dropout (the paper's 0.5 measured worse at this budget:
/// docs/results.md), batch 16.
pub fn notebook05_pix2pix() -> TrainConfig {
    TrainConfig::pix2pix(
        UnetConfig {
            image_size: 64,
            in_channels: 1,
            out_channels: 3,
            width: 16,
            dropout: 0.0,
            upsample: Upsample::Resize,
            skips: true,
        },
        PatchGanConfig {
            in_channels: 4,
            width: 16,
            layers: 1,
        },
    )
    .batch_size(16)
}

/// The process's arguments.
pub struct Args(Vec<String>);

impl Args {
    pub fn from_env() -> Self {
        Args(std::env::args().collect())
    }

    /// The value after `flag`, if the flag is given.
    pub fn value(&self, flag: &str) -> Option<String> {
        let i = self.0.iter().position(|a| a == flag)?;
        self.0.get(i + 1).cloned()
    }

    /// `Precision::Bf16` with `--bf16`, else fp32: what a sweep trains in.
    pub fn precision(&self) -> Precision {
        if self.has("--bf16") {
            Precision::Bf16
        } else {
            Precision::Fp32
        }
    }

    /// Whether a bare `flag` is given.
    pub fn has(&self, flag: &str) -> bool {
        self.0.iter().any(|a| a == flag)
    }

    /// `--only`'s comma-separated names (`None`: everything).
    pub fn only(&self) -> Option<Vec<String>> {
        self.value("--only")
            .map(|v| v.split(',').map(str::to_string).collect())
    }

    /// `--steps N`, or `default`; a clear error for anything but a whole number.
    pub fn steps(&self, default: usize) -> anyhow::Result<usize> {
        match self.value("--steps") {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| anyhow::anyhow!("--steps {v:?}: give a whole number such as 1200")),
        }
    }

    /// `--seeds 0,1,2`, or `default`; a clear error for anything but whole numbers.
    pub fn seeds(&self, default: &[u64]) -> anyhow::Result<Vec<u64>> {
        match self.value("--seeds") {
            None => Ok(default.to_vec()),
            Some(v) => v
                .split(',')
                .map(|s| s.trim().parse())
                .collect::<Result<_, _>>()
                .map_err(|_| anyhow::anyhow!("--seeds {v:?}: give whole numbers such as 0,1,2")),
        }
    }

    /// `flag X` as a number, if the flag is given; a clear error for anything but a number.
    pub fn real(&self, flag: &str) -> anyhow::Result<Option<f64>> {
        self.value(flag)
            .map(|v| {
                v.parse()
                    .map_err(|_| anyhow::anyhow!("{flag} {v:?}: give a number such as 0.5"))
            })
            .transpose()
    }

    /// `flag N`, or `default`; a clear error for anything but a whole number.
    pub fn number(&self, flag: &str, default: i64) -> anyhow::Result<i64> {
        match self.value(flag) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| anyhow::anyhow!("{flag} {v:?}: give a whole number")),
        }
    }
}
