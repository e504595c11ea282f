//! Mixed precision: the convolutions and matrix products of a training step in bfloat16, and
//! the activations between them; weights, optimisers and losses in fp32.
//!
//! bfloat16 keeps fp32's 8 exponent bits and only 7 of its 23 mantissa bits: the same range
//! (no loss scaling needed, unlike fp16), about 3 significant digits. CPUs with `avx512_bf16`
//! or AMX multiply bf16 matrices at about twice their fp32 rate (2.2× measured on this course's
//! CPU, docs/performance.md), and a GAN's step is mostly convolutions. CUDA GPUs from Ampere on
//! do too, but no GPU has run this code yet, so [`check_supported`] refuses bf16 on CUDA until
//! one has (ATen's CUDA norms may not take a bf16 input with fp32 parameters, as the CPU's do).
//!
//! PyTorch does this with `torch.autocast`, a switch of the thread that makes every
//! convolution and matrix product cast its operands down. `tch` 0.24 exposes autocast for
//! CUDA only, with fp16 and no way to ask for bf16, and not for the CPU at all. So the crate
//! does it by hand, nearly the same way: the crate's models build their layers with this
//! module's [`conv2d`], [`conv_transpose2d`] and [`linear`] (the `tch` layers, with a `forward`
//! that reads a [`Switch`]), the trainer builds its networks under a switch of its own
//! ([`building`]) and turns it to bf16 for the length of each step ([`Switch::autocast`]); layers
//! built outside a trainer follow the thread's switch, [`autocast`]. With it on, a layer casts its input, weight and bias to bf16 and multiplies; its
//! output stays bf16 through the normalisation and activation that follow, into the next
//! layer, as under `torch.autocast`; each network casts what it returns (pictures, scores) back
//! to fp32 ([`fp32`]). With the switch off a layer is the `tch` layer's own computation.
//!
//! What stays fp32: the weights themselves (the casts are differentiable, so each weight's
//! gradient arrives in fp32), the normalisations' scales, shifts and running statistics (ATen's
//! CPU batch, layer and group norm take a bf16 input with fp32 parameters and accumulate in
//! fp32), the minibatch standard deviation, the optimisers' state, what a network returns, the
//! losses, the moving average of G, and the checkpoints. A bf16 run resumed from a checkpoint is
//! the same run, bit for bit. Sampling and scoring outside the step run in fp32 on the same
//! weights (so a bf16 checkpoint samples on any machine), unless they are wrapped in
//! [`autocast`] themselves. A network written with `tch`'s own layers (a notebook's own, a
//! custom model) has no switch: the trainer refuses to train it in bf16 rather than let it
//! train in fp32 unnoticed.

use std::borrow::Borrow;
use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};
use tch::nn::{self, Module};
use tch::{Device, Kind, Tensor};

/// The precision of a training step's convolutions and matrix products.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// Everything in fp32 (the default).
    #[default]
    Fp32,
    /// Convolutions and matrix products in bfloat16, the rest in fp32.
    Bf16,
}

impl Precision {
    /// `fp32` or `bf16`, as `--precision` spells it.
    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "fp32" => Ok(Precision::Fp32),
            "bf16" => Ok(Precision::Bf16),
            other => bail!("unknown precision {other:?}: use fp32 or bf16"),
        }
    }

    /// The kind the layers multiply in, `None` for fp32.
    fn compute_kind(self) -> Option<Kind> {
        match self {
            Precision::Fp32 => None,
            Precision::Bf16 => Some(Kind::BFloat16),
        }
    }
}

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Precision::Fp32 => "fp32",
            Precision::Bf16 => "bf16",
        })
    }
}

/// What a set of layers multiplies in, shared by every layer built under it (an `Arc`, so a
/// layer and the trainer that switches it read the same value, whichever code holds them).
///
/// Why not only a thread-local, as `torch.autocast` is: the evcxr kernel compiles each notebook
/// cell into a library of its own, with its own copy of this crate and of its thread-locals. A
/// trainer built in one cell and trained in another would switch the second cell's copy while
/// its layers read the first's, and train in fp32 without a word. The switch a trainer builds
/// its networks under travels with the layers instead.
#[derive(Clone, Debug, Default)]
pub struct Switch(Arc<SwitchState>);

