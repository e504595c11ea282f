//! Every hyperparameter of a run in one value: which networks, which game, which optimisers,
//! how long a batch is, how often to look. A notebook sets them in one cell; the CLI reads them
//! from flags; a checkpoint saves them in its JSON.
//!
//! The presets carry each paper's numbers:
//!
//! | preset | loss | optimisers | n_critic | source |
//! | --- | --- | --- | --- | --- |
//! | [`TrainConfig::gan`] | non-saturating BCE | Adam 2e-4, β = (0.5, 0.999) | 1 | DCGAN (Radford et al., 2016) |
//! | [`TrainConfig::wgan`] | Wasserstein, clip c = 0.01 | RMSprop 5e-5 | 5 | WGAN (Arjovsky et al., 2017), Algorithm 1 |
//! | [`TrainConfig::wgan_gp`] | Wasserstein + GP, λ = 10 | Adam 1e-4, β = (0, 0.9) | 5 | WGAN-GP (Gulrajani et al., 2017), Algorithm 1 |
//! | [`TrainConfig::pix2pix`] | BCE on patches + L1, λ = 100 | Adam 2e-4, β = (0.5, 0.999) | 1 | Pix2Pix (Isola et al., 2017) |

use anyhow::{Result, ensure};
use serde::{Deserialize, Serialize};

use crate::game::GanLoss;
use crate::models::GanModel;
use crate::models::cyclegan::CycleGanConfig;
use crate::models::dcgan::DcganConfig;
use crate::models::mlp::MlpConfig;
use crate::models::patchgan::PatchGanConfig;
use crate::models::pix2pix::Pix2PixConfig;
use crate::models::toy::ToyConfig;
use crate::models::unet::UnetConfig;
use crate::optim::OptimizerKind;
use crate::precision::Precision;

/// Which networks to build: one arm per model of the crate, each holding that model's config,
/// and [`ModelConfig::Custom`] for a model of one's own. Everything else about a model lives in
/// its own file, behind [`GanModel`]: adding one to the crate is that file, one arm here and, to
/// offer it by name, one entry in [`super::registry`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ModelConfig {
    /// The small fully connected networks for the 2-D rings.
    Toy(ToyConfig),
    /// The fully connected GAN of the original paper (or its learner variant).
    Mlp(MlpConfig),
    /// DCGAN's convolutional networks (also the WGAN critic, with `norm` set accordingly).
    Dcgan(DcganConfig),
    /// U-Net generator and PatchGAN discriminator.
    Pix2Pix(Pix2PixConfig),
    /// Two ResNet generators and two PatchGANs, trained on unpaired pictures by
    /// [`super::cycle::cycle_step`].
    CycleGan(CycleGanConfig),
    /// A model of your own: any [`GanModel`], with as many generators and discriminators as it
    /// builds (networks typed in a notebook, a game of several players). It trains like the
    /// crate's models. A checkpoint records only its name, so loading one needs the model
    /// again: build a trainer with it, then call `trainer.load_checkpoint(dir)`.
    Custom(CustomModel),
}

/// A [`GanModel`] of your own inside a [`ModelConfig`]: `ModelConfig::custom(MyModel { … })`.
#[derive(Clone)]
pub struct CustomModel(std::sync::Arc<dyn GanModel + Send + Sync>);

impl std::fmt::Debug for CustomModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CustomModel({})", self.0.name())
    }
}

/// Two custom models are the same model when they have the same name.
impl PartialEq for CustomModel {
    fn eq(&self, other: &Self) -> bool {
        self.0.name() == other.0.name()
    }
}

impl Serialize for CustomModel {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0.name())
    }
}

impl<'de> Deserialize<'de> for CustomModel {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Err(serde::de::Error::custom(format!(
            "this checkpoint holds the custom model `{name}`, which only its own code can \
             build: make a Trainer with that model and call trainer.load_checkpoint(dir)"
        )))
    }
}

impl ModelConfig {
    /// The model behind this arm.
    pub fn model(&self) -> &dyn GanModel {
        match self {
            ModelConfig::Toy(c) => c,
            ModelConfig::Mlp(c) => c,
            ModelConfig::Dcgan(c) => c,
            ModelConfig::Pix2Pix(c) => c,
            ModelConfig::CycleGan(c) => c,
            ModelConfig::Custom(c) => &*c.0,
        }
    }

    /// A model of your own, trained by the crate's trainer (see [`ModelConfig::Custom`]).
    pub fn custom(model: impl GanModel + Send + Sync + 'static) -> Self {
        ModelConfig::Custom(CustomModel(std::sync::Arc::new(model)))
    }

    /// Size of `z`; `None` for Pix2Pix, whose generator takes an image.
    pub fn latent_dim(&self) -> Option<i64> {
        self.model().latent_dim()
    }

    /// Classes the model is conditioned on (0: unconditional).
    pub fn n_classes(&self) -> i64 {
        self.model().n_classes()
    }

    /// A short name for titles and file names.
    pub fn name(&self) -> &'static str {
        self.model().name()
    }

    /// True for a model of points of the plane (the toy networks), not of images.
    pub fn makes_points(&self) -> bool {
        self.model().example_shape().len() == 1
    }
}

impl From<ToyConfig> for ModelConfig {
    fn from(c: ToyConfig) -> Self {
        ModelConfig::Toy(c)
    }
}

impl From<MlpConfig> for ModelConfig {
    fn from(c: MlpConfig) -> Self {
        ModelConfig::Mlp(c)
    }
}

impl From<DcganConfig> for ModelConfig {
    fn from(c: DcganConfig) -> Self {
        ModelConfig::Dcgan(c)
    }
}

impl From<CycleGanConfig> for ModelConfig {
    fn from(c: CycleGanConfig) -> Self {
        ModelConfig::CycleGan(c)
    }
}

