//! Spectral normalisation (Miyato et al., 2018): each layer of D uses its weight divided by the
//! weight's largest singular value σ(W), so that no layer stretches its input by more than 1
//! and D as a whole is 1-Lipschitz (up to its activations, which stretch by at most 1 too).
//!
//! σ(W) is estimated by one step of power iteration per training forward pass, on the weight
//! as a matrix `[out, in·k·k]`, from vectors `u` and `v` kept between steps:
//! `v ← Wᵀu / ‖Wᵀu‖`, `u ← Wv / ‖Wv‖`, `σ = uᵀ W v`. Since W changes little per step, one step
//! a step keeps σ accurate. In evaluation the stored `u` and `v` are used as they are. This is
//! `torch.nn.utils.spectral_norm`, and a test checks its numbers against it.
//!
//! `u` and `v` are variables of the VarStore that are not trained (`….sn_u`, `….sn_v`), so a
//! checkpoint saves them, and a resumed run continues the iteration where it stopped.

use tch::{Kind, Tensor, nn};

/// The power-iteration state of one layer's weight.
#[derive(Debug)]
pub struct SpectralNorm {
    u: Tensor,
    v: Tensor,
}

/// `x / max(‖x‖, 1e-12)`, PyTorch's `F.normalize` of a vector.
fn normalize(x: &Tensor) -> Tensor {
    x / x.norm().clamp_min(1e-12)
}

impl SpectralNorm {
    /// The state for `weight` (`[out, …]`), under `p` as `sn_u` `[out]` and `sn_v` `[rest]`,
    /// both drawn from N(0, 1) and normalised.
    pub fn new(p: &nn::Path, weight: &Tensor) -> Self {
        let size = weight.size();
        let rows = size[0];
        let cols = weight.numel() as i64 / rows;
        let mut u = p.zeros_no_train("sn_u", &[rows]);
        let mut v = p.zeros_no_train("sn_v", &[cols]);
        tch::no_grad(|| {
            u.copy_(&normalize(&u.randn_like()));
            v.copy_(&normalize(&v.randn_like()));
        });
        SpectralNorm { u, v }
    }

    /// `weight / σ(weight)`. In training, one step of power iteration first updates `u` and `v`.
    /// The gradient flows through σ to the weight (with `u` and `v` as constants), as in
    /// PyTorch.
    pub fn weight(&self, weight: &Tensor, train: bool) -> Tensor {
        let matrix = weight.reshape([weight.size()[0], -1]);
        if train {
            tch::no_grad(|| {
                let v = normalize(&matrix.tr().mv(&self.u));
                let u = normalize(&matrix.mv(&v));
                self.v.shallow_clone().copy_(&v);
                self.u.shallow_clone().copy_(&u);
            });
        }
        // Copies: the next forward pass updates u and v in place, and autograd must keep the
        // values this pass used.
        let (u, v) = (self.u.copy(), self.v.copy());
        let sigma = u.dot(&matrix.mv(&v));
        weight / sigma
    }

    /// The current estimate of σ(weight), without updating anything.
    pub fn sigma(&self, weight: &Tensor) -> f64 {
        tch::no_grad(|| {
            let matrix = weight.reshape([weight.size()[0], -1]);
            self.u.dot(&matrix.mv(&self.v)).double_value(&[])
        })
    }
}

/// The largest singular value of `weight` as a matrix `[out, rest]`, computed exactly (SVD).
pub fn largest_singular_value(weight: &Tensor) -> f64 {
    tch::no_grad(|| {
        let matrix = weight.reshape([weight.size()[0], -1]).to_kind(Kind::Double);
        let (_, singular_values, _) = matrix.svd(true, false);
        singular_values.max().double_value(&[])
    })
}