#[derive(Debug, Default)]
struct SwitchState {
    /// 1 while the layers multiply in bf16, 0 in fp32.
    bf16: AtomicBool,
    /// Set by a layer that multiplied in bf16; read and cleared by [`Switch::take_used`].
    used: AtomicBool,
}

impl Switch {
    /// Runs `f` with this switch's layers multiplying in `precision`, and puts the previous
    /// precision back afterwards (also when `f` panics).
    pub fn autocast<T>(&self, precision: Precision, f: impl FnOnce() -> T) -> T {
        let before = self
            .0
            .bf16
            .swap(precision == Precision::Bf16, Ordering::Relaxed);
        let _restore = Restore(self.clone(), before);
        f()
    }

    /// The precision this switch's layers multiply in now.
    pub fn precision(&self) -> Precision {
        if self.0.bf16.load(Ordering::Relaxed) {
            Precision::Bf16
        } else {
            Precision::Fp32
        }
    }

    /// Whether a layer under this switch multiplied in bf16 since the last call.
    pub fn take_used(&self) -> bool {
        self.0.used.swap(false, Ordering::Relaxed)
    }

    /// The kind to multiply in now (`None`: fp32), noting a bf16 use.
    fn compute_kind(&self) -> Option<Kind> {
        let kind = self.precision().compute_kind();
        if kind.is_some() {
            self.0.used.store(true, Ordering::Relaxed);
        }
        kind
    }
}

/// Puts a switch's previous precision back when dropped, also when the closure panics.
struct Restore(Switch, bool);

impl Drop for Restore {
    fn drop(&mut self) {
        self.0.0.bf16.store(self.1, Ordering::Relaxed);
    }
}

thread_local! {
    /// The switch of layers built on this thread outside [`building`] (and of [`autocast`]).
    static THREAD: Switch = Switch::default();
    /// The switch that [`building`] gives the layers built inside it.
    static BUILDING: RefCell<Option<Switch>> = const { RefCell::new(None) };
}

/// Builds layers under `switch`: every layer that `f` makes with this module's functions reads
/// `switch`. The trainer builds its networks this way and switches them with
/// [`Switch::autocast`] around each step.
pub fn building<T>(switch: &Switch, f: impl FnOnce() -> T) -> T {
    let before = BUILDING.with(|b| b.replace(Some(switch.clone())));
    struct Back(Option<Switch>);
    impl Drop for Back {
        fn drop(&mut self) {
            BUILDING.with(|b| *b.borrow_mut() = self.0.take());
        }
    }
    let _back = Back(before);
    f()
}

/// The switch a layer built now reads: [`building`]'s, or this thread's.
fn switch_for_a_new_layer() -> Switch {
    BUILDING
        .with(|b| b.borrow().clone())
        .unwrap_or_else(|| THREAD.with(Switch::clone))
}

/// Runs `f` with the convolutions and matrix products of the layers built on this thread
/// outside a trainer in `precision` (`torch.autocast` for the crate's layers). Nested calls
/// restore the outer precision. A trainer's networks follow their own switch, which the
/// trainer sets around each step; in a notebook, call this in the cell that built the layers.
pub fn autocast<T>(precision: Precision, f: impl FnOnce() -> T) -> T {
    THREAD.with(Switch::clone).autocast(precision, f)
}

/// The precision that layers built on this thread outside a trainer multiply in now.
pub fn current() -> Precision {
    THREAD.with(Switch::precision)
}

/// `t` in fp32: what a network returns, whatever precision its layers multiplied in (a no-op in
/// fp32). Losses, scores and pictures are then computed in fp32.
pub fn fp32(t: Tensor) -> Tensor {
    if t.kind() == Kind::Float {
        t
    } else {
        t.to_kind(Kind::Float)
    }
}

