//! How long and how wide each notebook trains: one named set of sizes per notebook, picked for
//! the machine by one line.
//!
//! A notebook's settings cell starts with `let sizes = Budget::for_this_machine().dcgan();`,
//! prints the plain values it got, and a learner edits any of them in that cell
//! (`let sizes = DcganSizes { steps_28: 3_000, ..sizes };`). Three budgets exist:
//!
//! - **CPU**: what a laptop trains in the notebook's stated minutes. The committed outputs.
//! - **GPU**: wider networks, larger batches, longer runs; only notebook 02 also changes what
//!   it trains (64×64 faces instead of 32×32 smileys). Picked on a CUDA GPU, or anywhere with
//!   `GANS_GPU_SIZED=1` (`GANS_GPU_SIZED=0` keeps the CPU sizes on a GPU).
//! - **smoke**: `make test` sets `GANS_SMOKE=1` for step counts that run every cell in seconds,
//!   at the CPU's or the GPU's widths.
//!
//! Each budget also carries the precision its networks train in: bf16 where the CPU multiplies it
//! in hardware (`avx512_bf16` or AMX, [`precision::fastest`]), fp32 elsewhere and on a GPU (until
//! one has run the crate's bf16). A bf16 step is faster, so notebooks 02–04 and 01's MNIST run
//! train more steps in bf16 on the CPU: each count was raised by less than the headless speed-up of
//! its own models at its own sizes (docs/performance.md; inside a notebook on a shared VM the gain
//! measured anywhere from 2 % to a third from one run to the next). Notebooks 05 and 07 train in
//! bf16 at fp32's step counts (in fp32 each ran close to its 15 minutes). Notebook 01's ring stays
//! fp32 (its networks are too small for bf16 to pay). Notebook 06 keeps fp32: its remedies'
//! three-seed evidence in docs/results.md was measured in fp32. A learner who wants fp32 anyway
//! writes `Budget::for_this_machine().with_precision(Precision::Fp32)` and gets fp32's step counts.
//!
//! The structs hold only the numbers (and 02's dataset choice) that differ between budgets; the
//! rest of a notebook's settings stay plain values in its cell.

use std::fmt;

use crate::data::emoji::EmojiOptions;
use crate::precision::{self, Precision};

/// Which sizes the notebooks train at (see the module's documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// Wider networks, larger batches and longer runs, for a CUDA GPU.
    pub gpu_sized: bool,
    /// The step counts of `make test`'s smoke runs: every cell in seconds.
    pub smoke: bool,
    /// What the networks train in; the CPU budget trains more steps in bf16.
    pub precision: Precision,
}

impl Budget {
    /// The sizes of the committed outputs.
    pub const CPU: Budget = Budget {
        gpu_sized: false,
        smoke: false,
        precision: Precision::Fp32,
    };
    /// The sizes for a CUDA GPU.
    pub const GPU: Budget = Budget {
        gpu_sized: true,
        smoke: false,
        precision: Precision::Fp32,
    };

    /// GPU-sized on a CUDA GPU or with `GANS_GPU_SIZED=1`, smoke-sized with `GANS_SMOKE=1`, in
    /// bf16 where this machine's device multiplies it in hardware ([`precision::fastest`]).
    pub fn for_this_machine() -> Budget {
        Budget {
            gpu_sized: crate::gpu_sized(),
            smoke: crate::smoke(),
            precision: precision::fastest(crate::device::device()),
        }
    }

    /// The same budget in another precision, with that precision's step counts.
    pub fn with_precision(self, precision: Precision) -> Budget {
        Budget { precision, ..self }
    }

    /// A CPU budget's step count: `fp32`'s, or `bf16`'s (more, in the same minutes).
    fn cpu(self, fp32: usize, bf16: usize) -> usize {
        match self.precision {
            Precision::Fp32 => fp32,
            Precision::Bf16 => bf16,
        }
    }

    fn sized<T>(self, cpu: T, gpu: T) -> T {
        if self.gpu_sized { gpu } else { cpu }
    }

