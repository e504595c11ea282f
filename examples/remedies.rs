//! Notebook 06's ablation: the paper's DCGAN, each remedy alone, and the course preset, each
//! trained from several seeds on the same data and budget, scored with `gans::metrics`.
//!
//! `cargo run --release --example remedies -- [--data fashion|mnist|emoji] [--seeds 0,1,2]
//! [--steps N] [--only ROW,ROW] [--lr R] [--batch B] [--train-images N] [--out FILE]`
//!
//! - fashion / mnist: notebook 02's 28×28 DCGAN (width 48, batch 64), 1,800 steps.
//! - emoji: the small-data row, the emoji faces (Smileys & Emotion, People & Body) at 32×32
//!   (width 32, batch 32),
//!   2,000 steps, scored with the emoji classifier (samples and real images upsampled to 64×64).
//!
//! - `--lr R`: every row that does not set its own rates trains both players at `R` (where the
//!   paper's DCGAN fails, to see which remedy keeps it training).
//! - `--batch B`: every row trains with batches of `B` (the small-data runs of notebook 06).
//! - `--train-images N`: train on the first `N` training images only (small data). The table
//!   is still scored against the test split beside the floor of the whole training split, and
//!   then also gives D's mean verdict on its `N` training reals and on `N` held-out reals
//!   (`gans::metrics::overfitting`): the gap between them is how far D has memorised its data.
//!
//! Prints each run as it ends and writes a markdown table (mean ± spread over the seeds) to
//! `--out` (default `target/remedies-DATA.md`).
mod args;

use std::fmt::Write as _;
use std::time::Instant;

use anyhow::{Result, bail};
use gans::data::emoji::{self, EmojiOptions};
use gans::metrics::{self, classifier};
use gans::prelude::*;

/// One row of the ablation: a name and what it changes in the paper's config.
#[derive(Default)]
struct Row {
    name: &'static str,
    /// Start from `TrainConfig::fast_ema` instead of the paper's settings.
    fast_ema: bool,
    /// Learning rates (G, D).
    lr: Option<(f64, f64)>,
    /// D without batch norm (spectral norm replaces it, as in SN-GAN).
    no_batch_norm: bool,
    remedies: Remedies,
}

impl Row {
    /// The paper's config (seed, batch and quiet settings included) with this row's changes.
    fn config(&self, paper: &TrainConfig) -> Result<TrainConfig> {
        let mut config = if self.fast_ema {
            TrainConfig::fast_ema(paper.model.clone())
                .batch_size(paper.batch_size)
                .seed(paper.seed)
                .quiet()
                .snapshot_every(0)
        } else {
            paper.clone()
        };
        if let Some((g, d)) = self.lr {
            config = config.lr(g, d);
        }
        if self.no_batch_norm {
            config = without_batch_norm(config)?;
        }
        config.with_remedies(&self.remedies)
    }
}

fn rows() -> Vec<Row> {
    let remedy = |name, remedies| Row {
        name,
        remedies,
        ..Default::default()
    };
    let lr = |name, g, d| Row {
        name,
        lr: Some((g, d)),
        ..Default::default()
    };
    let off = Remedies::default();
    vec![
        Row {
            name: "paper DCGAN",
            ..Default::default()
        },
        Row {
            name: "fast-EMA preset (lr 1e-3 + EMA 0.999)",
            fast_ema: true,
            ..Default::default()
        },
        remedy(
            "EMA of G (β 0.999)",
            Remedies {
                ema: Some(0.999),
                ..off
            },
        ),
        remedy(
            "EMA of G (β 0.99)",
            Remedies {
                ema: Some(0.99),
                ..off
            },
        ),
        lr("TTUR (G 1e-4, D 4e-4)", 1e-4, 4e-4),
        lr("TTUR (G 2e-4, D 6e-4)", 2e-4, 6e-4),
        lr("G faster (G 4e-4, D 2e-4)", 4e-4, 2e-4),
        lr("lr 4e-4 (both)", 4e-4, 4e-4),
        lr("lr 6e-4 (both)", 6e-4, 6e-4),
        lr("lr 8e-4 (both)", 8e-4, 8e-4),
        lr("lr 1e-3 (both)", 1e-3, 1e-3),
        Row {
            name: "D without batch norm",
            no_batch_norm: true,
            ..Default::default()
        },
        Row {
            name: "spectral norm in D (no batch norm)",
            no_batch_norm: true,
            remedies: Remedies {
                spectral_norm: true,
                ..off
            },
            ..Default::default()
        },
        remedy("hinge loss", Remedies { hinge: true, ..off }),
        Row {
            name: "R1 (γ 1, no batch norm in D)",
            no_batch_norm: true,
            remedies: Remedies {
                r1_gamma: Some(1.0),
                ..off
            },
            ..Default::default()
        },
        remedy(
            "minibatch std",
            Remedies {
                minibatch_std: true,
                ..off
            },
        ),
        remedy(
            "DiffAugment",
            Remedies {
                diff_augment: true,
                ..off
            },
        ),
        remedy(
            "label smoothing (0.9)",
            Remedies {
                real_label: Some(0.9),
                ..off
            },
        ),
        Row {
            name: "combo: lr 4e-4 + label smoothing",
            lr: Some((4e-4, 4e-4)),
            remedies: Remedies {
                real_label: Some(0.9),
                ..off
            },
            ..Default::default()
        },
        Row {
            name: "combo: lr 4e-4 + minibatch std",
            lr: Some((4e-4, 4e-4)),
            remedies: Remedies {
                minibatch_std: true,
                ..off
            },
            ..Default::default()
        },
        Row {
            name: "combo: EMA 0.999 + lr 6e-4",
            lr: Some((6e-4, 6e-4)),
            remedies: Remedies {
                ema: Some(0.999),
                ..off
            },
            ..Default::default()
        },
        Row {
            name: "combo: EMA 0.999 + lr 8e-4",
            lr: Some((8e-4, 8e-4)),
            remedies: Remedies {
                ema: Some(0.999),
                ..off
            },
            ..Default::default()
        },
        Row {
            name: "fast-EMA + DiffAugment",
            fast_ema: true,
            remedies: Remedies {
                diff_augment: true,
                ..off
            },
            ..Default::default()
        },
    ]
}

