//! The 8-Gaussian ring with the toy GAN, through the same Trainer the notebooks use: prints the
//! mode report as training goes.
//!
//! `cargo run --example toy_ring -- [steps] [pack] [seed] [lr] [batch] [loss] [settle] [mbstd]`
//! where loss is `ns` (non-saturating, the default), `minimax`, `wgan-gp`, and the last
//! `settle` steps run at a tenth of the learning rate; `mbstd` 1 adds the minibatch standard
//! deviation layer to D.
use std::time::Instant;

use anyhow::Result;
use gans::models::toy::ToyConfig;
use gans::prelude::*;
use gans::train::{GanLoss, TrainConfig, Trainer};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize, default: f64| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let steps = arg(1, 8000.0) as usize;
    let loss = match args.get(6).map(String::as_str) {
        None | Some("ns") => GanLoss::NonSaturating,
        Some("minimax") => GanLoss::Minimax,
        Some("wgan-gp") => GanLoss::WassersteinGp { lambda: 0.1 },
        Some(other) => anyhow::bail!("unknown loss {other:?}: use ns, minimax or wgan-gp"),
    };
    let config = TrainConfig::toy(ToyConfig {
        pack: arg(2, 2.0) as usize,
        minibatch_std: arg(8, 0.0) == 1.0,
        ..Default::default()
    })
    .seed(arg(3, 0.0) as u64)
    .lr(arg(4, 1e-3), arg(4, 1e-3))
    .batch_size(arg(5, 256.0) as usize)
    .loss(loss)
    .quiet();
    let ring = Toy2d::new(Toy2dKind::Ring, Device::Cpu);
    let mut trainer = Trainer::new(config, ring)?;
    let start = Instant::now();
    let chunk = 1000.min(steps.max(1));
    let settle = steps - (arg(7, 0.0) as usize).min(steps);
    while trainer.steps_done() < steps {
        if trainer.steps_done() == settle {
            trainer.set_lr(arg(4, 1e-3) / 10.0, arg(4, 1e-3) / 10.0)?;
        }
        trainer.train(chunk.min(steps - trainer.steps_done()))?;
        println!(
            "{} | {} | {:.1} s",
            trainer.progress_line(trainer.steps_done() as f64 / start.elapsed().as_secs_f64()),
            trainer.mode_report(2500)?,
            start.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
