//! Trains every notebook's model with a fixed seed and step budget, scores it with
//! `gans::metrics`, and writes the table to `docs/results.md` (`make results`).
//!
//! `cargo run --release --example results -- [--only NAME,NAME] [--out FILE] [--seed N] [--contiguous]`
//!
//! `--only` takes model names (`dcgan`) or dataset names (`letters`); `--seed` trains every model
//! from another seed (the spread between seeds is the error bar of every row); `--contiguous`
//! turns the presets' channels-last conv weights off.
//! The budgets are the notebooks' CPU defaults (GPU: the same, so rows stay comparable).
mod args;

use std::fmt::Write as _;
use std::time::Instant;

use anyhow::{Result, bail};
use gans::metrics::{self, classifier, image};
use gans::prelude::*;
use gans::train::TrainData;

struct Row {
    model: &'static str,
    dataset: &'static str,
    steps: usize,
    seconds: f64,
    scores: String,
}

fn dcgan28(width: i64, n_classes: i64, norm: Norm) -> ModelConfig {
    ModelConfig::Dcgan(DcganConfig {
        image_size: 28,
        channels: 1,
        width,
        norm,
        n_classes,
        ..DcganConfig::default()
    })
}

/// What every run shares: its seed (`--seed`, default 0) and whether conv weights are
/// channels-last (the presets' default; `--contiguous` turns it off).
#[derive(Clone, Copy)]
struct Settings {
    seed: u64,
    channels_last: bool,
}

impl Settings {
    /// Trains `config` on `data` for `steps` and returns the trainer.
    fn train(
        self,
        config: TrainConfig,
        data: impl Into<TrainData>,
        steps: usize,
    ) -> Result<Trainer> {
        let config = config
            .seed(self.seed)
            .channels_last(self.channels_last)
            .quiet()
            .snapshot_every(0);
        let mut trainer = Trainer::new(config, data)?;
        trainer.train(steps)?;
        Ok(trainer)
    }
}

fn image_scores(
    trainer: &Trainer,
    classifier: &metrics::Classifier,
    test: &Dataset,
) -> Result<String> {
    let s = metrics::evaluate(trainer, classifier, trainer.data().images()?, test, 1000)?;
    let k = s.coverage.histogram.len();
    let mut text = format!(
        "FD {:.2} (real {:.2}); KID {} (real {}); classes {}/{k} (real {}/{k}); classifier score {:.2} (real {:.2}); confident {:.0} % (real {:.0} %)",
        s.fd,
        s.fd_floor,
        s.kid,
        s.kid_floor,
        k - s.coverage.missing,
        k - s.real_coverage.missing,
        s.coverage.classifier_score,
        s.real_coverage.classifier_score,
        100.0 * s.coverage.confident,
        100.0 * s.real_coverage.confident
    );
    if let Some(accuracy) = s.label_accuracy {
        write!(text, "; label accuracy {:.1} %", 100.0 * accuracy)?;
    }
    Ok(text)
}

