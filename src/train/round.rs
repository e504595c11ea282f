//! Your own training step: `trainer.train_with(n, my_step)` plays `n` rounds of the game with
//! `my_step`, and keeps everything else the trainer does: seeding, the shuffled batches, the
//! history and its checks, snapshots, live progress, checkpoints.
//!
//! A step receives a [`Round`]: the real batch, noise, both networks, both optimisers, and where
//! to report the numbers the history records. The crate's own step, [`standard_step`], is written
//! with the same calls, so a step typed in a notebook can do everything it does. With the same
//! seed, a step that does the same arithmetic gives the same numbers: notebook 01 checks this.
//!
//! ```no_run
//! # use gans::prelude::*;
//! # use gans::train::Round;
//! # use gans::losses::bce;
//! fn my_step(r: &mut Round) -> Result<()> {
//!     let (real, _) = r.real()?;                 // a real batch (and its labels, if any)
//!     let z = r.noise(real.size()[0])?;          // as many noise vectors
//!     let fake = r.g(&z, None);                  // G(z), with the graph back to G's weights
//!     let real_scores = r.d(&real, None)?;
//!     let fake_scores = r.d(&fake.detach(), None)?; // detach: D's loss must not move G
//!     let loss_d = bce(&real_scores, 1.0) + bce(&fake_scores, 0.0);
//!     r.opt_d().zero_grad();
//!     loss_d.backward();
//!     r.opt_d().step();
//!     r.log_d(&loss_d, &real_scores, &fake_scores);
//!     let scores = r.d(&fake, None)?;            // the updated D on the same fakes, graph kept
//!     let loss_g = bce(&scores, 1.0);            // non-saturating: G wants "real"
//!     r.opt_g().zero_grad();
//!     loss_g.backward();
//!     r.opt_g().step();
//!     r.log_g(&loss_g, &scores);
//!     Ok(())
//! }
//! # fn main() -> Result<()> {
//! # let mut trainer = Trainer::new(TrainConfig::toy(ToyConfig::default()),
//! #     Toy2d::new(Toy2dKind::Ring, Device::Cpu))?;
//! trainer.train_with(500, my_step)?;
//! # Ok(()) }
//! ```

use anyhow::{Context, Result, ensure};
use tch::{Device, Kind, Tensor};

use super::augment::Augmented;
use super::config::TrainConfig;
use super::step::{DExtras, update_d_with, update_g, update_g_l1};
use super::step::{DStep, Discriminator, GStep, Generator, mean_output};
use super::trainer::Trainer;
use crate::optim::Optimizer;

/// One round of the game as a step function sees it. Made by the trainer for each generator
/// step, after seeding libtorch's generator for that step.
pub struct Round<'a> {
    pub(crate) trainer: &'a mut Trainer,
    /// How many D and G reports this round made.
    pub(crate) d_logged: usize,
    pub(crate) g_logged: usize,
}

impl std::fmt::Debug for Round<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Round {{ step: {} }}", self.trainer.step)
    }
}

