//! The losses of the course's GANs, each next to the equation it computes.
//!
//! The discriminator returns **logits** `l` (no sigmoid): `D(x) = σ(l)`. Working in logits lets
//! libtorch use the stable forms `log σ(l) = −softplus(−l)` and `log(1 − σ(l)) = −softplus(l)`,
//! which never take the log of a rounded 0.
//!
//! ## The original game (Goodfellow et al., 2014)
//! `min_G max_D  E_x[log D(x)] + E_z[log(1 − D(G(z)))]`
//! - D maximises it: [`discriminator_loss`] is its negative, the binary cross-entropy with
//!   target 1 on real and 0 on fake.
//! - G minimises `E_z[log(1 − D(G(z)))]`: [`generator_loss_minimax`] ("saturating"). Early in
//!   training D rejects fakes confidently, `D(G(z)) ≈ 0`, where this curve is flat: its gradient
//!   with respect to the logit is `−σ(l)`, tiny when `l` is very negative.
//! - The paper's fix, used in practice: G maximises `log D(G(z))`, i.e. minimises
//!   `−E_z[log D(G(z))]`: [`generator_loss_non_saturating`]. Same fixed point, but the gradient
//!   is `−(1 − σ(l))`, near −1 exactly when G is doing badly.
//!
//! ## Wasserstein GAN (Arjovsky et al., 2017; Gulrajani et al., 2017)
//! The critic `C` outputs a score, not a probability. It maximises `E[C(x)] − E[C(G(z))]`, an
//! estimate of the Wasserstein-1 distance when `C` is 1-Lipschitz; [`critic_loss`] is the
//! negative. G minimises `−E[C(G(z))]` ([`generator_loss_wasserstein`]). Lipschitz is enforced by
//! weight clipping (WGAN) or by the [`gradient_penalty`] `λ E[(‖∇C(x̂)‖₂ − 1)²]` on random
//! interpolates `x̂ = α x + (1 − α) G(z)`, `α ~ U(0, 1)` per sample (WGAN-GP).
//!
//! ## Hinge loss and R1 (notebook 06)
//! The hinge game (Lim & Ye, 2017; Miyato et al., 2018) lets D stop pushing once a sample is
//! beyond its margin: D minimises `E[max(0, 1 − D(x))] + E[max(0, 1 + D(G(z)))]`
//! ([`hinge_discriminator_loss`]); G minimises `−E[D(G(z))]`, the WGAN generator loss.
//! The R1 penalty (Mescheder et al., 2018) `(γ/2) E_x[‖∇_x D(x)‖²]` ([`r1_penalty`]) flattens D
//! around the real data, so that D's gradient does not overshoot when G lands there.
//!
//! ## Pix2Pix (Isola et al., 2017)
//! The generator adds `λ · E‖y − G(x)‖₁` ([`l1_loss`], λ = 100 in the paper) to its GAN loss.

use tch::{Kind, Reduction, Tensor};

/// The binary cross-entropy of D's logits against one label for the whole batch:
/// `−E[y log σ(l) + (1 − y) log(1 − σ(l))]`. With `y = 1` it is `−E[log D(x)]`, with `y = 0`
/// `−E[log(1 − D(x))]`; a `y` of 0.9 is one-sided label smoothing. The losses below are built
/// from it, and so can a training step written in a notebook.
pub fn bce(logits: &Tensor, label: f64) -> Tensor {
    let target = logits.full_like(label);
    logits.binary_cross_entropy_with_logits::<Tensor>(&target, None, None, Reduction::Mean)
}

/// `−E[log D(x)] − E[log(1 − D(G(z)))]` from D's logits on a real batch and a fake batch.
pub fn discriminator_loss(real_logits: &Tensor, fake_logits: &Tensor) -> Tensor {
    bce(real_logits, 1.0) + bce(fake_logits, 0.0)
}

