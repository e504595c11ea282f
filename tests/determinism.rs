//! Same seed, same run; and a resumed run is the run that never stopped, bit for bit, on the CPU.
//!
//! libtorch's random generator is one per process, and cargo runs the tests of one binary in
//! parallel threads, so two tests drawing random numbers at once would interleave. This file is
//! its own test binary, and its tests take a lock so that they run one at a time.

use std::sync::Mutex;

mod fixtures;
use fixtures::{pairs, patterns};

use gans::data::toy2d::{Toy2d, Toy2dKind};
use gans::models::dcgan::DcganConfig;
use gans::models::mlp::MlpConfig;
use gans::models::patchgan::PatchGanConfig;
use gans::models::pix2pix::Pix2PixConfig;
use gans::models::toy::ToyConfig;
use gans::models::unet::UnetConfig;
use gans::models::{Norm, is_channels_last};
use gans::precision::Precision;
use gans::train::{GanLoss, ModelConfig, Remedies, TrainConfig, TrainData, Trainer};
use tch::{Device, Kind, Tensor};

/// Builds a fresh copy of a data set (every copy identical).
type MakeData = fn() -> TrainData;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn ring() -> TrainData {
    Toy2d::new(Toy2dKind::Ring, Device::Cpu).into()
}

fn toy(loss: GanLoss, seed: u64) -> TrainConfig {
    TrainConfig::toy(ToyConfig {
        hidden: 32,
        ..Default::default()
    })
    .loss(loss)
    .batch_size(64)
    .seed(seed)
    .log_every(3)
    .snapshot_every(4)
    .quiet()
}

fn small_dcgan(loss: GanLoss) -> TrainConfig {
    let model = ModelConfig::Dcgan(DcganConfig {
        width: 8,
        n_classes: 3,
        norm: if loss.is_wasserstein() {
            Norm::Layer
        } else {
            Norm::Batch
        },
        ..DcganConfig::mnist()
    });
    TrainConfig::gan(model)
        .loss(loss)
        .n_critic(if loss.is_wasserstein() { 2 } else { 1 })
        .batch_size(16) // 5 batches per epoch: the runs below cross epochs mid-way
        .seed(3)
        .log_every(3)
        .snapshot_every(4)
        .quiet()
}

fn small_pix2pix() -> TrainConfig {
    let generator = UnetConfig {
        image_size: 64,
        width: 4,
        ..Default::default()
    };
    let discriminator = PatchGanConfig {
        width: 4,
        ..Default::default()
    };
    TrainConfig {
        batch_size: 4,
        n_fixed: 4,
        log_every: 3,
        snapshot_every: 4,
        print_every: 0,
        print_seconds: 0.0,
        ..TrainConfig::pix2pix(generator, discriminator)
    }
}

/// Asserts two trainers hold the same run: weights, history and snapshots, bit for bit.
fn assert_same_run(a: &Trainer, b: &Trainer, what: &str) {
    assert_eq!(a.steps_done(), b.steps_done(), "{what}: steps");
    for ((name, x), (_, y)) in a.variables().iter().zip(b.variables()) {
        assert!(x.equal(&y), "{what}: `{name}` differs");
    }
    assert_eq!(a.history(), b.history(), "{what}: history");
    assert_eq!(
        a.snapshots().len(),
        b.snapshots().len(),
        "{what}: snapshots"
    );
    for (s, t) in a.snapshots().iter().zip(b.snapshots()) {
        assert!(
            s.samples.equal(&t.samples),
            "{what}: snapshot at {}",
            s.step
        );
    }
}

#[test]
fn same_seed_same_run_on_cpu() {
    let _lock = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    for loss in [
        GanLoss::NonSaturating,
        GanLoss::WassersteinGp { lambda: 10.0 },
    ] {
        let run = |seed| {
            let mut trainer = Trainer::new(toy(loss, seed), ring()).unwrap();
            trainer.train(30).unwrap();
            trainer
        };
        let (a, b) = (run(11), run(11));
        assert_same_run(&a, &b, &format!("{loss:?}, same seed"));
        assert_ne!(
            a.history(),
            run(12).history(),
            "{loss:?}: another seed gave the very same run"
        );
    }
    // Networks with batch norm and the paper's init (which once drew its numbers in hash-map
    // order, so the same seed gave different weights).
    let dcgan = || {
        let mut trainer = Trainer::new(small_dcgan(GanLoss::NonSaturating), patterns()).unwrap();
        trainer.train(5).unwrap();
        trainer
    };
    assert_same_run(&dcgan(), &dcgan(), "DCGAN, same seed");
}

