//! WGAN on MNIST: which learning rates draw digits within notebook 03's CPU budget, with weight
//! clipping and, for comparison, with the gradient penalty.
//!
//! `cargo run --release --example clip_sweep -- [--steps N] [--only NAME,NAME]`
//!
//! Every variant trains from seed 0 for the same number of generator steps (n_critic = 5, batch 64)
//! and is scored like `docs/results.md` (1,000 samples, the MNIST course classifier) after each
//! quarter of the run; each final sample grid goes to `target/clip_sweep/NAME.png`.
mod args;

use std::time::Instant;

use anyhow::Result;
use gans::metrics::{self, classifier};
use gans::optim::OptimizerKind;
use gans::prelude::*;

struct Variant {
    name: &'static str,
    width: i64,
    opt: OptimizerKind,
    /// `None`: the gradient penalty (λ = 10, layer norm) instead of clipping.
    clip: Option<f64>,
}

fn main() -> Result<()> {
    let args = args::Args::from_env();
    let steps = args.steps(1200)?;
    let only = args.only();
    let rms = OptimizerKind::rmsprop;
    let adam0 = |lr| OptimizerKind::adam(lr, (0.0, 0.9));
    let variant = |name, width, opt, clip| Variant {
        name,
        width,
        opt,
        clip,
    };
    let variants = [
        variant("paper", 16, rms(5e-5), Some(0.01)),
        variant("rms2e-4", 16, rms(2e-4), Some(0.01)),
        variant("rms5e-4", 16, rms(5e-4), Some(0.01)),
        variant("w32-rms1e-4", 32, rms(1e-4), Some(0.01)),
        variant("w32-rms2e-4", 32, rms(2e-4), Some(0.01)),
        variant("rms2e-4-c0.03", 16, rms(2e-4), Some(0.03)),
        variant(
            "adam1e-4",
            16,
            OptimizerKind::adam(1e-4, (0.5, 0.9)),
            Some(0.01),
        ),
        variant("gp-paper", 16, adam0(1e-4), None),
        variant("gp-adam4e-4", 16, adam0(4e-4), None),
    ];
    let dev = device();
    let mnist_c = classifier::mnist(dev)?;
    let test = mnist::load(Split::Test, dev)?;
    for v in variants {
        if only
            .as_ref()
            .is_some_and(|o| !o.iter().any(|n| n == v.name))
        {
            continue;
        }
        let model = |norm| {
            ModelConfig::Dcgan(DcganConfig {
                image_size: 28,
                channels: 1,
                width: v.width,
                norm,
                ..DcganConfig::default()
            })
        };
        let config = match v.clip {
            Some(c) => TrainConfig::wgan(model(Norm::Batch)).clip(Some(c)),
            None => TrainConfig::wgan_gp(model(Norm::Layer)),
        };
        let config = config
            .optimizers(v.opt, v.opt)
            .seed(0)
            .quiet()
            .snapshot_every(0);
        let start = Instant::now();
        let mut t = Trainer::new(config, mnist::load(Split::Train, dev)?)?;
        let mut line = String::new();
        anyhow::ensure!(
            steps >= 4,
            "--steps {steps}: give at least 4 (the run is scored in quarters)"
        );
        for chunk in 0..4 {
            t.train(if chunk == 3 {
                steps - 3 * (steps / 4)
            } else {
                steps / 4
            })?;
            let s = metrics::evaluate(&t, &mnist_c, t.data().images()?, &test, 1000)?;
            let k = s.coverage.histogram.len();
            line += &format!(
                " | {}: FD {:.1} classes {}/{k}",
                if chunk == 3 {
                    steps
                } else {
                    (chunk + 1) * (steps / 4)
                },
                s.fd,
                k - s.coverage.missing
            );
        }
        let h = t.history();
        println!(
            "{:<16} {:>5.0} s W {:.4}{line}",
            v.name,
            start.elapsed().as_secs_f64(),
            h.recent(&h.wasserstein, 100)
        );
        t.sample_grid(64)?
            .save(format!("target/clip_sweep/{}.png", v.name))?;
    }
    Ok(())
}
