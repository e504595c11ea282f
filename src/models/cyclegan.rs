//! CycleGAN (Zhu, Park, Isola & Efros, 2017): translation between two sets of pictures that
//! come without pairs. Two generators, `g_ab: A → B` and `g_ba: B → A`, and two PatchGAN
//! discriminators, `d_b` judging pictures of B (real or made by `g_ab`) and `d_a` those of A.
//!
//! With no target to compare an output with, each generator is held to its input by the
//! other: a picture sent to the other domain and back must come back unchanged,
//!
//! ```text
//! L_cycle = E‖g_ba(g_ab(a)) − a‖₁ + E‖g_ab(g_ba(b)) − b‖₁
//! L_identity = E‖g_ab(b) − b‖₁ + E‖g_ba(a) − a‖₁      (a picture already in B stays as it is)
//! L_G = E[(d_b(g_ab(a)) − 1)²] + E[(d_a(g_ba(b)) − 1)²] + λ·L_cycle + λ_id·λ·L_identity
//! ```
//!
//! with the least-squares game ([`GanLoss::LeastSquares`], Mao et al. 2017), λ = 10 and
//! λ_id = 0.5. Each D is trained on generated pictures drawn from a pool of the last 50
//! (Shrivastava et al., 2017): half of each batch is swapped for older fakes, so D does not
//! chase only G's newest mistakes. The trainer's step for this model is
//! `gans::train::cycle::cycle_step`.
//!
//! **Generator**: the ResNet of Johnson et al. (2016), as the paper's code builds it: a 7×7
//! convolution, two stride-2 convolutions down, `blocks` residual blocks (the paper: 6 at 128 px,
//! 9 at 256), two ×2 steps up, a 7×7 convolution to the picture and tanh; instance norm and
//! ReLU after every hidden convolution, reflection padding. Up-sampling is nearest-neighbour
//! doubling and a 3×3 convolution (the paper's code has transposed convolutions; resize-convolution
//! paints no checkerboard, notebook 05).
//!
//! **Discriminator**: the PatchGAN of [`super::patchgan`] on the picture alone, instance norm.

use anyhow::{Result, ensure};
use serde::{Deserialize, Serialize};
use tch::nn::{self, ModuleT};
use tch::{Kind, Tensor};

use crate::precision;

use super::patchgan::{PatchGan, PatchGanConfig, PatchNorm, instance_norm};
use super::{GanModel, Networks};
use crate::game::{Discriminator, GanLoss, Generator};

/// Both generators, both discriminators, and the weights of the cycle game.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CycleGanConfig {
    /// Side of the square pictures (at least 16, a multiple of 4).
    pub image_size: i64,
    /// Channels of the pictures of both domains (3 for RGB).
    pub channels: i64,
    /// Feature maps of G's first layer (`ngf`, 64 in the paper); 2× and 4× after the two
    /// down-sampling steps.
    pub width: i64,
    /// Residual blocks at the smallest scale (6 in the paper at 128 px).
    pub blocks: usize,
    /// Feature maps of D's first layer (`ndf`, 64).
    pub d_width: i64,
    /// D's stride-2 layers: each verdict sees a 16, 34 or 70 pixel patch for 1, 2, 3.
    pub d_layers: usize,
    /// λ, the weight of the cycle term (10; 0 switches it off).
    pub lambda_cycle: f64,
    /// λ_id, the identity term's weight relative to λ (0.5; 0 switches it off).
    pub lambda_identity: f64,
    /// Generated pictures each D's pool keeps (50; 0: D sees only the newest fakes).
    pub pool_size: usize,
}

impl CycleGanConfig {
    /// The course's size for `image_size` × `image_size` RGB pictures: 6 residual blocks (the
    /// paper's 128 px model) from 64 px up, 3 below. D's verdicts see 34×34 pixels (two
    /// stride-2 layers): a 64 px picture's half side, as 70 is about a quarter of the paper's
    /// 256; at 32 px most of the picture, which measured better there than 16×16 patches
    /// (`examples/cyclegan_sweep.rs`: Fréchet distance 1.80 against 2.09, L1 0.1539 against
    /// 0.1575, seed 0).
    pub fn sized(image_size: i64, width: i64) -> Self {
        CycleGanConfig {
            image_size,
            channels: 3,
            width,
            blocks: if image_size < 64 { 3 } else { 6 },
            d_width: width,
            d_layers: 2,
            lambda_cycle: 10.0,
            lambda_identity: 0.5,
            pool_size: 50,
        }
    }

