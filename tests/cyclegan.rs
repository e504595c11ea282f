//! CycleGAN through the crate's trainer: its step against the paper's formulas written out by
//! hand, its pools and learning-rate decay saved and resumed bit for bit, and its refusals.
//! Libtorch's one random generator is seeded by each step and shared by the test threads, so the
//! tests that train take turns ([`ONE_AT_A_TIME`]).

mod common;
use std::sync::Mutex;

use anyhow::Result;
use gans::data::unpaired::UnpairedDataset;
use gans::models::cyclegan::CycleGanConfig;
use gans::train::cycle::pool_of;
use gans::train::{LinearDecay, Round, TrainConfig, Trainer};
use tch::{Device, Kind, Tensor};

/// Held while a test trains: another test's seeding would change its draws.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

fn tiny() -> CycleGanConfig {
    CycleGanConfig {
        width: 4,
        d_width: 4,
        blocks: 1,
        pool_size: 3,
        ..CycleGanConfig::sized(16, 4)
    }
}

fn config() -> TrainConfig {
    TrainConfig::cyclegan(tiny())
        .batch_size(2)
        .seed(5)
        .log_every(2)
        .snapshot_every(3)
        .lr_decay(Some(LinearDecay::second_half_of(8)))
        .quiet()
}

/// Two sets of different sizes: dark pictures for A, light ones for B.
fn sets() -> UnpairedDataset {
    tch::manual_seed(17);
    let cpu = (Kind::Float, Device::Cpu);
    UnpairedDataset {
        name: "dark|light".into(),
        a: Tensor::rand([12, 3, 16, 16], cpu) - 1.0,
        b: Tensor::rand([10, 3, 16, 16], cpu),
        aligned: false,
    }
}

/// The round of the paper written out with plain tensor arithmetic: least squares as
/// `(s − 1)²` and `s²`, L1 as `|x − y|`, λ = 10, λ_id = 0.5, D's loss halved per D.
fn by_hand(r: &mut Round) -> Result<()> {
    let (real_b, real_a) = r.real()?;
    let real_a = real_a.unwrap();
    let mean = |t: Tensor| t.mean(Kind::Float);
    let l1 = |x: &Tensor, y: &Tensor| mean((x - y).abs());
    let players = r.players();
    let (g_ab, g_ba) = (
        players.generator_named("g_ab")?,
        players.generator_named("g_ba")?,
    );
    let (d_a, d_b) = (
        players.discriminator_named("d_a")?,
        players.discriminator_named("d_b")?,
    );
    let fake_b = g_ab.generate(&real_a, None, true);
    let fake_a = g_ba.generate(&real_b, None, true);
    let (s_b, s_a) = (
        d_b.score(&fake_b, None, true)?,
        d_a.score(&fake_a, None, true)?,
    );
    let gan = mean((&s_b - 1.0).square()) + mean((&s_a - 1.0).square());
    let cycle = l1(&g_ba.generate(&fake_b, None, true), &real_a)
        + l1(&g_ab.generate(&fake_a, None, true), &real_b);
    let identity = l1(&g_ab.generate(&real_b, None, true), &real_b)
        + l1(&g_ba.generate(&real_a, None, true), &real_a);
    let loss_g = gan + &cycle * 10.0 + identity * 5.0;
    let _ = r.opt_g().minimize(&loss_g)?;
    r.log_g(&loss_g, &s_b);
    r.log_l1(&cycle);

    let pooled_b = pool_of(r, "d_b")?.query(&fake_b, 3)?;
    let pooled_a = pool_of(r, "d_a")?.query(&fake_a, 3)?;
    let players = r.players();
    let (d_a, d_b) = (
        players.discriminator_named("d_a")?,
        players.discriminator_named("d_b")?,
    );
    let (rb, fb) = (
        d_b.score(&real_b, None, true)?,
        d_b.score(&pooled_b, None, true)?,
    );
    let (ra, fa) = (
        d_a.score(&real_a, None, true)?,
        d_a.score(&pooled_a, None, true)?,
    );
    let loss_d = (mean((&rb - 1.0).square()) + mean(fb.square())) * 0.5
        + (mean((&ra - 1.0).square()) + mean(fa.square())) * 0.5;
    let _ = r.opt_d().minimize(&loss_d)?;
    r.log_d(&loss_d, &rb, &fb);
    Ok(())
}

#[test]
fn the_crate_s_step_is_the_paper_s_formulas() {
    let _turn = one_at_a_time();
    let mut crate_step = Trainer::new(config(), sets()).unwrap();
    let mut hand = Trainer::new(config(), sets()).unwrap();
    crate_step.train(6).unwrap();
    hand.train_with(6, by_hand).unwrap();
    for ((name, x), (_, y)) in crate_step.variables().iter().zip(&hand.variables()) {
        let gap = (x - y).abs().max().double_value(&[]);
        assert!(gap < 1e-5, "{name} differs by {gap}");
    }
    // Every player learnt, and both pools hold their three pictures.
    let fresh = Trainer::new(config(), sets()).unwrap();
    for ((name, x), (_, y)) in crate_step.variables().iter().zip(&fresh.variables()) {
        if name.ends_with(".weight") {
            assert!(!x.equal(y), "{name} did not move");
        }
    }
    for d in ["d_a", "d_b"] {
        let filled = crate_step
            .players()
            .variable(&format!("{d}.pool.filled"))
            .unwrap();
        assert_eq!(filled.double_value(&[0]), 3.0);
    }
}

