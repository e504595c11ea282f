//! DCGAN (Radford, Metz & Chintala, 2016): notebook 02, and the base of 03 (WGAN) and 04 (cGAN).
//!
//! The paper's guidelines, each visible below:
//! 1. no pooling: G upsamples with strided transposed convolutions, D downsamples with strided
//!    convolutions, so both learn their own resampling;
//! 2. batch norm in both, except G's output layer and D's input layer (normalising those would
//!    fix the output's or the data's statistics);
//! 3. no fully connected hidden layers: `z` is read as a 1×1 image with `latent_dim` channels;
//! 4. ReLU in G, `tanh` at G's output; LeakyReLU(0.2) in D;
//! 5. weights from N(0, 0.02) ([`super::init::dcgan_normal`], switchable).
//!
//! Sizes: 64×64 (the paper's), 32×32 and 28×28 (MNIST-like), grey or RGB; `width` is the paper's
//! `ngf`/`ndf` (64). At 64×64, G's feature maps go `8w@4×4 → 4w@8×8 → 2w@16×16 → w@32×32 →
//! C@64×64`, and D mirrors them. At 28×28 the first step is a 7×7 kernel: `2w@7×7 → w@14×14 →
//! C@28×28`.
//!
//! As a WGAN critic (notebook 03) the same D is used without a sigmoid (it never has one here:
//! it returns scores), with batch norm for weight clipping and with [`Norm::Layer`] for the
//! gradient penalty.

use anyhow::Result;
use tch::nn::{self, ModuleT};
use tch::{Kind, Tensor};

use crate::precision;

use super::Norm;

/// Hyperparameters of a DCGAN generator and discriminator.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DcganConfig {
    /// 28, 32 or 64.
    pub image_size: i64,
    /// 1 (grey) or 3 (RGB).
    pub channels: i64,
    /// Size of `z` (100 in the paper).
    pub latent_dim: i64,
    /// Feature maps of the widest-resolution layer (`ngf` = `ndf` = 64 in the paper).
    pub width: i64,
    /// Normalisation in D's hidden layers (batch norm in the paper).
    pub norm: Norm,
    /// The paper's N(0, 0.02) initialisation instead of libtorch's default.
    pub dcgan_init: bool,
    /// Extra input channels of G's `z` and D's image (the one-hot label of a conditional model).
    pub n_classes: i64,
    /// How the label enters: one-hot (default) or a learned embedding; G joins it to z, D
    /// sees it as constant extra channels of the image.
    #[serde(default)]
    pub conditioning: super::Conditioning,
    /// Spectral normalisation of every D layer (Miyato et al., 2018; [`super::spectral`]).
    #[serde(default)]
    pub spectral_norm: bool,
    /// D's last layer also sees the minibatch standard deviation (Karras et al., 2018): one
    /// more channel holding the spread of the batch's features, so that a batch of
    /// near-identical samples (mode collapse) is easy for D to spot.
    #[serde(default)]
    pub minibatch_std: bool,
}

impl Default for DcganConfig {
    fn default() -> Self {
        DcganConfig {
            image_size: 64,
            channels: 3,
            latent_dim: 100,
            width: 64,
            norm: Norm::Batch,
            dcgan_init: true,
            n_classes: 0,
            conditioning: super::Conditioning::OneHot,
            spectral_norm: false,
            minibatch_std: false,
        }
    }
}

impl DcganConfig {
    /// MNIST-like: 28×28 grey.
    pub fn mnist() -> Self {
        DcganConfig {
            image_size: 28,
            channels: 1,
            ..Default::default()
        }
    }

    /// Checks the values a learner may have typed.
    pub fn validate(&self) -> Result<()> {
        anyhow::ensure!(
            matches!(self.image_size, 28 | 32 | 64),
            "DCGAN image_size {} is not supported: use 28, 32 or 64",
            self.image_size
        );
        anyhow::ensure!(
            matches!(self.channels, 1 | 3),
            "DCGAN channels {} is not supported: use 1 (grey) or 3 (RGB)",
            self.channels
        );
        anyhow::ensure!(
            self.latent_dim > 0 && self.width > 0,
            "latent_dim and width must be positive"
        );
        Ok(())
    }

