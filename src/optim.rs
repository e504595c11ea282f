//! Adam and RMSprop whose state is plain tensors, so a checkpoint can hold it.
//!
//! tch's optimisers keep their moments inside libtorch with no way to read or write them, so a
//! run resumed from a checkpoint would restart Adam's moment estimates from zero and diverge
//! from the run that never stopped. These two implement PyTorch's update rules (same formulas,
//! same defaults) over tensors we own: [`Optimizer::state`] returns them by name and
//! [`Optimizer::load_state`] puts them back.
//!
//! - **Adam** (Kingma & Ba, 2015): `m ← β₁m + (1 − β₁)g`, `v ← β₂v + (1 − β₂)g²`,
//!   `θ ← θ − lr · (m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + ε)`. DCGAN uses lr 2e-4 and
//!   β = (0.5, 0.999): "β₁ = 0.9 resulted in training oscillation and instability" (Radford et
//!   al., 2016). WGAN-GP uses lr 1e-4, β = (0, 0.9).
//! - **RMSprop** (as in PyTorch, not centred): `v ← αv + (1 − α)g²`, `θ ← θ − lr · g / (√v + ε)`,
//!   α = 0.99. The WGAN paper uses it with lr 5e-5, since momentum-based methods destabilised
//!   the clipped critic.

use anyhow::{Context, Result};
use tch::{Kind, Tensor, nn};

/// Which update rule, with its hyperparameters.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum OptimizerKind {
    Adam {
        lr: f64,
        beta1: f64,
        beta2: f64,
        eps: f64,
    },
    RmsProp {
        lr: f64,
        alpha: f64,
        eps: f64,
    },
}

impl OptimizerKind {
    /// Adam with PyTorch's ε = 1e-8.
    pub fn adam(lr: f64, betas: (f64, f64)) -> Self {
        OptimizerKind::Adam {
            lr,
            beta1: betas.0,
            beta2: betas.1,
            eps: 1e-8,
        }
    }

    /// RMSprop with PyTorch's α = 0.99 and ε = 1e-8.
    pub fn rmsprop(lr: f64) -> Self {
        OptimizerKind::RmsProp {
            lr,
            alpha: 0.99,
            eps: 1e-8,
        }
    }
}

/// An optimiser over the trainable variables of one var store (one network).
#[derive(Debug)]
pub struct Optimizer {
    pub kind: OptimizerKind,
    /// Updates done so far (Adam's `t`).
    pub step: i64,
    /// (name, parameter), sorted by name: the order of every list below.
    params: Vec<(String, Tensor)>,
    /// Adam's first moments (empty for RMSprop).
    m: Vec<Tensor>,
    /// Adam's second moments, or RMSprop's running mean of g².
    v: Vec<Tensor>,
}

impl Optimizer {
    /// An optimiser for every trainable variable of `vs` whose name starts with `prefix`
    /// (e.g. `"generator"`; `""` takes them all).
    pub fn new(kind: OptimizerKind, vs: &nn::VarStore, prefix: &str) -> Self {
        Self::over(kind, vs, &[prefix])
    }

    /// One optimiser for the trainable variables under any of `prefixes`: the players of one
    /// side of the game (a CycleGAN's two generators share one Adam, as in its paper's code).
    pub fn over(kind: OptimizerKind, vs: &nn::VarStore, prefixes: &[&str]) -> Self {
        let mut params: Vec<(String, Tensor)> = vs
            .variables()
            .into_iter()
            .filter(|(name, t)| prefixes.iter().any(|p| name.starts_with(p)) && t.requires_grad())
            .collect();
        params.sort_by(|a, b| a.0.cmp(&b.0));
        let zeros = |params: &[(String, Tensor)]| {
            params
                .iter()
                .map(|(_, p)| p.zeros_like())
                .collect::<Vec<_>>()
        };
        let m = match kind {
            OptimizerKind::Adam { .. } => zeros(&params),
            OptimizerKind::RmsProp { .. } => vec![],
        };
        let v = zeros(&params);
        Optimizer {
            kind,
            step: 0,
            params,
            m,
            v,
        }
    }

