//! The networks of the course, each a struct of named layers with `forward_t(xs, train)`.
//!
//! Layer names (`"fc1"`, `"bn1"`, `"deconv2"`, …) are the keys of a checkpoint, so a saved file
//! reads like the code. Discriminators and critics return raw scores (logits for the BCE games;
//! see [`crate::losses`]), never probabilities.
//!
//! | module | networks |
//! | --- | --- |
//! | [`mlp`] | fully connected G and D, paper (maxout) and learner flavours, optional labels |
//! | [`dcgan`] | DCGAN G and D/critic at 28, 32, 64 px, grey or RGB, norm switch, optional labels |
//! | [`unet`] | the Pix2Pix U-Net generator, 32 to 256 px |
//! | [`patchgan`] | the Pix2Pix 70×70 PatchGAN discriminator |
//! | [`pix2pix`] | the two above as one model: [`pix2pix::Pix2PixConfig`] |
//! | [`cyclegan`] | two ResNet generators, two PatchGANs and the history pool: [`cyclegan::CycleGanConfig`] |
//! | [`init`] | the DCGAN paper's N(0, 0.02) initialisation |
//! | [`spectral`] | spectral normalisation of a layer's weight (power iteration, as PyTorch) |
//!
//! ## One model, one place
//! Each model's file owns its config, how its networks are built and initialised, what data it
//! accepts (through [`GanModel::example_shape`] and [`GanModel::input_shape`]), and how its
//! networks play the game (their [`Generator`](crate::game::Generator) and
//! [`Discriminator`](crate::game::Discriminator) impls). The trainer only talks to
//! [`GanModel`]. A model of the crate is one file here plus one arm in
//! [`crate::train::ModelConfig`] and, to offer it by name (the `gans` command, its presets), one
//! entry in [`crate::train::registry`]; a model of a notebook's own needs neither: it trains as
//! `ModelConfig::custom(MyModel)`, with as many generators and discriminators as it builds
//! (see `tests/many_players.rs`, a game of two of each).

pub mod cyclegan;
pub mod dcgan;
pub mod init;
pub mod mlp;
pub mod patchgan;
pub mod pix2pix;
pub mod spectral;
pub mod toy;
pub mod unet;

pub use crate::game::{GanModel, Networks};

/// How a discriminator normalises its hidden layers.
///
/// Batch norm is DCGAN's choice. A WGAN-GP critic must not use it: the gradient penalty is
/// computed per sample, and batch norm makes each sample's score depend on the whole batch
/// (Gulrajani et al., 2017, §4); layer norm is the usual replacement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Norm {
    Batch,
    /// Over each sample's (C, H, W).
    Layer,
    /// Over each sample's (H, W), per channel, with a learnt scale and shift.
    Instance,
    None,
}

/// Batch norm as PyTorch builds it: scale 1, shift 0, eps 1e-5, momentum 0.1.
///
/// tch's own default draws the scale uniformly from [0, 1], which silently shrinks every
/// normalised activation (by about 0.58 on average); the course's numbers are checked against
/// PyTorch, so every batch norm here uses this instead.
pub fn batch_norm_config() -> tch::nn::BatchNormConfig {
    tch::nn::BatchNormConfig {
        ws_init: tch::nn::Init::Const(1.0),
        bs_init: tch::nn::Init::Const(0.0),
        eps: 1e-5,
        momentum: 0.1,
        ..Default::default()
    }
}

/// Gives every 4-D tensor of `vs` channels-last strides (NHWC in memory, NCHW in shape), in place:
/// the same variables with the same values, so optimisers and checkpoints see no change.
/// libtorch then runs each convolution with such a weight in that layout, and its output, the
/// next layer's input, comes out channels-last too. (tch has no memory-format argument; this is
/// what `module.to(memory_format=torch.channels_last)` does in PyTorch.)
pub fn to_channels_last(vs: &tch::nn::VarStore) {
    tch::no_grad(|| {
        for (_, mut var) in vs.variables() {
            if let [n, c, h, w] = var.size()[..] {
                // Explicit strides, also for one channel, where `permute`/`contiguous` would
                // leave the tensor as it is (a size-1 dim makes both layouts "contiguous").
                let strides = [c * h * w, 1, w * c, c];
                let mut nhwc =
                    tch::Tensor::empty_strided([n, c, h, w], strides, (var.kind(), var.device()));
                nhwc.copy_(&var);
                var.set_data(&nhwc);
            }
        }
    });
}

/// True when a 4-D tensor's strides are channels-last (NHWC in memory).
pub fn is_channels_last(t: &tch::Tensor) -> bool {
    match (&t.size()[..], &t.stride()[..]) {
        (&[_, c, h, w], &[sn, sc, sh, sw]) => sc == 1 && sw == c && sh == w * c && sn == h * w * c,
        _ => false,
    }
}

/// How a class label enters a conditional network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Conditioning {
    /// A one-hot vector of `n_classes` numbers, as the cGAN learner repositories do (Mirza &
    /// Osindero, 2014, join it to z and to D's input).
    #[default]
    OneHot,
    /// A learned vector of `dim` numbers per class (`nn.Embedding`), as many later cGANs do.
    Embedding { dim: i64 },
}

/// Turns labels `[B]` into codes `[B, width]`: one-hot, or a learned embedding (layer `embed`).
#[derive(Debug)]
pub struct LabelCode {
    n_classes: i64,
    embedding: Option<tch::nn::Embedding>,
}

