//! Quality: on the 8-Gaussian ring (σ = 0.02), the non-saturating GAN covers at least 7 of the
//! 8 modes with at least 80 % high-quality samples, within a CPU budget of well under a minute.
//!
//! The recipe, measured: the toy networks with PacGAN packing of 2 (the plain discriminator
//! collapsed to 1–3 modes in every setting tried), Adam 1e-3, batch 256, 6,000 steps, then
//! 2,000 steps at a tenth of the learning rate to let the samples settle into the modes.
//! Seeds 0–3 all reached 8/8 modes with 90–92 % high-quality samples in about 25 s here
//! (`cargo run --example toy_ring -- 8000 2 SEED 1e-3 256 ns 2000`).
//!
//! Its own test binary: libtorch's random generator is one per process.

use std::time::Instant;

use gans::data::toy2d::{Toy2d, Toy2dKind};
use gans::models::toy::ToyConfig;
use gans::train::{TrainConfig, Trainer};
use tch::Device;

#[test]
fn non_saturating_gan_covers_the_ring() {
    let start = Instant::now();
    let ring = Toy2d::new(Toy2dKind::Ring, Device::Cpu);
    let config = TrainConfig::toy(ToyConfig::default()).quiet();
    let mut trainer = Trainer::new(config, ring).unwrap();
    trainer.train(6000).unwrap();
    trainer.set_lr(1e-4, 1e-4).unwrap();
    trainer.train(2000).unwrap();
    let report = trainer.mode_report(2500).unwrap();
    println!(
        "8-Gaussian ring, non-saturating GAN, {} steps: {report} ({:.1} s on {:?})",
        trainer.steps_done(),
        start.elapsed().as_secs_f64(),
        trainer.device()
    );
    assert!(
        report.modes_covered >= 7 && report.high_quality >= 0.8,
        "the ring was not covered: {report}; per mode {:?}",
        report.per_mode
    );
}