impl Round<'_> {
    /// The hyperparameters of the run (`n_critic`, `clip`, `l1_lambda`, `loss`, …).
    pub fn config(&self) -> &TrainConfig {
        &self.trainer.config
    }

    /// The generator step this round is (0 for the first).
    pub fn step(&self) -> usize {
        self.trainer.step
    }

    pub fn device(&self) -> Device {
        self.trainer.device
    }

    /// The next real batch, on the device, and what conditions it: the labels for a
    /// conditional GAN, the input images for Pix2Pix (whose batch is the targets), else `None`.
    /// Each call takes the next batch of the epoch: call it `n_critic` times for `n_critic` D
    /// updates.
    pub fn real(&mut self) -> Result<(Tensor, Option<Tensor>)> {
        let batch = self.trainer.next_batch()?;
        Ok((batch.real, batch.condition))
    }

    /// `n` noise vectors `z ~ N(0, I)`, `[n, latent_dim]`, from this step's random stream.
    pub fn noise(&self, n: i64) -> Result<Tensor> {
        let latent_dim = self.trainer.config.model.latent_dim().context(
            "this model takes no noise (Pix2Pix's generator takes the input image instead)",
        )?;
        Ok(Tensor::randn(
            [n, latent_dim],
            (Kind::Float, self.trainer.device),
        ))
    }

    /// `G(z)` in training mode, with the graph back to G's weights. `labels` for a conditional
    /// GAN; for Pix2Pix, `z` is the input image.
    pub fn g(&self, z: &Tensor, labels: Option<&Tensor>) -> Tensor {
        self.trainer.generator.generate(z, labels, true)
    }

    /// D's scores in training mode: logits for the BCE games, critic scores for WGAN. The
    /// config's `diff_augment`, `r1_gamma` and `real_label` are the crate's step's business: a
    /// step of your own applies them itself (`gans::train::augment`, `losses::r1_penalty`,
    /// `losses::bce(&scores, 0.9)`).
    /// `condition`: labels for a conditional GAN, the input image for Pix2Pix.
    pub fn d(&self, x: &Tensor, condition: Option<&Tensor>) -> Result<Tensor> {
        self.trainer.discriminator.score(x, condition, true)
    }

    /// The generator, to pass to [`update_g`]-style functions.
    pub fn generator(&self) -> &dyn Generator {
        &*self.trainer.generator
    }

    /// The discriminator (or critic), to pass to [`super::update_d`].
    pub fn discriminator(&self) -> &dyn Discriminator {
        &*self.trainer.discriminator
    }

    /// D's optimiser: `zero_grad`, then `loss.backward()`, then `step`; or `clip(c)`.
    pub fn opt_d(&mut self) -> &mut Optimizer {
        &mut self.trainer.opt_d
    }

    /// G's optimiser.
    pub fn opt_g(&mut self) -> &mut Optimizer {
        &mut self.trainer.opt_g
    }

    /// Records one D update: its loss and its scores of the real and the fake batch, as they
    /// were before the update. The history turns the scores into D(x) and D(G(z))
    /// (probabilities; mean scores for a critic), the Wasserstein estimate for a critic, and
    /// `‖∇D‖` from the gradients `backward` left on D's weights.
    pub fn log_d(&mut self, loss_d: &Tensor, real_scores: &Tensor, fake_scores: &Tensor) {
        let loss = self.trainer.config.loss;
        let wasserstein = loss
            .is_wasserstein()
            .then(|| (real_scores.mean(Kind::Float) - fake_scores.mean(Kind::Float)).detach());
        let step = DStep {
            loss_d: loss_d.detach(),
            d_real: mean_output(real_scores, loss),
            d_fake: mean_output(fake_scores, loss),
            wasserstein,
            grad_norm: self.trainer.opt_d.grad_norm(),
        };
        self.log_d_step(step);
    }

    /// Records one G update: its whole loss and D's scores of the batch it trained on;
    /// `‖∇G‖` comes from the gradients on G's weights.
    pub fn log_g(&mut self, loss_g: &Tensor, fake_scores: &Tensor) {
        let step = GStep {
            loss_g: loss_g.detach(),
            d_fake: mean_output(fake_scores, self.trainer.config.loss),
            grad_norm: self.trainer.opt_g.grad_norm(),
            l1: None,
        };
        self.log_g_step(step);
    }

    /// Records Pix2Pix's L1 distance to the target (without λ) beside the G update.
    pub fn log_l1(&mut self, l1: &Tensor) {
        let values = Tensor::stack(
            &[
                l1.zeros_like(),
                l1.zeros_like(),
                l1.zeros_like(),
                l1.detach(),
            ],
            0,
        );
        self.trainer.window.g += values.to_device(self.trainer.device);
    }

    /// Records a D update made with [`super::update_d`].
    pub fn log_d_step(&mut self, d: DStep) {
        let w = d.wasserstein.unwrap_or_else(|| d.loss_d.zeros_like());
        let values = Tensor::stack(&[d.loss_d, d.d_real, d.d_fake, d.grad_norm, w], 0);
        let window = &mut self.trainer.window;
        window.d += values.to_device(self.trainer.device);
        window.d_count += 1;
        self.d_logged += 1;
    }

    /// Records a G update made with [`update_g`] (its L1 too, for Pix2Pix).
    pub fn log_g_step(&mut self, g: GStep) {
        let l1 = g.l1.unwrap_or_else(|| g.loss_g.zeros_like());
        let values = Tensor::stack(&[g.loss_g, g.d_fake, g.grad_norm, l1], 0);
        let window = &mut self.trainer.window;
        window.g += values.to_device(self.trainer.device);
        window.g_count += 1;
        self.g_logged += 1;
    }

    /// After the step function: every round reports G once, and D at least once (unless
    /// Pix2Pix trains on L1 alone).
    pub(crate) fn check_reports(&self) -> Result<()> {
        ensure!(
            self.g_logged == 1,
            "the step function reported G's update {} times in step {}: call r.log_g(&loss_g, \
             &scores) exactly once per step, after G's update (the history needs G's loss of \
             every step)",
            self.g_logged,
            self.trainer.step
        );
        ensure!(
            self.d_logged > 0 || !self.trainer.config.adversarial,
            "the step function never reported D's update in step {}: call r.log_d(&loss_d, \
             &real_scores, &fake_scores) after each D update",
            self.trainer.step
        );
        Ok(())
    }
}

