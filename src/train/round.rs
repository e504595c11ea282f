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
use super::batches::Batches;
use super::config::TrainConfig;
use super::health::Window;
use super::players::Players;
use super::step::{DRegularization, DUpdate, GUpdate, mean_output};
use super::step::{update_d, update_g, update_g_l1};
use crate::game::{Discriminator, Generator};
use crate::optim::Optimizer;

/// One round of the game as a step function sees it. Made by the trainer for each generator
/// step, after seeding libtorch's generator for that step. It borrows what a step uses (the
/// players, the batches, the history window) and nothing else of the trainer.
pub struct Round<'a> {
    config: &'a TrainConfig,
    /// The generator step this round is.
    index: usize,
    players: &'a mut Players,
    batches: &'a mut Batches,
    window: &'a mut Window,
    /// How many D and G reports this round made.
    d_logged: usize,
    g_logged: usize,
}

impl std::fmt::Debug for Round<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Round {{ step: {} }}", self.index)
    }
}

impl<'a> Round<'a> {
    pub(crate) fn new(
        config: &'a TrainConfig,
        index: usize,
        players: &'a mut Players,
        batches: &'a mut Batches,
        window: &'a mut Window,
    ) -> Self {
        Round {
            config,
            index,
            players,
            batches,
            window,
            d_logged: 0,
            g_logged: 0,
        }
    }
}

impl Round<'_> {
    /// The hyperparameters of the run (`n_critic`, `clip`, `l1_lambda`, `loss`, …).
    pub fn config(&self) -> &TrainConfig {
        self.config
    }

    /// The generator step this round is (0 for the first).
    pub fn step(&self) -> usize {
        self.index
    }

    pub fn device(&self) -> Device {
        self.batches.data.device()
    }

    /// The next real batch, on the device, and what conditions it: the labels for a
    /// conditional GAN, the input images for Pix2Pix (whose batch is the targets), else `None`.
    /// Each call takes the next batch of the epoch: call it `n_critic` times for `n_critic` D
    /// updates.
    pub fn real(&mut self) -> Result<(Tensor, Option<Tensor>)> {
        let batch = self.batches.next(self.config)?;
        Ok((batch.real, batch.condition))
    }

    /// `n` noise vectors `z ~ N(0, I)`, `[n, latent_dim]`, from this step's random stream.
    pub fn noise(&self, n: i64) -> Result<Tensor> {
        let latent_dim = self.config.model.latent_dim().context(
            "this model takes no noise (Pix2Pix's generator takes the input image instead)",
        )?;
        Ok(Tensor::randn([n, latent_dim], (Kind::Float, self.device())))
    }

    /// `G(z)` in training mode, with the graph back to G's weights. `labels` for a conditional
    /// GAN; for Pix2Pix, `z` is the input image.
    pub fn g(&self, z: &Tensor, labels: Option<&Tensor>) -> Tensor {
        self.players.generator().generate(z, labels, true)
    }

    /// D's scores in training mode: logits for the BCE games, critic scores for WGAN. The
    /// config's `diff_augment`, `r1_gamma` and `real_label` are the crate's step's business: a
    /// step of your own applies them itself (`gans::train::augment`, `losses::r1_penalty`,
    /// `losses::bce(&scores, 0.9)`).
    /// `condition`: labels for a conditional GAN, the input image for Pix2Pix.
    pub fn d(&self, x: &Tensor, condition: Option<&Tensor>) -> Result<Tensor> {
        self.players.discriminator().score(x, condition, true)
    }

    /// The generator, to pass to [`update_g`]-style functions.
    pub fn generator(&self) -> &dyn Generator {
        self.players.generator()
    }

    /// The discriminator (or critic), to pass to [`update_d`].
    pub fn discriminator(&self) -> &dyn Discriminator {
        self.players.discriminator()
    }

    /// Every player of the game: for a model with several generators or discriminators, find
    /// each by name (`r.players().generator_named("g_ab")?`).
    pub fn players(&self) -> &Players {
        self.players
    }

    /// D's optimiser (every discriminator's weights): `zero_grad`, then `loss.backward()`, then
    /// `step`; or `clip(c)`.
    pub fn opt_d(&mut self) -> &mut Optimizer {
        &mut self.players.opt_d
    }

    /// G's optimiser (every generator's weights).
    pub fn opt_g(&mut self) -> &mut Optimizer {
        &mut self.players.opt_g
    }

    /// Records one D update: its loss and its scores of the real and the fake batch, as they
    /// were before the update. The history turns the scores into D(x) and D(G(z))
    /// (probabilities; mean scores for a critic), the Wasserstein estimate for a critic, and
    /// `‖∇D‖` from the gradients `backward` left on D's weights.
    pub fn log_d(&mut self, loss_d: &Tensor, real_scores: &Tensor, fake_scores: &Tensor) {
        let loss = self.config.loss;
        let wasserstein = loss
            .is_wasserstein()
            .then(|| (real_scores.mean(Kind::Float) - fake_scores.mean(Kind::Float)).detach());
        let update = DUpdate {
            loss_d: loss_d.detach(),
            d_real: mean_output(real_scores, loss),
            d_fake: mean_output(fake_scores, loss),
            wasserstein,
            grad_norm: self.players.opt_d.grad_norm(),
        };
        self.log_d_update(update);
    }

    /// Records one G update: its whole loss and D's scores of the batch it trained on;
    /// `‖∇G‖` comes from the gradients on G's weights.
    pub fn log_g(&mut self, loss_g: &Tensor, fake_scores: &Tensor) {
        let update = GUpdate {
            loss_g: loss_g.detach(),
            d_fake: mean_output(fake_scores, self.config.loss),
            grad_norm: self.players.opt_g.grad_norm(),
            l1: None,
        };
        self.log_g_update(update);
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
        self.window.g += values.to_device(self.device());
    }

    /// Records a D update made with [`update_d`].
    pub fn log_d_update(&mut self, d: DUpdate) {
        let w = d.wasserstein.unwrap_or_else(|| d.loss_d.zeros_like());
        let values = Tensor::stack(&[d.loss_d, d.d_real, d.d_fake, d.grad_norm, w], 0);
        let device = self.device();
        self.window.d += values.to_device(device);
        self.window.d_count += 1;
        self.d_logged += 1;
    }

    /// Records a G update made with [`update_g`] (its L1 too, for Pix2Pix).
    pub fn log_g_update(&mut self, g: GUpdate) {
        let l1 = g.l1.unwrap_or_else(|| g.loss_g.zeros_like());
        let values = Tensor::stack(&[g.loss_g, g.d_fake, g.grad_norm, l1], 0);
        let device = self.device();
        self.window.g += values.to_device(device);
        self.window.g_count += 1;
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
            self.index
        );
        ensure!(
            self.d_logged > 0 || !self.config.adversarial,
            "the step function never reported D's update in step {}: call r.log_d(&loss_d, \
             &real_scores, &fake_scores) after each D update",
            self.index
        );
        Ok(())
    }
}

