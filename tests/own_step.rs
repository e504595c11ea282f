//! A training step written by hand, as the notebooks write it, plays the same game as the
//! crate's step: with the same seed, `trainer.train_with(n, step)` records the same history as
//! `trainer.train(n)` (to 1e-6). One step per chapter: 01's non-saturating GAN, 03's clipped
//! critic and gradient penalty, 04's conditional GAN, 05's L1 + GAN objective, 06's step with
//! the hinge loss, label smoothing and DiffAugment.
//!
//! libtorch's random generator is one per process: this binary's tests take a lock.

use std::sync::Mutex;

mod fixtures;
use fixtures::{pairs, patterns};

use anyhow::Result;
use gans::data::toy2d::{Toy2d, Toy2dKind};
use gans::losses::{bce, hinge_discriminator_loss};
use gans::models::dcgan::DcganConfig;
use gans::models::patchgan::PatchGanConfig;
use gans::models::toy::ToyConfig;
use gans::models::unet::UnetConfig;
use gans::models::{Conditioning, Norm};
use gans::train::augment::diff_augment;
use gans::train::{GanLoss, ModelConfig, Remedies, Round, TrainConfig, TrainData, Trainer};
use tch::{Device, Kind, Tensor};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// 01: D on a real and a detached fake batch, then G's non-saturating loss through the new D.
fn basic_step(r: &mut Round) -> Result<()> {
    let (real, _) = r.real()?;
    let z = r.noise(real.size()[0])?;
    let fake = r.g(&z, None);
    let real_scores = r.d(&real, None)?;
    let fake_scores = r.d(&fake.detach(), None)?;
    let loss_d = bce(&real_scores, 1.0) + bce(&fake_scores, 0.0);
    r.opt_d().zero_grad();
    loss_d.backward();
    r.opt_d().step();
    r.log_d(&loss_d, &real_scores, &fake_scores);
    let scores = r.d(&fake, None)?;
    let loss_g = bce(&scores, 1.0);
    r.opt_g().zero_grad();
    loss_g.backward();
    r.opt_g().step();
    r.log_g(&loss_g, &scores);
    Ok(())
}

/// 03: `n_critic` critic updates on fresh fakes (clamped after each when `clip` is set, with
/// the gradient penalty when the loss has one), then G on fresh noise.
fn critic_step(r: &mut Round) -> Result<()> {
    let config = r.config().clone();
    let mut batch = None;
    for _ in 0..config.n_critic {
        let (real, labels) = r.real()?;
        let z = r.noise(real.size()[0])?;
        let fake = tch::no_grad(|| r.g(&z, labels.as_ref()));
        let real_scores = r.d(&real, labels.as_ref())?;
        let fake_scores = r.d(&fake, labels.as_ref())?;
        let mut loss_d = fake_scores.mean(Kind::Float) - real_scores.mean(Kind::Float);
        if let GanLoss::WassersteinGp { lambda } = config.loss {
            let alpha = Tensor::rand([real.size()[0], 1, 1, 1], (Kind::Float, r.device()));
            let x_hat =
                (&alpha * &real + (alpha.ones_like() - &alpha) * &fake).set_requires_grad(true);
            let scores = r.d(&x_hat, labels.as_ref())?;
            let grad =
                Tensor::run_backward(&[scores.sum(Kind::Float)], &[&x_hat], true, true).remove(0);
            let norm = grad
                .flatten(1, -1)
                .norm_scalaropt_dim(2.0, [1i64].as_slice(), false);
            loss_d += (norm - 1.0).square().mean(Kind::Float) * lambda;
        }
        r.opt_d().zero_grad();
        loss_d.backward();
        r.opt_d().step();
        if let Some(c) = config.clip {
            r.opt_d().clip(c);
        }
        r.log_d(&loss_d, &real_scores, &fake_scores);
        batch = Some((real, labels));
    }
    let (real, labels) = batch.expect("n_critic is at least 1");
    let z = r.noise(real.size()[0])?;
    let fake = r.g(&z, labels.as_ref());
    let scores = r.d(&fake, labels.as_ref())?;
    let loss_g = -scores.mean(Kind::Float);
    r.opt_g().zero_grad();
    loss_g.backward();
    r.opt_g().step();
    r.log_g(&loss_g, &scores);
    Ok(())
}