/// The minimax ("saturating") generator loss `E[log(1 − D(G(z)))]`, to be minimised.
pub fn generator_loss_minimax(fake_logits: &Tensor) -> Tensor {
    // log(1 − σ(l)) = −softplus(l)
    -fake_logits.softplus().mean(Kind::Float)
}

/// The non-saturating generator loss `−E[log D(G(z))]`, to be minimised.
pub fn generator_loss_non_saturating(fake_logits: &Tensor) -> Tensor {
    bce(fake_logits, 1.0)
}

/// The critic's loss `E[C(G(z))] − E[C(x)]`: its negative is the Wasserstein estimate.
pub fn critic_loss(real_scores: &Tensor, fake_scores: &Tensor) -> Tensor {
    fake_scores.mean(Kind::Float) - real_scores.mean(Kind::Float)
}

/// The WGAN generator loss `−E[C(G(z))]`.
pub fn generator_loss_wasserstein(fake_scores: &Tensor) -> Tensor {
    -fake_scores.mean(Kind::Float)
}

/// The hinge loss of D: `E[max(0, 1 − D(x))] + E[max(0, 1 + D(G(z)))]` on raw scores. A
/// real sample scored above 1 or a fake below −1 adds nothing: D stops pushing it.
pub fn hinge_discriminator_loss(real_scores: &Tensor, fake_scores: &Tensor) -> Tensor {
    (-real_scores + 1.0).relu().mean(Kind::Float) + (fake_scores + 1.0).relu().mean(Kind::Float)
}

/// The least-squares distance of D's scores to one target for the whole batch,
/// `E[(D(x) − target)²]` (LSGAN, Mao et al. 2017): target 1 for "real", 0 for "fake".
pub fn least_squares(scores: &Tensor, target: f64) -> Tensor {
    (scores - target).square().mean(Kind::Float)
}

/// The R1 penalty `(γ/2) · E[‖∇_x D(x)‖²]` for D's `scores` of the `real` batch, which must have
/// been made with `set_requires_grad(true)`. Taken with `create_graph`, so that it trains D.
pub fn r1_penalty(scores: &Tensor, real: &Tensor, gamma: f64) -> anyhow::Result<Tensor> {
    anyhow::ensure!(
        real.requires_grad() && scores.requires_grad(),
        "R1 differentiates D's scores with respect to the real batch: make the batch with \
         set_requires_grad(true) and score it outside no_grad"
    );
    let gradients = Tensor::f_run_backward(&[scores.sum(Kind::Float)], &[real], true, true)?;
    let squared =
        gradients[0]
            .flatten(1, -1)
            .square()
            .sum_dim_intlist([1i64].as_slice(), false, Kind::Float);
    Ok(squared.mean(Kind::Float) * (gamma / 2.0))
}

/// `λ · E[(‖∇_x̂ C(x̂)‖₂ − 1)²]` with `x̂ = α·real + (1 − α)·fake`, one `α ~ U(0, 1)` per sample.
///
/// `critic` maps a batch to scores `[B]` or `[B, 1]`. The gradient is taken with
/// `create_graph`, so the penalty itself can be back-propagated into the critic's weights.
pub fn gradient_penalty(
    critic: impl Fn(&Tensor) -> anyhow::Result<Tensor>,
    real: &Tensor,
    fake: &Tensor,
    lambda: f64,
) -> anyhow::Result<Tensor> {
    anyhow::ensure!(
        real.dim() >= 1 && real.size() == fake.size(),
        "the gradient penalty mixes real and fake samples of the same shape, got {:?} and {:?}",
        real.size(),
        fake.size()
    );
    let batch = real.size()[0];
    // One α per sample, broadcast over the other dimensions.
    let mut shape = vec![batch];
    shape.extend(std::iter::repeat_n(1, real.dim() - 1));
    let alpha = Tensor::rand(&shape, (real.kind(), real.device()));
    let x_hat: Tensor = &alpha * real.detach() + (alpha.ones_like() - &alpha) * fake.detach();
    let x_hat = x_hat.set_requires_grad(true);
    penalty_at(&critic(&x_hat)?, &x_hat, lambda)
}

