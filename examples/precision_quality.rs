//! bf16 against fp32: the quality of a training run at equal steps and at equal wall time.
//!
//! `cargo run --release --example precision_quality -- [--only dcgan,mlp,pix2pix] [--seeds 0,1,2] [--short]`
//!
//! `--short` divides every step count by 100 (a check that the example runs, in seconds).
//!
//! - dcgan: the fast-EMA preset (notebook 06) of notebook 02's Fashion-MNIST DCGAN (width 48,
//!   batch 64), scored at 1,800 and 3,000 steps on 1,000 samples against the test split
//!   (`metrics::report::score_samples`: FD, KID, classes, precision and recall).
//! - mlp: notebook 01's fully connected GAN on MNIST (`MlpFlavour::Learner`, Adam 2e-4, batch
//!   64), scored at 6,000 and 12,000 steps (the notebook's fp32 count on the CPU) on 1,000 samples against
//!   the test split, as the DCGAN.
//! - pix2pix: notebook 05's edges → emoji faces (U-Net and 16×16 PatchGAN at width 16, batch 16,
//!   resize decoder), scored at 2,000 steps on the 486 held-out pairs with running statistics,
//!   dropout off (`metrics::image::translation_scores`).
//!
//! Each seed trains one fp32 run and one bf16 run. The fp32 run is scored at each step count,
//! noting its training time there (scoring excluded). The bf16 run is scored at the same step
//! counts ("steps"), and again when its own training time reaches the fp32 run's at that count
//! ("time": what a learner with the same minutes gets). Both train in chunks of 20 steps. Prints
//! one line per score and then the tables of docs/results.md.
mod args;

use std::fmt::Write as _;
use std::time::Instant;

use anyhow::Result;
use gans::metrics::{self, classifier, image};
use gans::prelude::*;
use gans::train::{Statistics, TrainData};

const CHUNK: usize = 20;

/// One score of one run: the row's label, the steps and seconds it had, the numbers.
struct Scored {
    label: String,
    steps: usize,
    seconds: f64,
    numbers: Vec<f64>,
}

/// Trains `trainer` in chunks, calling `score` at each of `steps` and, if given, when its
/// training time passes each of `seconds`. Returns (mode, checkpoint index, steps, seconds,
/// numbers) for every score, in the order they happened.
#[allow(clippy::type_complexity)]
fn train_and_score(
    trainer: &mut Trainer,
    steps: &[usize],
    seconds: Option<&[f64]>,
    score: &mut dyn FnMut(&mut Trainer) -> Result<Vec<f64>>,
) -> Result<Vec<(&'static str, usize, usize, f64, Vec<f64>)>> {
    let mut out = Vec::new();
    let mut step_done = vec![false; steps.len()];
    let mut time_done = vec![seconds.is_none(); steps.len()];
    let mut took = 0.0;
    while step_done.iter().chain(&time_done).any(|d| !d) {
        let start = Instant::now();
        trainer.train(CHUNK)?;
        took += start.elapsed().as_secs_f64();
        let at = trainer.steps_done();
        for (i, &s) in steps.iter().enumerate() {
            if !step_done[i] && at >= s {
                step_done[i] = true;
                out.push(("steps", i, at, took, score(trainer)?));
            }
            if let Some(limit) = seconds
                && !time_done[i]
                && took >= limit[i]
            {
                time_done[i] = true;
                out.push(("time", i, at, took, score(trainer)?));
            }
        }
    }
    Ok(out)
}

fn mean_and_range(values: &[f64]) -> (f64, f64, f64) {
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let lo = values.iter().cloned().fold(f64::INFINITY, f64::min);
    let hi = values.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    (mean, lo, hi)
}