impl From<Pix2PixConfig> for ModelConfig {
    fn from(c: Pix2PixConfig) -> Self {
        ModelConfig::Pix2Pix(c)
    }
}

/// The hyperparameters of a training run. Build one from a preset and change what you need:
/// `TrainConfig::gan(model).batch_size(128).seed(7)`, or with struct update syntax.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    pub model: ModelConfig,
    pub loss: GanLoss,
    /// The generator's optimiser (its `lr` is `lr_g`).
    pub opt_g: OptimizerKind,
    /// The discriminator's (or critic's) optimiser (its `lr` is `lr_d`).
    pub opt_d: OptimizerKind,
    pub batch_size: usize,
    /// Discriminator updates per generator update (5 for WGAN, 1 otherwise).
    pub n_critic: usize,
    /// WGAN's weight clipping: every critic weight is clamped into [−c, c] after its update.
    pub clip: Option<f64>,
    /// Pix2Pix's weight λ of the L1 term (100 in the paper); unused by the other models.
    pub l1_lambda: f64,
    /// Seeds everything: initial weights, noise, shuffling, the fixed snapshot noise.
    pub seed: u64,
    /// Read the step's numbers back from the device every `log_every` generator steps; each
    /// history point is the mean over those steps.
    pub log_every: usize,
    /// Generate from the fixed noise every `snapshot_every` steps (0: never).
    pub snapshot_every: usize,
    /// Print one line of progress every `print_every` steps (0: only by time, below).
    pub print_every: usize,
    /// Print one line of progress about every `print_seconds` seconds while training, and one
    /// at the end of each `train` call (0: not by time). Default 5: the live view in a
    /// notebook, where a cell's text appears as it is printed.
    #[serde(default = "print_seconds_default")]
    pub print_seconds: f64,
    /// How many fixed noise vectors (or fixed input images) the snapshots show.
    pub n_fixed: usize,
    /// Pix2Pix only: `false` trains the generator on `λ · L1` alone, the paper's "L1 only"
    /// baseline, and never builds a discriminator step (default `true`).
    #[serde(default = "adversarial_default")]
    pub adversarial: bool,
    /// Store every 4-D weight channels-last (NHWC strides), so that convolutions run in that
    /// layout; the values are the same, the float rounding is not. On in every preset: the conv
    /// models measured faster with it on this course's CPU (docs/performance.md), and the fully
    /// connected ones have no 4-D weight. A checkpoint records it, because resuming must round
    /// the same way; checkpoints written before it existed were contiguous, and load as such.
    #[serde(default)]
    pub channels_last: bool,
    /// Pix2Pix only: the paper's random jitter on every training pair (resize ×1.125, random
    /// crop back, random left-right flip; the same for input and target), drawn from the seed
    /// and the batch's number, so that a resumed run jitters the same way (default `false`).
    #[serde(default)]
    pub jitter: bool,
    /// One-sided label smoothing (Salimans et al., 2016): D's target for real samples in the
    /// BCE games; 1 is none, 0.9 the paper's (default 1).
    #[serde(default = "real_label_default")]
    pub real_label: f64,
    /// γ of the R1 penalty `(γ/2) E[‖∇_x D(x)‖²]` on real samples (Mescheder et al., 2018),
    /// added to D's loss in every D update; 0 is none (default 0).
    #[serde(default)]
    pub r1_gamma: f64,
    /// Keep an exponential moving average of G's weights with this decay β (Yazıcı et al.,
    /// 2019): `ema ← β_t·ema + (1 − β_t)·G` after step t, `β_t = min(β, (1 + t) / (10 + t))`
    /// (a warm-up, so that the starting weights fade in a short run). Sampling, snapshots and
    /// scores then use the average; training uses G. `None`: off (default).
    #[serde(default)]
    pub ema: Option<f64>,
    /// Differentiable augmentation (Zhao et al., 2020; [`super::augment`]): the crate's step
    /// augments every batch D sees, real and fake, in D's update and in G's (default `false`).
    #[serde(default)]
    pub diff_augment: bool,
    /// Both learning rates fall linearly to 0 between two steps, as CycleGAN's paper does over
    /// its second half (`None`: constant, default). The rate of a step is a function of its
    /// number, so a resumed run uses the same rates.
    #[serde(default)]
    pub lr_decay: Option<LinearDecay>,
    /// The precision of the step's convolutions and matrix products ([`crate::precision`]):
    /// `Bf16` multiplies in bfloat16 where the hardware does so natively, with the weights,
    /// the optimisers' state, the normalisations, the losses and the checkpoints in fp32
    /// (default `Fp32`).
    #[serde(default)]
    pub precision: Precision,
}

/// Learning rates constant until step `start`, then falling linearly to 0 at step `end`: the
/// rate of step t is `lr · (1 − (t − start) / (end − start))` in between.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinearDecay {
    pub start: usize,
    pub end: usize,
}

impl LinearDecay {
    /// Constant for the first half of `steps`, then down to 0 at `steps` (CycleGAN's schedule).
    pub fn second_half_of(steps: usize) -> Self {
        LinearDecay {
            start: steps / 2,
            end: steps,
        }
    }

    /// The factor of the base rate at step `step`: 1 before `start`, 0 from `end` on.
    pub fn factor(&self, step: usize) -> f64 {
        if step <= self.start {
            return 1.0;
        }
        let span = self.end.saturating_sub(self.start).max(1) as f64;
        (1.0 - (step - self.start) as f64 / span).max(0.0)
    }
}

fn real_label_default() -> f64 {
    1.0
}

/// The fast-EMA preset's learning rate, for G and D.
const FAST_EMA_LR: f64 = 1e-3;

fn print_seconds_default() -> f64 {
    5.0
}

