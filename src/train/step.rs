//! One round of the game: [`update_d`] trains the discriminator (or critic) on a real batch and
//! a fake batch, [`update_g`] trains the generator through the discriminator. A training loop
//! calls `update_d` `n_critic` times, then `update_g` once.
//!
//! Both return their numbers as tensors that stay on the device: reading a scalar back
//! (`double_value`) waits for the GPU to finish, so the caller does it every k steps, not every
//! step.

use tch::{Kind, Tensor};

use anyhow::{Result, ensure};

use crate::game::{Discriminator, GanLoss};
use crate::losses;
use crate::optim::Optimizer;

/// What D's update adds to the game's loss: one-sided label smoothing (Salimans et al., 2016)
/// and the R1 penalty (Mescheder et al., 2018). The default adds nothing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DRegularization {
    /// D's target for real samples in the BCE games (1: none; 0.9 smooths).
    pub real_label: f64,
    /// γ of the R1 penalty `(γ/2) E[‖∇_x D(x)‖²]` on real samples (0: none).
    pub r1_gamma: f64,
}

impl Default for DRegularization {
    fn default() -> Self {
        DRegularization {
            real_label: 1.0,
            r1_gamma: 0.0,
        }
    }
}

impl DRegularization {
    /// What a run's config asks for.
    pub fn of(config: &super::TrainConfig) -> Self {
        DRegularization {
            real_label: config.real_label,
            r1_gamma: config.r1_gamma,
        }
    }
}

/// What one discriminator update measured (tensors on the device, read them back every k steps).
#[derive(Debug)]
pub struct DUpdate {
    pub loss_d: Tensor,
    /// Mean D(x) on the real batch (a probability; the mean score for a critic).
    pub d_real: Tensor,
    /// Mean D(G(z)) on the fake batch, before this update.
    pub d_fake: Tensor,
    /// For a critic: `E[C(x)] − E[C(G(z))]`, the Wasserstein estimate. Undefined otherwise.
    pub wasserstein: Option<Tensor>,
    /// `‖∇θ_D loss_d‖₂` before the update.
    pub grad_norm: Tensor,
}

/// What one generator update measured.
#[derive(Debug)]
pub struct GUpdate {
    /// The whole generator loss (adversarial term plus the L1 term for Pix2Pix).
    pub loss_g: Tensor,
    /// Mean D(G(z)) on the batch G was trained on: after D's update, before G's.
    pub d_fake: Tensor,
    /// `‖∇θ_G loss_g‖₂` before the update.
    pub grad_norm: Tensor,
    /// Pix2Pix: the L1 distance to the target (without λ).
    pub l1: Option<Tensor>,
}

/// Mean D(·) of a batch: the mean probability σ(l) for the BCE games, the mean score for a
/// critic.
pub(crate) fn mean_output(scores: &Tensor, loss: GanLoss) -> Tensor {
    let scores = scores.detach();
    if loss.has_logits() {
        scores.sigmoid().mean(Kind::Float)
    } else {
        scores.mean(Kind::Float)
    }
}

/// D's scores of the real and the fake batch: one pass over both joined when D scores each
/// sample on its own, two passes otherwise.
fn score_both(
    discriminator: &(impl Discriminator + ?Sized),
    real: &Tensor,
    fake: &Tensor,
    labels: Option<&Tensor>,
) -> Result<(Tensor, Tensor)> {
    if !discriminator.batch_independent() {
        let real_scores = discriminator.score(real, labels, true)?;
        return Ok((real_scores, discriminator.score(fake, labels, true)?));
    }
    let both_labels = labels.map(|l| Tensor::cat(&[l, l], 0));
    let scores = discriminator.score(&Tensor::cat(&[real, fake], 0), both_labels.as_ref(), true)?;
    let per_sample = scores.size()[0] / 2;
    Ok((
        scores.narrow(0, 0, per_sample),
        scores.narrow(0, per_sample, per_sample),
    ))
}