/// D with no normalisation (spectral norm replaces batch norm, as in SN-GAN).
fn without_batch_norm(mut config: TrainConfig) -> Result<TrainConfig> {
    match &mut config.model {
        ModelConfig::Dcgan(d) => d.norm = Norm::None,
        _ => bail!("the ablation trains DCGANs"),
    }
    Ok(config)
}

/// Mean and sample standard deviation.
fn mean_spread(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = if values.len() > 1 {
        values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (mean, var.sqrt())
}

/// The data, the paper's config for it, its budget, and how to score a trainer.
struct Setup {
    name: &'static str,
    /// What `--lr` and `--train-images` changed, for the table's title.
    name_suffix: String,
    /// With `--train-images`: the images trained on (scores still use the whole `train`).
    trained_on: Option<Dataset>,
    train: Dataset,
    test: Dataset,
    classifier: metrics::Classifier,
    config: TrainConfig,
    steps: usize,
}

fn setup(name: &str, dev: Device) -> Result<Setup> {
    let dcgan = |size: i64, channels: i64, width: i64| DcganConfig {
        image_size: size,
        channels,
        width,
        ..DcganConfig::default()
    };
    Ok(match name {
        "fashion" | "mnist" => {
            let (train, test, classifier) = if name == "fashion" {
                (
                    fashion_mnist::load(Split::Train, dev)?,
                    fashion_mnist::load(Split::Test, dev)?,
                    classifier::fashion_mnist(dev)?,
                )
            } else {
                (
                    mnist::load(Split::Train, dev)?,
                    mnist::load(Split::Test, dev)?,
                    classifier::mnist(dev)?,
                )
            };
            Setup {
                name: if name == "fashion" {
                    "Fashion-MNIST"
                } else {
                    "MNIST"
                },
                name_suffix: String::new(),
                trained_on: None,
                train,
                test,
                classifier,
                config: TrainConfig::gan(dcgan(28, 1, 48)).batch_size(64),
                steps: 1800,
            }
        }
        "emoji" => {
            // The Google artwork alone: about 2,200 training images, the small-data case.
            let options = EmojiOptions::faces().vendors(&[Vendor::Google]).size(32);
            Setup {
                name: "emoji faces, Google (32×32)",
                name_suffix: String::new(),
                trained_on: None,
                train: emoji::load(Split::Train, &options, dev)?,
                test: emoji::load(Split::Test, &options, dev)?,
                classifier: classifier::emoji(dev)?,
                config: TrainConfig::gan(dcgan(32, 3, 32)).batch_size(32),
                steps: 2000,
            }
        }
        other => bail!("--data {other:?}: use fashion, mnist or emoji"),
    })
}

fn main() -> Result<()> {
    let args = args::Args::from_env();
    let data = args.value("--data").unwrap_or_else(|| "fashion".into());
    let seeds = args.seeds(&[0, 1, 2])?;
    let only = args.only();
    let out = args
        .value("--out")
        .unwrap_or_else(|| format!("target/remedies-{data}.md"));
    let dev = device();
    let mut s = setup(&data, dev)?;
    if let Some(v) = args.value("--lr") {
        let lr: f64 = v
            .parse()
            .ok()
            .filter(|r: &f64| *r > 0.0 && r.is_finite())
            .ok_or_else(|| anyhow::anyhow!("--lr {v:?}: give a learning rate such as 2e-3"))?;
        s.config = s.config.lr(lr, lr);
        s.name_suffix = format!(", lr {lr:e}");
    }
    if let Some(v) = args.value("--batch") {
        let b: usize = v
            .parse()
            .ok()
            .filter(|&b| b >= 2)
            .ok_or_else(|| anyhow::anyhow!("--batch {v:?}: give a batch size of 2 or more"))?;
        s.config = s.config.batch_size(b);
        s.name_suffix.push_str(&format!(", batch {b}"));
    }
    let few = match args.value("--train-images") {
        Some(v) => {
            let k: usize = v
                .parse()
                .ok()
                .filter(|&k| k >= 64 && k <= s.train.len())
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "--train-images {v:?}: give a count from 64 to {}",
                        s.train.len()
                    )
                })?;
            let first = Tensor::arange(k as i64, (Kind::Int64, Device::Cpu));
            s.trained_on = Some(s.train.select(&first));
            s.name_suffix
                .push_str(&format!(", first {k} training images"));
            Some(k)
        }
        None => None,
    };
    let steps = args.steps(s.steps)?;
    // Scored as every other row: 1,000 samples against the test split, beside the floor of
    // 1,000 images of the whole training split.
    let n = 1000.min(s.test.len()).min(s.train.len());
    let trained_on = s.trained_on.as_ref().unwrap_or(&s.train);
    let mut table = if few.is_some() {
        "| remedy | FD | FD per seed | KID | classes | D(x) train | D(x) held-out | gap | s per run |\n\
             | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n"
    } else {
        "| remedy | FD | FD per seed | KID | classes | s per run |\n\
             | --- | ---: | --- | ---: | ---: | ---: |\n"
    }
    .to_string();
    let mut floor = None;
    for row in rows() {
        if only
            .as_ref()
            .is_some_and(|o| !o.iter().any(|n| row.name.starts_with(n.as_str())))
        {
            continue;
        }
        let (mut fd, mut kid, mut classes, mut seconds) = (vec![], vec![], vec![], vec![]);
        let (mut d_train, mut d_held) = (vec![], vec![]);
        for &seed in &seeds {
            let config = row.config(&s.config.clone().seed(seed).quiet().snapshot_every(0))?;
            let start = Instant::now();
            let mut trainer = Trainer::new(config, trained_on.share())?;
            trainer.train(steps)?;
            let took = start.elapsed().as_secs_f64();
            let (samples, _) = metrics::report::samples_with_labels(&trainer, n)?;
            // 32×32 emoji are scored upsampled to the emoji classifier's 64×64.
            let scores =
                metrics::report::score_samples(&s.classifier, &samples, None, &s.train, &s.test)?;
            let k = scores.coverage.histogram.len();
            let gap = match few {
                Some(k) => {
                    let gap = metrics::overfitting::reals_gap(&trainer, trained_on, &s.test, k)?;
                    d_train.push(gap.train);
                    d_held.push(gap.held_out);
                    format!(", {gap}")
                }
                None => String::new(),
            };
            eprintln!(
                "[remedies] {}{} · {} · seed {seed}: FD {:.2}, KID {:.3}, classes {}/{k}{gap}, {took:.0} s",
                s.name,
                s.name_suffix,
                row.name,
                scores.fd,
                scores.kid.mean,
                k - scores.coverage.missing
            );
            floor.get_or_insert((scores.fd_floor, scores.kid_floor.mean));
            fd.push(scores.fd);
            kid.push(scores.kid.mean);
            classes.push((k - scores.coverage.missing) as f64);
            seconds.push(took);
        }
        let ((fd_m, fd_s), (kid_m, kid_s)) = (mean_spread(&fd), mean_spread(&kid));
        let classes_m = mean_spread(&classes).0;
        let secs = mean_spread(&seconds).0;
        let gap = if few.is_some() {
            let gaps: Vec<f64> = d_train.iter().zip(&d_held).map(|(a, b)| a - b).collect();
            let (g_m, g_s) = mean_spread(&gaps);
            format!(
                " {:.3} | {:.3} | {g_m:+.3} ± {g_s:.3} |",
                mean_spread(&d_train).0,
                mean_spread(&d_held).0
            )
        } else {
            String::new()
        };
        writeln!(
            table,
            "| {} | {fd_m:.2} ± {fd_s:.2} | {} | {kid_m:.3} ± {kid_s:.3} | {classes_m:.1} |{gap} {secs:.0} |",
            row.name,
            fd.iter()
                .map(|v| format!("{v:.2}"))
                .collect::<Vec<_>>()
                .join(", ")
        )?;
    }
    if let Some((fd, kid)) = floor {
        writeln!(
            table,
            "| real data (the floor) | {fd:.2} | | {kid:.3} | |{} |",
            if few.is_some() { " | | |" } else { "" }
        )?;
    }
    let text = format!(
        "{}{} ({} training images) · {steps} steps · seeds {seeds:?} · {n} samples against {n} \
         test images\n\n{table}",
        s.name,
        s.name_suffix,
        trained_on.len()
    );
    println!("{text}");
    std::fs::write(&out, text)?;
    eprintln!("[remedies] wrote {out}");
    Ok(())
}