fn adversarial_default() -> bool {
    true
}

impl TrainConfig {
    /// The GAN as the DCGAN paper trains it: non-saturating loss, Adam lr 2e-4, β = (0.5, 0.999),
    /// batch 128. (The paper on β₁: "the suggested value of 0.9 resulted in training oscillation
    /// and instability while reducing it to 0.5 helped stabilize training.")
    pub fn gan(model: impl Into<ModelConfig>) -> Self {
        let model = model.into();
        let adam = OptimizerKind::adam(2e-4, (0.5, 0.999));
        TrainConfig {
            channels_last: true,
            model,
            loss: GanLoss::NonSaturating,
            opt_g: adam,
            opt_d: adam,
            batch_size: 128,
            n_critic: 1,
            clip: None,
            l1_lambda: 100.0,
            seed: 0,
            log_every: 10,
            snapshot_every: 100,
            print_every: 0,
            print_seconds: 5.0,
            n_fixed: 64,
            adversarial: true,
            jitter: false,
            real_label: 1.0,
            r1_gamma: 0.0,
            ema: None,
            diff_augment: false,
            lr_decay: None,
            precision: Precision::Fp32,
        }
    }

    /// The course's fast-EMA DCGAN (notebook 06): the paper's game, networks and batch, with the
    /// two changes its name says, which measured better at the course's budgets
    /// (`examples/remedies.rs`, docs/results.md): Adam at 1e-3 for both players (5 × the
    /// paper's 2e-4, which was chosen for runs of 25 epochs, not 1,800 steps) and sampling from
    /// a moving average of G's weights (β = 0.999, with warm-up), which smooths the larger
    /// steps' jitter.
    pub fn fast_ema(model: impl Into<ModelConfig>) -> Self {
        Self::gan(model)
            .lr(FAST_EMA_LR, FAST_EMA_LR)
            .ema(Some(0.999))
    }

    /// WGAN with weight clipping: RMSprop lr 5e-5, c = 0.01, n_critic = 5, batch 64 (the
    /// paper's Algorithm 1). The critic must not use batch norm's sigmoid: D's output is a score.
    pub fn wgan(model: impl Into<ModelConfig>) -> Self {
        let model = model.into();
        let rmsprop = OptimizerKind::rmsprop(5e-5);
        TrainConfig {
            loss: GanLoss::Wasserstein,
            opt_g: rmsprop,
            opt_d: rmsprop,
            batch_size: 64,
            n_critic: 5,
            clip: Some(0.01),
            ..Self::gan(model)
        }
    }

    /// WGAN-GP: gradient penalty λ = 10, Adam lr 1e-4, β = (0, 0.9), n_critic = 5, batch 64.
    /// The critic must not use batch norm (the penalty is per sample): use layer or instance norm.
    pub fn wgan_gp(model: impl Into<ModelConfig>) -> Self {
        let model = model.into();
        let adam = OptimizerKind::adam(1e-4, (0.0, 0.9));
        TrainConfig {
            loss: GanLoss::WassersteinGp { lambda: 10.0 },
            opt_g: adam,
            opt_d: adam,
            batch_size: 64,
            n_critic: 5,
            clip: None,
            ..Self::gan(model)
        }
    }

    /// Pix2Pix: BCE on the PatchGAN's patches plus λ·L1 with λ = 100, Adam 2e-4, β = (0.5, 0.999).
    /// The paper uses batch 1 to 10; 16 keeps a CPU busy enough.
    pub fn pix2pix(generator: UnetConfig, discriminator: PatchGanConfig) -> Self {
        TrainConfig {
            batch_size: 16,
            n_fixed: 8,
            ..Self::gan(ModelConfig::Pix2Pix(Pix2PixConfig {
                generator,
                discriminator,
            }))
        }
    }

    /// CycleGAN as its paper trains it: the least-squares game, Adam 2e-4, β = (0.5, 0.999), for
    /// both generators and both discriminators. The paper's batch is one picture (with instance
    /// norm any batch size works); the course's default is 4. Add
    /// `.lr_decay(Some(LinearDecay::second_half_of(steps)))` for the paper's schedule.
    pub fn cyclegan(model: CycleGanConfig) -> Self {
        TrainConfig {
            loss: GanLoss::LeastSquares,
            batch_size: 4,
            n_fixed: 8,
            channels_last: false,
            ..Self::gan(ModelConfig::CycleGan(model))
        }
    }