    fn steps(self, smoke: usize, cpu: usize, gpu: usize) -> usize {
        if self.smoke {
            smoke
        } else {
            self.sized(cpu, gpu)
        }
    }

    /// Notebook 01: the ring of Gaussians and the MLP GAN on MNIST.
    pub fn basic_gan(self) -> BasicGanSizes {
        BasicGanSizes {
            ring_steps: self.steps(300, 6_000, 6_000),
            settle_steps: self.steps(100, 2_000, 2_000),
            check_steps: self.steps(50, 300, 300),
            mnist_steps: self.steps(60, self.cpu(12_000, 14_000), 30_000),
            precision: self.precision,
        }
    }

    /// Notebook 02: DCGAN on 28×28 grey images, and on colour emoji.
    pub fn dcgan(self) -> DcganSizes {
        let smileys = EmojiOptions {
            categories: vec!["Smileys & Emotion".into()],
            ..EmojiOptions::default()
        };
        let colour_size = self.sized(32, 64);
        DcganSizes {
            width_28: self.sized(48, 64),
            batch_28: self.sized(64, 128),
            steps_28: self.steps(30, self.cpu(1_800, 2_200), 6_000),
            colour_size,
            width_colour: self.sized(32, 64),
            batch_colour: self.sized(32, 128),
            steps_colour: self.steps(10, self.cpu(2_000, 2_400), 10_000),
            snapshot_every: if self.smoke { 10 } else { 250 },
            emoji_options: self
                .sized(smileys, EmojiOptions::faces())
                .size(colour_size as u32),
            precision: self.precision,
        }
    }

    /// Notebook 03: the WGAN critics on MNIST.
    pub fn wgan(self) -> WganSizes {
        WganSizes {
            width: self.sized(16, 64),
            steps: self.steps(16, self.cpu(1_200, 1_400), 10_000),
            snapshot_every: if self.smoke { 2 } else { 100 },
            precision: self.precision,
        }
    }

    /// Notebook 04: the conditional DCGAN on MNIST and Fashion-MNIST.
    pub fn cgan(self) -> CganSizes {
        CganSizes {
            width: self.sized(32, 64),
            batch: self.sized(64, 128),
            steps: self.steps(20, self.cpu(2_000, 2_400), 6_000),
            fashion_steps: self.steps(20, self.cpu(1_500, 1_800), 6_000),
            snapshot_every: if self.smoke { 10 } else { 250 },
            precision: self.precision,
        }
    }

    /// Notebook 05: Pix2Pix on edges → emoji and on super-resolution ×4.
    pub fn pix2pix(self) -> Pix2PixSizes {
        Pix2PixSizes {
            width: self.sized(16, 64),
            batch: self.sized(16, 32),
            steps: self.steps(12, 2_000, 10_000),
            sharpen_steps: self.steps(4, 2_000, 10_000),
            precision: self.precision,
        }
    }

    /// Notebook 07: CycleGAN on Google ↔ Twitter emoji, with a Pix2Pix on the true pairs.
    pub fn cyclegan(self) -> CycleGanSizes {
        CycleGanSizes {
            image_size: self.sized(32, 64),
            width: self.sized(32, 64),
            batch: self.sized(4, 8),
            steps: self.steps(10, 2_000, 10_000),
            check_steps: 3,
            snapshot_every: if self.smoke { 2 } else { 100 },
            precision: self.precision,
        }
    }

    /// Notebook 06: the remedies on Fashion-MNIST and on emoji faces.
    pub fn remedies(self) -> RemedySizes {
        RemedySizes {
            width: self.sized(48, 64),
            batch: self.sized(64, 128),
            steps: self.steps(20, 1_800, 6_000),
            check_steps: self.steps(5, 30, 30),
            n_scored: if self.smoke { 100 } else { 1_000 },
            fast_lr: 5e-3,
            fast_steps: self.steps(20, 1_200, 6_000),
            ring_steps: self.steps(20, 8_000, 8_000),
            few_images: 100,
            few_steps: self.steps(20, 4_800, 6_000),
        }
    }
}

