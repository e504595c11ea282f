//! Small fully connected G and D for the 2-D mixtures of [`crate::data::toy2d`] (notebook 01).
//!
//! The sizes follow the mode-collapse experiments of Metz et al. (2016): a few hidden ReLU layers
//! of 128 units; G's output is linear (the data is not bounded to [−1, 1]).

use tch::nn::{self, Module};
use tch::{Kind, Tensor};

use crate::precision;

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
    /// The minibatch standard-deviation layer (Karras et al., 2018), the simplest descendant of
    /// minibatch discrimination (Salimans et al., 2016): before its last layer D computes each
    /// hidden feature's standard deviation over the batch, averages them into one number, and
    /// appends it to every sample's features. A collapsed batch has spread 0, so D can tell it
    /// from a real one by looking at the batch, as packing does with `pack` samples at a time.
    #[serde(default)]
    pub minibatch_std: bool,
}

impl Default for ToyConfig {
    fn default() -> Self {
        ToyConfig {
            latent_dim: 16,
            hidden: 128,
            layers: 3,
            pack: 2,
            minibatch_std: false,
        }
    }
}

/// `layers` hidden ReLU layers `fc1…`, then a linear `out` layer.
#[derive(Debug)]
struct Mlp {
    hidden: Vec<precision::Linear>,
    out: precision::Linear,
}

impl Mlp {
    /// `extra` more inputs to the `out` layer than the last hidden layer gives (the minibatch
    /// standard deviation's one).
    fn new(p: nn::Path, inputs: i64, width: i64, layers: usize, outputs: i64, extra: i64) -> Self {
        let hidden = (0..layers)
            .map(|i| {
                precision::linear(
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
            out: precision::linear(&p / "out", last + extra, outputs, Default::default()),
        }
    }

    fn forward(&self, xs: &Tensor) -> Tensor {
        precision::fp32(self.out.forward(&self.features(xs)))
    }

    /// The last hidden layer's output `[B, hidden]` (the input when there is no hidden layer).
    fn features(&self, xs: &Tensor) -> Tensor {
        let mut xs = xs.shallow_clone();
        for layer in &self.hidden {
            xs = layer.forward(&xs).relu(); // [B, hidden]
        }
        xs
    }
}

/// The minibatch standard-deviation feature: `features [B, F]` → `[B, F + 1]`, the last column
/// the mean over the F features of their standard deviation over the batch (population
/// formula, plus 1e-8 inside the root so that a collapsed batch still has a gradient).
pub fn minibatch_std(features: &Tensor) -> Tensor {
    let spread = batch_spread(features).expand([features.size()[0], 1], false); // [B, 1]
    Tensor::cat(&[features.shallow_clone(), spread], 1)
}

/// The spread that [`minibatch_std`] appends, a scalar: the mean over the features `[B, …]`
/// of their standard deviation over the batch, in fp32 whatever the features' precision.
pub fn batch_spread(features: &Tensor) -> Tensor {
    let features = precision::fp32(features.shallow_clone());
    let mean = features.mean_dim(0, true, Kind::Float);
    let std = ((&features - mean).square().mean_dim(0, false, Kind::Float) + 1e-8).sqrt(); // […]
    std.mean(Kind::Float)
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
            0,
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
    minibatch_std: bool,
}

impl ToyDiscriminator {
    pub fn new(config: &ToyConfig, p: nn::Path) -> Self {
        let pack = config.pack.max(1) as i64;
        // With the minibatch std, the last layer reads one more feature: the batch's spread.
        let extra = i64::from(config.minibatch_std);
        let net = Mlp::new(p, 2 * pack, config.hidden, config.layers, 1, extra);
        ToyDiscriminator {
            net,
            pack,
            minibatch_std: config.minibatch_std,
        }
    }
    pub fn forward(&self, points: &Tensor) -> Tensor {
        let packs = points.reshape([-1, 2 * self.pack]); // [B / pack, 2 · pack]
        let features = self.net.features(&packs);
        let features = if self.minibatch_std {
            minibatch_std(&features) // [B / pack, hidden + 1]
        } else {
            features
        };
        precision::fp32(self.net.out.forward(&features).view([-1])) // [B / pack]
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
    fn fits_game(&self, _loss: crate::game::GanLoss, batch_size: usize) -> anyhow::Result<()> {
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

impl crate::game::Generator for ToyGenerator {
    fn generate(&self, z: &Tensor, _labels: Option<&Tensor>, _train: bool) -> Tensor {
        self.forward(z)
    }
}

impl crate::game::Discriminator for ToyDiscriminator {
    fn score(
        &self,
        samples: &Tensor,
        _labels: Option<&Tensor>,
        _train: bool,
    ) -> anyhow::Result<Tensor> {
        Ok(self.forward(samples))
    }
    // Never `batch_independent`: with `minibatch_std` a sample's score depends on its batch, so
    // real and fake must be scored apart. Without it the network is per sample, but notebook
    // 01's hand-written step scores the
    // real and the fake batch in two passes, and the crate's step must then do the same
    // arithmetic for the two to agree exactly. Joined, the 256-row products round differently
    // from two of 128, and 300 steps of the ring amplified that to a 0.2 gap; apart, the gap is 0.
    // The joined pass saved little on this network (toy: 3.10 → 3.00 ms per step together with
    // two other changes, docs/performance.md).
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    /// The appended feature is the features' mean standard deviation over the batch: about 0
    /// for a batch of copies, and computed by hand for a small one.
    #[test]
    fn minibatch_std_appends_the_batch_spread() {
        let features = Tensor::from_slice(&[1.0f32, 10.0, 3.0, 10.0]).view([2, 2]);
        let out = minibatch_std(&features);
        assert_eq!(out.size(), [2, 3]);
        // Feature 0: values 1 and 3, std 1; feature 1: 10 and 10, std 0; mean 0.5.
        let spread = Vec::<f32>::try_from(out.select(1, 2)).unwrap();
        assert!(spread.iter().all(|s| (s - 0.5).abs() < 1e-4), "{spread:?}");
        let copies = Tensor::ones([8, 4], (Kind::Float, Device::Cpu));
        assert!(minibatch_std(&copies).select(1, 4).max().double_value(&[]) < 1e-3);
    }

    /// With the layer, one sample's score depends on the rest of its batch: a real point scored
    /// among copies of itself differs from the same point among spread-out points.
    #[test]
    fn discriminator_with_minibatch_std_sees_the_batch() {
        tch::manual_seed(0);
        let vs = nn::VarStore::new(Device::Cpu);
        let config = ToyConfig {
            pack: 1,
            minibatch_std: true,
            ..ToyConfig::default()
        };
        let d = ToyDiscriminator::new(&config, vs.root());
        let spread = Tensor::randn([16, 2], (Kind::Float, Device::Cpu));
        let copies = spread.narrow(0, 0, 1).repeat([16, 1]);
        let a = d.forward(&spread).double_value(&[0]);
        let b = d.forward(&copies).double_value(&[0]);
        assert!((a - b).abs() > 1e-6, "{a} vs {b}");
        assert_eq!(vs.variables()["out.weight"].size(), [1, 129]);
    }
}