    fn label_width(&self) -> i64 {
        super::LabelCode::width(self.n_classes, self.conditioning)
    }

    /// Channel counts of G's layers after the projection of `z`, widest first, ending with the
    /// image's channels: 64 → [8w, 4w, 2w, w, C]; 32 → [4w, 2w, w, C]; 28 → [2w, w, C].
    fn generator_channels(&self) -> Vec<i64> {
        let w = self.width;
        let mut channels: Vec<i64> = match self.image_size {
            64 => vec![8 * w, 4 * w, 2 * w, w],
            32 => vec![4 * w, 2 * w, w],
            _ => vec![2 * w, w],
        };
        channels.push(self.channels);
        channels
    }
}

fn conv(p: nn::Path, i: i64, o: i64, k: i64, stride: i64, padding: i64) -> precision::Conv2D {
    precision::conv2d(
        p,
        i,
        o,
        k,
        nn::ConvConfig {
            stride,
            padding,
            bias: false,
            ..Default::default()
        },
    )
}

fn deconv(
    p: nn::Path,
    i: i64,
    o: i64,
    k: i64,
    stride: i64,
    padding: i64,
) -> precision::ConvTranspose2D {
    precision::conv_transpose2d(
        p,
        i,
        o,
        k,
        nn::ConvTransposeConfig {
            stride,
            padding,
            bias: false,
            ..Default::default()
        },
    )
}

/// The DCGAN generator: `z [B, latent_dim]` (+ labels) → images `[B, C, S, S]` in [−1, 1].
#[derive(Debug)]
pub struct DcganGenerator {
    config: DcganConfig,
    label: super::LabelCode,
    /// `deconv1` … `deconvN`: the first projects z (1×1) to the smallest feature map.
    deconv: Vec<precision::ConvTranspose2D>,
    /// `bn1` … `bn(N−1)`: no batch norm on the output layer (guideline 2).
    bn: Vec<nn::BatchNorm>,
}

impl DcganGenerator {
    /// The hyperparameters it was built with.
    pub fn config(&self) -> &DcganConfig {
        &self.config
    }

    /// The scale (γ) of every normalisation layer, for [`super::init::dcgan_normal`].
    pub fn norm_scales(&self) -> Vec<Tensor> {
        self.bn
            .iter()
            .filter_map(|bn| bn.ws.as_ref())
            .map(Tensor::shallow_clone)
            .collect()
    }

    pub fn new(config: &DcganConfig, p: nn::Path) -> Result<Self> {
        config.validate()?;
        let channels = config.generator_channels();
        let mut layers = Vec::new();
        let mut bn = Vec::new();
        let mut inputs = config.latent_dim + config.label_width();
        for (i, &outputs) in channels.iter().enumerate() {
            let last = i == channels.len() - 1;
            // No biases, as in the reference implementation: batch norm cancels them.
            // First layer: 1×1 → 4×4 (7×7 for 28-pixel images); then each doubles H and W.
            let layer = if i == 0 {
                let k = if config.image_size == 28 { 7 } else { 4 };
                deconv(&p / format!("deconv{}", i + 1), inputs, outputs, k, 1, 0)
            } else {
                deconv(&p / format!("deconv{}", i + 1), inputs, outputs, 4, 2, 1)
            };
            layers.push(layer);
            if !last {
                bn.push(nn::batch_norm2d(
                    &p / format!("bn{}", i + 1),
                    outputs,
                    super::batch_norm_config(),
                ));
            }
            inputs = outputs;
        }
        Ok(DcganGenerator {
            config: config.clone(),
            label: super::LabelCode::new(&p / "label", config.n_classes, config.conditioning),
            deconv: layers,
            bn,
        })
    }

    /// Generates images from `z` and, for a conditional model, `labels` `[B]`.
    pub fn forward_t(&self, z: &Tensor, labels: Option<&Tensor>, train: bool) -> Tensor {
        self.run(z, labels, train, &mut |_, _| {})
    }