    /// The 2-D ring: the toy networks with the non-saturating loss, Adam 1e-3, batch 256.
    pub fn toy(model: ToyConfig) -> Self {
        TrainConfig {
            opt_g: OptimizerKind::adam(1e-3, (0.5, 0.999)),
            opt_d: OptimizerKind::adam(1e-3, (0.5, 0.999)),
            batch_size: 256,
            snapshot_every: 500,
            n_fixed: 1000,
            ..Self::gan(ModelConfig::Toy(model))
        }
    }

    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }
    /// Learning rates falling linearly to 0 between two steps (`None`: constant).
    pub fn lr_decay(mut self, decay: Option<LinearDecay>) -> Self {
        self.lr_decay = decay;
        self
    }
    /// The precision of the step's convolutions and matrix products (see the field).
    pub fn precision(mut self, precision: Precision) -> Self {
        self.precision = precision;
        self
    }
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    pub fn loss(mut self, loss: GanLoss) -> Self {
        self.loss = loss;
        self
    }
    pub fn n_critic(mut self, n_critic: usize) -> Self {
        self.n_critic = n_critic;
        self
    }
    /// Sets `lr_g` and `lr_d`, keeping each optimiser's other settings.
    pub fn lr(mut self, lr_g: f64, lr_d: f64) -> Self {
        self.opt_g = with_lr(self.opt_g, lr_g);
        self.opt_d = with_lr(self.opt_d, lr_d);
        self
    }
    pub fn log_every(mut self, steps: usize) -> Self {
        self.log_every = steps;
        self
    }
    pub fn snapshot_every(mut self, steps: usize) -> Self {
        self.snapshot_every = steps;
        self
    }
    /// Pix2Pix: `false` for the L1-only baseline (no discriminator).
    pub fn adversarial(mut self, adversarial: bool) -> Self {
        self.adversarial = adversarial;
        self
    }
    /// Pix2Pix: the paper's random jitter on the training pairs on or off (see the field).
    pub fn jitter(mut self, on: bool) -> Self {
        self.jitter = on;
        self
    }
    /// Channels-last weights on or off (see the field).
    pub fn channels_last(mut self, on: bool) -> Self {
        self.channels_last = on;
        self
    }
    /// One-sided label smoothing: D's target for real samples (1: none, 0.9 smooths).
    pub fn real_label(mut self, label: f64) -> Self {
        self.real_label = label;
        self
    }
    /// The R1 penalty's γ (0: none).
    pub fn r1_gamma(mut self, gamma: f64) -> Self {
        self.r1_gamma = gamma;
        self
    }
    /// An exponential moving average of G's weights with decay `beta` for sampling (`None`: off).
    pub fn ema(mut self, beta: Option<f64>) -> Self {
        self.ema = beta;
        self
    }
    /// Differentiable augmentation of everything D sees, on or off.
    pub fn diff_augment(mut self, on: bool) -> Self {
        self.diff_augment = on;
        self
    }
    pub fn print_every(mut self, steps: usize) -> Self {
        self.print_every = steps;
        self
    }

    /// Other networks, everything else the same (`config.model(DcganConfig { .. })`).
    pub fn model(mut self, model: impl Into<ModelConfig>) -> Self {
        self.model = model.into();
        self
    }

    /// How many fixed noise vectors (or input images) the snapshots show.
    pub fn n_fixed(mut self, n: usize) -> Self {
        self.n_fixed = n;
        self
    }

    /// WGAN's weight clipping bound `c` (`None`: no clipping).
    pub fn clip(mut self, c: Option<f64>) -> Self {
        self.clip = c;
        self
    }

    /// Pix2Pix's weight λ of the L1 term.
    pub fn l1_lambda(mut self, lambda: f64) -> Self {
        self.l1_lambda = lambda;
        self
    }

    /// Both optimisers at once (their learning rates included).
    pub fn optimizers(mut self, opt_g: OptimizerKind, opt_d: OptimizerKind) -> Self {
        self.opt_g = opt_g;
        self.opt_d = opt_d;
        self
    }

    /// No progress lines at all (tests, or a caller that shows its own).
    pub fn quiet(mut self) -> Self {
        self.print_every = 0;
        self.print_seconds = 0.0;
        self
    }

    /// A progress line about every `seconds` (0: none by time).
    pub fn print_seconds(mut self, seconds: f64) -> Self {
        self.print_seconds = seconds;
        self
    }

    /// Checks the values a learner may have typed, with what to do instead.
    pub fn validate(&self) -> Result<()> {
        ensure!(self.batch_size > 0, "batch_size must be at least 1");
        ensure!(
            self.n_critic > 0,
            "n_critic must be at least 1 (it counts D steps per G step)"
        );
        ensure!(
            self.log_every > 0,
            "log_every must be at least 1 (the history records a point every log_every steps)"
        );
        ensure!(self.n_fixed > 0, "n_fixed must be at least 1");
        if let Some(decay) = self.lr_decay {
            ensure!(
                decay.start < decay.end,
                "lr_decay from step {} to step {} is empty: the end must come after the start",
                decay.start,
                decay.end
            );
        }
        ensure!(
            !self.jitter || self.model.model().reconstructs(),
            "jitter is Pix2Pix's augmentation of (input, target) pairs; this is a {} model: \
             set jitter to false",
            self.model.name()
        );
        ensure!(
            self.print_seconds.is_finite() && self.print_seconds >= 0.0,
            "print_seconds = {} must be a number of seconds, 0 or more (0: no timed progress lines)",
            self.print_seconds
        );
        for (name, kind) in [("lr_g", self.opt_g), ("lr_d", self.opt_d)] {
            let lr = lr_of(kind);
            ensure!(
                lr.is_finite() && lr > 0.0,
                "{name} = {lr} is not a learning rate: use a small positive number such as 2e-4"
            );
            ensure!(
                lr <= 1.0,
                "{name} = {lr} is too large: Adam and RMSprop move every weight by about the \
                 learning rate per step, so above 1 they overshoot at once. The papers use 5e-5 \
                 to 2e-4"
            );
        }
        if let Some(c) = self.clip {
            ensure!(
                c > 0.0,
                "clip = {c}: the clipping bound must be positive (0.01)"
            );
        }
        ensure!(
            self.real_label == 1.0
                || (self.loss.has_logits() && self.real_label > 0.5 && self.real_label < 1.0),
            "real_label = {}: label smoothing is a target probability for D's BCE on real \
             samples, between 0.5 and 1 (0.9 in Salimans et al.), and only for the BCE games \
             (this run plays {})",
            self.real_label,
            self.loss.describe()
        );
        ensure!(
            self.r1_gamma.is_finite() && self.r1_gamma >= 0.0,
            "r1_gamma = {}: the R1 weight must be 0 (off) or positive (Mescheder et al. use 0.1 \
             to 10)",
            self.r1_gamma
        );
        if let Some(beta) = self.ema {
            ensure!(
                beta > 0.0 && beta < 1.0,
                "ema = {beta}: the decay of the weight average is between 0 and 1 (0.999 \
                 averages about the last 1,000 steps once warmed up; before step 9,000 the \
                 warm-up's (1 + t) / (10 + t) is smaller)"
            );
        }
        if let ModelConfig::Dcgan(dcgan) = &self.model {
            ensure!(
                self.r1_gamma == 0.0 || dcgan.norm != crate::models::Norm::Batch,
                "R1 penalises each real sample's gradient, and batch norm mixes the samples of \
                 a batch: give D Norm::Layer, Norm::None or spectral norm for r1_gamma > 0"
            );
        }
        let model = self.model.model();
        ensure!(
            !self.diff_augment || (model.example_shape().len() == 3 && !model.reconstructs()),
            "diff_augment augments the images D judges; a {} model {}: set diff_augment to false",
            self.model.name(),
            if model.reconstructs() {
                "judges (input, output) pairs whose pixels must stay aligned"
            } else {
                "makes points, not images"
            }
        );
        model.validate()?;
        self.check_sizes()?;
        model.fits_game(self.loss, self.batch_size)?;
        ensure!(
            self.adversarial || model.reconstructs(),
            "adversarial = false (L1 only) exists for Pix2Pix, where the L1 term alone can train \
             G; a {} model learns nothing without its discriminator",
            model.name()
        );
        Ok(())
    }
}