/// 04: the basic step with the batch's labels given to G and to D.
fn conditional_step(r: &mut Round) -> Result<()> {
    let (real, labels) = r.real()?;
    let labels = labels.expect("a conditional model's batch has labels");
    let z = r.noise(real.size()[0])?;
    let fake = r.g(&z, Some(&labels));
    let real_scores = r.d(&real, Some(&labels))?;
    let fake_scores = r.d(&fake.detach(), Some(&labels))?;
    let loss_d = bce(&real_scores, 1.0) + bce(&fake_scores, 0.0);
    r.opt_d().zero_grad();
    loss_d.backward();
    r.opt_d().step();
    r.log_d(&loss_d, &real_scores, &fake_scores);
    let scores = r.d(&fake, Some(&labels))?;
    let loss_g = bce(&scores, 1.0);
    r.opt_g().zero_grad();
    loss_g.backward();
    r.opt_g().step();
    r.log_g(&loss_g, &scores);
    Ok(())
}

/// 05: D judges (input, target) against (input, output); G adds λ · L1 to its GAN loss.
fn pix2pix_step(r: &mut Round) -> Result<()> {
    let lambda = r.config().l1_lambda;
    let (target, input) = r.real()?;
    let input = input.expect("a paired batch has its input images");
    let output = r.g(&input, None);
    let real_scores = r.d(&target, Some(&input))?;
    let fake_scores = r.d(&output.detach(), Some(&input))?;
    let loss_d = bce(&real_scores, 1.0) + bce(&fake_scores, 0.0);
    r.opt_d().zero_grad();
    loss_d.backward();
    r.opt_d().step();
    r.log_d(&loss_d, &real_scores, &fake_scores);
    let scores = r.d(&output, Some(&input))?;
    let l1 = (&output - &target).abs().mean(Kind::Float);
    let loss_g = bce(&scores, 1.0) + &l1 * lambda;
    r.opt_g().zero_grad();
    loss_g.backward();
    r.opt_g().step();
    r.log_g(&loss_g, &scores);
    r.log_l1(&l1);
    Ok(())
}

/// 06: 01's step with the remedies that change it, each read from the config: DiffAugment
/// before every look D takes, the hinge loss or BCE with a smoothed real target.
fn remedied_step(r: &mut Round) -> Result<()> {
    let config = r.config().clone();
    let seen = |x: &Tensor| {
        if config.diff_augment {
            diff_augment(x)
        } else {
            Ok(x.shallow_clone())
        }
    };
    let (real, _) = r.real()?;
    let z = r.noise(real.size()[0])?;
    let fake = r.g(&z, None);
    let real_scores = r.d(&seen(&real)?, None)?;
    let fake_scores = r.d(&seen(&fake.detach())?, None)?;
    let loss_d = match config.loss {
        GanLoss::Hinge => hinge_discriminator_loss(&real_scores, &fake_scores),
        _ => bce(&real_scores, config.real_label) + bce(&fake_scores, 0.0),
    };
    r.opt_d().zero_grad();
    loss_d.backward();
    r.opt_d().step();
    r.log_d(&loss_d, &real_scores, &fake_scores);
    let scores = r.d(&seen(&fake)?, None)?;
    let loss_g = match config.loss {
        GanLoss::Hinge => -scores.mean(Kind::Float),
        _ => bce(&scores, 1.0),
    };
    r.opt_g().zero_grad();
    loss_g.backward();
    r.opt_g().step();
    r.log_g(&loss_g, &scores);
    Ok(())
}

/// Trains two copies of a run, one with the crate's step and one with `step`, and returns the
/// largest gap between their histories.
fn gap(
    config: TrainConfig,
    data: fn() -> TrainData,
    steps: usize,
    step: fn(&mut Round) -> Result<()>,
) -> f64 {
    let _lock = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut crate_run = Trainer::new(config.clone(), data()).unwrap();
    crate_run.train(steps).unwrap();
    let mut own_run = Trainer::new(config, data()).unwrap();
    own_run.train_with(steps, step).unwrap();
    assert!(!crate_run.history().is_empty());
    own_run
        .history()
        .max_difference(crate_run.history())
        .unwrap()
}

fn ring() -> TrainData {
    Toy2d::new(Toy2dKind::Ring, Device::Cpu).into()
}

