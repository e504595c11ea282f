//! The Pix2Pix generator: a U-Net (Isola et al., 2017, §3.2.1 and Appendix 6.1.1).
//!
//! An encoder halves the image down to 1×1 (`C64-C128-C256-C512-C512-…`, 4×4 convolutions of
//! stride 2, LeakyReLU 0.2, batch norm except on the first layer and the bottleneck), and a
//! decoder doubles it back (`CD512-CD512-CD512-C512-…-C64`, transposed convolutions, ReLU, batch
//! norm). **Skip connections** join each encoder layer's output to the decoder layer of the
//! same size (channel concatenation), so low-level detail such as the position of every edge
//! need not squeeze through the bottleneck. The three decoder layers after the bottleneck use
//! dropout 0.5: the paper's only source of noise, since its generator learnt to ignore a `z`
//! input (the paper kept the dropout on at test time as well).
//!
//! Sizes: 256 (the paper's, 8 levels), 128, 64 and 32 (5 levels), any channel counts.
//!
//! [`Upsample::Resize`] replaces each transposed convolution by a nearest-neighbour doubling and
//! a 3×3 convolution (Odena, Dumoulin & Olah, 2016). A 4×4 transposed kernel of stride 2 computes
//! the four parities of output pixels (even or odd row and column) with four different 2×2
//! sub-kernels, which paints a period-2 checkerboard unless the weights learn to make them agree;
//! resize-then-convolve applies one kernel to every output pixel. The paper's decoder is the default.

use anyhow::Result;
use tch::Tensor;
use tch::nn::{self, ModuleT};

use crate::precision;

/// Hyperparameters of the U-Net generator.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct UnetConfig {
    /// 32, 64, 128 or 256 (5 to 8 levels down to 1×1).
    pub image_size: i64,
    pub in_channels: i64,
    pub out_channels: i64,
    /// Feature maps of the first layer (`ngf` = 64); deeper layers double it, up to 8×.
    pub width: i64,
    /// Dropout probability in the three decoder layers after the bottleneck (0.5).
    pub dropout: f64,
    /// How the decoder doubles the image: the paper's transposed convolutions (default), or
    /// resize and convolve.
    #[serde(default)]
    pub upsample: Upsample,
    /// The skip connections (the paper's U-Net). `false` is the paper's "encoder-decoder"
    /// ablation (its Fig. 4, Table 2): everything the decoder paints passes the 1×1 bottleneck.
    #[serde(default = "with_skips")]
    pub skips: bool,
}

fn with_skips() -> bool {
    true
}

/// The decoder's doubling layer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Upsample {
    /// 4×4 transposed convolution of stride 2 (the paper).
    #[default]
    Transposed,
    /// Nearest-neighbour ×2, then a 3×3 convolution of stride 1: no checkerboard.
    Resize,
}

/// One decoder layer's weights.
#[derive(Debug)]
enum UpLayer {
    Transposed(precision::ConvTranspose2D),
    Resize(precision::Conv2D),
}

impl UpLayer {
    fn forward(&self, xs: &Tensor) -> Tensor {
        match self {
            UpLayer::Transposed(deconv) => deconv.forward_t(xs, false),
            UpLayer::Resize(conv) => {
                let (h, w) = (xs.size()[2], xs.size()[3]);
                let big = xs.upsample_nearest2d([2 * h, 2 * w], None, None);
                conv.forward_t(&big, false)
            }
        }
    }
}

impl Default for UnetConfig {
    fn default() -> Self {
        UnetConfig {
            image_size: 256,
            in_channels: 3,
            out_channels: 3,
            width: 64,
            dropout: 0.5,
            upsample: Upsample::Transposed,
            skips: true,
        }
    }
}

impl UnetConfig {
    pub(crate) fn levels(&self) -> Result<usize> {
        match self.image_size {
            32 => Ok(5),
            64 => Ok(6),
            128 => Ok(7),
            256 => Ok(8),
            other => {
                anyhow::bail!("U-Net image_size {other} is not supported: use 32, 64, 128 or 256")
            }
        }
    }
}

fn conv_config() -> nn::ConvConfig {
    nn::ConvConfig {
        stride: 2,
        padding: 1,
        bias: false,
        ..Default::default()
    }
}

/// The U-Net: input image `[B, Cin, S, S]` → output image `[B, Cout, S, S]` in [−1, 1].
#[derive(Debug)]
pub struct UnetGenerator {
    config: UnetConfig,
    /// `down1` … `downN`, each halving H and W; `down_bnK` on all but the first and the last.
    down: Vec<(precision::Conv2D, Option<nn::BatchNorm>)>,
    /// `up1` (innermost) … `upN` (output), each doubling H and W; `up_bnK` on all but the output.
    up: Vec<(UpLayer, Option<nn::BatchNorm>)>,
}