/// The largest sizes a config may ask for, checked by [`TrainConfig::check_sizes`] before any
/// network is built: a config edited by hand (a checkpoint's description with a width of
/// 1,000,000) is refused with the field, its value and the range, instead of a panic while
/// allocating tens of gigabytes. Each bound is far above what the course uses: the papers' width
/// is 64, their latent size 100, and the largest network, Pix2Pix's U-Net at 256×256, has about
/// 54 million parameters.
pub const MAX_WIDTH: i64 = 1024;
/// The toy networks' hidden units (the course uses 128 to 512).
pub const MAX_HIDDEN: i64 = 16_384;
pub const MAX_LATENT_DIM: i64 = 4096;
pub const MAX_CLASSES: i64 = 10_000;
pub const MAX_CHANNELS: i64 = 16;
pub const MAX_IMAGE_SIDE: i64 = 1024;
/// Far above any dataset the course loads, so that a batch larger than the data meets the
/// data's own check first (it says how large the dataset is).
pub const MAX_BATCH_SIZE: usize = 1 << 20;
pub const MAX_N_FIXED: usize = 10_000;
pub const MAX_N_CRITIC: usize = 100;
/// The toy networks' hidden layers and packing.
pub const MAX_LAYERS: usize = 64;
/// Step intervals (`log_every`, `snapshot_every`, `print_every`) and step counts.
pub const MAX_STEPS: usize = 1_000_000_000;
/// Parameters of both networks together, as [`TrainConfig::parameter_estimate`] counts them
/// (2 GB of weights in f32, about three times that with Adam's moments).
pub const MAX_PARAMETERS: i128 = 500_000_000;

/// `value` lies in `low..=high`, or an error naming `field`, the value and the range.
fn within<T: PartialOrd + std::fmt::Display + Copy>(
    field: &str,
    value: T,
    low: T,
    high: T,
    hint: &str,
) -> Result<()> {
    ensure!(
        value >= low && value <= high,
        "{field} = {value} is outside the range gans builds, {low} to {high}{hint}"
    );
    Ok(())
}