    /// The layers and the shape each one outputs, for a batch of 2 (a shape check to print).
    pub fn summary(&self) -> String {
        let device = self.deconv[0].ws.device();
        let z = noise(2, self.config.latent_dim, device);
        let labels = (self.config.n_classes > 0).then(|| Tensor::zeros([2], (Kind::Int64, device)));
        let mut lines = vec![format!("{:<18}{:>18}", "z", format!("{:?}", z.size()))];
        let _output = tch::no_grad(|| {
            self.run(&z, labels.as_ref(), false, &mut |name, xs| {
                lines.push(format!("{name:<18}{:>18}", format!("{:?}", xs.size())))
            })
        });
        lines.join("\n")
    }

    fn run(
        &self,
        z: &Tensor,
        labels: Option<&Tensor>,
        train: bool,
        trace: &mut dyn FnMut(&str, &Tensor),
    ) -> Tensor {
        let z = self.label.join(z, labels);
        let mut xs = z.view([z.size()[0], -1, 1, 1]); // [B, latent_dim (+ label code), 1, 1]
        if self.config.n_classes > 0 {
            trace("z + label", &xs);
        }
        for (i, layer) in self.deconv.iter().enumerate() {
            xs = layer.forward_t(&xs, train); // at 64: [B, 8w, 4, 4] → [B, 4w, 8, 8] → … → [B, C, 64, 64]
            if let Some(bn) = self.bn.get(i) {
                xs = bn.forward_t(&xs, train).relu();
                trace(&format!("deconv{} bn relu", i + 1), &xs);
            }
        }
        let xs = precision::fp32(xs.tanh());
        trace(&format!("deconv{} tanh", self.deconv.len()), &xs);
        xs
    }
}

/// One normalisation layer of the discriminator.
#[derive(Debug)]
enum NormLayer {
    Batch(nn::BatchNorm),
    Layer(nn::LayerNorm),
    Group(nn::GroupNorm),
}

impl NormLayer {
    fn new(norm: Norm, p: nn::Path, channels: i64, side: i64) -> Option<Self> {
        match norm {
            Norm::Batch => Some(NormLayer::Batch(nn::batch_norm2d(
                p,
                channels,
                super::batch_norm_config(),
            ))),
            Norm::Layer => Some(NormLayer::Layer(nn::layer_norm(
                p,
                vec![channels, side, side],
                Default::default(),
            ))),
            // One group per channel = instance norm with a learnt scale and shift.
            Norm::Instance => Some(NormLayer::Group(nn::group_norm(
                p,
                channels,
                channels,
                Default::default(),
            ))),
            Norm::None => None,
        }
    }

    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        match self {
            NormLayer::Batch(bn) => bn.forward_t(xs, train),
            NormLayer::Layer(ln) => ln.forward_t(xs, train),
            NormLayer::Group(gn) => gn.forward_t(xs, train),
        }
    }
}

/// The DCGAN discriminator (or WGAN critic): images `[B, C, S, S]` (+ labels) → scores `[B]`.
#[derive(Debug)]
pub struct DcganDiscriminator {
    config: DcganConfig,
    label: super::LabelCode,
    /// `conv1` … `convN`: each halves H and W; the last reads the 4×4 (7×7) map into one score.
    conv: Vec<precision::Conv2D>,
    /// `norm2` … `norm(N−1)`: none on the input layer (guideline 2) nor on the score.
    norm: Vec<Option<NormLayer>>,
    /// Each conv's power iteration state, with `spectral_norm`.
    spectral: Vec<super::spectral::SpectralNorm>,
}

impl DcganDiscriminator {
    /// The hyperparameters it was built with.
    pub fn config(&self) -> &DcganConfig {
        &self.config
    }

    /// The scale (γ) of every normalisation layer (batch, layer or instance norm), for
    /// [`super::init::dcgan_normal`].
    pub fn norm_scales(&self) -> Vec<Tensor> {
        let scale = |norm: &NormLayer| match norm {
            NormLayer::Batch(n) => n.ws.as_ref().map(Tensor::shallow_clone),
            NormLayer::Layer(n) => n.ws.as_ref().map(Tensor::shallow_clone),
            NormLayer::Group(n) => n.ws.as_ref().map(Tensor::shallow_clone),
        };
        self.norm.iter().flatten().filter_map(scale).collect()
    }