/// The penalty term for scores already computed at `x_hat` (which must require grad).
pub fn penalty_at(scores: &Tensor, x_hat: &Tensor, lambda: f64) -> anyhow::Result<Tensor> {
    anyhow::ensure!(
        x_hat.requires_grad() && scores.requires_grad(),
        "the penalty differentiates the scores with respect to x_hat: make x_hat with \
         set_requires_grad(true) and score it outside no_grad"
    );
    let gradients = Tensor::f_run_backward(&[scores.sum(Kind::Float)], &[x_hat], true, true)?;
    let norms = gradients[0]
        .flatten(1, -1)
        .norm_scalaropt_dim(2.0, [1i64].as_slice(), false);
    Ok((norms - 1.0).square().mean(Kind::Float) * lambda)
}

/// `λ · E|a − b|`, the Pix2Pix reconstruction term.
pub fn l1_loss(output: &Tensor, target: &Tensor, lambda: f64) -> Tensor {
    output.l1_loss(target, Reduction::Mean) * lambda
}

/// The saturation figure, computed by autograd through the real loss functions: for D(G(z))
/// from 0.001 to 0.999, the magnitude of each generator loss's gradient with respect to D's
/// logit, which is all G's weights ever receive from the loss. Returns
/// `(d_of_g_z, minimax, non_saturating)`, `points` values each.
///
/// Analytically the minimax gradient is D(G(z)) itself, vanishing exactly where a new
/// generator starts (D rejects its samples), and the non-saturating one is 1 − D(G(z)).
pub fn saturation_curves(points: usize) -> anyhow::Result<(Vec<f64>, Vec<f64>, Vec<f64>)> {
    anyhow::ensure!(points >= 2, "saturation_curves needs at least 2 points");
    let p = Tensor::linspace(
        0.001,
        0.999,
        points as i64,
        (Kind::Double, tch::Device::Cpu),
    );
    let gradient = |loss: fn(&Tensor) -> Tensor| -> anyhow::Result<Vec<f64>> {
        let logits = (&p / (-&p + 1.0)).log().set_requires_grad(true); // l = σ⁻¹(D(G(z)))
        let value = loss(&logits) * points as f64; // the losses average over the batch
        let grad = Tensor::run_backward(&[value], &[&logits], false, false);
        Ok(Vec::<f64>::try_from(grad[0].abs())?)
    };
    Ok((
        Vec::<f64>::try_from(&p)?,
        gradient(generator_loss_minimax)?,
        gradient(generator_loss_non_saturating)?,
    ))
}

/// [`saturation_curves`] as a chart.
pub fn saturation_chart() -> anyhow::Result<crate::viz::LineChart> {
    let (x, minimax, non_saturating) = saturation_curves(200)?;
    Ok(
        crate::viz::LineChart::new(
            "How much gradient reaches G, by how well D rejects its samples",
        )
        .axes(
            "D(G(z))  (0: D is sure the sample is fake)",
            "|∂ loss_g / ∂ logit|",
        )
        .series("minimax: log(1 − D(G(z)))", x.iter().copied().zip(minimax))
        .series(
            "non-saturating: −log D(G(z))",
            x.iter().copied().zip(non_saturating),
        ),
    )
}