#[test]
fn a_cyclegan_resumes_with_its_pools_and_decay_bit_for_bit() {
    let _turn = one_at_a_time();
    let mut whole = Trainer::new(config(), sets()).unwrap();
    whole.train(8).unwrap();
    let dir = std::env::temp_dir().join(format!("gans-cyclegan-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut first = Trainer::new(config(), sets()).unwrap();
    // Step 5: the pools full and swapping, the rates already falling (from step 4).
    first.train(5).unwrap();
    first.save(&dir).unwrap();
    drop(first);
    let mut resumed = Trainer::load(&dir, sets()).unwrap();
    assert_eq!(resumed.steps_done(), 5);
    let pool = resumed.players().variable("d_b.pool.images").unwrap();
    assert!(
        pool.abs().sum(Kind::Float).double_value(&[]) > 0.0,
        "the pool came back"
    );
    resumed.train(3).unwrap();
    common::same_run(&whole, &resumed);
    let _ = std::fs::remove_dir_all(&dir);
}

/// In bf16 (on a CPU that has it) a CycleGAN trains other weights than in fp32, keeps its
/// fp32 pools, and resumes bit for bit.
#[test]
fn a_bf16_cyclegan_rounds_differently_and_resumes_bit_for_bit() {
    use gans::precision::{Precision, check_supported};
    if check_supported(Precision::Bf16, Device::Cpu).is_err() {
        eprintln!("this CPU has no bf16 instructions: skipped");
        return;
    }
    let _turn = one_at_a_time();
    let bf16 = || config().precision(Precision::Bf16);
    let mut fp32 = Trainer::new(config(), sets()).unwrap();
    fp32.train(8).unwrap();
    let mut whole = Trainer::new(bf16(), sets()).unwrap();
    whole.train(8).unwrap();
    let differ = fp32
        .variables()
        .iter()
        .zip(whole.variables())
        .any(|((_, a), (_, b))| !a.equal(&b));
    assert!(differ, "bf16 trained the same weights as fp32");
    let pool = whole.players().variable("d_b.pool.images").unwrap();
    assert_eq!(pool.kind(), Kind::Float, "the pool stays fp32");
    let dir = std::env::temp_dir().join(format!("gans-cyclegan-bf16-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut first = Trainer::new(bf16(), sets()).unwrap();
    first.train(5).unwrap();
    first.save(&dir).unwrap();
    drop(first);
    let mut resumed = Trainer::load(&dir, sets()).unwrap();
    resumed.train(3).unwrap();
    common::same_run(&whole, &resumed);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_rates_fall_over_the_second_half() {
    let _turn = one_at_a_time();
    let decay = LinearDecay::second_half_of(8);
    let factors: Vec<f64> = (0..9).map(|t| decay.factor(t)).collect();
    assert_eq!(factors, [1.0, 1.0, 1.0, 1.0, 1.0, 0.75, 0.5, 0.25, 0.0]);
    // A decayed run differs from one at a constant rate only after the decay starts.
    let mut constant = Trainer::new(config().lr_decay(None), sets()).unwrap();
    let mut decayed = Trainer::new(config(), sets()).unwrap();
    constant.train(5).unwrap();
    decayed.train(5).unwrap();
    common::same_run(&constant, &decayed);
    constant.train(1).unwrap();
    decayed.train(1).unwrap();
    let differ = constant
        .variables()
        .iter()
        .zip(&decayed.variables())
        .any(|((_, x), (_, y))| !x.equal(y));
    assert!(differ, "step 5 ran at 3/4 of the rate");
    let err = config()
        .lr_decay(Some(LinearDecay { start: 4, end: 4 }))
        .validate()
        .unwrap_err()
        .to_string();
    assert!(err.contains("lr_decay from step 4 to step 4"), "{err}");
}

#[test]
fn data_that_does_not_fit_is_refused_by_name() {
    let _turn = one_at_a_time();
    let cpu = (Kind::Float, Device::Cpu);
    // Pairs: a CycleGAN says which data it needs.
    let pairs = gans::data::paired::PairedDataset {
        name: "pairs".into(),
        inputs: Tensor::zeros([4, 3, 16, 16], cpu),
        targets: Tensor::zeros([4, 3, 16, 16], cpu),
    };
    let err = Trainer::new(config(), pairs).unwrap_err().to_string();
    assert!(err.contains("UnpairedDataset::from_pairs"), "{err}");
    // A side smaller than one batch.
    let small = UnpairedDataset {
        b: Tensor::zeros([1, 3, 16, 16], cpu),
        ..sets()
    };
    let err = Trainer::new(config(), small).unwrap_err().to_string();
    assert!(err.contains("smaller side (1 pictures)"), "{err}");
    // Pictures of another size.
    let other = UnpairedDataset {
        a: Tensor::zeros([4, 3, 32, 32], cpu),
        ..sets()
    };
    let err = Trainer::new(config(), other).unwrap_err().to_string();
    assert!(
        err.contains("[3, 32, 32]") && err.contains("set its config"),
        "{err}"
    );
}