    fn patchgan(&self) -> PatchGanConfig {
        PatchGanConfig {
            in_channels: self.channels,
            width: self.d_width,
            layers: self.d_layers,
        }
    }
}

impl GanModel for CycleGanConfig {
    fn name(&self) -> &'static str {
        "cyclegan"
    }
    fn latent_dim(&self) -> Option<i64> {
        None
    }
    fn validate(&self) -> Result<()> {
        let s = self.image_size;
        ensure!(
            s >= 16 && s % 4 == 0,
            "CycleGAN's image_size {s} must be a multiple of 4 and at least 16: G halves it twice"
        );
        ensure!(
            self.channels > 0 && self.width > 0 && self.d_width > 0,
            "CycleGAN needs positive channels and widths, got {self:?}"
        );
        ensure!(
            self.d_layers >= 1 && s >> self.d_layers >= 3,
            "d_layers = {} does not fit {s}×{s} pictures: use 1 to {}",
            self.d_layers,
            (s / 3).ilog2()
        );
        for (name, value) in [
            ("lambda_cycle", self.lambda_cycle),
            ("lambda_identity", self.lambda_identity),
        ] {
            ensure!(
                value.is_finite() && value >= 0.0,
                "{name} = {value} must be 0 or more (the paper: lambda_cycle 10, lambda_identity \
                 0.5)"
            );
        }
        Ok(())
    }
    fn example_shape(&self) -> Vec<i64> {
        vec![self.channels, self.image_size, self.image_size]
    }
    fn input_shape(&self) -> Option<Vec<i64>> {
        Some(self.example_shape())
    }
    fn unpaired(&self) -> bool {
        true
    }
    fn fits_game(&self, loss: GanLoss, _batch_size: usize) -> Result<()> {
        ensure!(
            !loss.is_wasserstein(),
            "CycleGAN plays the least-squares game (or a BCE game), not {loss:?}"
        );
        Ok(())
    }
    /// Every weight from N(0, 0.02), biases 0, as the paper's code does; then each D's pool,
    /// empty.
    fn build(&self, vs: &nn::VarStore) -> Result<Networks> {
        let g = |name: &str| -> (String, Box<dyn Generator>) {
            (
                name.into(),
                Box::new(ResnetGenerator::new(self, vs.root() / name)),
            )
        };
        let d = |name: &str| -> (String, Box<dyn Discriminator>) {
            let net = PatchGan::with_norm(&self.patchgan(), PatchNorm::Instance, vs.root() / name);
            (name.into(), Box::new(PictureJudge(net)))
        };
        let networks = Networks::named(vec![g("g_ab"), g("g_ba")], vec![d("d_a"), d("d_b")])?;
        super::init::dcgan_normal(vs, []);
        for name in ["d_a", "d_b"] {
            HistoryPool::build(vs.root() / name, self)?;
        }
        Ok(networks)
    }
}

/// The PatchGAN on pictures alone (CycleGAN's D needs no condition).
#[derive(Debug)]
struct PictureJudge(PatchGan);

impl Discriminator for PictureJudge {
    fn score(&self, samples: &Tensor, _condition: Option<&Tensor>, train: bool) -> Result<Tensor> {
        Ok(self.0.judge(samples, train))
    }
    /// Instance norm: each picture is judged by itself.
    fn batch_independent(&self) -> bool {
        true
    }
}

/// A 3×3 or 7×7 convolution after reflection padding, then instance norm and ReLU.
#[derive(Debug)]
struct PaddedConv {
    conv: precision::Conv2D,
    pad: i64,
}