impl UnetGenerator {
    pub fn new(config: &UnetConfig, p: nn::Path) -> Result<Self> {
        let n = config.levels()?;
        let w = config.width;
        // Encoder widths: 64, 128, 256, 512, 512, …
        let channels: Vec<i64> = (0..n).map(|i| (w << i.min(3)).min(8 * w)).collect();
        let mut down = Vec::with_capacity(n);
        let mut inputs = config.in_channels;
        for (i, &c) in channels.iter().enumerate() {
            let conv =
                precision::conv2d(&p / format!("down{}", i + 1), inputs, c, 4, conv_config());
            let bn = (i > 0 && i < n - 1).then(|| {
                nn::batch_norm2d(
                    &p / format!("down_bn{}", i + 1),
                    c,
                    super::batch_norm_config(),
                )
            });
            down.push((conv, bn));
            inputs = c;
        }
        let mut up = Vec::with_capacity(n);
        for (k, i) in (0..n).rev().enumerate() {
            // The innermost decoder layer reads the bottleneck; every other one reads its
            // predecessor's output joined with the skip connection (twice the channels).
            let inputs = if i == n - 1 || !config.skips {
                channels[i]
            } else {
                2 * channels[i]
            };
            let outputs = if i == 0 {
                config.out_channels
            } else {
                channels[i - 1]
            };
            let name = format!("up{}", k + 1);
            let deconv = match config.upsample {
                Upsample::Transposed => {
                    let config = nn::ConvTransposeConfig {
                        stride: 2,
                        padding: 1,
                        bias: i == 0,
                        ..Default::default()
                    };
                    UpLayer::Transposed(precision::conv_transpose2d(
                        &p / name,
                        inputs,
                        outputs,
                        4,
                        config,
                    ))
                }
                Upsample::Resize => {
                    let config = nn::ConvConfig {
                        stride: 1,
                        padding: 1,
                        bias: i == 0,
                        ..Default::default()
                    };
                    UpLayer::Resize(precision::conv2d(&p / name, inputs, outputs, 3, config))
                }
            };
            let bn = (i > 0).then(|| {
                nn::batch_norm2d(
                    &p / format!("up_bn{}", k + 1),
                    outputs,
                    super::batch_norm_config(),
                )
            });
            up.push((deconv, bn));
        }
        Ok(UnetGenerator {
            config: config.clone(),
            down,
            up,
        })
    }

    /// The scale (γ) of every batch norm (`down_bnK`, `up_bnK`), for
    /// [`super::init::dcgan_normal`].
    pub fn norm_scales(&self) -> Vec<Tensor> {
        let down = self.down.iter().filter_map(|(_, bn)| bn.as_ref());
        let up = self.up.iter().filter_map(|(_, bn)| bn.as_ref());
        down.chain(up)
            .filter_map(|bn| bn.ws.as_ref().map(Tensor::shallow_clone))
            .collect()
    }