#[cfg(test)]
mod tests {
    //! Reference values from PyTorch 2.11.0 (the venv's torch), computed with:
    //! ```python
    //! import torch, torch.nn.functional as F
    //! real = torch.tensor([2.5, 0.3, -1.0, 4.0])   # D's logits on real images
    //! fake = torch.tensor([-2.0, -0.5, 0.0, 1.5])  # D's logits on generated images
    //! F.binary_cross_entropy_with_logits(real, torch.ones(4)) \
    //!   + F.binary_cross_entropy_with_logits(fake, torch.zeros(4))   # 1.2400555610656738
    //! torch.log(1 - torch.sigmoid(fake)).mean()                      # -0.7488913536071777
    //! F.binary_cross_entropy_with_logits(fake, torch.ones(4))         # 0.9988914132118225
    //! fake.mean() - real.mean()                                       # -1.7000000476837158
    //! -fake.mean()                                                    # 0.25
    //! F.relu(1 - real).mean() + F.relu(1 + fake).mean()               # 1.6749999523162842
    //! 0.5 * (F.mse_loss(real, torch.ones(4)) + F.mse_loss(fake, torch.zeros(4)))  # 2.7799999713897705
    //! F.mse_loss(fake, torch.ones(4))                                 # 3.125
    //! a = torch.tensor([[0.5, -1.0], [2.0, 0.25]]); b = torch.tensor([[0.0, -0.5], [1.0, 1.0]])
    //! 100 * (a - b).abs().mean()                                      # 68.75
    //! x = torch.tensor([-4.0], requires_grad=True)
    //! torch.log(1 - torch.sigmoid(x)).mean().backward(); x.grad      # -0.01798621006309986
    //! x = torch.tensor([-4.0], requires_grad=True)
    //! F.binary_cross_entropy_with_logits(x, torch.ones(1)).backward(); x.grad  # -0.9820137619972229
    //! ```
    use super::*;
    use tch::Device;

    fn t(values: &[f32]) -> Tensor {
        Tensor::from_slice(values)
    }

    fn close(a: &Tensor, expected: f64) {
        let got = a.double_value(&[]);
        assert!(
            (got - expected).abs() < 1e-6,
            "got {got}, PyTorch gives {expected}"
        );
    }

    const REAL: [f32; 4] = [2.5, 0.3, -1.0, 4.0];
    const FAKE: [f32; 4] = [-2.0, -0.5, 0.0, 1.5];

    #[test]
    fn gan_losses_match_pytorch() {
        close(
            &discriminator_loss(&t(&REAL), &t(&FAKE)),
            1.2400555610656738,
        );
        close(&generator_loss_minimax(&t(&FAKE)), -0.7488913536071777);
        close(
            &generator_loss_non_saturating(&t(&FAKE)),
            0.9988914132118225,
        );
    }

    #[test]
    fn wasserstein_and_l1_match_pytorch() {
        close(&critic_loss(&t(&REAL), &t(&FAKE)), -1.7000000476837158);
        close(&generator_loss_wasserstein(&t(&FAKE)), 0.25);
        let a = t(&[0.5, -1.0, 2.0, 0.25]).view([2, 2]);
        let b = t(&[0.0, -0.5, 1.0, 1.0]).view([2, 2]);
        close(&l1_loss(&a, &b, 100.0), 68.75);
    }

    /// LSGAN as CycleGAN's code computes it: `0.5 * (F.mse_loss(real, 1) + F.mse_loss(fake,
    /// 0))` for D and `F.mse_loss(fake, 1)` for G (the trainer's `d_game_loss` and
    /// `g_game_loss` are checked against the same numbers in `train::step`).
    #[test]
    fn least_squares_matches_pytorch() {
        let (real, fake) = (t(&REAL), t(&FAKE));
        let d = (least_squares(&real, 1.0) + least_squares(&fake, 0.0)) * 0.5;
        close(&d, 2.7799999713897705);
        close(&least_squares(&fake, 1.0), 3.125);
    }