    /// An optimiser over the same parameters with fresh state, e.g. to load a saved state into
    /// without touching this one until the load has succeeded.
    pub fn clone_empty(&self) -> Self {
        let params: Vec<(String, Tensor)> = self
            .params
            .iter()
            .map(|(n, p)| (n.clone(), p.shallow_clone()))
            .collect();
        let zeros =
            |params: &[(String, Tensor)]| params.iter().map(|(_, p)| p.zeros_like()).collect();
        Optimizer {
            kind: self.kind,
            step: 0,
            m: if self.m.is_empty() {
                vec![]
            } else {
                zeros(&params)
            },
            v: zeros(&params),
            params,
        }
    }

    /// Clears the gradients of the parameters.
    pub fn zero_grad(&mut self) {
        for (_, p) in &mut self.params {
            p.zero_grad();
        }
    }

    /// Applies one update from the gradients the last `backward` left on the parameters.
    pub fn step(&mut self) {
        let grads: Vec<Tensor> = self.params.iter().map(|(_, p)| p.grad()).collect();
        self.apply(&grads);
    }

    /// Back-propagates `loss` to this optimiser's parameters alone and applies one update;
    /// returns `‖∇θ loss‖₂` before the update (a tensor on the device).
    ///
    /// This is `zero_grad`, `backward`, [`Optimizer::grad_norm`] and `step` in one, with less
    /// work: autograd computes only the gradients these parameters need and hands them over
    /// instead of adding them into `.grad`. When the generator learns through the
    /// discriminator, the discriminator's weight gradients are never computed (a plain
    /// `backward` computes them, and the next discriminator update throws them away).
    ///
    /// An error, and no update, when `loss` has no gradient to give (it was computed under
    /// `no_grad`, or from detached tensors only) or the optimiser holds no parameter.
    pub fn minimize(&mut self, loss: &Tensor) -> anyhow::Result<Tensor> {
        let params: Vec<&Tensor> = self.params.iter().map(|(_, p)| p).collect();
        anyhow::ensure!(
            !params.is_empty(),
            "this optimiser holds no parameter: was it made with the prefix of a network?"
        );
        anyhow::ensure!(
            loss.requires_grad(),
            "the loss has no gradient: it was computed under no_grad, or from detached tensors \
             only, so no weight can learn from it"
        );
        let grads = Tensor::f_run_backward(&[loss], &params, false, false)?;
        let norm = norm_of(&grads);
        self.apply(&grads);
        Ok(norm)
    }

    /// One update from `grads` (one per parameter, in order; undefined ones are skipped, as
    /// PyTorch skips parameters whose `.grad` is `None`).
    ///
    /// PyTorch's update rules with fewer passes over memory: in-place operations as in its
    /// single-tensor Adam and RMSprop, with the step size folded into the denominator. The
    /// results agree with PyTorch's to float rounding (see the tests).
    fn apply(&mut self, grads: &[Tensor]) {
        self.step += 1;
        let t = self.step as i32;
        tch::no_grad(|| match self.kind {
            OptimizerKind::Adam {
                lr,
                beta1,
                beta2,
                eps,
            } => {
                let (bias1, bias2) = (1.0 - beta1.powi(t), 1.0 - beta2.powi(t));
                let step_size = lr / bias1;
                let params = self.params.iter_mut().zip(&mut self.m).zip(&mut self.v);
                for ((((_, p), m), v), g) in params.zip(grads) {
                    if !g.defined() {
                        continue;
                    }
                    // m ← m + (1 − β₁)(g − m) = β₁m + (1 − β₁)g
                    let _ = m.lerp_(g, 1.0 - beta1);
                    // v ← β₂v + g · (1 − β₂)g
                    let _ = v.g_mul_scalar_(beta2).addcmul_(g, &(g * (1.0 - beta2)));
                    // θ ← θ − (lr / bias₁) · m / (√v / √bias₂ + ε), as θ + m / d with
                    // d = −(√v / √bias₂ + ε) / (lr / bias₁): the step size goes into the
                    // denominator, which is built in place, instead of into a scaled copy of m.
                    if step_size == 0.0 {
                        continue; // lr 0 (a learner freezing a network): θ stays, as in PyTorch
                    }
                    let mut denom = v.sqrt();
                    let _ = denom
                        .g_mul_scalar_(-1.0 / (step_size * bias2.sqrt()))
                        .g_add_scalar_(-eps / step_size);
                    let _ = p.addcdiv_(&*m, &denom);
                }
            }
            OptimizerKind::RmsProp { lr, alpha, eps } => {
                for (((_, p), v), g) in self.params.iter_mut().zip(&mut self.v).zip(grads) {
                    if !g.defined() {
                        continue;
                    }
                    let _ = v.g_mul_scalar_(alpha).addcmul_(g, &(g * (1.0 - alpha)));
                    // θ ← θ − lr · g / (√v + ε), as θ + g / d with d = −(√v + ε) / lr
                    if lr == 0.0 {
                        continue;
                    }
                    let mut denom = v.sqrt();
                    let _ = denom.g_mul_scalar_(-1.0 / lr).g_add_scalar_(-eps / lr);
                    let _ = p.addcdiv_(g, &denom);
                }
            }
        });
    }