/// The markdown table of one model: per label, each number's mean and per-seed values, and
/// for every bf16 row whether its mean lies within the fp32 seeds' range at the same steps.
fn table(rows: &[Scored], names: &[&str], fp32_of: impl Fn(&str) -> String) -> String {
    let mut labels: Vec<&str> = Vec::new();
    for r in rows {
        if !labels.contains(&r.label.as_str()) {
            labels.push(&r.label);
        }
    }
    let mut t = format!(
        "| run | steps | s | {} | bf16 mean within fp32 range |\n| --- | ---: | ---: |{} --- |\n",
        names.join(" | "),
        " ---: |".repeat(names.len())
    );
    for label in labels {
        let of: Vec<&Scored> = rows.iter().filter(|r| r.label == label).collect();
        let steps: Vec<String> = of.iter().map(|r| r.steps.to_string()).collect();
        let secs = mean_and_range(&of.iter().map(|r| r.seconds).collect::<Vec<_>>()).0;
        let fp32: Vec<&Scored> = rows.iter().filter(|r| r.label == fp32_of(label)).collect();
        let mut cells = Vec::new();
        let mut within = Vec::new();
        for (k, name) in names.iter().enumerate() {
            let values: Vec<f64> = of.iter().map(|r| r.numbers[k]).collect();
            let (mean, _, _) = mean_and_range(&values);
            let per_seed = values
                .iter()
                .map(|v| format!("{v:.4}"))
                .collect::<Vec<_>>()
                .join(", ");
            cells.push(format!("{mean:.4} ({per_seed})"));
            if !label.starts_with("fp32") && !fp32.is_empty() {
                let (_, lo, hi) =
                    mean_and_range(&fp32.iter().map(|r| r.numbers[k]).collect::<Vec<_>>());
                if mean < lo || mean > hi {
                    within.push(format!("{name} outside {lo:.4}–{hi:.4}"));
                }
            }
        }
        let verdict = if label.starts_with("fp32") {
            String::new()
        } else if within.is_empty() {
            "all".to_string()
        } else {
            within.join("; ")
        };
        writeln!(
            t,
            "| {label} | {} | {secs:.0} | {} | {verdict} |",
            steps.join(", "),
            cells.join(" | ")
        )
        .unwrap();
    }
    t
}

fn run_model(
    model: &str,
    seeds: &[u64],
    config: &TrainConfig,
    data: impl Fn() -> Result<TrainData>,
    checkpoints: &[usize],
    score: &mut dyn FnMut(&mut Trainer) -> Result<Vec<f64>>,
) -> Result<Vec<Scored>> {
    let mut rows = Vec::new();
    for &seed in seeds {
        let mut fp32 = Trainer::new(config.clone().seed(seed), data()?)?;
        let scored = train_and_score(&mut fp32, checkpoints, None, score)?;
        let mut times = Vec::new();
        for (_, i, steps, seconds, numbers) in scored {
            eprintln!("[{model}] seed {seed} fp32 {steps} steps {seconds:.0} s: {numbers:.4?}");
            times.push(seconds);
            rows.push(Scored {
                label: format!("fp32, {} steps", checkpoints[i]),
                steps,
                seconds,
                numbers,
            });
        }
        let mut bf16 = Trainer::new(
            config.clone().seed(seed).precision(Precision::Bf16),
            data()?,
        )?;
        let scored = train_and_score(&mut bf16, checkpoints, Some(&times), score)?;
        for (mode, i, steps, seconds, numbers) in scored {
            eprintln!(
                "[{model}] seed {seed} bf16 ({mode}) {steps} steps {seconds:.0} s: {numbers:.4?}"
            );
            let label = match mode {
                "steps" => format!("bf16, {} steps", checkpoints[i]),
                _ => format!("bf16, fp32's time at {}", checkpoints[i]),
            };
            rows.push(Scored {
                label,
                steps,
                seconds,
                numbers,
            });
        }
    }
    Ok(rows)
}

/// The fp32 row a bf16 row is compared with: the same step count.
fn fp32_row(label: &str) -> String {
    let count = label.rsplit(' ').nth(1).map_or("", |s| s);
    let count = if label.contains("time at") {
        label.rsplit(' ').next().unwrap_or("")
    } else {
        count
    };
    format!("fp32, {count} steps")
}

