//! CycleGAN on Google ↔ Twitter emoji, scored against the truth: each test emoji's
//! translation beside the same emoji as the other vendor draws it, which training never pairs.
//!
//! `cargo run --release --example cyclegan_sweep -- [--steps N] [--only NAME,NAME]
//!  [--seeds 0,1,2] [--size 32] [--width 32] [--batch 4] [--faces] [--bf16]`
//!
//! `--bf16` trains every run in bf16 (`Precision::Bf16`, notebook 07's precision on a CPU with
//! bf16 instructions since 2026-12-07); the translations are scored in fp32 as always.
//!
//! Variants (notebook 07's ablations): `cyclegan` (`CycleGanConfig::sized`: λ = 10, identity
//! 0.5·λ, a pool of 50, D's verdicts on 34×34 patches),
//! `no-cycle` (λ = 0: the GAN terms alone, so no identity term either), `no-identity`,
//! `no-pool`, `lambda1` and `lambda30` (the cycle weight), `patch16` (D's verdicts on 16×16
//! patches instead of 34×34, most of a 32 px picture), `identity1` (the identity term at
//! λ), `ema` and `patch16-ema` (test translations by a moving average of G's weights, β = 0.999,
//! notebook 06), and `paired`: a Pix2Pix (U-Net,
//! 16-pixel PatchGAN, λ_L1 = 100) trained on the true pairs, the upper bound an unpaired
//! method can approach. `input` scores the untranslated Google picture: the floor.
//!
//! Scores of the test translations against the true Twitter pictures: L1, SSIM, the Fréchet
//! distance of the emoji classifier's features (pictures upsampled to 64), the share whose
//! category the classifier reads the same as the truth's (content kept), and the cycle error
//! A → B → A (L1). Every run trains from the same seed's weights and batches; the learning rates
//! decay linearly to 0 over the second half (the paper's schedule). Grids input | CycleGAN |
//! no-cycle | paired | truth go to `target/cyclegan_sweep/grid-sSEED.png`.
mod args;

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::{Context, Result};
use gans::metrics::{Classifier, classifier, image};
use gans::models::cyclegan::CycleGanConfig;
use gans::prelude::*;
use gans::train::LinearDecay;

/// Scores of one translation of the test set.
struct Row {
    scores: image::TranslationScores,
    /// Share of translations whose predicted category is the truth's.
    same_category: f64,
    /// L1 of A → B → A (None where there is no way back).
    cycle: Option<f64>,
    seconds: f64,
}