impl PaddedConv {
    fn new(p: nn::Path, inputs: i64, outputs: i64, kernel: i64) -> Self {
        let conv = precision::conv2d(p, inputs, outputs, kernel, Default::default());
        PaddedConv {
            conv,
            pad: kernel / 2,
        }
    }
    /// The convolution alone, before any norm.
    fn convolve(&self, xs: &Tensor) -> Tensor {
        let p = self.pad;
        self.conv
            .forward_t(&xs.reflection_pad2d([p, p, p, p]), false)
    }
    fn forward(&self, xs: &Tensor) -> Tensor {
        instance_norm(&self.convolve(xs)).relu()
    }
}

/// Johnson et al.'s ResNet generator: picture `[B, C, S, S]` → picture `[B, C, S, S]` in [−1, 1].
#[derive(Debug)]
pub struct ResnetGenerator {
    /// `input`: 7×7, C → w.
    input: PaddedConv,
    /// `down1`, `down2`: 3×3 of stride 2, w → 2w → 4w.
    down: Vec<precision::Conv2D>,
    /// `block<k>.conv1`, `block<k>.conv2`: 4w → 4w, added to the block's input.
    blocks: Vec<(PaddedConv, PaddedConv)>,
    /// `up1`, `up2`: nearest ×2 then 3×3, 4w → 2w → w.
    up: Vec<PaddedConv>,
    /// `output`: 7×7, w → C, then tanh.
    output: PaddedConv,
    /// `[C, S, S]` of a picture, for [`Generator::layers`].
    picture: [i64; 3],
}

impl ResnetGenerator {
    pub fn new(config: &CycleGanConfig, p: nn::Path) -> Self {
        let (c, w) = (config.channels, config.width);
        let down_config = nn::ConvConfig {
            stride: 2,
            padding: 1,
            ..Default::default()
        };
        let down = (0..2)
            .map(|i| {
                let name = format!("down{}", i + 1);
                precision::conv2d(&p / name, w << i, w << (i + 1), 3, down_config)
            })
            .collect();
        let blocks = (0..config.blocks)
            .map(|k| {
                let block = &p / format!("block{}", k + 1);
                (
                    PaddedConv::new(&block / "conv1", 4 * w, 4 * w, 3),
                    PaddedConv::new(&block / "conv2", 4 * w, 4 * w, 3),
                )
            })
            .collect();
        let up = (0..2)
            .map(|i| PaddedConv::new(&p / format!("up{}", i + 1), (4 * w) >> i, (2 * w) >> i, 3))
            .collect();
        ResnetGenerator {
            input: PaddedConv::new(&p / "input", c, w, 7),
            down,
            blocks,
            up,
            output: PaddedConv::new(&p / "output", w, c, 7),
            picture: [c, config.image_size, config.image_size],
        }
    }

    pub fn forward(&self, xs: &Tensor) -> Tensor {
        self.run(xs, &mut |_, _| {})
    }

    /// The forward pass, telling `trace` each layer's name and output.
    fn run(&self, xs: &Tensor, trace: &mut dyn FnMut(&str, &Tensor)) -> Tensor {
        let mut xs = self.input.forward(xs); // 32 px, w = 32: [B, 32, 32, 32]
        trace("input 7×7", &xs);
        for (i, down) in self.down.iter().enumerate() {
            xs = instance_norm(&down.forward_t(&xs, false)).relu(); // [B, 64, 16, 16] → [B, 128, 8, 8]
            trace(&format!("down{}", i + 1), &xs);
        }
        for (k, (conv1, conv2)) in self.blocks.iter().enumerate() {
            xs = &xs + instance_norm(&conv2.convolve(&conv1.forward(&xs))); // [B, 128, 8, 8]
            trace(&format!("block{} (+ input)", k + 1), &xs);
        }
        for (i, up) in self.up.iter().enumerate() {
            let (h, w) = (xs.size()[2], xs.size()[3]);
            xs = up.forward(&xs.upsample_nearest2d([2 * h, 2 * w], None, None)); // [B, 64, 16, 16] → [B, 32, 32, 32]
            trace(&format!("up{} (×2, 3×3)", i + 1), &xs);
        }
        let xs = precision::fp32(self.output.convolve(&xs).tanh()); // [B, 3, 32, 32]
        trace("output 7×7 tanh", &xs);
        xs
    }
}

impl Generator for ResnetGenerator {
    /// The "noise" is the picture to translate; the network has no dropout or batch norm, so
    /// `train` changes nothing.
    fn generate(&self, input: &Tensor, _labels: Option<&Tensor>, _train: bool) -> Tensor {
        self.forward(input)
    }