    /// The L2 norm of all the gradients together, `‖∇θ‖₂`, as a tensor on the device (read it back
    /// every k steps). Call it between `backward` and `step`. A norm that collapses to 0 means
    /// the network receives no signal (a saturated loss); one that explodes means divergence.
    pub fn grad_norm(&self) -> Tensor {
        let grads: Vec<Tensor> = self.params.iter().map(|(_, p)| p.grad()).collect();
        norm_of(&grads)
    }

    /// WGAN's weight clipping: clamps every parameter into [−c, c] (c = 0.01 in the paper), a
    /// crude way to keep the critic Lipschitz.
    pub fn clip(&mut self, c: f64) {
        tch::no_grad(|| {
            for (_, p) in &mut self.params {
                let _ = p.clamp_(-c, c);
            }
        });
    }

    /// Changes the learning rate (e.g. from a notebook cell between training runs).
    pub fn set_lr(&mut self, new_lr: f64) {
        match &mut self.kind {
            OptimizerKind::Adam { lr, .. } | OptimizerKind::RmsProp { lr, .. } => *lr = new_lr,
        }
    }

    /// The state as named tensors: `step`, `m.<param>`, `v.<param>`.
    pub fn state(&self) -> Vec<(String, Tensor)> {
        let mut out = vec![("step".to_string(), Tensor::from(self.step))];
        for (i, (name, _)) in self.params.iter().enumerate() {
            if let Some(m) = self.m.get(i) {
                out.push((format!("m.{name}"), m.shallow_clone()));
            }
            out.push((format!("v.{name}"), self.v[i].shallow_clone()));
        }
        out
    }

    /// Restores a state saved by [`Optimizer::state`]; every tensor must be there, with the
    /// right shape, or nothing is changed.
    pub fn load_state(&mut self, state: &[(String, Tensor)]) -> Result<()> {
        let find = |key: &str| state.iter().find(|(n, _)| n == key).map(|(_, t)| t);
        let step = find("step")
            .context("optimiser state has no `step`")?
            .int64_value(&[]);
        let mut fresh_m = Vec::new();
        let mut fresh_v = Vec::new();
        for (name, p) in &self.params {
            let load = |key: String| -> Result<Tensor> {
                let t = find(&key).with_context(|| {
                    format!("optimiser state has no `{key}`: was it saved for another model?")
                })?;
                anyhow::ensure!(
                    t.size() == p.size(),
                    "optimiser state `{key}` has shape {:?}, the parameter {:?}",
                    t.size(),
                    p.size()
                );
                // In the parameter's layout (channels-last or not), as a fresh run has it.
                let mut moment = p.empty_like();
                tch::no_grad(|| moment.copy_(t));
                Ok(moment)
            };
            if !self.m.is_empty() {
                fresh_m.push(load(format!("m.{name}"))?);
            }
            fresh_v.push(load(format!("v.{name}"))?);
        }
        self.step = step;
        self.m = fresh_m;
        self.v = fresh_v;
        Ok(())
    }
}