/// The crate's step, the one [`Trainer::train`] plays: `n_critic` D updates with
/// [`update_d_with`] (with the config's label smoothing and R1 penalty, each followed by
/// clipping when `clip` is set), then one G update with [`update_g`]; for Pix2Pix's "L1 only"
/// baseline, G's update alone. With `diff_augment` on, D sees every batch through
/// [`super::augment::diff_augment`], in both updates.
///
/// With `n_critic = 1` the fake batch D was trained on is reused for G's update (one generator
/// forward pass per step, as the PyTorch DCGAN tutorial does); with more critic steps G gets
/// fresh noise, as in the WGAN papers' Algorithm 1.
pub fn standard_step(r: &mut Round) -> Result<()> {
    let config = r.config().clone();
    if !config.adversarial {
        let (target, input) = r.real()?;
        let input = input.context("Pix2Pix needs input images")?;
        let fake = r.g(&input, None);
        let g = update_g_l1(r.opt_g(), &fake, &target, config.l1_lambda)?;
        r.log_g_step(g);
        return Ok(());
    }
    let mut kept: Option<(Tensor, Option<Tensor>, Tensor)> = None;
    for i in 0..config.n_critic {
        let (real, condition) = r.real()?;
        let reuse = config.n_critic == 1 && i == 0;
        let fake = if reuse {
            r.fake_for(&real, condition.as_ref())?
        } else {
            tch::no_grad(|| r.fake_for(&real, condition.as_ref()))?
        };
        let t = &mut *r.trainer;
        let d = update_d_with(
            &Augmented::new(&*t.discriminator, config.diff_augment),
            &mut t.opt_d,
            &real,
            &fake,
            condition.as_ref(),
            config.loss,
            DExtras::of(&config),
        )?;
        if let Some(c) = config.clip {
            r.opt_d().clip(c);
        }
        r.log_d_step(d);
        if reuse {
            kept = Some((real, condition, fake));
        } else if i + 1 == config.n_critic {
            // Fresh noise (not the batch D just saw) for G, conditioned like the last batch.
            let fake = r.fake_for(&real, condition.as_ref())?;
            kept = Some((real, condition, fake));
        }
    }
    let (real, condition, fake) = kept.context("n_critic must be at least 1")?;
    let l1 = config
        .model
        .model()
        .reconstructs()
        .then_some((&real, config.l1_lambda));
    let t = &mut *r.trainer;
    let g = update_g(
        &Augmented::new(&*t.discriminator, config.diff_augment),
        &mut t.opt_g,
        &fake,
        condition.as_ref(),
        config.loss,
        l1,
    )?;
    r.log_g_step(g);
    Ok(())
}

impl Round<'_> {
    /// G's output for a real batch: from fresh noise (with the batch's labels for a cGAN), or
    /// from the batch's input images for Pix2Pix.
    pub fn fake_for(&self, real: &Tensor, condition: Option<&Tensor>) -> Result<Tensor> {
        match self.trainer.config.model.latent_dim() {
            Some(_) => {
                let z = self.noise(real.size()[0])?;
                Ok(self.g(&z, condition))
            }
            None => {
                let input = condition.context("Pix2Pix needs input images")?;
                Ok(self.g(input, None))
            }
        }
    }
}