    pub fn new(config: &DcganConfig, p: nn::Path) -> Result<Self> {
        config.validate()?;
        // D mirrors G: its feature maps are G's, in reverse order, without the image itself.
        let mut channels = config.generator_channels();
        channels.pop();
        channels.reverse(); // e.g. 64: [w, 2w, 4w, 8w]
        let mut conv_layers = Vec::new();
        let mut norm = Vec::new();
        let mut inputs = config.channels + config.label_width();
        let mut side = config.image_size;
        for (i, &outputs) in channels.iter().enumerate() {
            side /= 2;
            conv_layers.push(conv(
                &p / format!("conv{}", i + 1),
                inputs,
                outputs,
                4,
                2,
                1,
            ));
            norm.push(if i == 0 {
                None
            } else {
                NormLayer::new(config.norm, &p / format!("norm{}", i + 1), outputs, side)
            });
            inputs = outputs;
        }
        let k = if config.image_size == 28 { 7 } else { 4 };
        conv_layers.push(conv(
            &p / format!("conv{}", channels.len() + 1),
            inputs + i64::from(config.minibatch_std),
            1,
            k,
            1,
            0,
        ));
        let spectral = if config.spectral_norm {
            conv_layers
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    super::spectral::SpectralNorm::new(&(&p / format!("conv{}", i + 1)), &c.ws)
                })
                .collect()
        } else {
            Vec::new()
        };
        Ok(DcganDiscriminator {
            config: config.clone(),
            label: super::LabelCode::new(&p / "label", config.n_classes, config.conditioning),
            conv: conv_layers,
            norm,
            spectral,
        })
    }

    /// One score per image (a logit for the BCE games, a critic score for WGAN).
    pub fn forward_t(&self, images: &Tensor, labels: Option<&Tensor>, train: bool) -> Tensor {
        self.run(images, labels, train, &mut |_, _| {})
    }

    /// The layers and the shape each one outputs, for a batch of 2 (a shape check to print).
    pub fn summary(&self) -> String {
        let device = self.conv[0].ws.device();
        let c = &self.config;
        let images = Tensor::zeros(
            [2, c.channels, c.image_size, c.image_size],
            (Kind::Float, device),
        );
        let labels = (c.n_classes > 0).then(|| Tensor::zeros([2], (Kind::Int64, device)));
        let mut lines = vec![format!(
            "{:<18}{:>18}",
            "image",
            format!("{:?}", images.size())
        )];
        let norm = match c.norm {
            Norm::Batch => " bn",
            Norm::Layer => " ln",
            Norm::Instance => " in",
            Norm::None => "",
        };
        let _output = tch::no_grad(|| {
            self.run(&images, labels.as_ref(), false, &mut |name, xs| {
                let name = name.replace(" norm", norm);
                lines.push(format!("{name:<18}{:>18}", format!("{:?}", xs.size())))
            })
        });
        lines.join("\n")
    }

    fn run(
        &self,
        images: &Tensor,
        labels: Option<&Tensor>,
        train: bool,
        trace: &mut dyn FnMut(&str, &Tensor),
    ) -> Tensor {
        let mut xs = match self.label.code(labels, images.kind()) {
            // A conditional D sees the label code as extra constant channels of the image.
            Some(code) => {
                let size = images.size();
                let width = code.size()[1];
                let planes = code
                    .view([size[0], width, 1, 1])
                    .expand([size[0], width, size[2], size[3]], false);
                Tensor::cat(&[images, &planes], 1) // [B, C + label code, S, S]
            }
            None => images.shallow_clone(), // [B, C, S, S]
        };
        if self.config.n_classes > 0 {
            trace("image + label", &xs);
        }
        let last = self.conv.len() - 1;
        for (i, layer) in self.conv.iter().enumerate() {
            if i == last && self.config.minibatch_std {
                xs = minibatch_std_map(&xs);
                trace("+ minibatch std", &xs);
            }
            // at 64: [B, w, 32, 32] → [B, 2w, 16, 16] → … → [B, 1, 1, 1]
            xs = match self.spectral.get(i) {
                Some(sn) => layer.with_weight(&xs, &sn.weight(&layer.ws, train)),
                None => layer.forward_t(&xs, train),
            };
            if i < last {
                let mut name = format!("conv{}", i + 1);
                if let Some(norm) = &self.norm[i] {
                    xs = norm.forward_t(&xs, train);
                    name += " norm";
                }
                xs = super::leaky_relu(&xs, 0.2);
                trace(&format!("{name} lrelu"), &xs);
            }
        }
        let xs = precision::fp32(xs.view([-1])); // [B]
        trace(&format!("conv{} → score", self.conv.len()), &xs);
        xs
    }
}