fn main() -> Result<()> {
    let args = args::Args::from_env();
    let value = |flag: &str| args.value(flag);
    let only = args.only();
    let out = value("--out").unwrap_or_else(|| "docs/results.md".into());
    let seed: u64 = match value("--seed") {
        Some(v) => v
            .parse()
            .map_err(|_| anyhow::anyhow!("--seed {v:?}: give a whole number such as 1"))?,
        None => 0,
    };
    let channels_last = !args.has("--contiguous");
    let settings = Settings {
        seed,
        channels_last,
    };
    // A model's name (`dcgan`) or a dataset's (`letters`) picks rows.
    let wanted = |name: &str, dataset: &str| {
        only.as_ref().is_none_or(|o| {
            o.iter()
                .any(|n| n == name || n.eq_ignore_ascii_case(dataset))
        })
    };
    let dev = device();
    let start_all = Instant::now();
    let mut rows: Vec<Row> = Vec::new();
    let mut run = |name: &'static str,
                   dataset: &'static str,
                   steps: usize,
                   f: &mut dyn FnMut() -> Result<String>|
     -> Result<()> {
        if !wanted(name, dataset) {
            return Ok(());
        }
        eprintln!("[results] {name} on {dataset}, {steps} steps …");
        let start = Instant::now();
        let scores = f()?;
        let seconds = start.elapsed().as_secs_f64();
        eprintln!("[results] {name}: {scores} ({seconds:.0} s)");
        rows.push(Row {
            model: name,
            dataset,
            steps,
            seconds,
            scores,
        });
        Ok(())
    };

    run("toy-gan", "8-Gaussian ring", 8000, &mut || {
        let config = TrainConfig::toy(ToyConfig::default()).lr(1e-3, 1e-3);
        let mut t = settings.train(config, Toy2d::new(Toy2dKind::Ring, Device::Cpu), 6000)?;
        t.set_lr(1e-4, 1e-4)?;
        t.train(2000)?;
        Ok(t.mode_report(2500)?.to_string())
    })?;
    let mnist_test = mnist::load(Split::Test, dev)?;
    let mnist_c = classifier::mnist(dev)?;
    run("mlp-gan", "MNIST", 6000, &mut || {
        let model = ModelConfig::Mlp(MlpConfig::default());
        let t = settings.train(
            TrainConfig::gan(model).batch_size(64),
            mnist::load(Split::Train, dev)?,
            6000,
        )?;
        image_scores(&t, &mnist_c, &mnist_test)
    })?;
    run("dcgan", "MNIST", 1800, &mut || {
        let config = TrainConfig::gan(dcgan28(48, 0, Norm::Batch)).batch_size(64);
        let t = settings.train(config, mnist::load(Split::Train, dev)?, 1800)?;
        image_scores(&t, &mnist_c, &mnist_test)
    })?;
    run("dcgan", "Fashion-MNIST", 1800, &mut || {
        let config = TrainConfig::gan(dcgan28(48, 0, Norm::Batch)).batch_size(64);
        let t = settings.train(config, fashion_mnist::load(Split::Train, dev)?, 1800)?;
        image_scores(
            &t,
            &classifier::fashion_mnist(dev)?,
            &fashion_mnist::load(Split::Test, dev)?,
        )
    })?;
    run("dcgan", "letters", 1800, &mut || {
        let config = TrainConfig::gan(dcgan28(48, 0, Norm::Batch)).batch_size(64);
        let options = LetterOptions::default();
        let t = settings.train(config, letters::load(Split::Train, &options, dev)?, 1800)?;
        image_scores(
            &t,
            &classifier::letters(dev)?,
            &letters::load(Split::Test, &options, dev)?,
        )
    })?;
    // Notebook 03 trains both WGANs at 4 × their papers' learning rates (the papers' rates are
    // for 100,000-step runs; at 1,200 steps clipping at 5e-5 draws no digits). The papers' own
    // rates keep a row each.
    for (name, lr) in [
        ("wgan (clipping)", 2e-4),
        ("wgan (clipping) at the paper's lr", 5e-5),
    ] {
        run(name, "MNIST", 1200, &mut || {
            let t = settings.train(
                TrainConfig::wgan(dcgan28(16, 0, Norm::Batch)).lr(lr, lr),
                mnist::load(Split::Train, dev)?,
                1200,
            )?;
            image_scores(&t, &mnist_c, &mnist_test)
        })?;
    }
    for (name, lr) in [("wgan-gp", 4e-4), ("wgan-gp at the paper's lr", 1e-4)] {
        run(name, "MNIST", 1200, &mut || {
            let t = settings.train(
                TrainConfig::wgan_gp(dcgan28(16, 0, Norm::Layer)).lr(lr, lr),
                mnist::load(Split::Train, dev)?,
                1200,
            )?;
            image_scores(&t, &mnist_c, &mnist_test)
        })?;
    }
    run("cgan (one-hot)", "MNIST", 2000, &mut || {
        let config = TrainConfig::gan(dcgan28(32, 10, Norm::Batch)).batch_size(64);
        let t = settings.train(config, mnist::load(Split::Train, dev)?, 2000)?;
        image_scores(&t, &mnist_c, &mnist_test)
    })?;
    // Notebook 05's settings: resize-convolution decoder, 16×16 PatchGAN, batch 16.
    run("pix2pix", "edges→emoji faces", 2000, &mut || {
        let faces = EmojiOptions::faces();
        let test = paired::edges_to(&emoji::load(Split::Test, &faces, dev)?, 64)?;
        let emoji_c = classifier::emoji(dev)?;
        let mut text = String::new();
        for adversarial in [false, true] {
            let config = args::notebook05_pix2pix().adversarial(adversarial);
            let t = settings.train(
                config,
                paired::edges_to(&emoji::load(Split::Train, &faces, dev)?, 64)?,
                2000,
            )?;
            tch::manual_seed(0);
            let out = t.translate_all(&test.inputs)?;
            let s = image::translation_scores(&out, &test.targets, Some(&emoji_c))?;
            // `|` would end the markdown table's cell.
            let s = s.to_string().replace(" | ", "; ");
            write!(
                text,
                "{}**{}**: {s}",
                if adversarial { "; " } else { "" },
                if adversarial { "L1 + GAN" } else { "L1 only" }
            )?;
        }
        Ok(text)
    })?;
    if rows.is_empty() {
        bail!("--only matched no model");
    }

    let mut md = String::new();
    writeln!(md, "# Results\n")?;
    writeln!(
        md,
        "Every notebook's model, trained with seed {seed} and the step budget of its notebook's CPU defaults, then"
    )?;
    writeln!(
        md,
        "scored with `gans::metrics`. Device: {}. Written by `make results`",
        describe(dev).replacen("using the", "the", 1)
    )?;
    writeln!(
        md,
        "(`cargo run --release --example results`) in {:.0} s. Conv weights {}.\n",
        start_all.elapsed().as_secs_f64(),
        if channels_last {
            "channels-last (the presets' default)"
        } else {
            "contiguous (`--contiguous`)"
        }
    )?;
    writeln!(
        md,
        "FD is the Fréchet distance and KID the kernel distance (mean ± spread over subsets) on the"
    )?;
    writeln!(
        md,
        "penultimate features of the crate's own classifier for that dataset, not Inception's, between"
    )?;
    writeln!(
        md,
        "1,000 samples and 1,000 test images. **real** is the same score for 1,000 training images: the"
    )?;
    writeln!(
        md,
        "floor no generator beats. Classes: classes that received at least a tenth of their fair share"
    )?;
    writeln!(
        md,
        "of the samples; classifier score: exp E[KL(p(y|x) ‖ p(y))], at most the number of classes;\n\
         confident: share of samples the classifier files under one class with p ≥ 0.9 (readable ones).\n"
    )?;
    writeln!(md, "| model | dataset | steps | wall time | scores |")?;
    writeln!(md, "| --- | --- | ---: | ---: | --- |")?;
    for r in &rows {
        writeln!(
            md,
            "| {} | {} | {} | {:.0} s | {} |",
            r.model, r.dataset, r.steps, r.seconds, r.scores
        )?;
    }
    writeln!(
        md,
        "\nClassifiers (test accuracy): MNIST {:.2} %, Fashion-MNIST {:.2} %, letters {:.2} %.",
        100.0 * mnist_c.meta.test_accuracy,
        100.0 * classifier::fashion_mnist(dev)?.meta.test_accuracy,
        100.0 * classifier::letters(dev)?.meta.test_accuracy
    )?;
    md.push_str(&reading_below_the_table(&out));
    if let Some(dir) = std::path::Path::new(&out).parent() {
        std::fs::create_dir_all(dir)?;
    }
    gans::files::write_atomic(std::path::Path::new(&out), md.as_bytes())?;
    eprintln!("[results] wrote {out}");
    Ok(())
}

/// The hand-written part of an existing results file: everything after its line of classifier
/// accuracies (the reading of the table, the remedies' tables merged from `make results` runs).
/// A new table keeps it; read it against the new numbers.
fn reading_below_the_table(out: &str) -> String {
    std::fs::read_to_string(out)
        .ok()
        .and_then(|old| {
            let rest = &old[old.find("\nClassifiers (test accuracy)")? + 1..];
            Some(rest[rest.find('\n')? + 1..].to_string())
        })
        .map(|reading| format!("\n{}", reading.trim_start_matches('\n')))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::reading_below_the_table;

    #[test]
    fn a_new_table_keeps_the_reading_below_the_old_one() {
        let dir = std::env::temp_dir().join(format!("gans-results-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("results.md");
        let out = out.to_str().unwrap();
        assert_eq!(
            reading_below_the_table(out),
            "",
            "no old file, nothing to keep"
        );
        std::fs::write(
            out,
            "# Results\n\n| old table |\n\nClassifiers (test accuracy): MNIST 97 %.\n\nThe reading.\n\n## The remedies\n\n| rows |\n",
        )
        .unwrap();
        assert_eq!(
            reading_below_the_table(out),
            "\nThe reading.\n\n## The remedies\n\n| rows |\n"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