/// Real and fake batches of the same size and shape, and as many labels (or input images).
fn check_batches(real: &Tensor, fake: &Tensor, labels: Option<&Tensor>) -> Result<()> {
    let (r, f) = (real.size(), fake.size());
    ensure!(
        !r.is_empty() && r[0] > 0 && r == f,
        "the real batch {r:?} and the fake batch {f:?} must have the same, non-empty shape"
    );
    if let Some(labels) = labels {
        let l = labels.size();
        ensure!(
            l.first() == Some(&r[0]),
            "the batch has {} samples but its labels (or input images) {l:?} have another count",
            r[0]
        );
    }
    Ok(())
}

/// D's loss in the game `loss` from its scores of a real and a fake batch, `real_label` being
/// the BCE games' target for real (1, or 0.9 with one-sided smoothing). WGAN-GP's gradient
/// penalty is not in it: it needs D itself ([`update_d`] adds it).
pub fn d_game_loss(
    real_scores: &Tensor,
    fake_scores: &Tensor,
    loss: GanLoss,
    real_label: f64,
) -> Tensor {
    match loss {
        GanLoss::Minimax | GanLoss::NonSaturating => {
            losses::bce(real_scores, real_label) + losses::bce(fake_scores, 0.0)
        }
        GanLoss::Hinge => losses::hinge_discriminator_loss(real_scores, fake_scores),
        GanLoss::LeastSquares => {
            (losses::least_squares(real_scores, real_label)
                + losses::least_squares(fake_scores, 0.0))
                * 0.5
        }
        GanLoss::Wasserstein | GanLoss::WassersteinGp { .. } => {
            losses::critic_loss(real_scores, fake_scores)
        }
    }
}

/// G's adversarial loss in the game `loss` from D's scores of its fakes.
pub fn g_game_loss(fake_scores: &Tensor, loss: GanLoss) -> Tensor {
    match loss {
        GanLoss::Minimax => losses::generator_loss_minimax(fake_scores),
        GanLoss::NonSaturating => losses::generator_loss_non_saturating(fake_scores),
        GanLoss::LeastSquares => losses::least_squares(fake_scores, 1.0),
        GanLoss::Wasserstein | GanLoss::WassersteinGp { .. } | GanLoss::Hinge => {
            losses::generator_loss_wasserstein(fake_scores)
        }
    }
}

/// One step of the discriminator on `real` and `fake`. `fake` is detached first: D's loss must
/// not train G. With label smoothing and the R1 penalty as `regularization` says
/// (`DRegularization::default()` adds neither).
pub fn update_d(
    discriminator: &(impl Discriminator + ?Sized),
    opt_d: &mut Optimizer,
    real: &Tensor,
    fake: &Tensor,
    labels: Option<&Tensor>,
    loss: GanLoss,
    regularization: DRegularization,
) -> Result<DUpdate> {
    check_batches(real, fake, labels)?;
    let fake = fake.detach();
    let r1 = regularization.r1_gamma > 0.0;
    // R1 differentiates D's scores with respect to the real batch itself.
    let real = if r1 {
        real.detach().set_requires_grad(true)
    } else {
        real.shallow_clone()
    };
    let real = &real;
    let (real_scores, fake_scores) = score_both(discriminator, real, &fake, labels)?;
    let game = match loss {
        GanLoss::WassersteinGp { lambda } => {
            let penalty = losses::gradient_penalty(
                |x| discriminator.score(x, labels, true),
                real,
                &fake,
                lambda,
            )?;
            losses::critic_loss(&real_scores, &fake_scores) + penalty
        }
        _ => d_game_loss(&real_scores, &fake_scores, loss, regularization.real_label),
    };
    let loss_d = if r1 {
        game + losses::r1_penalty(&real_scores, real, regularization.r1_gamma)?
    } else {
        game
    };
    let grad_norm = opt_d.minimize(&loss_d)?;
    let wasserstein = loss
        .is_wasserstein()
        .then(|| (real_scores.mean(Kind::Float) - fake_scores.mean(Kind::Float)).detach());
    Ok(DUpdate {
        loss_d: loss_d.detach(),
        d_real: mean_output(&real_scores, loss),
        d_fake: mean_output(&fake_scores, loss),
        wasserstein,
        grad_norm,
    })
}