fn main() -> Result<()> {
    let args = args::Args::from_env();
    let steps = args.steps(1500)?;
    let only = args.only();
    let (size, width, batch) = (
        args.number("--size", 32)?,
        args.number("--width", 32)?,
        args.number("--batch", 4)?,
    );
    let seeds = args.seeds(&[0])?;
    let precision = args.precision();
    let dev = device();
    // Every category (the classifier's ten make "content kept" a real test); `--faces` for
    // faces and people only.
    let options = match args.has("--faces") {
        true => EmojiOptions::faces(),
        false => EmojiOptions::default(),
    }
    .size(size as u32);
    let train = || emoji::vendor_sets(Split::Train, &options, dev);
    let test = emoji::vendor_sets(Split::Test, &options, dev)?;
    let truth = test.truth().context("the vendor sets are aligned")?;
    let emoji_c = classifier::emoji(dev)?;
    println!(
        "{} training emoji a side, {} test pairs, {size}×{size}, width {width}, batch {batch}, {steps} steps, {precision:?}",
        train()?.len(),
        truth.len()
    );
    let base = CycleGanConfig::sized(size, width);
    let variants: Vec<(&str, Option<CycleGanConfig>)> = vec![
        ("input", None),
        ("cyclegan", Some(base.clone())),
        (
            "no-cycle",
            Some(CycleGanConfig {
                lambda_cycle: 0.0,
                ..base.clone()
            }),
        ),
        (
            "no-identity",
            Some(CycleGanConfig {
                lambda_identity: 0.0,
                ..base.clone()
            }),
        ),
        (
            "no-pool",
            Some(CycleGanConfig {
                pool_size: 0,
                ..base.clone()
            }),
        ),
        (
            "lambda1",
            Some(CycleGanConfig {
                lambda_cycle: 1.0,
                ..base.clone()
            }),
        ),
        (
            "lambda30",
            Some(CycleGanConfig {
                lambda_cycle: 30.0,
                ..base.clone()
            }),
        ),
        (
            "patch16",
            Some(CycleGanConfig {
                d_layers: 1,
                ..base.clone()
            }),
        ),
        (
            "identity1",
            Some(CycleGanConfig {
                lambda_identity: 1.0,
                ..base.clone()
            }),
        ),
        ("ema", Some(base.clone())),
        (
            "patch16-ema",
            Some(CycleGanConfig {
                d_layers: 1,
                ..base.clone()
            }),
        ),
        ("paired", None),
    ];
    std::fs::create_dir_all("target/cyclegan_sweep")?;
    let wanted = |name: &str| only.as_ref().is_none_or(|o| o.iter().any(|n| n == name));
    for &seed in &seeds {
        let mut outputs: BTreeMap<&str, Tensor> = BTreeMap::new();
        for (name, model) in &variants {
            if !wanted(name) {
                continue;
            }
            let start = Instant::now();
            let (out, cycle) = match (*name, model) {
                ("input", _) => (truth.inputs.shallow_clone(), None),
                ("paired", _) => {
                    let config = TrainConfig::pix2pix(
                        UnetConfig {
                            image_size: size,
                            in_channels: 3,
                            out_channels: 3,
                            width,
                            dropout: 0.5,
                            upsample: gans::models::unet::Upsample::Resize,
                            skips: true,
                        },
                        PatchGanConfig {
                            in_channels: 6,
                            width,
                            layers: 1,
                        },
                    )
                    .batch_size(batch as usize)
                    .seed(seed)
                    .precision(precision)
                    .quiet()
                    .snapshot_every(0);
                    let pairs = emoji::vendor_pairs(Split::Train, &options, false, dev)?;
                    let mut t = Trainer::new(config, pairs)?;
                    t.train(steps)?;
                    tch::manual_seed(0);
                    (t.translate_all(&truth.inputs)?, None)
                }
                (_, Some(model)) => {
                    let config = TrainConfig::cyclegan(model.clone())
                        .ema(name.ends_with("ema").then_some(0.999))
                        .batch_size(batch as usize)
                        .seed(seed)
                        .lr_decay(Some(LinearDecay::second_half_of(steps)))
                        .precision(precision)
                        .quiet()
                        .snapshot_every(0);
                    let mut t = Trainer::new(config, train()?)?;
                    t.train(steps)?;
                    let out = t.translate_all(&truth.inputs)?;
                    let back = tch::no_grad(|| -> Result<Tensor> {
                        let g_ba = t.players().generator_named("g_ba")?;
                        let parts: Vec<Tensor> = out
                            .split(64, 0)
                            .iter()
                            .map(|x| g_ba.generate(x, None, false))
                            .collect();
                        Ok(Tensor::cat(&parts, 0))
                    })?;
                    let cycle = image::l1(&back, &truth.inputs)?;
                    (out, Some(cycle))
                }
                _ => anyhow::bail!("the variant {name} has no model"),
            };
            let row = Row {
                scores: image::translation_scores(&out, &truth.targets, Some(&emoji_c))?,
                same_category: same_category(&emoji_c, &out, &truth.targets)?,
                cycle,
                seconds: start.elapsed().as_secs_f64(),
            };
            println!(
                "| {name} | {seed} | {:.4} | {:.3} | {:.2} | {:.1} % | {} | {:.0} s |",
                row.scores.l1,
                row.scores.ssim,
                row.scores.fd.unwrap_or(f64::NAN),
                100.0 * row.same_category,
                row.cycle.map_or("–".into(), |c| format!("{c:.4}")),
                row.seconds
            );
            outputs.insert(name, out);
        }
        let shown: Vec<&Tensor> = ["input", "cyclegan", "no-cycle", "paired"]
            .iter()
            .filter_map(|n| outputs.get(n))
            .chain([&truth.targets])
            .collect();
        let n = 16.min(truth.len());
        let every = (truth.len() / n) as i64;
        let pick = Tensor::arange(n as i64, (Kind::Int64, dev)) * every;
        let picked: Vec<Tensor> = shown.iter().map(|t| t.index_select(0, &pick)).collect();
        let refs: Vec<&Tensor> = picked.iter().collect();
        compare(&refs, n, 2, 2)?.save(format!("target/cyclegan_sweep/grid-s{seed}.png"))?;
    }
    Ok(())
}

/// Share of `outputs` whose category the classifier reads as that of `truth` at the same index.
fn same_category(c: &Classifier, outputs: &Tensor, truth: &Tensor) -> Result<f64> {
    let (a, b) = (
        c.predict(&c.fit(outputs.shallow_clone()))?,
        c.predict(&c.fit(truth.shallow_clone()))?,
    );
    Ok(a.eq_tensor(&b)
        .to_kind(Kind::Float)
        .mean(Kind::Float)
        .double_value(&[]))
}