/// `‖(g₁, g₂, …)‖₂` over the defined tensors: one read of each (no squared copy).
fn norm_of(grads: &[Tensor]) -> Tensor {
    let norms: Vec<Tensor> = grads
        .iter()
        .filter(|g| g.defined())
        .map(|g| g.norm())
        .collect();
    match norms.first() {
        None => Tensor::zeros([], (Kind::Float, tch::Device::Cpu)),
        Some(_) => Tensor::stack(&norms, 0).norm(),
    }
}

#[cfg(test)]
mod tests {
    //! Reference values from PyTorch 2.11.0:
    //! ```python
    //! def run(make):
    //!     w = torch.tensor([1.0, -2.0, 0.5], requires_grad=True)
    //!     target = torch.tensor([0.5, 0.0, -1.0]); coeff = torch.tensor([1.0, 3.0, 0.2])
    //!     opt = make([w])
    //!     for _ in range(5):
    //!         opt.zero_grad(); ((w - target) ** 2 * coeff).sum().backward(); opt.step()
    //!     return w.detach().tolist()
    //! run(lambda p: torch.optim.Adam(p, lr=0.1, betas=(0.5, 0.999)))
    //! # [0.5779016017913818, -1.5140444040298462, 0.019429542124271393]
    //! run(lambda p: torch.optim.Adam(p, lr=1e-4, betas=(0.0, 0.9)))
    //! # [0.9995000958442688, -1.9994999170303345, 0.4995000660419464]
    //! run(lambda p: torch.optim.RMSprop(p, lr=0.01))
    //! # [0.7215710282325745, -1.6854815483093262, 0.18902549147605896]
    //! ```
    use super::*;
    use tch::Device;

    fn run(kind: OptimizerKind, steps: usize) -> (Vec<f32>, Optimizer) {
        let vs = nn::VarStore::new(Device::Cpu);
        let w = vs
            .root()
            .var_copy("w", &Tensor::from_slice(&[1.0f32, -2.0, 0.5]));
        let target = Tensor::from_slice(&[0.5f32, 0.0, -1.0]);
        let coeff = Tensor::from_slice(&[1.0f32, 3.0, 0.2]);
        let mut opt = Optimizer::new(kind, &vs, "");
        for _ in 0..steps {
            opt.zero_grad();
            ((&w - &target).square() * &coeff)
                .sum(Kind::Float)
                .backward();
            opt.step();
        }
        (Vec::<f32>::try_from(&w).unwrap(), opt)
    }

    fn assert_close(got: &[f32], expected: &[f32]) {
        for (g, e) in got.iter().zip(expected) {
            assert!(
                (g - e).abs() < 1e-6,
                "got {got:?}, PyTorch gives {expected:?}"
            );
        }
    }

    #[test]
    fn adam_matches_pytorch() {
        assert_close(
            &run(OptimizerKind::adam(0.1, (0.5, 0.999)), 5).0,
            &[0.5779016, -1.5140444, 0.019429542],
        );
        assert_close(
            &run(OptimizerKind::adam(1e-4, (0.0, 0.9)), 5).0,
            &[0.9995001, -1.9994999, 0.49950007],
        );
    }

    /// `minimize` (gradients handed over by autograd) and `zero_grad` + `backward` + `step`
    /// (gradients in `.grad`) are the same update, and report the same gradient norm.
    #[test]
    fn minimize_is_backward_then_step() {
        for kind in [
            OptimizerKind::adam(0.1, (0.5, 0.999)),
            OptimizerKind::rmsprop(0.01),
        ] {
            let (expected, _) = run(kind, 5);
            let vs = nn::VarStore::new(Device::Cpu);
            let w = vs
                .root()
                .var_copy("w", &Tensor::from_slice(&[1.0f32, -2.0, 0.5]));
            // A second variable outside the optimiser's prefix: minimize must not touch it.
            let other = vs.root().var_copy("x", &Tensor::from_slice(&[3.0f32]));
            let target = Tensor::from_slice(&[0.5f32, 0.0, -1.0]);
            let coeff = Tensor::from_slice(&[1.0f32, 3.0, 0.2]);
            let mut opt = Optimizer::new(kind, &vs, "w");
            let mut norms = vec![];
            for _ in 0..5 {
                let loss = ((&w - &target).square() * &coeff).sum(Kind::Float) * &other / 3.0;
                let by_hand = (((&w - &target) * &coeff * 2.0).square().sum(Kind::Float))
                    .sqrt()
                    .double_value(&[]);
                norms.push((opt.minimize(&loss).unwrap().double_value(&[]), by_hand));
            }
            assert_close(&Vec::<f32>::try_from(&w).unwrap(), &expected);
            for (got, by_hand) in norms {
                assert!(
                    (got - by_hand).abs() < 1e-5,
                    "norm {got}, by hand {by_hand}"
                );
            }
            assert!(!other.grad().defined(), "x got a gradient");
            assert_eq!(f32::try_from(&other).unwrap(), 3.0);
        }
    }

