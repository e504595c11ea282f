//! Fully connected GANs on flattened images: notebook 01.
//!
//! Two flavours:
//! - [`MlpFlavour::Paper`], after Goodfellow et al. (2014)'s MNIST model: G is two ReLU layers of
//!   1200 units; D is two maxout layers of 240 units × 5 pieces with dropout. (The paper's G ended
//!   in a sigmoid for pixels in [0, 1]; ours ends in `tanh` because the course's data is in
//!   [−1, 1].)
//! - [`MlpFlavour::Learner`], the variant most learner repositories use: G widens
//!   128 → 256 → 512 → 1024 with LeakyReLU(0.2) and 1-D batch norm after every layer but the
//!   first; D narrows 512 → 256 with LeakyReLU(0.2). One well-known implementation passes `0.8`
//!   as batch norm's second argument, which PyTorch reads as `eps` (not momentum): we use the
//!   intended `eps = 1e-5`.
//!
//! Optional conditioning (notebook 04): `n_classes > 0` joins a one-hot label to G's input `z`
//! and to D's input image (concatenated, as the conditional-GAN repositories do).

use tch::Tensor;
use tch::nn::{self, Module, ModuleT};

use crate::precision;

/// Which architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum MlpFlavour {
    Paper,
    Learner,
}

/// Hyperparameters of the MLP generator and discriminator.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MlpConfig {
    pub flavour: MlpFlavour,
    /// Size of the noise vector `z` (100 in most implementations).
    pub latent_dim: i64,
    /// `[C, H, W]` of the images.
    pub image_shape: [i64; 3],
    /// Number of classes to condition on; 0 for an unconditional GAN.
    pub n_classes: i64,
    /// How the label enters both networks (one-hot by default).
    #[serde(default)]
    pub conditioning: super::Conditioning,
}

impl Default for MlpConfig {
    fn default() -> Self {
        MlpConfig {
            flavour: MlpFlavour::Learner,
            latent_dim: 100,
            image_shape: [1, 28, 28],
            n_classes: 0,
            conditioning: super::Conditioning::OneHot,
        }
    }
}

impl MlpConfig {
    fn pixels(&self) -> i64 {
        self.image_shape.iter().product()
    }
    fn label_width(&self) -> i64 {
        super::LabelCode::width(self.n_classes, self.conditioning)
    }
}

/// A fully connected layer followed by maxout over `pieces` linear pieces.
#[derive(Debug)]
struct Maxout {
    linear: precision::Linear,
    pieces: i64,
}

impl Maxout {
    fn new(p: nn::Path, inputs: i64, units: i64, pieces: i64) -> Self {
        Maxout {
            linear: precision::linear(p, inputs, units * pieces, Default::default()),
            pieces,
        }
    }
    fn forward(&self, xs: &Tensor) -> Tensor {
        let b = xs.size()[0];
        // [B, units × pieces] → [B, units, pieces] → max over the pieces → [B, units]
        self.linear
            .forward(xs)
            .view([b, -1, self.pieces])
            .amax([2i64].as_slice(), false)
    }
}

/// The MLP generator: `z [B, latent_dim]` (+ labels) → images `[B, C, H, W]` in [−1, 1].
#[derive(Debug)]
pub struct MlpGenerator {
    config: MlpConfig,
    label: super::LabelCode,
    layers: Vec<(precision::Linear, Option<nn::BatchNorm>)>,
}

impl MlpGenerator {
    /// The hyperparameters it was built with.
    pub fn config(&self) -> &MlpConfig {
        &self.config
    }