impl TrainConfig {
    /// Checks every size this config asks for against the bounds above ([`MAX_WIDTH`], …) and
    /// the networks' parameter count against [`MAX_PARAMETERS`], before anything is built. Each
    /// error names the field as a checkpoint's JSON writes it (`config.model.Dcgan.width`).
    /// [`TrainConfig::validate`] calls it; a checkpoint's description is checked with it when
    /// it is read.
    pub fn check_sizes(&self) -> Result<()> {
        within("config.batch_size", self.batch_size, 1, MAX_BATCH_SIZE, "")?;
        within(
            "config.n_critic",
            self.n_critic,
            1,
            MAX_N_CRITIC,
            " (D steps per G step: 1, or 5 for the WGANs)",
        )?;
        within(
            "config.n_fixed",
            self.n_fixed,
            1,
            MAX_N_FIXED,
            " (the fixed noise vectors the snapshots show)",
        )?;
        within("config.log_every", self.log_every, 1, MAX_STEPS, "")?;
        within(
            "config.snapshot_every",
            self.snapshot_every,
            0,
            MAX_STEPS,
            "",
        )?;
        within("config.print_every", self.print_every, 0, MAX_STEPS, "")?;
        let width = " (the papers use 64)";
        let latent = " (the papers use 100)";
        match &self.model {
            ModelConfig::Toy(c) => {
                let f = |name: &str| format!("config.model.Toy.{name}");
                within(&f("latent_dim"), c.latent_dim, 1, MAX_LATENT_DIM, "")?;
                within(&f("hidden"), c.hidden, 1, MAX_HIDDEN, "")?;
                within(&f("layers"), c.layers, 0, MAX_LAYERS, "")?;
                within(&f("pack"), c.pack, 0, MAX_LAYERS, "")?;
            }
            ModelConfig::Mlp(c) => {
                let f = |name: &str| format!("config.model.Mlp.{name}");
                within(&f("latent_dim"), c.latent_dim, 1, MAX_LATENT_DIM, latent)?;
                within(&f("n_classes"), c.n_classes, 0, MAX_CLASSES, "")?;
                let [channels, height, width] = c.image_shape;
                within(&f("image_shape[0]"), channels, 1, MAX_CHANNELS, "")?;
                within(&f("image_shape[1]"), height, 1, MAX_IMAGE_SIDE, "")?;
                within(&f("image_shape[2]"), width, 1, MAX_IMAGE_SIDE, "")?;
            }
            ModelConfig::Dcgan(c) => {
                let f = |name: &str| format!("config.model.Dcgan.{name}");
                ensure!(
                    matches!(c.image_size, 28 | 32 | 64),
                    "{} = {} is not a size the DCGAN builds: 28, 32 or 64",
                    f("image_size"),
                    c.image_size
                );
                within(&f("channels"), c.channels, 1, MAX_CHANNELS, "")?;
                within(&f("latent_dim"), c.latent_dim, 1, MAX_LATENT_DIM, latent)?;
                within(&f("width"), c.width, 1, MAX_WIDTH, width)?;
                within(&f("n_classes"), c.n_classes, 0, MAX_CLASSES, "")?;
            }
            ModelConfig::Pix2Pix(c) => {
                let (g, d) = (&c.generator, &c.discriminator);
                let f = |name: &str| format!("config.model.Pix2Pix.{name}");
                ensure!(
                    matches!(g.image_size, 32 | 64 | 128 | 256),
                    "{} = {} is not a size the U-Net builds: 32, 64, 128 or 256",
                    f("generator.image_size"),
                    g.image_size
                );
                within(
                    &f("generator.in_channels"),
                    g.in_channels,
                    1,
                    MAX_CHANNELS,
                    "",
                )?;
                within(
                    &f("generator.out_channels"),
                    g.out_channels,
                    1,
                    MAX_CHANNELS,
                    "",
                )?;
                within(&f("generator.width"), g.width, 1, MAX_WIDTH, width)?;
                within(
                    &f("discriminator.in_channels"),
                    d.in_channels,
                    1,
                    2 * MAX_CHANNELS,
                    "",
                )?;
                within(&f("discriminator.width"), d.width, 1, MAX_WIDTH, width)?;
                within(&f("discriminator.layers"), d.layers, 1, 8, "")?;
            }
            ModelConfig::CycleGan(c) => {
                let f = |name: &str| format!("config.model.CycleGan.{name}");
                within(&f("image_size"), c.image_size, 16, MAX_IMAGE_SIDE, "")?;
                within(&f("channels"), c.channels, 1, MAX_CHANNELS, "")?;
                within(&f("width"), c.width, 1, MAX_WIDTH, width)?;
                within(&f("d_width"), c.d_width, 1, MAX_WIDTH, width)?;
                within(
                    &f("blocks"),
                    c.blocks,
                    0,
                    MAX_LAYERS,
                    " (the paper uses 6 or 9)",
                )?;
                within(&f("d_layers"), c.d_layers, 1, 8, "")?;
                within(
                    &f("pool_size"),
                    c.pool_size,
                    0,
                    100_000,
                    " (the paper uses 50)",
                )?;
            }
            ModelConfig::Custom(_) => {}
        }
        if let Some(parameters) = self.parameter_estimate() {
            ensure!(
                parameters <= MAX_PARAMETERS,
                "config.model.{} asks for networks of about {} million parameters ({} GB of \
                 weights, about three times that with Adam's moments): gans builds at most {} \
                 million. Use a smaller width, image size or latent_dim (the papers' width is 64)",
                self.model.arm(),
                parameters / 1_000_000,
                parameters * 4 / 1_000_000_000,
                MAX_PARAMETERS / 1_000_000
            );
        }
        Ok(())
    }

    /// An estimate of the parameters of both networks, from above (within a factor of about 3)
    /// and without building them; `None` for a model of one's own. Call it after the sizes are
    /// known to be within their bounds (see [`TrainConfig::check_sizes`]).
    pub fn parameter_estimate(&self) -> Option<i128> {
        let n = |v: i64| v as i128;
        Some(match &self.model {
            ModelConfig::Toy(c) => {
                let (h, layers) = (n(c.hidden), c.layers.max(1) as i128);
                (n(c.latent_dim) + 2 * c.pack.max(1) as i128 + 3) * h + 2 * (layers - 1) * h * h
            }
            ModelConfig::Mlp(c) => {
                let pixels: i128 = c.image_shape.iter().map(|&d| n(d)).product();
                1200 * (n(c.latent_dim) + 2 * n(c.n_classes) + 2 * pixels + 2 * 1200 + 2)
            }
            ModelConfig::Dcgan(c) => {
                let w = n(c.width);
                let widest = match c.image_size {
                    64 => 8 * w,
                    32 => 4 * w,
                    _ => 2 * w,
                };
                // 4×4 kernels (the first projection up to 7×7), G's layers and D's mirrored.
                let inner = widest * widest * 4 / 3;
                let ends = (n(c.latent_dim) + 2 * n(c.n_classes) + n(c.channels) + 1) * widest;
                2 * (16 * inner + 49 * ends)
            }
            ModelConfig::Pix2Pix(c) => {
                let (g, d) = (&c.generator, &c.discriminator);
                let levels = g.levels().unwrap_or(8) as i128;
                let (gw, dw) = (8 * n(g.width), 8 * n(d.width));
                16 * (3 * levels * gw * gw + (d.layers as i128 + 2) * dw * dw)
            }
            ModelConfig::CycleGan(c) => {
                // Two of each: G's blocks at 4w (3×3), its 7×7 ends; D's 4×4 layers up to 8w.
                let (gw, dw) = (4 * n(c.width), 8 * n(c.d_width));
                let g = 18 * (c.blocks as i128 + 2) * gw * gw + 98 * n(c.channels) * n(c.width);
                2 * (g + 16 * (c.d_layers as i128 + 2) * dw * dw)
            }
            ModelConfig::Custom(_) => return None,
        })
    }
}

impl ModelConfig {
    /// The name of this arm as a config's JSON writes it (`Dcgan`, …).
    fn arm(&self) -> &'static str {
        match self {
            ModelConfig::Toy(_) => "Toy",
            ModelConfig::Mlp(_) => "Mlp",
            ModelConfig::Dcgan(_) => "Dcgan",
            ModelConfig::Pix2Pix(_) => "Pix2Pix",
            ModelConfig::CycleGan(_) => "CycleGan",
            ModelConfig::Custom(_) => "Custom",
        }
    }
}