impl LabelCode {
    /// The code for `n_classes` classes (0: an unconditional model, width 0).
    pub fn new(p: tch::nn::Path, n_classes: i64, conditioning: Conditioning) -> Self {
        let embedding = match conditioning {
            Conditioning::Embedding { dim } if n_classes > 0 => Some(tch::nn::embedding(
                p / "embed",
                n_classes,
                dim,
                Default::default(),
            )),
            _ => None,
        };
        LabelCode {
            n_classes,
            embedding,
        }
    }

    /// Numbers per label: 0 when unconditional.
    pub fn width(n_classes: i64, conditioning: Conditioning) -> i64 {
        match conditioning {
            _ if n_classes == 0 => 0,
            Conditioning::OneHot => n_classes,
            Conditioning::Embedding { dim } => dim,
        }
    }

    /// `[B]` labels → `[B, width]` codes of the given kind; `None` when unconditional or no
    /// labels were given.
    ///
    /// Labels may also be *soft*: a float `[B, n_classes]` tensor of class weights (a row of
    /// `[0.3, 0.7, 0, …]` asks for 30 % class 0 and 70 % class 1). Its code is the same blend of
    /// the classes' codes, which is how a walk from one class to another is drawn.
    pub fn code(&self, labels: Option<&tch::Tensor>, kind: tch::Kind) -> Option<tch::Tensor> {
        use tch::nn::Module;
        let labels = labels.filter(|_| self.n_classes > 0)?;
        let soft = labels.dim() == 2;
        Some(match (&self.embedding, soft) {
            (Some(embedding), false) => embedding.forward(labels).to_kind(kind),
            (Some(embedding), true) => labels.to_kind(kind).matmul(&embedding.ws.to_kind(kind)),
            (None, false) => labels.one_hot(self.n_classes).to_kind(kind),
            (None, true) => labels.to_kind(kind),
        })
    }

    /// Joins the label code to features: `[B, F]` → `[B, F + width]`.
    pub fn join(&self, xs: &tch::Tensor, labels: Option<&tch::Tensor>) -> tch::Tensor {
        match self.code(labels, xs.kind()) {
            Some(code) => tch::Tensor::cat(&[xs, &code], 1),
            None => xs.shallow_clone(),
        }
    }
}

/// LeakyReLU with a chosen slope: `x` where `x > 0`, `slope·x` elsewhere.
///
/// tch's `leaky_relu` fixes the slope at 0.01 (GANs use 0.2), and libtorch's PReLU kernel with
/// a one-number slope measured 8–9× slower than LeakyReLU on DCGAN-sized maps here (2.9 ms
/// against 0.33 ms forward and backward on `[64, 64, 14, 14]`). So this calls the kernel that
/// computes LeakyReLU's gradient, `leaky_relu_backward(g, x, slope)` = `g` where `x > 0`,
/// `slope·g` elsewhere, with `g = x`: that is LeakyReLU of `x`, in one pass. Its derivative
/// with respect to `g` is the same kernel again, which is LeakyReLU's gradient, so with the
/// second `x` detached autograd gets the true first and second derivatives (WGAN-GP's penalty
/// needs the second) in one pass each. The values and both derivatives equal PyTorch's
/// `F.leaky_relu` bit for bit (checked in PyTorch 2.11, and in the test below).
pub fn leaky_relu(xs: &tch::Tensor, slope: f64) -> tch::Tensor {
    xs.detach().leaky_relu_backward(xs, slope, false)
}

/// The number of trainable parameters of a var store, to print next to a model.
pub fn parameter_count(vs: &tch::nn::VarStore) -> i64 {
    vs.trainable_variables()
        .iter()
        .map(|t| t.numel() as i64)
        .sum()
}

#[cfg(test)]
mod tests {
    use tch::{Device, Kind, Tensor};

    #[test]
    fn leaky_relu_values_and_gradient() {
        let xs = Tensor::from_slice(&[-2.0f32, -0.5, 0.0, 0.5, 3.0]).set_requires_grad(true);
        let ys = super::leaky_relu(&xs, 0.2);
        assert_eq!(
            Vec::<f32>::try_from(&ys).unwrap(),
            [-0.4, -0.1, 0.0, 0.5, 3.0]
        );
        ys.sum(Kind::Float).backward();
        let grad = Vec::<f32>::try_from(xs.grad()).unwrap();
        assert_eq!(grad, [0.2, 0.2, 0.2, 1.0, 1.0]);
        // Any shape: the slope is one number for every channel.
        let images = Tensor::randn([2, 3, 4, 4], (Kind::Float, Device::Cpu));
        let expected = images.maximum(&(&images * 0.2));
        assert!(super::leaky_relu(&images, 0.2).equal(&expected));
    }

    /// The gradient penalty differentiates a gradient: d²/dx² of ½·leaky(x)² is slope² where
    /// x < 0 and 1 where x > 0.
    #[test]
    fn leaky_relu_second_derivative() {
        let xs = Tensor::from_slice(&[-2.0f32, -0.5, 0.5, 3.0]).set_requires_grad(true);
        let half_square = (super::leaky_relu(&xs, 0.2).square() * 0.5).sum(Kind::Float);
        let first = Tensor::run_backward(&[half_square], &[&xs], true, true).remove(0);
        let close = |got: Vec<f32>, want: [f32; 4]| {
            for (g, w) in got.iter().zip(want) {
                assert!((g - w).abs() < 1e-6, "got {got:?}, want {want:?}");
            }
        };
        close(
            Vec::<f32>::try_from(&first.detach()).unwrap(),
            [-0.08, -0.02, 0.5, 3.0],
        );
        let second = Tensor::run_backward(&[first.sum(Kind::Float)], &[&xs], false, false);
        close(
            Vec::<f32>::try_from(&second[0]).unwrap(),
            [0.04, 0.04, 1.0, 1.0],
        );
    }
}