    pub fn new(config: &MlpConfig, p: nn::Path) -> Self {
        let input = config.latent_dim + config.label_width();
        let bn = |p: nn::Path, n| nn::batch_norm1d(p, n, super::batch_norm_config());
        let layers = match config.flavour {
            MlpFlavour::Paper => vec![
                (
                    precision::linear(&p / "fc1", input, 1200, Default::default()),
                    None,
                ),
                (
                    precision::linear(&p / "fc2", 1200, 1200, Default::default()),
                    None,
                ),
                (
                    precision::linear(&p / "fc3", 1200, config.pixels(), Default::default()),
                    None,
                ),
            ],
            MlpFlavour::Learner => vec![
                (
                    precision::linear(&p / "fc1", input, 128, Default::default()),
                    None,
                ),
                (
                    precision::linear(&p / "fc2", 128, 256, Default::default()),
                    Some(bn(&p / "bn2", 256)),
                ),
                (
                    precision::linear(&p / "fc3", 256, 512, Default::default()),
                    Some(bn(&p / "bn3", 512)),
                ),
                (
                    precision::linear(&p / "fc4", 512, 1024, Default::default()),
                    Some(bn(&p / "bn4", 1024)),
                ),
                (
                    precision::linear(&p / "fc5", 1024, config.pixels(), Default::default()),
                    None,
                ),
            ],
        };
        MlpGenerator {
            config: config.clone(),
            label: super::LabelCode::new(&p / "label", config.n_classes, config.conditioning),
            layers,
        }
    }

    /// Generates images from noise `z` and, for a conditional model, `labels` `[B]`.
    pub fn forward_t(&self, z: &Tensor, labels: Option<&Tensor>, train: bool) -> Tensor {
        let mut xs = self.label.join(z, labels); // [B, latent_dim (+ label code)]
        let last = self.layers.len() - 1;
        for (i, (linear, bn)) in self.layers.iter().enumerate() {
            xs = linear.forward(&xs); // [B, width of layer i]
            if let Some(bn) = bn {
                xs = bn.forward_t(&xs, train);
            }
            if i < last {
                xs = match self.config.flavour {
                    MlpFlavour::Paper => xs.relu(),
                    MlpFlavour::Learner => super::leaky_relu(&xs, 0.2),
                };
            }
        }
        let [c, h, w] = self.config.image_shape;
        precision::fp32(xs.tanh().view([-1, c, h, w])) // [B, C, H, W] in [−1, 1]
    }
}

/// The MLP discriminator: images `[B, C, H, W]` (+ labels) → logits `[B]`.
#[derive(Debug)]
pub struct MlpDiscriminator {
    config: MlpConfig,
    label: super::LabelCode,
    maxout: Vec<Maxout>,
    linear: Vec<precision::Linear>,
    out: precision::Linear,
}

impl MlpDiscriminator {
    /// The hyperparameters it was built with.
    pub fn config(&self) -> &MlpConfig {
        &self.config
    }

    pub fn new(config: &MlpConfig, p: nn::Path) -> Self {
        let input = config.pixels() + config.label_width();
        let (maxout, linear, last) = match config.flavour {
            MlpFlavour::Paper => (
                vec![
                    Maxout::new(&p / "maxout1", input, 240, 5),
                    Maxout::new(&p / "maxout2", 240, 240, 5),
                ],
                vec![],
                240,
            ),
            MlpFlavour::Learner => (
                vec![],
                vec![
                    precision::linear(&p / "fc1", input, 512, Default::default()),
                    precision::linear(&p / "fc2", 512, 256, Default::default()),
                ],
                256,
            ),
        };
        MlpDiscriminator {
            config: config.clone(),
            label: super::LabelCode::new(&p / "label", config.n_classes, config.conditioning),
            maxout,
            linear,
            out: precision::linear(&p / "out", last, 1, Default::default()),
        }
    }

    /// D's logit for each image: `D(x) = σ(logit)`.
    pub fn forward_t(&self, images: &Tensor, labels: Option<&Tensor>, train: bool) -> Tensor {
        let flat = images.flatten(1, -1); // [B, C·H·W]
        let mut xs = self.label.join(&flat, labels); // [B, C·H·W (+ label code)]
        // The paper's D keeps 80 % of the input pixels and 50 % of each hidden unit (dropout).
        for (i, layer) in self.maxout.iter().enumerate() {
            xs = layer.forward(&xs.dropout(if i == 0 { 0.2 } else { 0.5 }, train)); // [B, 240]
        }
        if !self.maxout.is_empty() {
            xs = xs.dropout(0.5, train);
        }
        for layer in &self.linear {
            xs = super::leaky_relu(&layer.forward(&xs), 0.2); // [B, 512] then [B, 256]
        }
        precision::fp32(self.out.forward(&xs).view([-1])) // [B]
    }
}