impl fmt::Display for Budget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let size = if self.gpu_sized {
            "GPU-sized (a CUDA GPU, or GANS_GPU_SIZED=1)"
        } else {
            "CPU-sized"
        };
        let precision = match self.precision {
            Precision::Fp32 => "fp32",
            Precision::Bf16 => "bf16 (this CPU multiplies bfloat16 in hardware: a faster step)",
        };
        if self.smoke {
            write!(
                f,
                "{size}, {precision}, smoke-test step counts (GANS_SMOKE=1)"
            )
        } else {
            write!(f, "{size}, {precision}")
        }
    }
}

/// Notebook 01's step counts.
#[derive(Clone, Debug, PartialEq)]
pub struct BasicGanSizes {
    /// Steps of the MLP GAN on the ring of eight Gaussians (and of each variant). The ring's
    /// networks are too small for bf16 to pay: they train in fp32 whatever the budget.
    pub ring_steps: usize,
    /// Steps after the ring run, to watch it settle.
    pub settle_steps: usize,
    /// Steps of your own step against the crate's.
    pub check_steps: usize,
    /// Steps of the MLP GAN on MNIST.
    pub mnist_steps: usize,
    /// What the MLP GAN on MNIST trains in (the budget's; see [`Budget::precision`]).
    pub precision: Precision,
}

/// Notebook 02's sizes.
#[derive(Clone, Debug, PartialEq)]
pub struct DcganSizes {
    /// Feature maps at full resolution, for 28×28 grey images.
    pub width_28: i64,
    pub batch_28: usize,
    pub steps_28: usize,
    /// Side of the colour emoji.
    pub colour_size: i64,
    pub width_colour: i64,
    pub batch_colour: usize,
    pub steps_colour: usize,
    /// Steps between two frames of the fixed-noise animation.
    pub snapshot_every: usize,
    /// Which emoji the colour part trains on, at `colour_size`.
    pub emoji_options: EmojiOptions,
    /// What the networks train in (the budget's; see [`Budget::precision`]).
    pub precision: Precision,
}

/// Notebook 03's sizes.
#[derive(Clone, Debug, PartialEq)]
pub struct WganSizes {
    /// Feature maps of the critic and the generator at full resolution.
    pub width: i64,
    pub steps: usize,
    pub snapshot_every: usize,
    /// What the networks train in (the budget's; see [`Budget::precision`]).
    pub precision: Precision,
}

/// Notebook 04's sizes.
#[derive(Clone, Debug, PartialEq)]
pub struct CganSizes {
    pub width: i64,
    pub batch: usize,
    /// Steps on MNIST.
    pub steps: usize,
    /// Steps on Fashion-MNIST.
    pub fashion_steps: usize,
    pub snapshot_every: usize,
    /// What the networks train in (the budget's; see [`Budget::precision`]).
    pub precision: Precision,
}

/// Notebook 05's sizes.
#[derive(Clone, Debug, PartialEq)]
pub struct Pix2PixSizes {
    /// Feature maps of the U-Net's first layer and of the PatchGAN's.
    pub width: i64,
    pub batch: usize,
    /// Steps on edges → emoji.
    pub steps: usize,
    /// Steps on super-resolution ×4 (each of two runs: L1 only, L1 + GAN).
    pub sharpen_steps: usize,
    /// What the networks train in (the budget's; see [`Budget::precision`]). Notebook 05 keeps
    /// its step counts in bf16: in fp32 it already ran close to its 15 minutes, and the faster
    /// step brings it back inside them.
    pub precision: Precision,
}

/// Notebook 07's sizes.
#[derive(Clone, Debug, PartialEq)]
pub struct CycleGanSizes {
    /// Side of the emoji (the CycleGAN's ResNet has 3 blocks at 32, 6 at 64).
    pub image_size: i64,
    /// Feature maps of G's and D's first layers.
    pub width: i64,
    pub batch: usize,
    /// Steps of each run (the CycleGAN, its ablation, the paired upper bound).
    pub steps: usize,
    /// Steps of your own step against the crate's.
    pub check_steps: usize,
    pub snapshot_every: usize,
    /// What the networks train in (the budget's; see [`Budget::precision`]). Like notebook 05,
    /// notebook 07 keeps its step counts in bf16: in fp32 it ran close to its 15 minutes.
    pub precision: Precision,
}