    fn layers(&self) -> Option<String> {
        let device = self.input.conv.ws.device();
        let picture = Tensor::zeros(
            [vec![2], self.picture.to_vec()].concat(),
            (Kind::Float, device),
        );
        let mut lines = vec![format!(
            "{:<18}{:>18}",
            "picture",
            format!("{:?}", picture.size())
        )];
        let _output = tch::no_grad(|| {
            self.run(&picture, &mut |name, xs| {
                lines.push(format!("{name:<18}{:>18}", format!("{:?}", xs.size())))
            })
        });
        Some(lines.join("\n"))
    }
}

/// The history of generated pictures a D is trained on (Shrivastava et al., 2017, §2.3): up to
/// `pool_size` of G's past outputs. Its pictures and fill count live in the var store beside the
/// D's weights (`d_b.pool.images`, `d_b.pool.filled`, not trained), so a checkpoint keeps them
/// and a resumed run draws from the same pool.
#[derive(Debug)]
pub struct HistoryPool {
    images: Tensor,
    filled: Tensor,
}

impl HistoryPool {
    fn build(p: nn::Path, config: &CycleGanConfig) -> Result<Self> {
        let pool = &p / "pool";
        let (c, s) = (config.channels, config.image_size);
        let size = config.pool_size.max(1) as i64;
        Ok(HistoryPool {
            images: pool.zeros_no_train("images", &[size, c, s, s]),
            filled: pool.zeros_no_train("filled", &[1]),
        })
    }

    /// The pool of the discriminator `player` from its variables (as
    /// `Players::variable` gives them: `<player>.pool.images` and `<player>.pool.filled`).
    pub fn from_variables(images: Tensor, filled: Tensor) -> Self {
        HistoryPool { images, filled }
    }