// ---- The model: fully connected G and D on flattened images. ----

impl super::GanModel for MlpConfig {
    fn name(&self) -> &'static str {
        "mlp"
    }
    fn latent_dim(&self) -> Option<i64> {
        Some(self.latent_dim)
    }
    fn n_classes(&self) -> i64 {
        self.n_classes
    }
    fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.latent_dim > 0 && self.n_classes >= 0 && self.image_shape.iter().all(|&d| d > 0),
            "the MLP needs latent_dim ≥ 1, n_classes ≥ 0 and a positive image_shape, got {self:?}"
        );
        Ok(())
    }
    fn example_shape(&self) -> Vec<i64> {
        self.image_shape.to_vec()
    }
    /// libtorch's default initialisation, as the original paper's code did not prescribe one.
    fn build(&self, vs: &nn::VarStore) -> anyhow::Result<super::Networks> {
        Ok(super::Networks::new(
            MlpGenerator::new(self, vs.root() / "generator"),
            MlpDiscriminator::new(self, vs.root() / "discriminator"),
        ))
    }
}

impl crate::game::Generator for MlpGenerator {
    fn generate(&self, z: &Tensor, labels: Option<&Tensor>, train: bool) -> Tensor {
        self.forward_t(z, labels, train)
    }
}

impl crate::game::Discriminator for MlpDiscriminator {
    fn score(
        &self,
        samples: &Tensor,
        labels: Option<&Tensor>,
        train: bool,
    ) -> anyhow::Result<Tensor> {
        Ok(self.forward_t(samples, labels, train))
    }
    /// Linear layers, LeakyReLU or maxout, dropout: all per sample.
    fn batch_independent(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn shapes_of_both_flavours_with_and_without_labels() {
        for flavour in [MlpFlavour::Paper, MlpFlavour::Learner] {
            for n_classes in [0, 10] {
                let config = MlpConfig {
                    flavour,
                    n_classes,
                    ..Default::default()
                };
                let vs = nn::VarStore::new(Device::Cpu);
                let g = MlpGenerator::new(&config, vs.root() / "generator");
                let d = MlpDiscriminator::new(&config, vs.root() / "discriminator");
                let z = Tensor::randn([5, 100], (Kind::Float, Device::Cpu));
                let labels = Tensor::from_slice(&[0i64, 1, 2, 3, 9]);
                let labels = (n_classes > 0).then_some(&labels);
                let fake = g.forward_t(&z, labels, true);
                assert_eq!(fake.size(), [5, 1, 28, 28], "{flavour:?}");
                assert!(fake.abs().max().double_value(&[]) <= 1.0);
                assert_eq!(d.forward_t(&fake, labels, true).size(), [5], "{flavour:?}");
            }
        }
    }

    #[test]
    fn batch_norm_uses_the_intended_eps() {
        // A batch-norm layer with eps = 0.8 would shrink a unit-variance batch to ~0.75 std.
        let vs = nn::VarStore::new(Device::Cpu);
        let g = MlpGenerator::new(&MlpConfig::default(), vs.root());
        let (_, bn) = &g.layers[1];
        let xs = Tensor::randn([512, 256], (Kind::Float, Device::Cpu));
        let std = bn
            .as_ref()
            .unwrap()
            .forward_t(&xs, true)
            .std(true)
            .double_value(&[]);
        assert!((std - 1.0).abs() < 0.01, "normalised std {std}");
    }

    #[test]
    fn maxout_takes_the_largest_piece() {
        let vs = nn::VarStore::new(Device::Cpu);
        let mut m = Maxout::new(vs.root() / "m", 2, 1, 3);
        tch::no_grad(|| {
            m.linear
                .ws
                .copy_(&Tensor::from_slice(&[1f32, 0., 0., 1., -1., -1.]).view([3, 2]));
            let _ = m.linear.bs.as_mut().unwrap().zero_();
        });
        // pieces for x = (2, 3): 2, 3, −5 → 3
        let out = m.forward(&Tensor::from_slice(&[2f32, 3.]).view([1, 2]));
        assert_eq!(out.double_value(&[0, 0]), 3.0);
    }
}
