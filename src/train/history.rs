//! The numbers of the game over time, and the charts that show them.
//!
//! Each point is the mean over `log_every` generator steps (and over the `n_critic`
//! discriminator steps of each), read back from the device once per window.
//!
//! How to read them (notebook 01 shows each case with its own run):
//! - **healthy**: `loss_d` hovers around 2·ln 2 ≈ 1.39 minus a little, D(x) a bit above 0.5,
//!   D(G(z)) a bit below; neither player wins for long.
//! - **D wins**: `loss_d` → 0, D(x) → 1, D(G(z)) → 0, `loss_g` climbs; with the minimax loss
//!   G's gradient vanishes too (watch ‖∇G‖).
//! - **mode collapse**: the losses can look calm while the samples all look alike; the
//!   snapshots and the mode count tell, not the curves.
//! - **divergence**: a loss or a gradient norm shoots up, then NaN (training stops and says so).
//! - **WGAN**: the critic's Wasserstein estimate falls as the samples improve: it is the one
//!   GAN loss that tracks quality.

use serde::{Deserialize, Serialize};

use crate::viz::LineChart;

/// The recorded numbers; index i of every list belongs to `step[i]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// Generator steps done when the point was recorded.
    pub step: Vec<usize>,
    pub loss_d: Vec<f64>,
    pub loss_g: Vec<f64>,
    /// Mean D(x) on real batches (a probability; the mean critic score for a WGAN).
    pub d_real: Vec<f64>,
    /// Mean D(G(z)) on fake batches before D's update.
    pub d_fake: Vec<f64>,
    /// Mean D(G(z)) after D's update, on the batch G then trains on.
    pub d_fake_after: Vec<f64>,
    /// ‖∇θ_D loss_d‖₂ before D's update.
    pub grad_norm_d: Vec<f64>,
    /// ‖∇θ_G loss_g‖₂ before G's update.
    pub grad_norm_g: Vec<f64>,
    /// WGAN: the critic's estimate E[C(x)] − E[C(G(z))] (empty for the other games).
    pub wasserstein: Vec<f64>,
    /// Pix2Pix: L1 distance of the output to the target (empty for the other models).
    pub l1: Vec<f64>,
}

impl History {
    /// Appends one point: `[loss_d, loss_g, d_real, d_fake, d_fake_after]`, the gradient norms
    /// `(d, g)`, and the optional Wasserstein estimate and L1 distance.
    pub(crate) fn push(
        &mut self,
        step: usize,
        values: [f64; 5],
        grad_norms: (f64, f64),
        wasserstein: Option<f64>,
        l1: Option<f64>,
    ) {
        self.step.push(step);
        let [loss_d, loss_g, d_real, d_fake, d_fake_after] = values;
        self.loss_d.push(loss_d);
        self.loss_g.push(loss_g);
        self.d_real.push(d_real);
        self.d_fake.push(d_fake);
        self.d_fake_after.push(d_fake_after);
        self.grad_norm_d.push(grad_norms.0);
        self.grad_norm_g.push(grad_norms.1);
        if let Some(w) = wasserstein {
            self.wasserstein.push(w);
        }
        if let Some(l1) = l1 {
            self.l1.push(l1);
        }
    }

    /// The mean of `values` (one of this history's series, e.g. `&h.d_real`) over the points of
    /// the last `steps` generator steps: what a curve says at the end, without one window's
    /// noise. NaN when there is no point.
    pub fn recent(&self, values: &[f64], steps: usize) -> f64 {
        let last = self.step.last().copied().unwrap_or(0);
        let from = last.saturating_sub(steps);
        let picked: Vec<f64> = self
            .step
            .iter()
            .zip(values)
            .filter(|(s, _)| **s > from)
            .map(|(_, v)| *v)
            .collect();
        picked.iter().sum::<f64>() / picked.len() as f64
    }

    /// The mean of `values` over the points within `radius` steps of `step`: what a curve said
    /// around one moment (a snapshot's step, say). NaN when no point is that close.
    pub fn around(&self, values: &[f64], step: usize, radius: usize) -> f64 {
        let picked: Vec<f64> = self
            .step
            .iter()
            .zip(values)
            .filter(|(s, _)| s.abs_diff(step) <= radius)
            .map(|(_, v)| *v)
            .collect();
        picked.iter().sum::<f64>() / picked.len() as f64
    }

    /// The largest difference between this history and another of the same steps, over every
    /// series, relative to the value where it is above 1: 0 for two runs that played the same
    /// game. An error when the two recorded different steps.
    pub fn max_difference(&self, other: &History) -> anyhow::Result<f64> {
        anyhow::ensure!(
            self.step == other.step,
            "the two histories recorded different steps ({} and {} points): train both runs \
             for the same number of steps with the same log_every",
            self.len(),
            other.len()
        );
        let series = |h: &History| {
            [
                &h.loss_d,
                &h.loss_g,
                &h.d_real,
                &h.d_fake,
                &h.d_fake_after,
                &h.grad_norm_d,
                &h.grad_norm_g,
                &h.wasserstein,
                &h.l1,
            ]
            .map(|v| v.clone())
        };
        let mut gap: f64 = 0.0;
        for (a, b) in series(self).iter().zip(series(other).iter()) {
            anyhow::ensure!(
                a.len() == b.len(),
                "one history records a series the other lacks"
            );
            for (x, y) in a.iter().zip(b) {
                gap = gap.max((x - y).abs() / y.abs().max(1.0));
            }
        }
        Ok(gap)
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.step.len()
    }
    pub fn is_empty(&self) -> bool {
        self.step.is_empty()
    }

