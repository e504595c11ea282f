//! The Pix2Pix discriminator: a 70×70 PatchGAN (Isola et al., 2017, §3.2.2).
//!
//! Instead of one verdict per image, D gives one per overlapping 70×70 patch: an `N×N` map of
//! scores (30×30 for a 256×256 image, 6×6 at 64×64). The L1 term already gets the low
//! frequencies right; the PatchGAN only has to judge local texture and sharpness, with fewer
//! parameters, and it runs on any image size. It is **conditional**: it sees the input image
//! joined (channel concatenation) with either the real target or the generator's output, so it
//! judges whether the pair matches, not only whether the output looks real.
//!
//! Layers `C64-C128-C256-C512`: 4×4 convolutions, stride 2 for the first three and 1 for the
//! last, LeakyReLU 0.2, batch norm except on the first; then a 4×4 convolution to one channel.

use tch::Tensor;
use tch::nn::{self, ModuleT};

/// Hyperparameters of the PatchGAN.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PatchGanConfig {
    /// Channels of the input image plus those of the target (3 + 3 for RGB → RGB).
    pub in_channels: i64,
    /// Feature maps of the first layer (`ndf` = 64).
    pub width: i64,
}

impl Default for PatchGanConfig {
    fn default() -> Self {
        PatchGanConfig {
            in_channels: 6,
            width: 64,
        }
    }
}

/// The PatchGAN: `(input, target or output)` → a map of patch logits `[B, 1, N, N]`.
#[derive(Debug)]
pub struct PatchGan {
    /// `conv1` … `conv5`; `bn2` … `bn4`.
    conv: Vec<(nn::Conv2D, Option<nn::BatchNorm>)>,
}

impl PatchGan {
    pub fn new(config: &PatchGanConfig, p: nn::Path) -> Self {
        let w = config.width;
        // (inputs, outputs, stride, batch norm?)
        let plan = [
            (config.in_channels, w, 2, false),
            (w, 2 * w, 2, true),
            (2 * w, 4 * w, 2, true),
            (4 * w, 8 * w, 1, true),
            (8 * w, 1, 1, false),
        ];
        let conv = plan
            .iter()
            .enumerate()
            .map(|(i, &(inputs, outputs, stride, bn))| {
                // A bias only where no batch norm follows.
                let config = nn::ConvConfig {
                    stride,
                    padding: 1,
                    bias: !bn,
                    ..Default::default()
                };
                let conv = nn::conv2d(&p / format!("conv{}", i + 1), inputs, outputs, 4, config);
                let bn = bn.then(|| {
                    nn::batch_norm2d(
                        &p / format!("bn{}", i + 1),
                        outputs,
                        super::batch_norm_config(),
                    )
                });
                (conv, bn)
            })
            .collect();
        PatchGan { conv }
    }

    /// The scale (γ) of every batch norm, for [`super::init::dcgan_normal`].
    pub fn norm_scales(&self) -> Vec<Tensor> {
        self.conv
            .iter()
            .filter_map(|(_, bn)| bn.as_ref()?.ws.as_ref().map(Tensor::shallow_clone))
            .collect()
    }

    /// Patch logits for the pair `(input, candidate)`, where `candidate` is the real target or
    /// the generator's output.
    pub fn forward_t(&self, input: &Tensor, candidate: &Tensor, train: bool) -> Tensor {
        let mut xs = Tensor::cat(&[input, candidate], 1); // [B, Cin + Cout, S, S]
        let last = self.conv.len() - 1;
        for (i, (conv, bn)) in self.conv.iter().enumerate() {
            xs = conv.forward_t(&xs, train); // 256: [B, 64, 128, 128] → [B, 128, 64, 64] → [B, 256, 32, 32] → [B, 512, 31, 31] → [B, 1, 30, 30]
            if let Some(bn) = bn {
                xs = bn.forward_t(&xs, train);
            }
            if i < last {
                xs = super::leaky_relu(&xs, 0.2);
            }
        }
        xs
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn patch_maps_and_parameter_count_match_pytorch() {
        // PyTorch 2.11, the same layers: 2,768,705 parameters for 3 + 3 channels (the pix2pix
        // code reports "2.769 M"); output maps [1, 1, 30, 30] at 256 and [1, 1, 6, 6] at 64.
        let vs = nn::VarStore::new(Device::Cpu);
        let d = PatchGan::new(&PatchGanConfig::default(), vs.root());
        assert_eq!(crate::models::parameter_count(&vs), 2_768_705);
        for (size, patches) in [(256, 30), (64, 6)] {
            let x = Tensor::zeros([1, 3, size, size], (Kind::Float, Device::Cpu));
            assert_eq!(d.forward_t(&x, &x, false).size(), [1, 1, patches, patches]);
        }
    }
}