/// One step of the generator on `fake`, a batch it generated WITH its graph (not detached):
/// score it through D, back-propagate to G's weights, step G's optimiser only. D's weights get
/// no gradient: [`Optimizer::minimize`] asks autograd for G's alone.
///
/// `l1` is Pix2Pix's reconstruction term: `(target, λ)` adds `λ · ‖target − fake‖₁`.
///
/// Taking `fake` rather than `z` lets a loop reuse the batch D was just trained on, as the
/// PyTorch DCGAN tutorial does: one generator forward pass per step instead of two.
pub fn update_g(
    discriminator: &(impl Discriminator + ?Sized),
    opt_g: &mut Optimizer,
    fake: &Tensor,
    labels: Option<&Tensor>,
    loss: GanLoss,
    l1: Option<(&Tensor, f64)>,
) -> Result<GUpdate> {
    if let Some((target, _)) = l1 {
        check_batches(target, fake, labels)?;
    }
    let scores = discriminator.score(fake, labels, true)?;
    let adversarial = g_game_loss(&scores, loss);
    let (loss_g, l1) = match l1 {
        Some((target, lambda)) => {
            let distance = losses::l1_loss(fake, target, 1.0);
            (adversarial + &distance * lambda, Some(distance.detach()))
        }
        None => (adversarial, None),
    };
    let grad_norm = opt_g.minimize(&loss_g)?;
    Ok(GUpdate {
        loss_g: loss_g.detach(),
        d_fake: mean_output(&scores, loss),
        grad_norm,
        l1,
    })
}