/// Jitter draws each batch's crops and flips from the seed and the batch number: the same run
/// twice is the same, and it differs from the run without jitter.
#[test]
fn jitter_is_seeded_and_changes_the_batches() {
    let _lock = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let run = |jitter: bool| {
        let mut trainer = Trainer::new(small_pix2pix().jitter(jitter), pairs()).unwrap();
        trainer.train(6).unwrap();
        trainer.history().clone()
    };
    assert_eq!(run(true), run(true));
    assert_ne!(run(true), run(false));
}

/// The moving average of G changes no training step: G's weights are the same with it and
/// without it, and only the samples come from the average.
#[test]
fn the_moving_average_leaves_training_alone() {
    let _lock = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let run = |ema: Option<f64>| {
        let mut trainer =
            Trainer::new(small_dcgan(GanLoss::NonSaturating).ema(ema), patterns()).unwrap();
        trainer.train(6).unwrap();
        trainer
    };
    let (plain, averaged) = (run(None), run(Some(0.9)));
    for ((name, a), (_, b)) in plain.variables().iter().zip(averaged.variables()) {
        // Batch norm's running statistics differ: without the average, snapshots run G itself.
        if a.requires_grad() {
            assert!(a.equal(&b), "{name} differs with the average on");
        }
    }
    assert_eq!(plain.history(), averaged.history());
    assert!(
        !plain
            .fixed_samples()
            .unwrap()
            .equal(&averaged.fixed_samples().unwrap())
    );
}

