//! Pix2Pix on edges → emoji faces: what the adversarial term buys, measured on the held-out
//! pairs, for the paper's 70×70 PatchGAN and for PatchGANs sized for 64×64 images, with and
//! without the paper's jitter, against the L1-only baseline.
//!
//! `cargo run --release --example pix2pix_sweep -- [--steps N] [--only NAME,NAME] [--seeds 0,1,2]`
//!
//! Every variant trains notebook 05's CPU settings (U-Net and PatchGAN width 16, batch 16, λ = 100,
//! Adam 2e-4; the paper's dropout 0.5 unless `--dropout` says: notebook 05 trains with
//! `--dropout 0 --bf16` since 2026-12-07) from each seed (0 unless `--seeds` says) and is scored by
//! `metrics::image::translation_scores` with the emoji classifier: pixel scores, the Fréchet
//! distance of the outputs' features to the targets', sharpness, saturation and checkerboard
//! energy, and the edge contrast at the targets' edges and the noise in their flat regions,
//! each beside the targets' own, and the flat noise split by distance from the targets'
//! changes (`image::flat_noise_by_distance`). Each trained model is scored twice: as the paper
//! samples (batch statistics, dropout on: `batch`) and with running statistics, dropout off
//! (`running`).
//! Triplet grids go to `target/pix2pix_sweep/NAME-sSEED-MODE.png`.
//!
//! `l1-resize-noskips` and `patch16-resize-noskips` remove the U-Net's skip connections (the
//! paper's encoder-decoder ablation).
//!
//! `--decay` lets both learning rates fall linearly to 0 over the second half of the steps (the
//! schedule of the paper's code); `--lsgan` plays the least-squares game instead of the BCE one.
//! `--bf16` trains every variant in bf16 (`Precision::Bf16`; scored in fp32 as always), `--d-width N` sets the PatchGAN's first-layer width (16 unless given), `--batch N` the batch size (16 unless given), `--dropout P` sets the U-Net's dropout (0.5 unless given), `--lambda X` sets the L1 term's weight (100 unless given), `--lr-d X` D's learning rate (2e-4
//! unless given: the two time-scale rule when lower) and `--ema BETA` samples every variant from a
//! moving average of G's weights. All of these apply to every variant run, and name the grids
//! `-decay`, `-lsgan`, `-lambdaX`, `-lrdX`, `-emaBETA`, `-dropoutP`, `-dwidthN`, `-batchN`, `-bf16`.
//!
//! `--task vendors` trains on the same emoji drawn by Google (input) and by Twitter (target)
//! instead of edges → emoji; `--task shrunk4` on each emoji shrunk to 16×16 and enlarged back
//! (input) and the emoji itself (target), super-resolution. In both the input carries the
//! colours.
mod args;

use std::time::Instant;

use anyhow::Result;
use gans::metrics::{classifier, image};
use gans::models::unet::Upsample;
use gans::prelude::*;
use gans::train::Statistics;

/// The PatchGAN's first-layer width unless `--d-width` says (notebook 05's CPU width).
const D_WIDTH: i64 = 16;

struct Variant {
    name: &'static str,
    adversarial: bool,
    /// PatchGAN stride-2 layers: 3 is the paper's 70×70, 1 a 16×16 patch.
    layers: usize,
    jitter: bool,
    /// The decoder's upsampling: resize-convolution instead of the paper's transposed one.
    resize: bool,
    /// Sample from a moving average of G's weights (β = 0.999), as notebook 06's remedy does.
    ema: bool,
    /// The U-Net's skip connections; without them, the paper's encoder-decoder ablation.
    skips: bool,
}