/// `f(input, weight, bias)` in `switch`'s precision: with bf16 on, the three are cast down
/// (the input only if it is not bf16 already) and the result stays bf16, so that the next
/// normalisation, activation and layer read it without a cast. The casts keep each tensor's
/// memory layout (channels-last stays channels-last) and are differentiable, so gradients reach
/// the fp32 weights in fp32.
fn in_precision(
    switch: &Switch,
    xs: &Tensor,
    ws: &Tensor,
    bs: Option<&Tensor>,
    f: impl FnOnce(&Tensor, &Tensor, Option<&Tensor>) -> Tensor,
) -> Tensor {
    match switch.compute_kind() {
        None => f(xs, ws, bs),
        Some(kind) => {
            let bs = bs.map(|b| b.to_kind(kind));
            let xs = if xs.kind() == kind {
                xs.shallow_clone()
            } else {
                xs.to_kind(kind)
            };
            f(&xs, &ws.to_kind(kind), bs.as_ref())
        }
    }
}

/// A 2-D convolution that multiplies in its switch's precision ([`Switch`]). It holds a
/// `tch` layer (its `ws` and `bs` read through, under the same names in the var store) and
/// the geometry `tch` keeps private. Zero padding only.
#[derive(Debug)]
pub struct Conv2D {
    layer: nn::Conv2D,
    config: nn::ConvConfig,
    switch: Switch,
}

/// `nn::conv2d`, multiplying in its switch's precision.
pub fn conv2d<'a, T: Borrow<nn::Path<'a>>>(
    vs: T,
    inputs: i64,
    outputs: i64,
    kernel: i64,
    config: nn::ConvConfig,
) -> Conv2D {
    assert!(
        matches!(config.padding_mode, nn::PaddingMode::Zeros),
        "precision::conv2d pads with zeros; pad the input yourself for another mode"
    );
    Conv2D {
        layer: nn::conv2d(vs, inputs, outputs, kernel, config),
        config,
        switch: switch_for_a_new_layer(),
    }
}

impl Conv2D {
    /// This layer's convolution with another weight of the same shape (a spectrally normalised
    /// one), in its switch's precision.
    pub fn with_weight(&self, xs: &Tensor, ws: &Tensor) -> Tensor {
        let c = &self.config;
        in_precision(&self.switch, xs, ws, self.layer.bs.as_ref(), |x, w, b| {
            x.conv2d(
                w,
                b,
                [c.stride; 2],
                [c.padding; 2],
                [c.dilation; 2],
                c.groups,
            )
        })
    }
}

impl std::ops::Deref for Conv2D {
    type Target = nn::Conv2D;
    fn deref(&self) -> &nn::Conv2D {
        &self.layer
    }
}

impl std::ops::DerefMut for Conv2D {
    fn deref_mut(&mut self) -> &mut nn::Conv2D {
        &mut self.layer
    }
}

impl Module for Conv2D {
    fn forward(&self, xs: &Tensor) -> Tensor {
        self.with_weight(xs, &self.layer.ws)
    }
}

/// A 2-D transposed convolution that multiplies in its switch's precision ([`Switch`]).
#[derive(Debug)]
pub struct ConvTranspose2D {
    layer: nn::ConvTranspose2D,
    config: nn::ConvTransposeConfig,
    switch: Switch,
}

/// `nn::conv_transpose2d`, multiplying in its switch's precision.
pub fn conv_transpose2d<'a, T: Borrow<nn::Path<'a>>>(
    vs: T,
    inputs: i64,
    outputs: i64,
    kernel: i64,
    config: nn::ConvTransposeConfig,
) -> ConvTranspose2D {
    ConvTranspose2D {
        layer: nn::conv_transpose2d(vs, inputs, outputs, kernel, config),
        config,
        switch: switch_for_a_new_layer(),
    }
}

impl std::ops::Deref for ConvTranspose2D {
    type Target = nn::ConvTranspose2D;
    fn deref(&self) -> &nn::ConvTranspose2D {
        &self.layer
    }
}

impl std::ops::DerefMut for ConvTranspose2D {
    fn deref_mut(&mut self) -> &mut nn::ConvTranspose2D {
        &mut self.layer
    }
}

impl Module for ConvTranspose2D {
    fn forward(&self, xs: &Tensor) -> Tensor {
        let c = &self.config;
        in_precision(
            &self.switch,
            xs,
            &self.layer.ws,
            self.layer.bs.as_ref(),
            |x, w, b| {
                x.conv_transpose2d(
                    w,
                    b,
                    [c.stride; 2],
                    [c.padding; 2],
                    [c.output_padding; 2],
                    c.groups,
                    [c.dilation; 2],
                )
            },
        )
    }
}