    /// Translates `input` into the output domain. `train` drives batch norm and dropout; the
    /// paper kept dropout on at test time too, which `forward_t(x, true)` reproduces.
    pub fn forward_t(&self, input: &Tensor, train: bool) -> Tensor {
        let n = self.down.len();
        // Encoder: keep every level's output for the skip connections.
        let mut skips = Vec::with_capacity(n);
        let mut xs = input.shallow_clone(); // [B, Cin, S, S]
        for (i, (conv, bn)) in self.down.iter().enumerate() {
            if i > 0 {
                xs = super::leaky_relu(&xs, 0.2);
            }
            xs = conv.forward_t(&xs, train); // [B, 64, S/2, S/2] → … → [B, 512, 1, 1]
            if let Some(bn) = bn {
                xs = bn.forward_t(&xs, train);
            }
            skips.push(xs.shallow_clone());
        }
        // Decoder: the k-th layer up joins the encoder output of the same size.
        for (k, (deconv, bn)) in self.up.iter().enumerate() {
            if k > 0 && self.config.skips {
                xs = Tensor::cat(&[&xs, &skips[n - 1 - k]], 1); // skip connection: [B, 2c, h, w]
            }
            xs = deconv.forward(&xs.relu()); // [B, 512, 2, 2] → … → [B, Cout, S, S]
            if let Some(bn) = bn {
                xs = bn.forward_t(&xs, train);
            }
            if (1..=3).contains(&k) {
                // In the contiguous (NCHW) layout: libtorch draws the mask in memory order, so
                // a channels-last map would get another mask from the same seed, and the
                // weight layout would change the run, not only its rounding.
                xs = xs.contiguous().dropout(self.config.dropout, train);
            }
        }
        precision::fp32(xs.tanh())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    /// The checkerboard's origin: a 4×4 transposed convolution of stride 2 computes the four
    /// parities of output pixels (even/odd row × even/odd column) with four different 2×2
    /// sub-kernels, so with random weights even a constant input comes out as a period-2
    /// pattern. Resize-then-convolve applies the same 3×3 kernel everywhere: constant in,
    /// constant out (away from the border).
    #[test]
    fn resize_convolution_has_no_checkerboard() {
        let cpu = (Kind::Float, Device::Cpu);
        tch::manual_seed(0);
        let x = Tensor::ones([1, 1, 8, 8], cpu);
        let inner = |t: &Tensor| t.narrow(2, 2, 12).narrow(3, 2, 12);
        let spread = |t: &Tensor| t.max().double_value(&[]) - t.min().double_value(&[]);
        let w4 = Tensor::randn([1, 1, 4, 4], cpu);
        let deconv = x.conv_transpose2d(&w4, None::<Tensor>, [2, 2], [1, 1], [0, 0], 1, [1, 1]);
        let d = inner(&deconv);
        assert!(spread(&d) > 1e-3, "a constant came out constant");
        // The pattern repeats every 2 pixels: shifting by 2 changes nothing.
        assert!(
            d.narrow(2, 0, 10)
                .allclose(&d.narrow(2, 2, 10), 1e-6, 1e-6, false)
        );
        let w3 = Tensor::randn([1, 1, 3, 3], cpu);
        let resized = x.upsample_nearest2d([16, 16], None, None).conv2d(
            &w3,
            None::<Tensor>,
            [1, 1],
            [1, 1],
            [1, 1],
            1,
        );
        assert!(spread(&inner(&resized)) < 1e-5);
    }

    #[test]
    fn shapes_at_every_size() {
        for (image_size, width) in [(32, 8), (64, 8), (128, 4), (256, 4)] {
            let config = UnetConfig {
                image_size,
                in_channels: 1,
                out_channels: 3,
                width,
                ..Default::default()
            };
            for upsample in [Upsample::Transposed, Upsample::Resize] {
                let config = UnetConfig {
                    upsample,
                    ..config.clone()
                };
                let vs = nn::VarStore::new(Device::Cpu);
                let g = UnetGenerator::new(&config, vs.root()).unwrap();
                let x = Tensor::randn([2, 1, image_size, image_size], (Kind::Float, Device::Cpu));
                assert_eq!(g.forward_t(&x, true).size(), [2, 3, image_size, image_size]);
            }
        }
        let err = UnetGenerator::new(
            &UnetConfig {
                image_size: 96,
                ..Default::default()
            },
            nn::VarStore::new(Device::Cpu).root(),
        );
        let err = err.unwrap_err().to_string();
        assert!(
            err.contains("image_size 96") && err.contains("32, 64, 128 or 256"),
            "{err}"
        );
    }

    #[test]
    fn parameter_counts_match_pytorch() {
        // The same architecture written in PyTorch 2.11 (Conv2d/ConvTranspose2d 4×4 stride 2,
        // bias only on the output layer, BatchNorm2d as above) counts 54,413,955 parameters at
        // 256×256 RGB→RGB (the pix2pix code reports "54.414 M") and 29,244,035 at 64×64.
        for (image_size, expected) in [(256, 54_413_955), (64, 29_244_035)] {
            let vs = nn::VarStore::new(Device::Cpu);
            UnetGenerator::new(
                &UnetConfig {
                    image_size,
                    ..Default::default()
                },
                vs.root(),
            )
            .unwrap();
            assert_eq!(
                crate::models::parameter_count(&vs),
                expected,
                "{image_size}"
            );
        }
    }

    /// Without skips the decoder sees the input only through the 1×1 bottleneck: with the last
    /// encoder layer zeroed, every input gives the same output, while the U-Net's skips still
    /// carry each input's detail across. The decoder's layers read half the channels.
    #[test]
    fn without_skips_everything_passes_the_bottleneck() {
        let cpu = (Kind::Float, Device::Cpu);
        let mut outputs = Vec::new();
        for skips in [true, false] {
            tch::manual_seed(0);
            let vs = nn::VarStore::new(Device::Cpu);
            let config = UnetConfig {
                image_size: 64,
                in_channels: 1,
                width: 4,
                skips,
                ..Default::default()
            };
            let g = UnetGenerator::new(&config, vs.root()).unwrap();
            let up2 = &vs.variables()["up2.weight"];
            // A transposed convolution's weight is [inputs, outputs, 4, 4].
            assert_eq!(up2.size()[0], if skips { 2 * 32 } else { 32 });
            let mut bottleneck = vs.variables()["down6.weight"].shallow_clone();
            tch::no_grad(|| {
                let _ = bottleneck.zero_();
            });
            let a = Tensor::randn([1, 1, 64, 64], cpu);
            let b = Tensor::randn([1, 1, 64, 64], cpu);
            let gap = (g.forward_t(&a, false) - g.forward_t(&b, false))
                .abs()
                .max()
                .double_value(&[]);
            outputs.push(gap);
        }
        assert!(outputs[0] > 1e-2, "with skips: {}", outputs[0]);
        assert_eq!(
            outputs[1], 0.0,
            "without skips the input leaked past the bottleneck"
        );
    }
}