    /// Pictures kept so far.
    pub fn len(&self) -> usize {
        self.filled.double_value(&[0]) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The batch D trains on in place of `fakes`, as the paper's code draws it. While the pool
    /// is filling, each picture goes in and is used as it is. Once full, each picture is, with
    /// probability ½, swapped with a random picture of the pool, which D sees instead. `size`
    /// 0 returns `fakes` unchanged. Draws from libtorch's generator (the trainer seeds it every
    /// step, so a resumed run draws the same).
    pub fn query(&self, fakes: &Tensor, size: usize) -> Result<Tensor> {
        let fakes = fakes.detach();
        if size == 0 {
            return Ok(fakes);
        }
        let n = fakes.size()[0];
        let capacity = self.images.size()[0];
        ensure!(
            size as i64 == capacity,
            "the pool holds {capacity} pictures but pool_size is {size}: the config changed"
        );
        let device = fakes.device();
        let coins = Vec::<f64>::try_from(Tensor::rand([n], (Kind::Double, device)))?;
        let slots = Vec::<i64>::try_from(Tensor::randint(capacity, [n], (Kind::Int64, device)))?;
        let mut filled = self.len() as i64;
        let mut out = Vec::with_capacity(n as usize);
        tch::no_grad(|| {
            for i in 0..n {
                let fake = fakes.narrow(0, i, 1);
                if filled < capacity {
                    self.images.narrow(0, filled, 1).copy_(&fake);
                    filled += 1;
                    out.push(fake);
                } else if coins[i as usize] > 0.5 {
                    let mut slot = self.images.narrow(0, slots[i as usize], 1);
                    out.push(slot.copy());
                    slot.copy_(&fake);
                } else {
                    out.push(fake);
                }
            }
            let _ = self.filled.shallow_clone().fill_(filled as f64);
        });
        Ok(Tensor::cat(&out, 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    fn small() -> CycleGanConfig {
        CycleGanConfig {
            width: 8,
            d_width: 8,
            ..CycleGanConfig::sized(32, 8)
        }
    }

    #[test]
    fn the_networks_keep_the_picture_size_and_judge_patches() {
        let config = small();
        config.validate().unwrap();
        let vs = nn::VarStore::new(Device::Cpu);
        let networks = config.build(&vs).unwrap();
        let x = Tensor::rand([2, 3, 32, 32], (Kind::Float, Device::Cpu)) * 2.0 - 1.0;
        let y = networks.generators[0].1.generate(&x, None, true);
        assert_eq!(y.size(), [2, 3, 32, 32]);
        assert!(y.abs().max().double_value(&[]) <= 1.0);
        // Two layers of stride 2 at 32 px: 6×6 verdicts, each on a 34×34 patch.
        let scores = networks.discriminators[1].1.score(&y, None, true).unwrap();
        assert_eq!(scores.size(), [2, 1, 6, 6]);
        let mut names: Vec<String> = vs.variables().into_keys().collect();
        names.sort();
        for expected in [
            "g_ab.input.weight",
            "g_ba.block3.conv2.bias",
            "g_ab.up2.weight",
            "d_b.pool.images",
            "d_a.conv4.weight",
        ] {
            assert!(
                names.contains(&expected.to_string()),
                "{expected} not in {names:?}"
            );
        }
        // The pools are not trained.
        assert!(!vs.variables()["d_a.pool.images"].requires_grad());
    }

    /// A residual block adds to its input: with its last convolution zeroed it passes the
    /// features through, so the generator computes what one without the block computes.
    #[test]
    fn a_zeroed_residual_block_passes_its_input_through() {
        let with = CycleGanConfig {
            blocks: 1,
            ..small()
        };
        let without = CycleGanConfig {
            blocks: 0,
            ..small()
        };
        let (vs, vs0) = (
            nn::VarStore::new(Device::Cpu),
            nn::VarStore::new(Device::Cpu),
        );
        let (g, g0) = (
            ResnetGenerator::new(&with, vs.root()),
            ResnetGenerator::new(&without, vs0.root()),
        );
        let weights = vs.variables();
        let x = Tensor::rand([2, 3, 32, 32], (Kind::Float, Device::Cpu));
        tch::no_grad(|| {
            for (name, mut t) in vs0.variables() {
                t.copy_(&weights[&name]);
            }
        });
        // With the block as it was drawn, it changes the picture ...
        let gap = (g.forward(&x) - g0.forward(&x))
            .abs()
            .max()
            .double_value(&[]);
        assert!(gap > 1e-4, "{gap}");
        // ... and with its last convolution zeroed, it passes the features through.
        tch::no_grad(|| {
            for name in ["block1.conv2.weight", "block1.conv2.bias"] {
                let _ = weights[name].shallow_clone().zero_();
            }
        });
        assert!(g.forward(&x).allclose(&g0.forward(&x), 1e-6, 1e-6, false));
    }

    #[test]
    fn the_pool_fills_then_swaps_half() {
        tch::manual_seed(0);
        let config = CycleGanConfig {
            pool_size: 4,
            ..small()
        };
        let vs = nn::VarStore::new(Device::Cpu);
        let pool = HistoryPool::build(vs.root() / "d", &config).unwrap();
        let batch = |v: f64| Tensor::full([2, 3, 32, 32], v, (Kind::Float, Device::Cpu));
        // Filling: the batch comes back as it is, and goes in.
        assert!(pool.query(&batch(1.0), 4).unwrap().equal(&batch(1.0)));
        assert!(pool.query(&batch(2.0), 4).unwrap().equal(&batch(2.0)));
        assert_eq!(pool.len(), 4);
        // Full: over many batches about half the pictures D sees are older ones, and what
        // went out was put back in its place.
        let (mut swapped, mut seen) = (0, 0);
        for k in 3..203 {
            let out = pool.query(&batch(k as f64), 4).unwrap();
            for i in 0..2 {
                let v = out.get(i).mean(Kind::Float).double_value(&[]);
                swapped += (v != k as f64) as i32;
                seen += 1;
                assert!(v <= k as f64);
            }
        }
        let share = swapped as f64 / seen as f64;
        assert!((0.4..0.6).contains(&share), "{share}");
        // Size 0: no pool.
        assert!(pool.query(&batch(7.0), 0).unwrap().equal(&batch(7.0)));
        let err = pool.query(&batch(7.0), 5).unwrap_err().to_string();
        assert!(err.contains("config changed"), "{err}");
    }
}
