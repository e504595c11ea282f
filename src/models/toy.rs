//! Small fully connected G and D for the 2-D mixtures of [`crate::data::toy2d`] (notebook 01).
//!
//! The sizes follow the mode-collapse experiments of Metz et al. (2016): a few hidden ReLU layers
//! of 128 units; G's output is linear (the data is not bounded to [−1, 1]).

use tch::Tensor;
use tch::nn::{self, Module};

/// Hyperparameters of the toy networks.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ToyConfig {
    pub latent_dim: i64,
    pub hidden: i64,
    /// Hidden layers in each network.
    pub layers: usize,
    /// PacGAN packing (Lin et al., 2018): the discriminator judges `pack` samples at once,
    /// concatenated into one input of `2 · pack` numbers, all real or all fake. A generator that
    /// puts every sample on one mode makes packs with no spread, which D spots at once; with
    /// `pack = 1` this is the plain GAN. The default is 2: measured on the ring (σ = 0.02),
    /// the plain GAN covered 1–3 of 8 modes in every setting tried, pack 2 all 8.
    pub pack: usize,
}

impl Default for ToyConfig {
    fn default() -> Self {
        ToyConfig {
            latent_dim: 16,
            hidden: 128,
            layers: 3,
            pack: 2,
        }
    }
}

/// `layers` hidden ReLU layers `fc1…`, then a linear `out` layer.
#[derive(Debug)]
struct Mlp {
    hidden: Vec<nn::Linear>,
    out: nn::Linear,
}

impl Mlp {
    fn new(p: nn::Path, inputs: i64, width: i64, layers: usize, outputs: i64) -> Self {
        let hidden = (0..layers)
            .map(|i| {
                nn::linear(
                    &p / format!("fc{}", i + 1),
                    if i == 0 { inputs } else { width },
                    width,
                    Default::default(),
                )
            })
            .collect();
        let last = if layers == 0 { inputs } else { width };
        Mlp {
            hidden,
            out: nn::linear(&p / "out", last, outputs, Default::default()),
        }
    }

    fn forward(&self, xs: &Tensor) -> Tensor {
        let mut xs = xs.shallow_clone();
        for layer in &self.hidden {
            xs = layer.forward(&xs).relu(); // [B, hidden]
        }
        self.out.forward(&xs)
    }
}

/// The toy generator: `z [B, latent_dim]` → points `[B, 2]`.
#[derive(Debug)]
pub struct ToyGenerator(Mlp);

impl ToyGenerator {
    pub fn new(config: &ToyConfig, p: nn::Path) -> Self {
        ToyGenerator(Mlp::new(
            p,
            config.latent_dim,
            config.hidden,
            config.layers,
            2,
        ))
    }
    pub fn forward(&self, z: &Tensor) -> Tensor {
        self.0.forward(z) // [B, 2]
    }
}

/// The toy discriminator: points `[B, 2]` → logits `[B / pack]`, one per pack of `pack`
/// consecutive points (B must be a multiple of `pack`).
#[derive(Debug)]
pub struct ToyDiscriminator {
    net: Mlp,
    pack: i64,
}

impl ToyDiscriminator {
    pub fn new(config: &ToyConfig, p: nn::Path) -> Self {
        let pack = config.pack.max(1) as i64;
        ToyDiscriminator {
            net: Mlp::new(p, 2 * pack, config.hidden, config.layers, 1),
            pack,
        }
    }
    pub fn forward(&self, points: &Tensor) -> Tensor {
        let packs = points.reshape([-1, 2 * self.pack]); // [B / pack, 2 · pack]
        self.net.forward(&packs).view([-1]) // [B / pack]
    }
}

// ---- The model: the toy networks play the plain (or packed) GAN on points of the plane. ----

impl super::GanModel for ToyConfig {
    fn name(&self) -> &'static str {
        "toy"
    }
    fn latent_dim(&self) -> Option<i64> {
        Some(self.latent_dim)
    }
    fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.latent_dim > 0 && self.hidden > 0,
            "the toy model needs latent_dim and hidden of at least 1, got {self:?}"
        );
        Ok(())
    }
    fn example_shape(&self) -> Vec<i64> {
        vec![2]
    }
    fn fits_game(&self, _loss: crate::train::GanLoss, batch_size: usize) -> anyhow::Result<()> {
        anyhow::ensure!(
            batch_size.is_multiple_of(self.pack.max(1)),
            "batch_size {batch_size} is not a multiple of the discriminator's pack {}",
            self.pack
        );
        Ok(())
    }
    /// libtorch's default initialisation.
    fn build(&self, vs: &nn::VarStore) -> anyhow::Result<super::Networks> {
        Ok(super::Networks::new(
            ToyGenerator::new(self, vs.root() / "generator"),
            ToyDiscriminator::new(self, vs.root() / "discriminator"),
        ))
    }
}

impl crate::train::Generator for ToyGenerator {
    fn generate(&self, z: &Tensor, _labels: Option<&Tensor>, _train: bool) -> Tensor {
        self.forward(z)
    }
}

impl crate::train::Discriminator for ToyDiscriminator {
    fn score(
        &self,
        samples: &Tensor,
        _labels: Option<&Tensor>,
        _train: bool,
    ) -> anyhow::Result<Tensor> {
        Ok(self.forward(samples))
    }
    // Not `batch_independent`, although it is: notebook 01's hand-written step scores the
    // real and the fake batch in two passes, and the crate's step must then do the same
    // arithmetic for the two to agree exactly. Joined, the 256-row products round differently
    // from two of 128, and 300 steps of the ring amplified that to a 0.2 gap; apart, the gap is 0.
    // The joined pass saved little on this network (toy: 3.10 → 3.00 ms per step together with
    // two other changes, docs/performance.md).
}
