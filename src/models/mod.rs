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
//! | [`unet`] | the Pix2Pix U-Net generator, 64 or 256 px |
//! | [`patchgan`] | the Pix2Pix 70×70 PatchGAN discriminator |
//! | [`init`] | the DCGAN paper's N(0, 0.02) initialisation |

pub mod dcgan;
pub mod init;
pub mod mlp;
pub mod patchgan;
pub mod toy;
pub mod unet;

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

/// Joins the one-hot label to the features: `[B, F]` → `[B, F + n_classes]`.
pub fn with_one_hot(xs: &tch::Tensor, labels: Option<&tch::Tensor>, n_classes: i64) -> tch::Tensor {
    match labels {
        Some(labels) if n_classes > 0 => {
            let one_hot = labels.one_hot(n_classes).to_kind(xs.kind());
            tch::Tensor::cat(&[xs, &one_hot], 1)
        }
        _ => xs.shallow_clone(),
    }
}

/// LeakyReLU with a chosen slope: `max(x, slope·x)` (tch's `leaky_relu` fixes the slope at
/// 0.01; GANs use 0.2).
pub fn leaky_relu(xs: &tch::Tensor, slope: f64) -> tch::Tensor {
    xs.maximum(&(xs * slope))
}

/// The number of trainable parameters of a var store, to print next to a model.
pub fn parameter_count(vs: &tch::nn::VarStore) -> i64 {
    vs.trainable_variables()
        .iter()
        .map(|t| t.numel() as i64)
        .sum()
}