/// The remedies of notebook 06 as switches, to apply on top of a preset with
/// [`TrainConfig::with_remedies`] (the CLI's `--ema`, `--lr-d`, `--spectral-norm`, …). The
/// default switches nothing on.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Remedies {
    /// D's learning rate, apart from G's (the two time-scale update rule, Heusel et al., 2017).
    pub lr_d: Option<f64>,
    /// The decay of a moving average of G's weights, for sampling.
    pub ema: Option<f64>,
    /// Spectral normalisation of D's layers, in place of batch norm (DCGAN models).
    pub spectral_norm: bool,
    /// The hinge loss instead of the BCE game.
    pub hinge: bool,
    /// The R1 penalty's γ.
    pub r1_gamma: Option<f64>,
    /// The minibatch standard deviation before D's last layer (DCGAN models).
    pub minibatch_std: bool,
    /// Differentiable augmentation of everything D sees.
    pub diff_augment: bool,
    /// One-sided label smoothing: D's target for real samples (0.9).
    pub real_label: Option<f64>,
}

impl TrainConfig {
    /// This config with `remedies` switched on; an error when one does not fit the model or
    /// the game (the architecture switches need a DCGAN, the hinge loss replaces the BCE game).
    pub fn with_remedies(mut self, remedies: &Remedies) -> Result<Self> {
        if let Some(lr) = remedies.lr_d {
            self.opt_d = with_lr(self.opt_d, lr);
        }
        if remedies.ema.is_some() {
            self.ema = remedies.ema;
        }
        if remedies.spectral_norm || remedies.minibatch_std {
            let name = self.model.name();
            let ModelConfig::Dcgan(dcgan) = &mut self.model else {
                anyhow::bail!(
                    "spectral norm and the minibatch standard deviation are switches of the DCGAN \
                     discriminator; a {name} model has neither: train dcgan, wgan, wgan-gp or cgan"
                );
            };
            if remedies.spectral_norm {
                // SN-GAN's D: spectral norm instead of batch norm, whose division by the batch's
                // spread would undo the layers' Lipschitz bound.
                dcgan.spectral_norm = true;
                if dcgan.norm == crate::models::Norm::Batch {
                    dcgan.norm = crate::models::Norm::None;
                }
            }
            dcgan.minibatch_std |= remedies.minibatch_std;
        }
        if remedies.hinge && self.loss != GanLoss::Hinge {
            ensure!(
                self.loss.has_logits(),
                "the hinge loss replaces the BCE game; this run plays {}, which has its own \
                 critic loss: leave out the hinge loss",
                self.loss.describe()
            );
            self.loss = GanLoss::Hinge;
        }
        if let Some(gamma) = remedies.r1_gamma {
            self.r1_gamma = gamma;
        }
        self.diff_augment |= remedies.diff_augment;
        if let Some(label) = remedies.real_label {
            self.real_label = label;
        }
        self.validate()?;
        Ok(self)
    }
}

fn with_lr(kind: OptimizerKind, new_lr: f64) -> OptimizerKind {
    match kind {
        OptimizerKind::Adam {
            beta1, beta2, eps, ..
        } => OptimizerKind::Adam {
            lr: new_lr,
            beta1,
            beta2,
            eps,
        },
        OptimizerKind::RmsProp { alpha, eps, .. } => OptimizerKind::RmsProp {
            lr: new_lr,
            alpha,
            eps,
        },
    }
}