#[test]
fn resume_is_exact() {
    let _lock = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = std::env::temp_dir().join(format!("gans-resume-{}", std::process::id()));
    let cases: Vec<(&str, TrainConfig, MakeData)> = vec![
        ("toy, non-saturating", toy(GanLoss::NonSaturating, 5), ring),
        (
            "toy, WGAN-GP, n_critic 5",
            TrainConfig {
                n_critic: 5,
                ..toy(GanLoss::WassersteinGp { lambda: 10.0 }, 5)
            },
            ring,
        ),
        (
            "conditional DCGAN, batch norm",
            small_dcgan(GanLoss::NonSaturating),
            patterns,
        ),
        (
            "conditional DCGAN critic, WGAN-GP",
            small_dcgan(GanLoss::WassersteinGp { lambda: 10.0 }),
            patterns,
        ),
        (
            "conditional DCGAN, hinge, spectral norm, R1, EMA, DiffAugment, TTUR",
            small_dcgan(GanLoss::NonSaturating)
                .with_remedies(&Remedies {
                    lr_d: Some(4e-4),
                    ema: Some(0.9),
                    spectral_norm: true,
                    hinge: true,
                    r1_gamma: Some(1.0),
                    diff_augment: true,
                    ..Default::default()
                })
                .unwrap(),
            patterns,
        ),
        (
            "conditional DCGAN, BCE, label smoothing, minibatch std, EMA",
            small_dcgan(GanLoss::NonSaturating)
                .with_remedies(&Remedies {
                    ema: Some(0.99),
                    minibatch_std: true,
                    real_label: Some(0.9),
                    ..Default::default()
                })
                .unwrap(),
            patterns,
        ),
        ("Pix2Pix 64, dropout", small_pix2pix(), pairs),
        (
            "Pix2Pix 64, jitter, 16×16 PatchGAN",
            TrainConfig {
                model: Pix2PixConfig {
                    generator: UnetConfig {
                        image_size: 64,
                        width: 4,
                        ..Default::default()
                    },
                    discriminator: PatchGanConfig {
                        width: 4,
                        layers: 1,
                        ..Default::default()
                    },
                }
                .into(),
                ..small_pix2pix().jitter(true)
            },
            pairs,
        ),
    ];
    // bf16 (on a CPU that has it): the weights stay fp32, so a checkpoint resumes exactly too
    let bf16 = gans::precision::check_supported(Precision::Bf16, Device::Cpu).is_ok();
    let bf16_cases: Vec<(&str, TrainConfig, MakeData)> = vec![
        (
            "bf16: conditional DCGAN, batch norm",
            small_dcgan(GanLoss::NonSaturating).precision(Precision::Bf16),
            patterns,
        ),
        (
            "bf16: conditional DCGAN critic, WGAN-GP",
            small_dcgan(GanLoss::WassersteinGp { lambda: 10.0 }).precision(Precision::Bf16),
            patterns,
        ),
        (
            "bf16: Pix2Pix 64, dropout",
            small_pix2pix().precision(Precision::Bf16),
            pairs,
        ),
    ];
    if !bf16 {
        eprintln!("this CPU has no bf16 instructions: the bf16 resume cases are skipped");
    }
    let cases = cases
        .into_iter()
        .chain(bf16_cases.into_iter().filter(|_| bf16));
    for (what, config, data) in cases {
        // N = 20 steps straight…
        let mut straight = Trainer::new(config.clone(), data()).unwrap();
        straight.train(20).unwrap();
        // …against 10, save, load into a fresh trainer, 10 more. 10 is not a multiple of
        // log_every = 3, so the save also carries a half-filled history window.
        let mut first = Trainer::new(config.clone(), data()).unwrap();
        first.train(10).unwrap();
        first.save(&dir).unwrap();
        drop(first);
        let mut resumed = Trainer::load(&dir, data()).unwrap();
        resumed.train(10).unwrap();
        assert_same_run(&straight, &resumed, what);
        // The moving average makes the samples: it resumed too (compared directly where it
        // exists; Pix2Pix's dropout would draw other numbers here).
        if config.ema.is_some() {
            let samples = |t: &Trainer| t.fixed_samples().unwrap();
            assert!(
                samples(&straight).equal(&samples(&resumed)),
                "{what}: the moving average's samples differ"
            );
        }
        for (name, var) in resumed.variables() {
            assert!(
                var.dim() != 4 || is_channels_last(&var) == config.channels_last,
                "{what}: `{name}` lost its layout on resume"
            );
        }
        assert!(straight.history().len() >= 6, "{what}: history recorded");
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// bf16 really changes the arithmetic (a run that ignored the switch would pass the resume
/// test above), and only by rounding: after 10 steps the weights differ from fp32's, the
/// losses stay within a few per cent.
#[test]
fn bf16_rounds_the_run_differently() {
    let _lock = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    if gans::precision::check_supported(Precision::Bf16, Device::Cpu).is_err() {
        eprintln!("this CPU has no bf16 instructions: skipped");
        return;
    }
    for (what, config, data) in [
        (
            "DCGAN",
            small_dcgan(GanLoss::NonSaturating),
            patterns as MakeData,
        ),
        ("Pix2Pix", small_pix2pix(), pairs),
        ("toy", toy(GanLoss::NonSaturating, 5), ring),
        (
            "MLP",
            TrainConfig::gan(ModelConfig::Mlp(MlpConfig::default()))
                .batch_size(16)
                .seed(3)
                .quiet(),
            patterns,
        ),
    ] {
        let run = |precision| {
            let mut t = Trainer::new(config.clone().precision(precision), data()).unwrap();
            t.train(9).unwrap();
            t
        };
        let (fp32, bf16) = (run(Precision::Fp32), run(Precision::Bf16));
        let differ = fp32
            .variables()
            .iter()
            .zip(bf16.variables())
            .any(|((_, a), (_, b))| !a.equal(&b));
        assert!(differ, "{what}: bf16 trained the same weights as fp32");
        let (a, b) = (fp32.history(), bf16.history());
        for (x, y) in a.loss_g.iter().zip(&b.loss_g) {
            assert!(
                (x - y).abs() <= 0.05 * x.abs().max(1.0),
                "{what}: loss_g {x} against {y}"
            );
        }
    }
}

#[test]
fn channels_last_changes_the_layout_not_the_values() {
    let _lock = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    for (what, config, data) in [
        (
            "conditional DCGAN",
            small_dcgan(GanLoss::NonSaturating),
            patterns as MakeData,
        ),
        ("Pix2Pix", small_pix2pix(), pairs),
    ] {
        assert!(config.channels_last, "{what}: the presets turn it on");
        let mut nhwc = Trainer::new(config.clone(), data()).unwrap();
        let mut nchw = Trainer::new(config.channels_last(false), data()).unwrap();
        let mut four_d = 0;
        for ((name, a), (_, b)) in nhwc.variables().iter().zip(nchw.variables()) {
            assert!(a.equal(&b), "{what}: `{name}` starts with other values");
            if a.dim() == 4 {
                four_d += 1;
                assert!(is_channels_last(a), "{what}: `{name}` is not channels-last");
                assert!(b.is_contiguous(), "{what}: `{name}` is not contiguous");
            }
        }
        assert!(four_d >= 4, "{what}: only {four_d} conv weights");
        nhwc.train(6).unwrap();
        nchw.train(6).unwrap();
        // The same run up to float rounding: convolutions sum in another order. The weights are
        // not compared one by one: a bias just before a batch norm has a gradient of pure
        // rounding noise (the norm subtracts it again), which Adam scales up to whole steps.
        // What the networks do is compared instead: the losses, and the fixed-noise samples.
        let (h, k) = (nhwc.history(), nchw.history());
        for (a, b) in [(&h.loss_d, &k.loss_d), (&h.loss_g, &k.loss_g)] {
            assert_eq!(a.len(), b.len());
            for (x, y) in a.iter().zip(b) {
                assert!(
                    (x - y).abs() < 2e-3 * x.abs().max(1.0),
                    "{what}: loss {x} vs {y}"
                );
            }
        }
        // Snapshots are 8-bit pixels: allow one level of rounding.
        let pixels = |t: &Trainer| t.snapshots()[1].samples.to_kind(Kind::Float);
        let gap = (pixels(&nhwc) - pixels(&nchw))
            .abs()
            .max()
            .double_value(&[]);
        assert!(
            gap <= 1.0,
            "{what}: step-4 samples differ by {gap} levels of 255"
        );
        for (name, var) in nhwc.variables() {
            assert!(
                var.dim() != 4 || is_channels_last(&var),
                "{what}: `{name}` lost its layout"
            );
        }
    }
}

/// One forward and backward pass of the notebook-size DCGAN (width 48, batch norm) in each layout:
/// every gradient agrees to float precision. (Over many steps the two runs drift apart, as any two
/// float orders do; this says each step computes the same thing.)
#[test]
fn channels_last_gradients_match_contiguous_ones() {
    use gans::models::dcgan::{DcganDiscriminator, DcganGenerator};
    use gans::models::{init, to_channels_last};
    let _lock = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let pass = |channels_last: bool| {
        tch::manual_seed(0);
        let config = DcganConfig {
            width: 48,
            ..DcganConfig::mnist()
        };
        let vs = tch::nn::VarStore::new(Device::Cpu);
        let g = DcganGenerator::new(&config, vs.root() / "generator").unwrap();
        let d = DcganDiscriminator::new(&config, vs.root() / "discriminator").unwrap();
        init::dcgan_normal(&vs, g.norm_scales().into_iter().chain(d.norm_scales()));
        if channels_last {
            to_channels_last(&vs);
        }
        tch::manual_seed(1);
        let z = Tensor::randn([64, 100], (Kind::Float, Device::Cpu));
        let real = Tensor::rand([64, 1, 28, 28], (Kind::Float, Device::Cpu)) * 2.0 - 1.0;
        let fake = g.forward_t(&z, None, true);
        let (s_fake, s_real) = (
            d.forward_t(&fake, None, true),
            d.forward_t(&real, None, true),
        );
        let loss = s_fake.softplus().mean(Kind::Float)
            + (-&s_real).softplus().mean(Kind::Float)
            + (-&s_fake).softplus().mean(Kind::Float);
        loss.backward();
        let mut grads: Vec<(String, Tensor)> = vs
            .variables()
            .into_iter()
            .filter(|(_, t)| t.grad().defined())
            .map(|(name, t)| (name, t.grad().copy()))
            .collect();
        grads.sort_by(|a, b| a.0.cmp(&b.0));
        grads
    };
    let (nchw, nhwc) = (pass(false), pass(true));
    assert!(nchw.len() >= 10, "only {} gradients", nchw.len());
    for ((name, a), (_, b)) in nchw.iter().zip(&nhwc) {
        let gap = (a - b).norm().double_value(&[]) / a.norm().double_value(&[]).max(1e-30);
        assert!(
            gap < 1e-4,
            "`{name}`: gradients differ by {gap:e} (relative)"
        );
    }
}