#[cfg(test)]
mod tests {
    //! Reference values from PyTorch 2.11.0 (the venv's torch), computed with:
    //! ```python
    //! import torch
    //! conv = torch.nn.Conv2d(2, 3, 2, bias=False)
    //! with torch.no_grad():
    //!     conv.weight.copy_(torch.linspace(-1, 1.3, 24).view(3, 2, 2, 2))
    //! conv = torch.nn.utils.spectral_norm(conv)
    //! with torch.no_grad():
    //!     conv.weight_u.copy_(torch.tensor([0.6, 0.0, 0.8]))
    //!     conv.weight_v.copy_(torch.full([8], 8 ** -0.5))
    //! conv.train(); conv(torch.zeros(1, 2, 2, 2))
    //! conv.weight.flatten()[:4].tolist(), conv.weight_u.tolist(), conv.weight_v[:3].tolist()
    //! (conv.weight.flatten() ** 2).sum().backward(); conv.weight_orig.grad.flatten()[:4]
    //! ```
    use super::*;
    use tch::Device;

    fn weight() -> Tensor {
        Tensor::linspace(-1.0, 1.3, 24, (Kind::Float, Device::Cpu)).view([3, 2, 2, 2])
    }

    fn state() -> (nn::VarStore, SpectralNorm) {
        let vs = nn::VarStore::new(Device::Cpu);
        let sn = SpectralNorm::new(&vs.root(), &weight());
        tch::no_grad(|| {
            sn.u.shallow_clone()
                .copy_(&Tensor::from_slice(&[0.6f32, 0.0, 0.8]));
            sn.v.shallow_clone().copy_(&Tensor::full(
                [8],
                8f64.powf(-0.5),
                (Kind::Float, Device::Cpu),
            ));
        });
        (vs, sn)
    }

    #[test]
    fn one_training_pass_matches_pytorch() {
        let (_vs, sn) = state();
        let w = sn.weight(&weight(), true);
        let got = Vec::<f32>::try_from(w.flatten(0, -1).narrow(0, 0, 4)).unwrap();
        let u = Vec::<f32>::try_from(&sn.u).unwrap();
        let v = Vec::<f32>::try_from(sn.v.narrow(0, 0, 3)).unwrap();
        let close = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-5);
        assert!(close(&got, &PT_WEIGHT), "{got:?} vs {PT_WEIGHT:?}");
        assert!(close(&u, &PT_U), "{u:?} vs {PT_U:?}");
        assert!(close(&v, &PT_V), "{v:?} vs {PT_V:?}");
        // Evaluation uses the stored vectors without moving them.
        let again = sn.weight(&weight(), false);
        assert!(again.equal(&w));
        assert!(Vec::<f32>::try_from(&sn.u).unwrap() == u);
    }

    #[test]
    fn the_gradient_flows_through_sigma_as_in_pytorch() {
        let (_vs, sn) = state();
        let w = weight().set_requires_grad(true);
        sn.weight(&w, true).square().sum(Kind::Float).backward();
        let grad = Vec::<f32>::try_from(w.grad().flatten(0, -1).narrow(0, 0, 4)).unwrap();
        assert!(
            grad.iter().zip(PT_GRAD).all(|(a, b)| (a - b).abs() < 1e-5),
            "{grad:?} vs {PT_GRAD:?}"
        );
    }

    #[test]
    fn iterating_converges_to_the_largest_singular_value() {
        tch::manual_seed(0);
        let vs = nn::VarStore::new(Device::Cpu);
        let w = Tensor::randn([16, 8, 4, 4], (Kind::Float, Device::Cpu));
        let sn = SpectralNorm::new(&vs.root(), &w);
        for _ in 0..50 {
            let _ = sn.weight(&w, true);
        }
        let exact = largest_singular_value(&w);
        assert!(
            (sn.sigma(&w) - exact).abs() < 1e-3 * exact,
            "{} vs {exact}",
            sn.sigma(&w)
        );
        let normalised = sn.weight(&w, false);
        assert!((largest_singular_value(&normalised) - 1.0).abs() < 1e-3);
    }

    const PT_WEIGHT: [f32; 4] = [-0.364_870_6, -0.328_383_5, -0.291_896_46, -0.255_409_4];
    const PT_U: [f32; 3] = [-0.351_945_7, 0.271_862_24, 0.895_670_2];
    const PT_V: [f32; 3] = [-0.086_638_68, 0.014_439_719, 0.115_518_18];
    const PT_GRAD: [f32; 4] = [-0.301_927_57, -0.233_690_57, -0.165_453_55, -0.097_216_54];
}
