//! Pix2Pix (Isola et al., 2017) as one model: the [`super::unet`] generator translates an input
//! image, the [`super::patchgan`] discriminator judges (input, image) pairs patch by patch.
//!
//! G's objective is the conditional GAN loss plus λ · L1 to the target,
//!
//! ```text
//! G* = arg min_G max_D  E[log D(x, y)] + E[log(1 − D(x, G(x)))] + λ · E‖y − G(x)‖₁
//! ```
//!
//! so the trainer adds the L1 term ([`GanModel::reconstructs`]) and passes the input image `x`
//! to D as its condition. The paper's only noise is the dropout in G's decoder.

use anyhow::{Result, ensure};
use serde::{Deserialize, Serialize};
use tch::{Tensor, nn};

use super::patchgan::{PatchGan, PatchGanConfig};
use super::unet::{UnetConfig, UnetGenerator};
use super::{GanModel, Networks};

/// The U-Net generator and the PatchGAN discriminator of Pix2Pix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pix2PixConfig {
    pub generator: UnetConfig,
    pub discriminator: PatchGanConfig,
}

impl GanModel for Pix2PixConfig {
    fn name(&self) -> &'static str {
        "pix2pix"
    }
    fn latent_dim(&self) -> Option<i64> {
        None
    }
    fn validate(&self) -> Result<()> {
        let (g, d) = (&self.generator, &self.discriminator);
        g.levels()?;
        ensure!(
            g.in_channels > 0 && g.out_channels > 0 && g.width > 0 && d.width > 0,
            "Pix2Pix needs positive channels and widths, got {self:?}"
        );
        ensure!(
            d.in_channels == g.in_channels + g.out_channels,
            "the PatchGAN judges an input beside an output, {} + {} channels, but its \
             in_channels is {}: set PatchGanConfig.in_channels to {}",
            g.in_channels,
            g.out_channels,
            d.in_channels,
            g.in_channels + g.out_channels
        );
        ensure!(
            d.layers >= 1 && g.image_size >> d.layers >= 3,
            "PatchGanConfig.layers = {} does not fit {}×{} images: each layer halves the map, \
             and two 4×4 layers follow; use 1 to {} (1: 16×16 patches, 2: 34×34, 3: the \
             paper's 70×70)",
            d.layers,
            g.image_size,
            g.image_size,
            (g.image_size / 3).ilog2()
        );
        ensure!(
            (0.0..1.0).contains(&g.dropout),
            "the U-Net's dropout {} is not a probability below 1 (the paper uses 0.5)",
            g.dropout
        );
        Ok(())
    }
    fn example_shape(&self) -> Vec<i64> {
        let g = &self.generator;
        vec![g.out_channels, g.image_size, g.image_size]
    }
    fn input_shape(&self) -> Option<Vec<i64>> {
        let g = &self.generator;
        Some(vec![g.in_channels, g.image_size, g.image_size])
    }
    fn fits_game(&self, loss: crate::game::GanLoss, _batch_size: usize) -> Result<()> {
        ensure!(
            !loss.is_wasserstein(),
            "Pix2Pix trains with the BCE losses (NonSaturating or Minimax), not {loss:?}"
        );
        Ok(())
    }
    fn reconstructs(&self) -> bool {
        true
    }
    /// The paper initialises both networks from N(0, 0.02), like DCGAN.
    fn build(&self, vs: &nn::VarStore) -> Result<Networks> {
        let g = UnetGenerator::new(&self.generator, vs.root() / "generator")?;
        let d = PatchGan::new(&self.discriminator, vs.root() / "discriminator");
        super::init::dcgan_normal(vs, g.norm_scales().into_iter().chain(d.norm_scales()));
        Ok(Networks::new(g, d))
    }
}

/// The "noise" is the input image.
impl crate::game::Generator for UnetGenerator {
    fn generate(&self, input: &Tensor, _labels: Option<&Tensor>, train: bool) -> Tensor {
        self.forward_t(input, train)
    }
}

/// The condition is the input image, judged together with the candidate.
impl crate::game::Discriminator for PatchGan {
    fn score(&self, candidate: &Tensor, input: Option<&Tensor>, train: bool) -> Result<Tensor> {
        let input = input.ok_or_else(|| {
            anyhow::anyhow!("the PatchGAN judges (input, candidate) pairs: pass the input image")
        })?;
        Ok(self.forward_t(input, candidate, train))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::GanModel;

    /// A PatchGAN deeper than the image allows, or with no stride-2 layer, is refused by name.
    #[test]
    fn patchgan_layers_must_fit_the_image() {
        let config = |layers| Pix2PixConfig {
            generator: UnetConfig {
                image_size: 64,
                ..Default::default()
            },
            discriminator: PatchGanConfig {
                layers,
                ..Default::default()
            },
        };
        for layers in 1..=4 {
            assert!(config(layers).validate().is_ok(), "layers {layers}");
        }
        for layers in [0, 5] {
            let err = config(layers).validate().unwrap_err().to_string();
            assert!(err.contains("use 1 to 4"), "{err}");
        }
    }
}