/// Pix2Pix's "L1 only" baseline: one step of the generator on `λ · ‖target − fake‖₁` alone,
/// no discriminator. `d_fake` is reported as 0.
pub fn update_g_l1(
    opt_g: &mut Optimizer,
    fake: &Tensor,
    target: &Tensor,
    lambda: f64,
) -> Result<GUpdate> {
    check_batches(target, fake, None)?;
    let distance = losses::l1_loss(fake, target, 1.0);
    let loss_g = &distance * lambda;
    let grad_norm = opt_g.minimize(&loss_g)?;
    Ok(GUpdate {
        loss_g: loss_g.detach(),
        d_fake: distance.zeros_like(),
        grad_norm,
        l1: Some(distance.detach()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::toy2d::{Toy2d, Toy2dKind};
    use crate::models::toy::ToyConfig;
    use crate::models::{dcgan, mlp, toy};
    use crate::optim::OptimizerKind;
    use tch::{Device, nn};

    /// Every game's D and G loss from the same scores, against PyTorch 2.11 (the values of
    /// `losses`' tests): `0.5 * (F.mse_loss(real, 1) + F.mse_loss(fake, 0))` = 2.7799999713897705
    /// and `F.mse_loss(fake, 1)` = 3.125 for least squares; BCE 1.2400555610656738 and
    /// 0.9988914132118225; hinge 1.6749999523162842 and 0.25.
    #[test]
    fn game_losses_match_pytorch() {
        let t = |v: [f32; 4]| Tensor::from_slice(&v);
        let (real, fake) = (t([2.5, 0.3, -1.0, 4.0]), t([-2.0, -0.5, 0.0, 1.5]));
        let value = |x: Tensor| x.double_value(&[]);
        for (loss, d, g) in [
            (GanLoss::LeastSquares, 2.7799999713897705, 3.125),
            (
                GanLoss::NonSaturating,
                1.2400555610656738,
                0.9988914132118225,
            ),
            (GanLoss::Hinge, 1.6749999523162842, 0.25),
        ] {
            let (got_d, got_g) = (
                value(d_game_loss(&real, &fake, loss, 1.0)),
                value(g_game_loss(&fake, loss)),
            );
            assert!(
                (got_d - d).abs() < 1e-6 && (got_g - g).abs() < 1e-6,
                "{loss:?}: {got_d}, {got_g}"
            );
        }
    }

    struct Toy {
        vs: nn::VarStore,
        generator: toy::ToyGenerator,
        discriminator: toy::ToyDiscriminator,
        opt_g: Optimizer,
        opt_d: Optimizer,
    }

    fn toy(seed: u64, kind: OptimizerKind) -> Toy {
        crate::seed(seed);
        let vs = nn::VarStore::new(Device::Cpu);
        let config = ToyConfig {
            hidden: 32,
            ..Default::default()
        };
        let generator = toy::ToyGenerator::new(&config, vs.root() / "generator");
        let discriminator = toy::ToyDiscriminator::new(&config, vs.root() / "discriminator");
        let opt_g = Optimizer::new(kind, &vs, "generator");
        let opt_d = Optimizer::new(kind, &vs, "discriminator");
        Toy {
            vs,
            generator,
            discriminator,
            opt_g,
            opt_d,
        }
    }

    /// `steps` rounds of the game on the ring; returns (loss_d, loss_g) of every round.
    fn play(t: &mut Toy, loss: GanLoss, steps: usize, clip: Option<f64>) -> Vec<(f64, f64)> {
        let ring = Toy2d::new(Toy2dKind::Ring, Device::Cpu);
        (0..steps)
            .map(|_| {
                let real = ring.sample(64);
                let z = Tensor::randn([64, 16], (Kind::Float, Device::Cpu));
                let fake = t.generator.forward(&z);
                let d = update_d(
                    &t.discriminator,
                    &mut t.opt_d,
                    &real,
                    &fake,
                    None,
                    loss,
                    DRegularization::default(),
                )
                .unwrap();
                if let Some(c) = clip {
                    t.opt_d.clip(c);
                }
                let fake = t.generator.forward(&z);
                let g = update_g(&t.discriminator, &mut t.opt_g, &fake, None, loss, None).unwrap();
                (d.loss_d.double_value(&[]), g.loss_g.double_value(&[]))
            })
            .collect()
    }

    /// A discriminator that claims `batch_independent` must score the joined batch exactly as
    /// it scores each half; batch norm must not claim it (its scores change when joined).
    #[test]
    fn joined_scores_equal_separate_scores_exactly_when_claimed() {
        use crate::models::{Norm, dcgan::DcganConfig, mlp::MlpConfig};
        crate::seed(5);
        let vs = nn::VarStore::new(Device::Cpu);
        let dcgan = |norm: Norm, n_classes: i64| {
            let config = DcganConfig {
                image_size: 28,
                channels: 1,
                width: 8,
                norm,
                n_classes,
                ..DcganConfig::default()
            };
            Box::new(
                dcgan::DcganDiscriminator::new(&config, vs.root() / format!("{norm:?}{n_classes}"))
                    .unwrap(),
            ) as Box<dyn Discriminator>
        };
        let cases: Vec<(&str, Box<dyn Discriminator>, [i64; 2])> = vec![
            (
                "mlp",
                Box::new(mlp::MlpDiscriminator::new(
                    &MlpConfig::default(),
                    vs.root() / "mlp",
                )),
                [1, 28],
            ),
            ("dcgan layer", dcgan(Norm::Layer, 0), [1, 28]),
            ("dcgan instance", dcgan(Norm::Instance, 0), [1, 28]),
            ("cdcgan layer", dcgan(Norm::Layer, 10), [1, 28]),
            ("dcgan batch", dcgan(Norm::Batch, 0), [1, 28]),
        ];
        for (name, d, shape) in cases {
            let dims = |n: i64| {
                if shape[0] == 0 {
                    vec![n, shape[1]]
                } else {
                    vec![n, shape[0], shape[1], shape[1]]
                }
            };
            let real = Tensor::randn(dims(8), (Kind::Float, Device::Cpu));
            let fake = Tensor::randn(dims(8), (Kind::Float, Device::Cpu)) * 0.5 + 0.3;
            let labels = name
                .starts_with('c')
                .then(|| Tensor::arange(8, (Kind::Int64, Device::Cpu)));
            let (joined_real, joined_fake) =
                score_both(&*d, &real, &fake, labels.as_ref()).unwrap();
            let apart_real = d.score(&real, labels.as_ref(), true).unwrap();
            let apart_fake = d.score(&fake, labels.as_ref(), true).unwrap();
            let gap = f64::max(
                (joined_real - &apart_real).abs().max().double_value(&[]),
                (joined_fake - &apart_fake).abs().max().double_value(&[]),
            );
            if d.batch_independent() {
                assert!(gap < 1e-5, "{name}: joined scores differ by {gap}");
            } else {
                assert_eq!(gap, 0.0, "{name}: scored apart, so nothing changes");
                let joined = d
                    .score(&Tensor::cat(&[&real, &fake], 0), None, true)
                    .unwrap()
                    .narrow(0, 0, 8);
                let bn_gap = (joined - apart_real).abs().max().double_value(&[]);
                assert!(
                    bn_gap > 1e-3,
                    "{name}: batch norm should depend on the batch ({bn_gap})"
                );
            }
        }
    }

    /// Batches that do not pair up are errors, not a silent mix of real and fake scores (a
    /// batch-independent D scores them joined and splits the scores in half).
    #[test]
    fn batches_that_do_not_pair_up_are_refused() {
        let mut t = toy(2, OptimizerKind::adam(1e-3, (0.5, 0.999)));
        let ring = Toy2d::new(Toy2dKind::Ring, Device::Cpu);
        let fake = t
            .generator
            .forward(&Tensor::randn([32, 16], (Kind::Float, Device::Cpu)));
        let loss = GanLoss::NonSaturating;
        let err = update_d(
            &t.discriminator,
            &mut t.opt_d,
            &ring.sample(64),
            &fake,
            None,
            loss,
            DRegularization::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("[64, 2]") && err.contains("[32, 2]"), "{err}");
        let labels = Tensor::zeros([10], (Kind::Int64, Device::Cpu));
        let real = ring.sample(32);
        let err = update_d(
            &t.discriminator,
            &mut t.opt_d,
            &real,
            &fake,
            Some(&labels),
            loss,
            DRegularization::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("another count"), "{err}");
        // A PatchGAN asked to judge without its input image.
        let patch = crate::models::patchgan::PatchGan::new(
            &crate::models::patchgan::PatchGanConfig {
                in_channels: 2,
                width: 4,
                ..Default::default()
            },
            t.vs.root() / "patch",
        );
        let images = Tensor::zeros([2, 1, 64, 64], (Kind::Float, Device::Cpu));
        let err = patch.score(&images, None, true).unwrap_err().to_string();
        assert!(err.contains("pass the input image"), "{err}");
    }

    #[test]
    fn clipping_keeps_every_critic_weight_within_c() {
        let mut t = toy(3, OptimizerKind::rmsprop(5e-2)); // a large lr pushes weights past c
        play(&mut t, GanLoss::Wasserstein, 10, Some(0.01));
        for (name, var) in t.vs.variables() {
            let largest = var.abs().max().double_value(&[]);
            if name.starts_with("discriminator") {
                assert!(largest <= 0.01 + 1e-9, "{name}: |w| = {largest}");
            }
        }
    }

    #[test]
    fn the_discriminator_step_leaves_the_generator_alone() {
        let mut t = toy(5, OptimizerKind::adam(1e-3, (0.5, 0.999)));
        let before: Vec<Tensor> = t.opt_g.state().into_iter().map(|(_, v)| v.copy()).collect();
        let g_params: Vec<(String, Tensor)> =
            t.vs.variables()
                .into_iter()
                .filter(|(n, _)| n.starts_with("generator"))
                .map(|(n, v)| (n, v.copy()))
                .collect();
        let ring = Toy2d::new(Toy2dKind::Ring, Device::Cpu);
        let fake = t
            .generator
            .forward(&Tensor::randn([64, 16], (Kind::Float, Device::Cpu)));
        let first = update_d(
            &t.discriminator,
            &mut t.opt_d,
            &ring.sample(64),
            &fake,
            None,
            GanLoss::NonSaturating,
            DRegularization::default(),
        )
        .unwrap();
        for (name, old) in g_params {
            assert!(
                t.vs.variables()[&name].equal(&old),
                "{name} changed in D's step"
            );
        }
        assert!(
            t.opt_g
                .state()
                .into_iter()
                .zip(before)
                .all(|((_, a), b)| a.equal(&b))
        );
        // And D does learn: on the same batches, its loss goes down.
        let real = ring.sample(64);
        let mut last = first.loss_d.double_value(&[]);
        for _ in 0..20 {
            last = update_d(
                &t.discriminator,
                &mut t.opt_d,
                &real,
                &fake,
                None,
                GanLoss::NonSaturating,
                DRegularization::default(),
            )
            .unwrap()
            .loss_d
            .double_value(&[]);
        }
        assert!(
            last < first.loss_d.double_value(&[]) * 0.9,
            "loss_d {} → {last}",
            first.loss_d.double_value(&[])
        );
    }
}