/// Feature maps `[B, C, H, W]` with one more channel: the standard deviation of each feature
/// over the batch, averaged over all features, the same value everywhere (Karras et al., 2018,
/// §3, with the whole batch as one group).
pub fn minibatch_std_map(xs: &Tensor) -> Tensor {
    let size = xs.size();
    let plane = super::toy::batch_spread(xs)
        .view([1, 1, 1, 1])
        .expand([size[0], 1, size[2], size[3]], false);
    Tensor::cat(&[xs.shallow_clone(), plane], 1)
}

/// A batch of noise `z ~ N(0, I)` of shape `[batch, latent_dim]` on `device`.
pub fn noise(batch: i64, latent_dim: i64, device: tch::Device) -> Tensor {
    Tensor::randn([batch, latent_dim], (Kind::Float, device))
}

// ---- The model: DCGAN's networks, also the WGAN critic and the conditional DCGAN. ----

impl super::GanModel for DcganConfig {
    fn name(&self) -> &'static str {
        "dcgan"
    }
    fn latent_dim(&self) -> Option<i64> {
        Some(self.latent_dim)
    }
    fn n_classes(&self) -> i64 {
        self.n_classes
    }
    fn validate(&self) -> Result<()> {
        DcganConfig::validate(self)
    }
    fn example_shape(&self) -> Vec<i64> {
        vec![self.channels, self.image_size, self.image_size]
    }
    fn fits_game(&self, loss: crate::game::GanLoss, _batch_size: usize) -> Result<()> {
        anyhow::ensure!(
            !(matches!(loss, crate::game::GanLoss::WassersteinGp { .. })
                && self.norm == Norm::Batch),
            "the gradient penalty is per sample, and batch norm mixes the samples of a batch: \
             set the critic's norm to Norm::Layer (or Instance, or None) for WGAN-GP"
        );
        Ok(())
    }
    /// The paper's N(0, 0.02) initialisation when `dcgan_init` (the default).
    fn build(&self, vs: &nn::VarStore) -> Result<super::Networks> {
        let g = DcganGenerator::new(self, vs.root() / "generator")?;
        let d = DcganDiscriminator::new(self, vs.root() / "discriminator")?;
        if self.dcgan_init {
            super::init::dcgan_normal(vs, g.norm_scales().into_iter().chain(d.norm_scales()));
        }
        Ok(super::Networks::new(g, d))
    }
}

impl crate::game::Generator for DcganGenerator {
    fn generate(&self, z: &Tensor, labels: Option<&Tensor>, train: bool) -> Tensor {
        self.forward_t(z, labels, train)
    }

    fn layers(&self) -> Option<String> {
        Some(self.summary())
    }
}

impl crate::game::Discriminator for DcganDiscriminator {
    fn score(&self, samples: &Tensor, labels: Option<&Tensor>, train: bool) -> Result<Tensor> {
        Ok(self.forward_t(samples, labels, train))
    }