/// A fully connected layer that multiplies in its switch's precision ([`Switch`]).
#[derive(Debug)]
pub struct Linear(nn::Linear, Switch);

/// `nn::linear`, multiplying in its switch's precision.
pub fn linear<'a, T: Borrow<nn::Path<'a>>>(
    vs: T,
    inputs: i64,
    outputs: i64,
    config: nn::LinearConfig,
) -> Linear {
    Linear(
        nn::linear(vs, inputs, outputs, config),
        switch_for_a_new_layer(),
    )
}

impl std::ops::Deref for Linear {
    type Target = nn::Linear;
    fn deref(&self) -> &nn::Linear {
        &self.0
    }
}

impl std::ops::DerefMut for Linear {
    fn deref_mut(&mut self) -> &mut nn::Linear {
        &mut self.0
    }
}

impl Module for Linear {
    fn forward(&self, xs: &Tensor) -> Tensor {
        in_precision(&self.1, xs, &self.0.ws, self.0.bs.as_ref(), |x, w, b| {
            x.linear(w, b)
        })
    }
}

/// The faster precision `device` trains in: bf16 where [`check_supported`] accepts it, fp32
/// elsewhere. What the notebooks' budgets pick.
pub fn fastest(device: Device) -> Precision {
    match check_supported(Precision::Bf16, device) {
        Ok(()) => Precision::Bf16,
        Err(_) => Precision::Fp32,
    }
}

/// Whether the CPU multiplies bf16 in hardware, from `/proc/cpuinfo`'s flags: `avx512_bf16`
/// or `amx_bf16`. `None` where the flags cannot be read (not Linux).
pub fn cpu_has_bf16() -> Option<bool> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    flags_have_bf16(&info)
}

/// [`cpu_has_bf16`] of the text of a `/proc/cpuinfo`.
fn flags_have_bf16(cpuinfo: &str) -> Option<bool> {
    let flags = cpuinfo.lines().find(|l| l.starts_with("flags"))?;
    Some(
        flags
            .split_whitespace()
            .any(|f| f == "avx512_bf16" || f == "amx_bf16"),
    )
}

/// Refuses a precision that `device` cannot train in, with what to do instead. fp32 trains
/// everywhere; bf16 on a CPU with `avx512_bf16` or AMX (without them libtorch emulates bf16,
/// slower than fp32). On CUDA bf16 is refused until a GPU has run it (see the module's text).
pub fn check_supported(precision: Precision, device: Device) -> Result<()> {
    match (precision, device) {
        (Precision::Fp32, _) => Ok(()),
        (Precision::Bf16, Device::Cuda(_)) => bail!(
            "--precision bf16 is not yet available on a CUDA GPU: no GPU has run the crate's bf16 \
             layers, so it is refused rather than left to fail mid-run; train with --precision \
             fp32 (the default) on the GPU, or bf16 on a CPU with avx512_bf16 or AMX"
        ),
        (Precision::Bf16, _) => check_cpu(cpu_has_bf16()),
    }
}