fn main() -> Result<()> {
    let args = args::Args::from_env();
    let steps = args.steps(2000)?;
    let only = args.only();
    let seeds = args.seeds(&[0])?;
    let (lambda, lr_d, ema) = (
        args.real("--lambda")?,
        args.real("--lr-d")?,
        args.real("--ema")?,
    );
    let dropout = args.real("--dropout")?;
    let d_width = args.number("--d-width", D_WIDTH)?;
    let batch = usize::try_from(args.number("--batch", 16)?)
        .ok()
        .filter(|&b| b >= 1)
        .ok_or_else(|| anyhow::anyhow!("--batch: give a whole number of 1 or more"))?;
    let precision = args.precision();
    let variant = |name, adversarial, layers, jitter, resize| Variant {
        name,
        adversarial,
        layers,
        jitter,
        resize,
        ema: false,
        skips: true,
    };
    let averaged = |name, adversarial, layers| Variant {
        ema: true,
        ..variant(name, adversarial, layers, false, true)
    };
    let bottleneck = |name, adversarial| Variant {
        skips: false,
        ..variant(name, adversarial, 1, false, true)
    };
    let variants = [
        variant("l1", false, 3, false, false),
        variant("patch70", true, 3, false, false),
        variant("l1-jitter", false, 3, true, false),
        variant("patch70-jitter", true, 3, true, false),
        variant("patch34-jitter", true, 2, true, false),
        variant("patch16-jitter", true, 1, true, false),
        variant("patch16", true, 1, false, false),
        variant("l1-resize", false, 3, false, true),
        variant("patch70-resize", true, 3, false, true),
        variant("patch34-resize", true, 2, false, true),
        variant("patch16-resize", true, 1, false, true),
        averaged("l1-resize-ema", false, 1),
        averaged("patch16-resize-ema", true, 1),
        averaged("patch34-resize-ema", true, 2),
        bottleneck("l1-resize-noskips", false),
        bottleneck("patch16-resize-noskips", true),
    ];
    let dev = device();
    let faces = EmojiOptions::faces();
    let task = args.value("--task").unwrap_or_default();
    let pairs = |split| -> Result<paired::PairedDataset> {
        match task.as_str() {
            "vendors" => emoji::vendor_pairs(split, &faces, false, dev),
            "shrunk4" => paired::shrunk_to(&emoji::load(split, &faces, dev)?, 4),
            _ => paired::edges_to(&emoji::load(split, &faces, dev)?, 64),
        }
    };
    let in_channels = if task.is_empty() { 1 } else { 3 };
    let prefix = if task.is_empty() {
        String::new()
    } else {
        format!("{task}-")
    };
    let test = pairs(Split::Test)?;
    let emoji_c = classifier::emoji(dev)?;
    let decay = args.has("--decay");
    let lsgan = args.has("--lsgan");
    let tag = |name: &str, v: Option<f64>| v.map(|v| format!("-{name}{v}")).unwrap_or_default();
    let flag = |on: bool, name: &str| {
        if on {
            format!("-{name}")
        } else {
            String::new()
        }
    };
    let suffix = [
        flag(decay, "decay"),
        flag(lsgan, "lsgan"),
        tag("lambda", lambda),
        tag("lrd", lr_d),
        tag("ema", ema),
        tag("dropout", dropout),
        tag("dwidth", (d_width != D_WIDTH).then_some(d_width as f64)),
        tag("batch", (batch != 16).then_some(batch as f64)),
        flag(precision == Precision::Bf16, "bf16"),
    ]
    .concat();
    for v in variants {
        if only
            .as_ref()
            .is_some_and(|o| !o.iter().any(|n| n == v.name))
        {
            continue;
        }
        for &seed in &seeds {
            let config = TrainConfig::pix2pix(
                UnetConfig {
                    image_size: 64,
                    in_channels,
                    out_channels: 3,
                    width: 16,
                    dropout: dropout.unwrap_or(0.5),
                    upsample: if v.resize {
                        Upsample::Resize
                    } else {
                        Upsample::Transposed
                    },
                    skips: v.skips,
                },
                PatchGanConfig {
                    in_channels: in_channels + 3,
                    width: d_width,
                    layers: v.layers,
                },
            )
            .batch_size(batch)
            .adversarial(v.adversarial)
            .jitter(v.jitter)
            .seed(seed)
            .ema(ema.or(v.ema.then_some(0.999)))
            .lr_decay(decay.then(|| LinearDecay::second_half_of(steps)))
            .precision(precision)
            .quiet()
            .snapshot_every(0);
            let mut config = if lsgan {
                config.loss(GanLoss::LeastSquares)
            } else {
                config
            };
            if let Some(lambda) = lambda {
                config.l1_lambda = lambda;
            }
            if let Some(lr_d) = lr_d {
                config = config.with_remedies(&Remedies {
                    lr_d: Some(lr_d),
                    ..Remedies::default()
                })?;
            }
            let start = Instant::now();
            let train = pairs(Split::Train)?;
            let mut t = Trainer::new(config, train)?;
            t.train(steps)?;
            let seconds = start.elapsed().as_secs_f64();
            for (mode, statistics) in [
                ("batch", Statistics::Batch),
                ("running", Statistics::Running),
            ] {
                t.statistics = statistics;
                tch::manual_seed(0);
                let out = t.translate_all(&test.inputs)?;
                let scores = image::translation_scores(&out, &test.targets, Some(&emoji_c))?;
                println!(
                    "{:<16} seed {seed} {mode:<7} {seconds:>5.0} s  {scores}",
                    format!("{}{suffix}", v.name)
                );
                let bands = image::flat_noise_by_distance(&out, &test.targets)?;
                let bands: Vec<String> = bands.iter().map(ToString::to_string).collect();
                println!(
                    "    flat noise by distance from the targets' changes: {}",
                    bands.join(", ")
                );
                compare(&[&test.inputs, &out, &test.targets], 16, 4, 1)?.save(format!(
                    "target/pix2pix_sweep/{prefix}{}{suffix}-s{seed}-{mode}.png",
                    v.name
                ))?;
            }
        }
    }
    Ok(())
}