    fn layers(&self) -> Option<String> {
        Some(self.summary())
    }
    /// Layer and instance norm normalise each sample by itself; batch norm and the minibatch
    /// standard deviation do not.
    fn batch_independent(&self) -> bool {
        self.config().norm != Norm::Batch && !self.config().minibatch_std
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::init;
    use tch::Device;

    #[test]
    fn every_size_channel_count_and_norm() {
        for image_size in [28, 32, 64] {
            for channels in [1, 3] {
                for norm in [Norm::Batch, Norm::Layer, Norm::Instance, Norm::None] {
                    let config = DcganConfig {
                        image_size,
                        channels,
                        width: 8,
                        norm,
                        ..Default::default()
                    };
                    let vs = nn::VarStore::new(Device::Cpu);
                    let g = DcganGenerator::new(&config, vs.root() / "generator").unwrap();
                    let d = DcganDiscriminator::new(&config, vs.root() / "discriminator").unwrap();
                    let fake = g.forward_t(&noise(3, 100, Device::Cpu), None, true);
                    assert_eq!(
                        fake.size(),
                        [3, channels, image_size, image_size],
                        "{config:?}"
                    );
                    assert_eq!(d.forward_t(&fake, None, true).size(), [3], "{config:?}");
                }
            }
        }
    }

    /// Spectral norm keeps every layer's σ near 1 after a few passes, adds only untrained state,
    /// and the minibatch standard deviation makes D's scores depend on the batch.
    #[test]
    fn spectral_norm_and_minibatch_std() {
        use crate::game::Discriminator;
        tch::manual_seed(1);
        let config = |spectral_norm, minibatch_std| DcganConfig {
            width: 8,
            norm: Norm::None,
            spectral_norm,
            minibatch_std,
            ..DcganConfig::mnist()
        };
        let vs = nn::VarStore::new(Device::Cpu);
        let plain = DcganDiscriminator::new(&config(false, false), vs.root() / "plain").unwrap();
        let sn = DcganDiscriminator::new(&config(true, false), vs.root() / "sn").unwrap();
        let trained = |prefix: &str| -> i64 {
            vs.variables()
                .iter()
                .filter(|(n, t)| n.starts_with(prefix) && t.requires_grad())
                .map(|(_, t)| t.numel() as i64)
                .sum()
        };
        assert_eq!(trained("plain."), trained("sn."));
        assert!(vs.variables().contains_key("sn.conv1.sn_u"));
        let images = Tensor::randn([6, 1, 28, 28], (Kind::Float, Device::Cpu));
        for _ in 0..30 {
            let _ = sn.forward_t(&images, None, true);
        }
        for (layer, state) in sn.conv.iter().zip(&sn.spectral) {
            let sigma =
                super::super::spectral::largest_singular_value(&state.weight(&layer.ws, false));
            assert!((sigma - 1.0).abs() < 0.02, "σ = {sigma}");
        }
        assert!(plain.batch_independent() && sn.batch_independent());
        let mb = DcganDiscriminator::new(&config(false, true), vs.root() / "mb").unwrap();
        assert!(!mb.batch_independent());
        assert!(mb.summary().contains("+ minibatch std"));
        let alone = mb.forward_t(&images.narrow(0, 0, 3), None, false);
        let joined = mb.forward_t(&images, None, false).narrow(0, 0, 3);
        assert!(
            !alone.equal(&joined),
            "the spread of the batch reaches the score"
        );
    }

    #[test]
    fn conditional_model_takes_labels_one_hot_or_embedded() {
        use crate::models::Conditioning;
        for conditioning in [Conditioning::OneHot, Conditioning::Embedding { dim: 16 }] {
            let config = DcganConfig {
                n_classes: 10,
                width: 8,
                conditioning,
                ..DcganConfig::mnist()
            };
            let vs = nn::VarStore::new(Device::Cpu);
            let g = DcganGenerator::new(&config, vs.root() / "generator").unwrap();
            let d = DcganDiscriminator::new(&config, vs.root() / "discriminator").unwrap();
            let labels = Tensor::arange(4, (Kind::Int64, Device::Cpu));
            let z = noise(1, 100, Device::Cpu).repeat([4, 1]); // the same z for every label
            let fake = g.forward_t(&z, Some(&labels), false);
            assert_eq!(fake.size(), [4, 1, 28, 28]);
            assert!(
                !fake.get(0).equal(&fake.get(1)),
                "{conditioning:?}: the label changes G"
            );
            assert_eq!(d.forward_t(&fake, Some(&labels), false).size(), [4]);
            let embedded = vs.variables().contains_key("generator.label.embed.weight");
            assert_eq!(embedded, conditioning != Conditioning::OneHot);
        }
    }

    #[test]
    fn summaries_list_every_layer_with_its_shape() {
        let vs = nn::VarStore::new(Device::Cpu);
        let config = DcganConfig {
            width: 8,
            ..DcganConfig::default()
        };
        let g = DcganGenerator::new(&config, vs.root() / "generator").unwrap();
        let d = DcganDiscriminator::new(&config, vs.root() / "discriminator").unwrap();
        let (g, d) = (g.summary(), d.summary());
        assert!(
            g.contains("deconv1 bn relu") && g.contains("[2, 64, 4, 4]"),
            "{g}"
        );
        assert!(
            g.contains("deconv5 tanh") && g.contains("[2, 3, 64, 64]"),
            "{g}"
        );
        assert!(
            d.contains("conv1 lrelu") && d.contains("[2, 8, 32, 32]"),
            "{d}"
        );
        assert!(
            d.contains("conv2 bn lrelu") && d.contains("conv5 → score"),
            "{d}"
        );
    }

    #[test]
    fn soft_labels_blend_the_class_codes() {
        use crate::models::{Conditioning, LabelCode};
        for conditioning in [Conditioning::OneHot, Conditioning::Embedding { dim: 6 }] {
            let vs = nn::VarStore::new(Device::Cpu);
            let code = LabelCode::new(vs.root() / "label", 4, conditioning);
            let hard = Tensor::from_slice(&[1i64, 3]);
            let soft = hard.one_hot(4).to_kind(Kind::Float);
            let (h, s) = (
                code.code(Some(&hard), Kind::Float).unwrap(),
                code.code(Some(&soft), Kind::Float).unwrap(),
            );
            assert!(h.allclose(&s, 1e-6, 1e-6, false), "{conditioning:?}");
            // Half of class 1, half of class 3: the mean of the two codes.
            let half = Tensor::from_slice(&[0.0f32, 0.5, 0.0, 0.5]).view([1, 4]);
            let blend = code.code(Some(&half), Kind::Float).unwrap();
            let mean = h.mean_dim(0, true, Kind::Float);
            assert!(blend.allclose(&mean, 1e-6, 1e-6, false), "{conditioning:?}");
        }
    }

    #[test]
    fn layer_names_and_paper_init() {
        let vs = nn::VarStore::new(Device::Cpu);
        let g = DcganGenerator::new(&DcganConfig::default(), vs.root() / "generator").unwrap();
        let d =
            DcganDiscriminator::new(&DcganConfig::default(), vs.root() / "discriminator").unwrap();
        init::dcgan_normal(&vs, g.norm_scales().into_iter().chain(d.norm_scales()));
        let vars = vs.variables();
        let mut names: Vec<&String> = vars.keys().collect();
        names.sort();
        assert!(
            vars.contains_key("generator.deconv1.weight")
                && vars.contains_key("discriminator.conv5.weight"),
            "{names:?}"
        );
        assert!(
            !vars.contains_key("generator.bn5.weight"),
            "no batch norm on G's output layer"
        );
        assert!(
            !vars.contains_key("discriminator.norm1.weight"),
            "no norm on D's input layer"
        );
        let (mean, std) = init::stats(&vars["generator.deconv2.weight"]);
        assert!(
            mean.abs() < 0.001 && (std - 0.02).abs() < 0.001,
            "conv N(0, 0.02): {mean} {std}"
        );
        let (mean, std) = init::stats(&vars["discriminator.norm2.weight"]);
        assert!(
            (mean - 1.0).abs() < 0.01 && (std - 0.02).abs() < 0.01,
            "norm N(1, 0.02): {mean} {std}"
        );
        assert_eq!(init::stats(&vars["discriminator.norm2.bias"]), (0.0, 0.0));
    }

    #[test]
    fn parameter_counts_match_the_pytorch_tutorial_model() {
        // PyTorch 2.11, the DCGAN tutorial's Generator and Discriminator (nz=100, ngf=ndf=64,
        // nc=3, bias=False): sum(p.numel() for p in G.parameters()) == 3576704, D: 2765568.
        let count = |build: &dyn Fn(nn::Path)| {
            let vs = nn::VarStore::new(Device::Cpu);
            build(vs.root());
            crate::models::parameter_count(&vs)
        };
        let config = DcganConfig::default();
        assert_eq!(
            count(&|p| drop(DcganGenerator::new(&config, p).unwrap())),
            3_576_704
        );
        assert_eq!(
            count(&|p| drop(DcganDiscriminator::new(&config, p).unwrap())),
            2_765_568
        );
    }

    #[test]
    fn unsupported_sizes_are_named() {
        let vs = nn::VarStore::new(Device::Cpu);
        let config = DcganConfig {
            image_size: 48,
            ..Default::default()
        };
        let err = DcganGenerator::new(&config, vs.root())
            .unwrap_err()
            .to_string();
        assert!(err.contains("image_size 48"), "{err}");
    }
}