/// An unconditional image GAN's fp32 and bf16 runs over `seeds`, each scored at `checkpoints` by
/// FD, KID, classes covered, precision and recall of 1,000 samples against the test split: the
/// markdown table.
fn sampled_model(
    model: &str,
    seeds: &[u64],
    config: &TrainConfig,
    (train, test, c): (&Dataset, &Dataset, &classifier::Classifier),
    checkpoints: &[usize],
) -> Result<String> {
    let mut score = |t: &mut Trainer| -> Result<Vec<f64>> {
        let (samples, _) = metrics::report::samples_with_labels(t, 1000)?;
        let s = metrics::report::score_samples(c, &samples, None, train, test)?;
        let classes = (s.coverage.histogram.len() - s.coverage.missing) as f64;
        Ok(vec![
            s.fd,
            s.kid.mean,
            classes,
            s.fidelity.precision,
            s.fidelity.recall,
        ])
    };
    let rows = run_model(
        model,
        seeds,
        config,
        || Ok(train.share().into()),
        checkpoints,
        &mut score,
    )?;
    Ok(table(
        &rows,
        &["FD", "KID", "classes", "precision", "recall"],
        fp32_row,
    ))
}

fn main() -> Result<()> {
    let args = args::Args::from_env();
    let seeds = args.seeds(&[0, 1, 2])?;
    let only = args.only();
    let wanted = |name: &str| only.as_ref().is_none_or(|o| o.iter().any(|n| n == name));
    let dev = device();
    let scale = |steps: usize| {
        if args.has("--short") {
            steps / 100
        } else {
            steps
        }
    };
    let mut report = String::new();
    if wanted("dcgan") {
        let train = fashion_mnist::load(Split::Train, dev)?;
        let test = fashion_mnist::load(Split::Test, dev)?;
        let c = classifier::fashion_mnist(dev)?;
        let model = ModelConfig::Dcgan(DcganConfig {
            image_size: 28,
            channels: 1,
            width: 48,
            ..DcganConfig::default()
        });
        let config = TrainConfig::fast_ema(model)
            .batch_size(64)
            .quiet()
            .snapshot_every(0);
        let table = sampled_model(
            "dcgan",
            &seeds,
            &config,
            (&train, &test, &c),
            &[scale(1800), scale(3000)],
        )?;
        writeln!(
            report,
            "DCGAN-28 fast-EMA on Fashion-MNIST, seeds {seeds:?}\n\n{table}"
        )?;
    }
    if wanted("mlp") {
        let train = mnist::load(Split::Train, dev)?;
        let test = mnist::load(Split::Test, dev)?;
        let c = classifier::mnist(dev)?;
        // Notebook 01's MNIST run (its cell "mnist_config"), without the snapshots.
        let model = ModelConfig::Mlp(MlpConfig {
            flavour: MlpFlavour::Learner,
            latent_dim: 100,
            image_shape: [1, 28, 28],
            n_classes: 0,
            ..MlpConfig::default()
        });
        let config = TrainConfig::gan(model)
            .lr(2e-4, 2e-4)
            .batch_size(64)
            .quiet()
            .snapshot_every(0);
        let table = sampled_model(
            "mlp",
            &seeds,
            &config,
            (&train, &test, &c),
            &[scale(6000), scale(12000)],
        )?;
        writeln!(
            report,
            "MLP GAN on MNIST (notebook 01), seeds {seeds:?}\n\n{table}"
        )?;
    }
    if wanted("pix2pix") {
        let faces = EmojiOptions::faces();
        let test = paired::edges_to(&emoji::load(Split::Test, &faces, dev)?, 64)?;
        let c = classifier::emoji(dev)?;
        let config = args::notebook05_pix2pix().quiet().snapshot_every(0);
        let mut score = |t: &mut Trainer| -> Result<Vec<f64>> {
            t.statistics = Statistics::Running;
            tch::manual_seed(0);
            let out = t.translate_all(&test.inputs);
            t.statistics = Statistics::Batch;
            let out = out?;
            let s = image::translation_scores(&out, &test.targets, Some(&c))?;
            Ok(vec![
                s.l1,
                s.ssim,
                s.fd.unwrap_or(f64::NAN),
                s.edges.0,
                s.flat_noise.0,
            ])
        };
        let rows = run_model(
            "pix2pix",
            &seeds,
            &config,
            || Ok(paired::edges_to(&emoji::load(Split::Train, &faces, dev)?, 64)?.into()),
            &[scale(2000)],
            &mut score,
        )?;
        writeln!(
            report,
            "Pix2Pix edges → emoji faces, seeds {seeds:?}\n\n{}",
            table(
                &rows,
                &["L1", "SSIM", "FD", "edge contrast", "flat noise"],
                fp32_row
            )
        )?;
    }
    println!("{report}");
    Ok(())
}