/// The crate's step, the one [`Trainer::train`] plays: `n_critic` D updates with
/// [`update_d`] (with the config's label smoothing and R1 penalty, each followed by
/// clipping when `clip` is set), then one G update with [`update_g`]; for Pix2Pix's "L1 only"
/// baseline, G's update alone. With `diff_augment` on, D sees every batch through
/// [`super::augment::diff_augment`], in both updates.
///
/// With `n_critic = 1` the fake batch D was trained on is reused for G's update (one generator
/// forward pass per step, as the PyTorch DCGAN tutorial does); with more critic steps G gets
/// fresh noise, as in the WGAN papers' Algorithm 1.
pub fn standard_step(r: &mut Round) -> Result<()> {
    let config = r.config().clone();
    r.players().ensure_one_of_each(config.model.name())?;
    if !config.adversarial {
        let (target, input) = r.real()?;
        let input = input.context("Pix2Pix needs input images")?;
        let fake = r.g(&input, None);
        let g = update_g_l1(r.opt_g(), &fake, &target, config.l1_lambda)?;
        r.log_g_update(g);
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
        let players = &mut *r.players;
        let d = update_d(
            &Augmented::new(&*players.discriminators[0].1, config.diff_augment),
            &mut players.opt_d,
            &real,
            &fake,
            condition.as_ref(),
            config.loss,
            DRegularization::of(&config),
        )?;
        if let Some(c) = config.clip {
            r.opt_d().clip(c);
        }
        r.log_d_update(d);
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
    let players = &mut *r.players;
    let g = update_g(
        &Augmented::new(&*players.discriminators[0].1, config.diff_augment),
        &mut players.opt_g,
        &fake,
        condition.as_ref(),
        config.loss,
        l1,
    )?;
    r.log_g_update(g);
    Ok(())
}

impl Round<'_> {
    /// G's output for a real batch: from fresh noise (with the batch's labels for a cGAN), or
    /// from the batch's input images for Pix2Pix.
    pub fn fake_for(&self, real: &Tensor, condition: Option<&Tensor>) -> Result<Tensor> {
        match self.config.model.latent_dim() {
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