fn small_dcgan(norm: Norm, n_classes: i64) -> ModelConfig {
    ModelConfig::Dcgan(DcganConfig {
        channels: 1,
        image_size: 28,
        latent_dim: 8,
        width: 4,
        n_classes,
        conditioning: Conditioning::default(),
        norm,
        ..Default::default()
    })
}

/// Notebook 01's ring run: its settings, 300 steps. Two passes of D in both steps, so the
/// arithmetic is the same and the gap is 0 (the toy D once scored real and fake joined, and
/// the gap grew to 0.2 over these 300 steps).
#[test]
fn the_basic_step_written_out_is_the_crates() {
    let config = TrainConfig::toy(ToyConfig::default())
        .batch_size(256)
        .quiet();
    let gap = gap(config, ring, 300, basic_step);
    assert_eq!(gap, 0.0, "largest gap {gap}");
}

#[test]
fn the_clipped_critic_written_out_is_the_crates() {
    let config = TrainConfig::wgan(small_dcgan(Norm::None, 0))
        .batch_size(10)
        .log_every(2)
        .quiet();
    let gap = gap(config, patterns, 8, critic_step);
    assert!(gap < 1e-6, "largest gap {gap}");
}

#[test]
fn the_gradient_penalty_written_out_is_the_crates() {
    let config = TrainConfig::wgan_gp(small_dcgan(Norm::Layer, 0))
        .batch_size(10)
        .log_every(2)
        .quiet();
    // The crate scores the real and the fake batch in one pass when the critic treats each
    // sample alone (layer norm); the step above makes two passes, and convolutions over 10
    // samples round differently from those over 20. The gap starts at float rounding (1.0e-6
    // at the first history point) and grows as training amplifies it (1.9e-5 after 8 steps);
    // scoring both batches in one pass in the step above brings it under 1e-6.
    let gap = gap(config, patterns, 8, critic_step);
    assert!(gap < 1e-4, "largest gap {gap}");
}

#[test]
fn the_conditional_step_written_out_is_the_crates() {
    let config = TrainConfig::gan(small_dcgan(Norm::Batch, 3))
        .batch_size(10)
        .log_every(2)
        .quiet();
    let gap = gap(config, patterns, 12, conditional_step);
    assert!(gap < 1e-6, "largest gap {gap}");
}

#[test]
fn the_pix2pix_step_written_out_is_the_crates() {
    let generator = UnetConfig {
        in_channels: 3,
        out_channels: 3,
        width: 4,
        image_size: 64,
        ..Default::default()
    };
    let discriminator = PatchGanConfig {
        in_channels: 6,
        width: 4,
        ..Default::default()
    };
    let config = TrainConfig::pix2pix(generator, discriminator)
        .batch_size(4)
        .log_every(2)
        .quiet();
    let gap = gap(config, pairs, 6, pix2pix_step);
    assert!(gap < 1e-6, "largest gap {gap}");
}

/// Notebook 06's two checks: hinge + DiffAugment, and smoothing + DiffAugment, with the moving
/// average on (the trainer updates it after any step). Without DiffAugment the step is 01's.
#[test]
fn the_remedied_step_written_out_is_the_crates() {
    let off = Remedies::default();
    for remedies in [
        Remedies {
            hinge: true,
            diff_augment: true,
            ema: Some(0.999),
            ..off
        },
        Remedies {
            real_label: Some(0.9),
            diff_augment: true,
            ema: Some(0.999),
            ..off
        },
        off,
    ] {
        let config = TrainConfig::gan(small_dcgan(Norm::Batch, 0))
            .with_remedies(&remedies)
            .unwrap()
            .batch_size(10)
            .log_every(2)
            .quiet();
        let gap = gap(config, patterns, 8, remedied_step);
        assert!(gap < 1e-6, "{remedies:?}: largest gap {gap}");
    }
}

/// A step that forgets to report G's update is refused with what to add.
#[test]
fn a_step_that_reports_nothing_is_refused() {
    let _lock = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let config = TrainConfig::toy(ToyConfig::default()).quiet();
    let mut trainer = Trainer::new(config, ring()).unwrap();
    let err = trainer.train_with(1, |_| Ok(())).unwrap_err().to_string();
    assert!(err.contains("r.log_g("), "{err}");
    assert_eq!(trainer.steps_done(), 0);
}