    #[test]
    fn hinge_matches_pytorch_and_r1_is_analytic() {
        close(
            &hinge_discriminator_loss(&t(&REAL), &t(&FAKE)),
            1.6749999523162842,
        );
        // D(x) = w·x has gradient w everywhere: R1 = γ/2 · ‖w‖² = 10/2 · 25.
        let w = t(&[3.0, 4.0, 0.0, 0.0]).view([4, 1]);
        let real = Tensor::randn([8, 1, 2, 2], (Kind::Float, Device::Cpu)).set_requires_grad(true);
        let scores = real.flatten(1, -1).matmul(&w);
        close(&r1_penalty(&scores, &real, 10.0).unwrap(), 125.0);
        // Without the graph to the batch it explains what to do.
        let plain = Tensor::randn([8, 1, 2, 2], (Kind::Float, Device::Cpu));
        let err = r1_penalty(&plain.flatten(1, -1).matmul(&w), &plain, 10.0).unwrap_err();
        assert!(err.to_string().contains("set_requires_grad"), "{err}");
    }

    #[test]
    fn saturation_curves_are_the_analytic_gradients() {
        let (x, minimax, non_saturating) = saturation_curves(50).unwrap();
        for i in 0..50 {
            assert!((minimax[i] - x[i]).abs() < 1e-9, "minimax at {}", x[i]);
            assert!((non_saturating[i] - (1.0 - x[i])).abs() < 1e-9);
        }
        assert!(
            saturation_chart()
                .unwrap()
                .to_svg()
                .unwrap()
                .contains("non-saturating")
        );
    }

    #[test]
    fn saturation_gradients_match_pytorch() {
        // Where D is sure a fake is fake (logit −4), the minimax loss hardly moves G.
        let grad = |loss: fn(&Tensor) -> Tensor| {
            let x = t(&[-4.0]).set_requires_grad(true);
            loss(&x).backward();
            x.grad().double_value(&[0])
        };
        assert!((grad(generator_loss_minimax) - -0.01798621006309986).abs() < 1e-7);
        assert!((grad(generator_loss_non_saturating) - -0.9820137619972229).abs() < 1e-7);
    }

    #[test]
    fn gradient_penalty_of_a_linear_critic_is_analytic() {
        // C(x) = w·x has gradient w everywhere, so the penalty is λ (‖w‖ − 1)² whatever α is.
        let w = t(&[3.0, 4.0, 0.0, 0.0]).view([1, 4]); // ‖w‖ = 5
        let critic = |x: &Tensor| Ok(x.flatten(1, -1).matmul(&w.transpose(0, 1)));
        let real = Tensor::randn([8, 1, 2, 2], (Kind::Float, Device::Cpu));
        let fake = Tensor::randn([8, 1, 2, 2], (Kind::Float, Device::Cpu));
        close(
            &gradient_penalty(critic, &real, &fake, 10.0).unwrap(),
            10.0 * 16.0,
        );
        // A unit-norm critic is not penalised.
        let unit = t(&[0.6, 0.8, 0.0, 0.0]).view([1, 4]);
        let critic = |x: &Tensor| Ok(x.flatten(1, -1).matmul(&unit.transpose(0, 1)));
        close(&gradient_penalty(critic, &real, &fake, 10.0).unwrap(), 0.0);
    }

    #[test]
    fn gradient_penalty_reaches_the_critic_weights() {
        // create_graph: the penalty must have a gradient with respect to the critic's weights.
        let w = t(&[3.0, 4.0]).view([1, 2]).set_requires_grad(true);
        let critic = |x: &Tensor| Ok(x.matmul(&w.transpose(0, 1)));
        let real = Tensor::ones([4, 2], (Kind::Float, Device::Cpu));
        let penalty = gradient_penalty(critic, &real, &real.zeros_like(), 1.0).unwrap();
        penalty.backward();
        // d/dw (‖w‖ − 1)² = 2 (‖w‖ − 1) w / ‖w‖ = 2 · 4 · (0.6, 0.8) = (4.8, 6.4)
        let grad = Vec::<f32>::try_from(w.grad().view([-1])).unwrap();
        assert!(
            (grad[0] - 4.8).abs() < 1e-4 && (grad[1] - 6.4).abs() < 1e-4,
            "{grad:?}"
        );
    }
}