fn check_cpu(has_bf16: Option<bool>) -> Result<()> {
    match has_bf16 {
        Some(true) => Ok(()),
        Some(false) => bail!(
            "--precision bf16: this CPU has neither avx512_bf16 nor amx_bf16 among its flags \
             (/proc/cpuinfo), so libtorch would emulate bf16, slower than fp32; train with \
             --precision fp32 (the default) here, or bf16 on a CUDA GPU"
        ),
        None => bail!(
            "--precision bf16: cannot read this CPU's flags (/proc/cpuinfo) to see whether it \
             multiplies bf16 in hardware; train with --precision fp32 (the default)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn autocast_switches_the_thread_and_restores_it() {
        assert_eq!(current(), Precision::Fp32);
        autocast(Precision::Bf16, || {
            assert_eq!(current(), Precision::Bf16);
            autocast(Precision::Fp32, || assert_eq!(current(), Precision::Fp32));
            assert_eq!(current(), Precision::Bf16);
        });
        assert_eq!(current(), Precision::Fp32);
        let caught = std::panic::catch_unwind(|| autocast(Precision::Bf16, || panic!("inside")));
        assert!(caught.is_err());
        assert_eq!(current(), Precision::Fp32, "a panic inside restores fp32");
    }

    #[test]
    fn a_bf16_layer_rounds_like_bf16() {
        tch::manual_seed(0);
        let vs = nn::VarStore::new(Device::Cpu);
        let config = nn::ConvConfig {
            stride: 2,
            padding: 1,
            ..Default::default()
        };
        let conv = conv2d(vs.root() / "c", 3, 8, 4, config);
        let deconv = conv_transpose2d(vs.root() / "d", 3, 8, 4, Default::default());
        let lin = linear(vs.root() / "l", 12, 5, Default::default());
        let x = Tensor::randn([2, 3, 6, 6], (Kind::Float, Device::Cpu));
        let flat = Tensor::randn([4, 12], (Kind::Float, Device::Cpu));
        // the fp32 path is the tch layer's own computation, exactly
        assert!(conv.forward(&x).equal(&conv.layer.forward(&x)));
        assert!(deconv.forward(&x).equal(&deconv.layer.forward(&x)));
        assert!(lin.forward(&flat).equal(&lin.0.forward(&flat)));
        let pairs = [
            (
                conv.forward(&x),
                autocast(Precision::Bf16, || conv.forward(&x)),
            ),
            (
                deconv.forward(&x),
                autocast(Precision::Bf16, || deconv.forward(&x)),
            ),
            (
                lin.forward(&flat),
                autocast(Precision::Bf16, || lin.forward(&flat)),
            ),
        ];
        for (fp32, bf16) in pairs {
            assert_eq!(bf16.kind(), Kind::BFloat16, "a layer's output stays bf16");
            let bf16 = super::fp32(bf16);
            assert_eq!(bf16.size(), fp32.size());
            let gap = (&fp32 - &bf16).abs().max().double_value(&[]);
            let scale = fp32.abs().max().double_value(&[]);
            // 8 significant bits: each operand is off by up to 2^-9 of itself
            assert!(gap > 0.0, "bf16 must round somewhere");
            assert!(gap < 0.03 * scale, "gap {gap} against values up to {scale}");
        }
    }

    #[test]
    fn gradients_reach_the_fp32_weights() {
        let vs = nn::VarStore::new(Device::Cpu);
        let conv = conv2d(vs.root() / "c", 2, 4, 3, Default::default());
        let x = Tensor::randn([2, 2, 5, 5], (Kind::Float, Device::Cpu));
        autocast(Precision::Bf16, || {
            conv.forward(&x).sum(Kind::Float).backward()
        });
        assert_eq!(conv.ws.grad().kind(), Kind::Float);
        assert!(conv.ws.grad().abs().sum(Kind::Float).double_value(&[]) > 0.0);
    }

    #[test]
    fn precision_parses_and_refuses_by_name() {
        assert_eq!(Precision::parse("bf16").unwrap(), Precision::Bf16);
        assert_eq!(Precision::parse("fp32").unwrap(), Precision::Fp32);
        let message = Precision::parse("fp16").unwrap_err().to_string();
        assert!(
            message.contains("fp16") && message.contains("bf16"),
            "{message}"
        );
        assert!(check_supported(Precision::Fp32, Device::Cpu).is_ok());
        let on_cuda = check_supported(Precision::Bf16, Device::Cuda(0)).unwrap_err();
        assert!(
            on_cuda.to_string().contains("--precision fp32"),
            "{on_cuda}"
        );
        let flags = |f: &str| format!("processor\t: 0\nflags\t\t: fpu sse2 {f} avx2\n");
        assert_eq!(flags_have_bf16(&flags("avx512f avx512_bf16")), Some(true));
        assert_eq!(flags_have_bf16(&flags("amx_tile amx_bf16")), Some(true));
        assert_eq!(flags_have_bf16(&flags("avx512f")), Some(false));
        assert_eq!(flags_have_bf16("no flags here"), None);
        assert!(check_cpu(Some(true)).is_ok());
        for lacking in [Some(false), None] {
            let message = check_cpu(lacking).unwrap_err().to_string();
            assert!(message.contains("--precision fp32"), "{message}");
        }
    }
}