    /// The step size sits in a denominator: a learning rate of 0 must leave θ as it is (no NaN
    /// from 0 · ∞ where v is still 0), while the moments keep moving.
    #[test]
    fn zero_learning_rate_freezes_the_parameters() {
        for kind in [
            OptimizerKind::adam(0.0, (0.5, 0.999)),
            OptimizerKind::rmsprop(0.0),
        ] {
            let vs = nn::VarStore::new(Device::Cpu);
            let w = vs
                .root()
                .var_copy("w", &Tensor::from_slice(&[1.0f32, -2.0]));
            let mut opt = Optimizer::new(kind, &vs, "");
            for _ in 0..3 {
                // The second coordinate gets a zero gradient, so its v stays 0.
                let loss = (&w * Tensor::from_slice(&[1.0f32, 0.0])).sum(Kind::Float);
                let _ = opt.minimize(&loss).unwrap();
            }
            assert_eq!(Vec::<f32>::try_from(&w).unwrap(), [1.0, -2.0], "{kind:?}");
            assert!(opt.v[0].double_value(&[0]) > 0.0, "the moments still move");
        }
    }

    /// A loss with nothing to learn from, or an optimiser with nothing to update: errors, and
    /// no step is counted (libtorch's backward would panic).
    #[test]
    fn a_loss_without_gradient_is_an_error() {
        let vs = nn::VarStore::new(Device::Cpu);
        let w = vs.root().var_copy("w", &Tensor::from_slice(&[1.0f32]));
        let mut opt = Optimizer::new(OptimizerKind::adam(1e-3, (0.5, 0.999)), &vs, "");
        let detached = (&w * 2.0).sum(Kind::Float).detach();
        let err = opt.minimize(&detached).unwrap_err().to_string();
        assert!(err.contains("no gradient"), "{err}");
        assert_eq!(opt.step, 0);
        let mut empty = Optimizer::new(OptimizerKind::rmsprop(1e-3), &vs, "nothing.");
        let loss = (&w * 2.0).sum(Kind::Float);
        let err = empty.minimize(&loss).unwrap_err().to_string();
        assert!(err.contains("no parameter"), "{err}");
        let penalty = crate::losses::penalty_at(&detached, &w.detach(), 1.0);
        assert!(
            penalty
                .unwrap_err()
                .to_string()
                .contains("set_requires_grad")
        );
    }

    #[test]
    fn rmsprop_matches_pytorch() {
        assert_close(
            &run(OptimizerKind::rmsprop(0.01), 5).0,
            &[0.721_571, -1.6854815, 0.18902549],
        );
    }

    #[test]
    fn state_round_trips_and_is_checked() {
        let (_, opt) = run(OptimizerKind::adam(0.1, (0.5, 0.999)), 3);
        let state = opt.state();
        assert_eq!(
            state.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
            ["step", "m.w", "v.w"]
        );
        let (_, mut other) = run(OptimizerKind::adam(0.1, (0.5, 0.999)), 0);
        other.load_state(&state).unwrap();
        assert_eq!(other.step, 3);
        assert!(other.v[0].equal(&opt.v[0]) && other.m[0].equal(&opt.m[0]));
        let err = other.load_state(&state[..2]).unwrap_err().to_string();
        assert!(err.contains("`v.w`"), "{err}");
        assert_eq!(other.step, 3, "a failed load changes nothing");
    }
}
