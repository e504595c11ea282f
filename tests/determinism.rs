//! Same seed, same run, on the CPU.
//!
//! libtorch's random generator is one per process, and cargo runs the tests of one binary in
//! parallel threads, so any test in the same binary drawing random numbers would interleave
//! with this one. This file is its own test binary and holds a single test for that reason.

use gans::data::toy2d::{Toy2d, Toy2dKind};
use gans::models::toy::{ToyConfig, ToyDiscriminator, ToyGenerator};
use gans::optim::{Optimizer, OptimizerKind};
use gans::train::{GanLoss, update_d, update_g};
use tch::{Device, Kind, Tensor, nn};

/// `steps` rounds of the game on the ring from `seed`; the (loss_d, loss_g) of every round.
fn play(seed: u64, loss: GanLoss, steps: usize) -> Vec<(f64, f64)> {
    gans::seed(seed);
    let vs = nn::VarStore::new(Device::Cpu);
    let config = ToyConfig {
        hidden: 32,
        ..Default::default()
    };
    let generator = ToyGenerator::new(&config, vs.root() / "generator");
    let discriminator = ToyDiscriminator::new(&config, vs.root() / "discriminator");
    let kind = OptimizerKind::adam(1e-3, (0.5, 0.999));
    let (mut opt_g, mut opt_d) = (
        Optimizer::new(kind, &vs, "generator"),
        Optimizer::new(kind, &vs, "discriminator"),
    );
    let ring = Toy2d::new(Toy2dKind::Ring, Device::Cpu);
    (0..steps)
        .map(|_| {
            let real = ring.sample(64);
            let z = Tensor::randn([64, config.latent_dim], (Kind::Float, Device::Cpu));
            let fake = generator.forward(&z);
            let d = update_d(&discriminator, &mut opt_d, &real, &fake, None, loss);
            let g = update_g(&generator, &discriminator, &mut opt_g, &z, None, loss);
            (d.loss_d.double_value(&[]), g.loss_g.double_value(&[]))
        })
        .collect()
}

#[test]
fn same_seed_same_run_on_cpu() {
    // The noise itself.
    let noise = |seed| {
        gans::seed(seed);
        Tensor::randn([4], (Kind::Float, Device::Cpu))
    };
    assert!(noise(7).equal(&noise(7)));
    // A whole game.
    for loss in [
        GanLoss::NonSaturating,
        GanLoss::WassersteinGp { lambda: 10.0 },
    ] {
        let a = play(11, loss, 30);
        assert_eq!(
            a,
            play(11, loss, 30),
            "{loss:?}: the same seed gave different losses"
        );
        assert_ne!(
            a,
            play(12, loss, 30),
            "{loss:?}: another seed gave the very same run"
        );
    }
}