/// Notebook 06's sizes.
#[derive(Clone, Debug, PartialEq)]
pub struct RemedySizes {
    /// The Fashion-MNIST DCGAN's width, batch and steps per run.
    pub width: i64,
    pub batch: usize,
    pub steps: usize,
    /// Steps of your own step against the crate's.
    pub check_steps: usize,
    /// Samples scored per run.
    pub n_scored: usize,
    /// A learning rate at which the DCGAN without batch norm in D diverges, and steps per run
    /// there.
    pub fast_lr: f64,
    pub fast_steps: usize,
    /// Steps of each toy GAN on the ring (mode collapse), in fp32 whatever the budget (as in
    /// notebook 01).
    pub ring_steps: usize,
    /// Small data: how many training images, and steps per run.
    pub few_images: usize,
    pub few_steps: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smoke_runs_are_short_and_keep_the_budgets_widths() {
        let smoke = Budget {
            gpu_sized: true,
            smoke: true,
            precision: Precision::Fp32,
        };
        assert_eq!(smoke.dcgan().width_28, Budget::GPU.dcgan().width_28);
        assert!(smoke.dcgan().steps_28 < Budget::CPU.dcgan().steps_28 / 10);
        assert!(Budget::GPU.wgan().steps > Budget::CPU.wgan().steps);
        assert_eq!(
            Budget::CPU.dcgan().emoji_options.categories,
            ["Smileys & Emotion"]
        );
        assert_eq!(Budget::CPU.to_string(), "CPU-sized, fp32");
    }

    #[test]
    fn a_bf16_cpu_budget_trains_more_steps_and_says_so() {
        let bf16 = Budget::CPU.with_precision(Precision::Bf16);
        assert!(bf16.to_string().starts_with("CPU-sized, bf16"));
        assert!(bf16.dcgan().steps_28 > Budget::CPU.dcgan().steps_28);
        assert!(bf16.wgan().steps > Budget::CPU.wgan().steps);
        assert!(bf16.cgan().fashion_steps > Budget::CPU.cgan().fashion_steps);
        assert_eq!(bf16.cgan().precision, Precision::Bf16);
        // notebooks 05 and 07 train in bf16 at fp32's counts; 06 stays fp32
        let pix2pix = bf16.pix2pix();
        assert_eq!(pix2pix.precision, Precision::Bf16);
        assert_eq!(
            Pix2PixSizes {
                precision: Precision::Fp32,
                ..pix2pix
            },
            Budget::CPU.pix2pix()
        );
        let cyclegan = bf16.cyclegan();
        assert_eq!(cyclegan.precision, Precision::Bf16);
        assert_eq!(
            CycleGanSizes {
                precision: Precision::Fp32,
                ..cyclegan
            },
            Budget::CPU.cyclegan()
        );
        assert_eq!(bf16.remedies(), Budget::CPU.remedies());
        // 01: more MNIST steps in bf16, the ring's counts unchanged
        let basic = bf16.basic_gan();
        assert_eq!(basic.precision, Precision::Bf16);
        assert!(basic.mnist_steps > Budget::CPU.basic_gan().mnist_steps);
        assert_eq!(
            BasicGanSizes {
                precision: Precision::Fp32,
                mnist_steps: Budget::CPU.basic_gan().mnist_steps,
                ..basic
            },
            Budget::CPU.basic_gan()
        );
        // The widths, batches and the GPU's and smoke's step counts do not move.
        assert_eq!(bf16.dcgan().width_28, Budget::CPU.dcgan().width_28);
        let gpu_bf16 = Budget::GPU.with_precision(Precision::Bf16);
        assert_eq!(gpu_bf16.dcgan().steps_28, Budget::GPU.dcgan().steps_28);
        let smoke = Budget {
            smoke: true,
            ..bf16
        };
        assert_eq!(smoke.cgan().steps, 20);
    }
}
