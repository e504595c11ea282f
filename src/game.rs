//! What the game is made of: a [`Generator`], a [`Discriminator`] (or critic), the [`GanLoss`]
//! they play, and the [`GanModel`] that builds a set of players for the trainer.
//!
//! These are the words every other part of the crate uses, so they live below all of them:
//! [`crate::models`] implements them for each network, [`crate::train`] plays them. Neither
//! imports the other's side of the game through this module.

use anyhow::Result;
use serde::{Deserialize, Serialize};
use tch::Tensor;

/// Anything that turns noise (and, for a conditional model, labels) into samples. Each model's
/// file implements it for its generator.
pub trait Generator {
    fn generate(&self, z: &Tensor, labels: Option<&Tensor>, train: bool) -> Tensor;

    /// Each layer and the shape it outputs for a batch of 2, where the network can say
    /// (printed by `Trainer::layers`).
    fn layers(&self) -> Option<String> {
        None
    }
}

/// Anything that scores samples: logits for the BCE games, critic scores for WGAN. Each model's
/// file implements it (and [`Generator`]) for its networks.
pub trait Discriminator {
    /// An error when the condition it needs is missing (the PatchGAN's input image).
    fn score(&self, samples: &Tensor, labels: Option<&Tensor>, train: bool) -> Result<Tensor>;

    /// True when a sample's score does not depend on the rest of its batch (no batch norm).
    /// Then `update_d` scores the real and the fake batch in one pass over both, which gives
    /// the same numbers with half the calls and twice-as-tall matrix products. Batch norm must
    /// see them apart: the DCGAN paper normalises real and fake batches separately.
    fn batch_independent(&self) -> bool {
        false
    }

    /// Each layer and the shape it outputs for a batch of 2, where the network can say.
    fn layers(&self) -> Option<String> {
        None
    }
}

/// Which game is played: the loss is a value you choose, not a different training loop.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum GanLoss {
    /// Goodfellow's minimax: G minimises `log(1 − D(G(z)))` (saturates early on).
    Minimax,
    /// G minimises `−log D(G(z))`: the loss everyone uses.
    NonSaturating,
    /// WGAN: critic scores; keep the critic Lipschitz with weight clipping (`Optimizer::clip`).
    Wasserstein,
    /// WGAN-GP: critic scores plus the gradient penalty with weight `lambda` (10).
    WassersteinGp { lambda: f64 },
    /// The hinge game (Lim & Ye, 2017; SN-GAN): D minimises `E[max(0, 1 − D(x))] +
    /// E[max(0, 1 + D(G(z)))]`, G minimises `−E[D(G(z))]`. D's output is a score, not a logit.
    Hinge,
    /// The least-squares game (LSGAN, Mao et al. 2017), CycleGAN's: D minimises
    /// `½E[(D(x) − 1)²] + ½E[D(G(z))²]`, G minimises `E[(D(G(z)) − 1)²]`. D's output is a
    /// score that it pushes towards 1 for real and 0 for fake; it saturates nowhere.
    LeastSquares,
}

impl GanLoss {
    /// True for the Wasserstein losses, whose D is a critic.
    pub fn is_wasserstein(self) -> bool {
        matches!(self, GanLoss::Wasserstein | GanLoss::WassersteinGp { .. })
    }

    /// True when D's outputs are logits of a probability (the BCE games); false when they are
    /// raw scores (a critic, or the hinge game's D).
    pub fn has_logits(self) -> bool {
        matches!(self, GanLoss::Minimax | GanLoss::NonSaturating)
    }
}

impl GanLoss {
    /// A short description for titles.
    pub fn describe(self) -> String {
        match self {
            GanLoss::Minimax => "minimax (saturating)".into(),
            GanLoss::NonSaturating => "non-saturating".into(),
            GanLoss::Wasserstein => "Wasserstein, clipped".into(),
            GanLoss::WassersteinGp { lambda } => format!("Wasserstein, GP λ = {lambda}"),
            GanLoss::Hinge => "hinge".into(),
            GanLoss::LeastSquares => "least squares".into(),
        }
    }
}