    /// The first non-finite value of the latest point, by name.
    pub(crate) fn last_non_finite(&self) -> Option<(&'static str, f64)> {
        let named = [
            ("loss_d", &self.loss_d),
            ("loss_g", &self.loss_g),
            ("‖∇D‖", &self.grad_norm_d),
            ("‖∇G‖", &self.grad_norm_g),
            ("the Wasserstein estimate", &self.wasserstein),
            ("L1", &self.l1),
        ];
        named
            .into_iter()
            .filter_map(|(name, v)| v.last().map(|x| (name, *x)))
            .find(|(_, x)| !x.is_finite())
    }

    fn points(&self, values: &[f64], smoothing: f64) -> Vec<(f64, f64)> {
        let steps = self.step.iter().map(|&s| s as f64);
        steps.zip(smooth(values, smoothing)).collect()
    }

    /// The two losses over the steps, smoothed by an exponential moving average of weight
    /// `smoothing` (0: raw; 0.9: heavy, as TensorBoard's slider).
    pub fn loss_chart(&self, smoothing: f64) -> LineChart {
        let mut chart = LineChart::new("Losses")
            .axes("generator step", "loss")
            .series("loss_d", self.points(&self.loss_d, smoothing))
            .series("loss_g", self.points(&self.loss_g, smoothing));
        if !self.l1.is_empty() {
            chart = chart.series("L1 (without λ)", self.points(&self.l1, smoothing));
        }
        chart
    }

    /// Pix2Pix's losses on one readable scale: loss_g is the GAN term plus λ·L1, where λ·L1
    /// (λ = 100) outweighs everything else, so the chart shows the two parts apart, the GAN
    /// term as `loss_g − λ·L1`, beside loss_d; L1 alone when the run has no discriminator.
    pub fn pix2pix_loss_chart(&self, smoothing: f64, lambda: f64, adversarial: bool) -> LineChart {
        let l1 = self.points(&self.l1, smoothing);
        if !adversarial {
            return LineChart::new("L1 distance to the target")
                .axes("generator step", "mean |G(x) − y|")
                .series("L1 (without λ)", l1);
        }
        let gan: Vec<f64> = self
            .loss_g
            .iter()
            .zip(&self.l1)
            .map(|(g, l1)| g - lambda * l1)
            .collect();
        LineChart::new("Losses, G's two terms apart")
            .axes("generator step", "loss")
            .series("loss_d", self.points(&self.loss_d, smoothing))
            .series("G's GAN term (loss_g − λ·L1)", self.points(&gan, smoothing))
            .series("L1 (without λ)", l1)
    }

    /// CycleGAN's losses: both D's summed, both G's whole objective, and the cycle L1 (both
    /// directions, without λ), which says how much of each picture comes back around the cycle.
    pub fn cycle_loss_chart(&self, smoothing: f64) -> LineChart {
        LineChart::new("Losses, and what comes back around the cycle")
            .axes("generator step", "loss")
            .series("loss_d (both D's)", self.points(&self.loss_d, smoothing))
            .series(
                "loss_g (both G's, all terms)",
                self.points(&self.loss_g, smoothing),
            )
            .series(
                "cycle L1 (A→B→A + B→A→B, without λ)",
                self.points(&self.l1, smoothing),
            )
    }

    /// D(x) and D(G(z)) before and after D's update: the discriminator's view of the game.
    /// For a WGAN, the critic's Wasserstein estimate instead.
    pub fn d_chart(&self, smoothing: f64) -> LineChart {
        if !self.wasserstein.is_empty() {
            return LineChart::new("The critic's Wasserstein estimate E[C(x)] − E[C(G(z))]")
                .axes("generator step", "estimate")
                .series("W estimate", self.points(&self.wasserstein, smoothing));
        }
        LineChart::new("What D says: D(x) on real, D(G(z)) on fake")
            .axes("generator step", "mean D output")
            .series("D(x)", self.points(&self.d_real, smoothing))
            .series(
                "D(G(z)) before D's step",
                self.points(&self.d_fake, smoothing),
            )
            .series(
                "D(G(z)) after D's step",
                self.points(&self.d_fake_after, smoothing),
            )
    }

    /// The gradient norms of both players (log₁₀ scale, so vanishing and exploding both show).
    pub fn grad_chart(&self) -> LineChart {
        let log = |v: &[f64]| -> Vec<f64> { v.iter().map(|x| x.max(1e-12).log10()).collect() };
        LineChart::new("Gradient norms")
            .axes("generator step", "log10 ‖∇θ loss‖")
            .series("D", self.points(&log(&self.grad_norm_d), 0.0))
            .series("G", self.points(&log(&self.grad_norm_g), 0.0))
    }
}

/// Exponential moving average with TensorBoard's debiasing: `s_t = w·s_{t−1} + (1 − w)·x_t`,
/// divided by `1 − wᵗ` so the first points are not pulled towards 0. `weight` is clamped to
/// [0, 0.999].
///
/// ```
/// use gans::train::smooth;
/// assert_eq!(smooth(&[1.0, 2.0, 3.0], 0.0), vec![1.0, 2.0, 3.0]);
/// let s = smooth(&[1.0, 1.0, 1.0], 0.9);
/// assert!(s.iter().all(|x| (x - 1.0).abs() < 1e-12)); // a constant stays constant
/// ```
pub fn smooth(values: &[f64], weight: f64) -> Vec<f64> {
    let w = weight.clamp(0.0, 0.999);
    let mut state = 0.0;
    let mut debias = 1.0;
    values
        .iter()
        .map(|&x| {
            state = w * state + (1.0 - w) * x;
            debias *= w;
            state / (1.0 - debias)
        })
        .collect()
}
