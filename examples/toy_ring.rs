//! The 8-Gaussian ring with the toy GAN: prints the mode report as training goes.
//! `cargo run --example toy_ring -- [steps] [lr] [batch] [seed] [latent_dim] [layers]`
use std::time::Instant;

use anyhow::Result;
use gans::models::toy::{ToyConfig, ToyDiscriminator, ToyGenerator};
use gans::optim::{Optimizer, OptimizerKind};
use gans::prelude::*;
use gans::train::{GanLoss, update_d, update_g};
use tch::nn;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize, default: f64| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let (steps, lr, batch, seed) = (
        arg(1, 3000.0) as usize,
        arg(2, 1e-3),
        arg(3, 256.0) as i64,
        arg(4, 0.0) as u64,
    );
    gans::seed(seed);
    let dev = Device::Cpu;
    let ring = Toy2d::new(Toy2dKind::Ring, dev);
    let config = ToyConfig {
        latent_dim: arg(5, 16.0) as i64,
        layers: arg(6, 3.0) as usize,
        ..Default::default()
    };
    let vs = nn::VarStore::new(dev);
    let generator = ToyGenerator::new(&config, vs.root() / "generator");
    let discriminator = ToyDiscriminator::new(&config, vs.root() / "discriminator");
    let mut opt_g = Optimizer::new(OptimizerKind::adam(lr, (0.5, 0.999)), &vs, "generator");
    let mut opt_d = Optimizer::new(OptimizerKind::adam(lr, (0.5, 0.999)), &vs, "discriminator");
    let start = Instant::now();
    for step in 1..=steps {
        let real = ring.sample(batch as usize);
        let z = Tensor::randn([batch, config.latent_dim], (Kind::Float, dev));
        let fake = generator.forward(&z);
        let d = update_d(
            &discriminator,
            &mut opt_d,
            &real,
            &fake,
            None,
            GanLoss::NonSaturating,
        );
        let g = update_g(
            &generator,
            &discriminator,
            &mut opt_g,
            &z,
            None,
            GanLoss::NonSaturating,
        );
        if step % 500 == 0 {
            let samples = tch::no_grad(|| {
                generator.forward(&Tensor::randn(
                    [2500, config.latent_dim],
                    (Kind::Float, dev),
                ))
            });
            println!(
                "step {step}: loss_d {:.3} loss_g {:.3} D(x) {:.2} D(G(z)) {:.2} | {} | {:.1} s",
                d.loss_d.double_value(&[]),
                g.loss_g.double_value(&[]),
                d.d_real.double_value(&[]),
                d.d_fake.double_value(&[]),
                ring.report(&samples)?,
                start.elapsed().as_secs_f64()
            );
        }
    }
    Ok(())
}