/// What a model tells the trainer. Implemented by each model's config, in the crate or in a
/// notebook (`ModelConfig::custom`).
pub trait GanModel {
    /// A short name for titles and file names (`"dcgan"`).
    fn name(&self) -> &'static str;

    /// Size of the noise `z`; `None` for a model whose generator translates an input image.
    fn latent_dim(&self) -> Option<i64>;

    /// Classes the model is conditioned on (0: unconditional).
    fn n_classes(&self) -> i64 {
        0
    }

    /// Checks the hyperparameters, with what to change.
    fn validate(&self) -> Result<()> {
        Ok(())
    }

    /// One example the generator makes and the discriminator judges: `[C, H, W]`, or `[2]`
    /// for a point of the plane.
    fn example_shape(&self) -> Vec<i64>;

    /// One input image `[C, H, W]`, for a model that learns from (input, target) pairs.
    fn input_shape(&self) -> Option<Vec<i64>> {
        None
    }

    /// Checks that the model can play this game with this batch size (WGAN-GP's per-sample
    /// penalty and batch norm do not mix; a pack must not straddle two batches).
    fn fits_game(&self, _loss: GanLoss, _batch_size: usize) -> Result<()> {
        Ok(())
    }

    /// Whether the generator's output has a target to match (the L1 term of Pix2Pix).
    fn reconstructs(&self) -> bool {
        false
    }

    /// Whether the model learns from two sets of images without pairs (CycleGAN): its input
    /// images come from one set, its outputs are judged against the other.
    fn unpaired(&self) -> bool {
        false
    }

    /// Builds the players under `vs`, each under its name (`generator.…` and
    /// `discriminator.…` with [`Networks::new`]; any names with [`Networks::named`]), initialised
    /// as the model's paper does.
    fn build(&self, vs: &tch::nn::VarStore) -> Result<Networks>;
}

/// The players a model builds, as the trainer holds them: each network under the name its
/// weights carry in the var store (`generator.fc1.weight`). One generator and one
/// discriminator for most GANs ([`Networks::new`]); two of each for a CycleGAN, named
/// ([`Networks::named`]). The first generator is the one that samples.
pub struct Networks {
    pub generators: Vec<(String, Box<dyn Generator>)>,
    pub discriminators: Vec<(String, Box<dyn Discriminator>)>,
}

impl Networks {
    /// One generator built under `generator` and one discriminator under `discriminator`.
    pub fn new(
        generator: impl Generator + 'static,
        discriminator: impl Discriminator + 'static,
    ) -> Self {
        Networks {
            generators: vec![("generator".into(), Box::new(generator))],
            discriminators: vec![("discriminator".into(), Box::new(discriminator))],
        }
    }

    /// Any number of each, every one under the var-store path it was built under (the
    /// optimisers and checkpoints find its weights by that name). Names must differ and none
    /// may start another (`g` and `g2` would share weights in a prefix search).
    pub fn named(
        generators: Vec<(String, Box<dyn Generator>)>,
        discriminators: Vec<(String, Box<dyn Discriminator>)>,
    ) -> Result<Self> {
        let names: Vec<&String> = generators
            .iter()
            .map(|(n, _)| n)
            .chain(discriminators.iter().map(|(n, _)| n))
            .collect();
        anyhow::ensure!(
            !generators.is_empty(),
            "a model needs at least one generator"
        );
        for (i, a) in names.iter().enumerate() {
            for b in &names[i + 1..] {
                anyhow::ensure!(
                    !a.starts_with(b.as_str()) && !b.starts_with(a.as_str()),
                    "the players `{a}` and `{b}` need names that do not start one another"
                );
            }
        }
        Ok(Networks {
            generators,
            discriminators,
        })
    }
}