/// The learning rate of an optimiser setting.
pub fn lr_of(kind: OptimizerKind) -> f64 {
    match kind {
        OptimizerKind::Adam { lr, .. } | OptimizerKind::RmsProp { lr, .. } => lr,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::Norm;

    #[test]
    fn presets_carry_the_papers_numbers() {
        let model = ModelConfig::Dcgan(DcganConfig::mnist());
        let wgan = TrainConfig::wgan(model.clone());
        assert_eq!((wgan.n_critic, wgan.clip), (5, Some(0.01)));
        assert_eq!(wgan.opt_d, OptimizerKind::rmsprop(5e-5));
        let gp = TrainConfig::wgan_gp(model.clone()).lr(3e-4, 5e-4);
        assert_eq!(gp.opt_g, OptimizerKind::adam(3e-4, (0.0, 0.9)));
        assert_eq!(lr_of(gp.opt_d), 5e-4);
        let err = gp.validate().unwrap_err().to_string();
        assert!(err.contains("Norm::Layer"), "{err}");
        let critic = ModelConfig::Dcgan(DcganConfig {
            norm: Norm::Layer,
            ..DcganConfig::mnist()
        });
        TrainConfig::wgan_gp(critic).validate().unwrap();
    }

    #[test]
    fn checkpoints_from_before_channels_last_load_contiguous() {
        let config = TrainConfig::gan(ModelConfig::Dcgan(DcganConfig::mnist()));
        assert!(config.channels_last);
        let mut json = serde_json::to_value(&config).unwrap();
        json.as_object_mut()
            .unwrap()
            .remove("channels_last")
            .unwrap();
        let old: TrainConfig = serde_json::from_value(json).unwrap();
        assert_eq!(old, config.channels_last(false));
    }

    #[test]
    fn remedies_switch_on_what_they_name_and_refuse_what_does_not_fit() {
        let dcgan = ModelConfig::Dcgan(DcganConfig::mnist());
        let all = Remedies {
            lr_d: Some(4e-4),
            ema: Some(0.999),
            spectral_norm: true,
            hinge: true,
            r1_gamma: Some(1.0),
            minibatch_std: true,
            diff_augment: true,
            real_label: None,
        };
        let config = TrainConfig::gan(dcgan.clone()).with_remedies(&all).unwrap();
        assert_eq!((lr_of(config.opt_g), lr_of(config.opt_d)), (2e-4, 4e-4));
        assert_eq!(
            (config.loss, config.ema, config.r1_gamma),
            (GanLoss::Hinge, Some(0.999), 1.0)
        );
        let ModelConfig::Dcgan(d) = &config.model else {
            panic!("still a DCGAN")
        };
        assert!(d.spectral_norm && d.minibatch_std && config.diff_augment);
        assert_eq!(d.norm, Norm::None, "spectral norm replaces batch norm");
        let again = config.clone().with_remedies(&all).unwrap();
        assert_eq!(again, config, "switching them on twice changes nothing");
        assert_eq!(
            TrainConfig::gan(dcgan.clone())
                .with_remedies(&Remedies::default())
                .unwrap(),
            TrainConfig::gan(dcgan.clone())
        );
        let refused = |config: TrainConfig, remedies: Remedies, words: &str| {
            let err = config.with_remedies(&remedies).unwrap_err().to_string();
            assert!(err.contains(words), "{err}");
        };
        let mlp = ModelConfig::Mlp(crate::models::mlp::MlpConfig::default());
        let sn = Remedies {
            spectral_norm: true,
            ..Default::default()
        };
        refused(TrainConfig::gan(mlp), sn, "a mlp model has neither");
        let hinge = Remedies {
            hinge: true,
            ..Default::default()
        };
        refused(
            TrainConfig::wgan(dcgan.clone()),
            hinge,
            "leave out the hinge loss",
        );
        let smoothing = |label| Remedies {
            real_label: Some(label),
            ..Default::default()
        };
        refused(
            TrainConfig::gan(dcgan.clone()),
            smoothing(1.5),
            "between 0.5 and 1",
        );
        refused(
            TrainConfig::wgan(dcgan.clone()),
            smoothing(0.9),
            "only for the BCE games",
        );
        let r1 = Remedies {
            r1_gamma: Some(-1.0),
            ..Default::default()
        };
        refused(TrainConfig::gan(dcgan.clone()), r1, "r1_gamma = -1");
        let r1 = Remedies {
            r1_gamma: Some(1.0),
            ..Default::default()
        };
        refused(TrainConfig::gan(dcgan.clone()), r1, "give D Norm::Layer");
        let ema = Remedies {
            ema: Some(1.0),
            ..Default::default()
        };
        refused(TrainConfig::gan(dcgan), ema, "ema = 1");
        let augment = Remedies {
            diff_augment: true,
            ..Default::default()
        };
        refused(
            TrainConfig::toy(ToyConfig::default()),
            augment,
            "makes points",
        );
        let pix2pix = TrainConfig::pix2pix(UnetConfig::default(), PatchGanConfig::default());
        refused(pix2pix, augment, "pixels must stay aligned");
    }

    #[test]
    fn checkpoints_from_before_the_remedies_load_without_them() {
        let config = TrainConfig::gan(ModelConfig::Dcgan(DcganConfig::mnist()));
        let mut json = serde_json::to_value(&config).unwrap();
        let fields = json.as_object_mut().unwrap();
        for name in ["real_label", "r1_gamma", "ema", "diff_augment"] {
            fields.remove(name).unwrap();
        }
        let model = fields["model"]["Dcgan"].as_object_mut().unwrap();
        model.remove("spectral_norm").unwrap();
        model.remove("minibatch_std").unwrap();
        let old: TrainConfig = serde_json::from_value(json).unwrap();
        assert_eq!(old, config);
    }

    #[test]
    fn sizes_beyond_the_bounds_are_refused_by_field_before_anything_is_built() {
        let wide = |width| {
            TrainConfig::gan(ModelConfig::Dcgan(DcganConfig {
                width,
                ..DcganConfig::mnist()
            }))
        };
        let err = wide(1_000_000).check_sizes().unwrap_err().to_string();
        assert!(
            err.contains(
                "config.model.Dcgan.width = 1000000 is outside the range gans builds, 1 to 1024"
            ),
            "{err}"
        );
        // Within every bound, yet too many parameters: refused by the estimate.
        let big = TrainConfig::gan(ModelConfig::Dcgan(DcganConfig {
            width: 1024,
            image_size: 64,
            channels: 3,
            ..DcganConfig::mnist()
        }));
        let err = big.validate().unwrap_err().to_string();
        assert!(err.contains("million parameters"), "{err}");
        // The course's largest networks fit, with room to spare.
        for config in [
            wide(64),
            TrainConfig::pix2pix(
                UnetConfig {
                    image_size: 256,
                    ..UnetConfig::default()
                },
                PatchGanConfig::default(),
            ),
        ] {
            config.check_sizes().unwrap();
            assert!(config.parameter_estimate().unwrap() < MAX_PARAMETERS / 2);
        }
        let err = wide(64)
            .batch_size((1 << 20) + 1)
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.contains("config.batch_size = 1048577"), "{err}");
    }

    #[test]
    fn bad_values_are_named() {
        let model = ModelConfig::Toy(ToyConfig::default());
        let err = TrainConfig::toy(ToyConfig::default())
            .lr(-1.0, 1e-3)
            .validate()
            .unwrap_err();
        assert!(err.to_string().contains("lr_g = -1"), "{err}");
        let err = TrainConfig::gan(model.clone())
            .n_critic(0)
            .validate()
            .unwrap_err();
        assert!(err.to_string().contains("n_critic"), "{err}");
        let err = TrainConfig::gan(model).jitter(true).validate().unwrap_err();
        assert!(err.to_string().contains("jitter is Pix2Pix's"), "{err}");
    }
}
