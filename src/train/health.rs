//! The game's numbers on their way into the [`History`], and the checks that stop a run whose
//! losses or weights stopped being finite.
//!
//! Each step adds its numbers to running sums that stay on the device (the [`Window`]); every
//! `log_every` steps the sums are read back at once (one device sync instead of one per step),
//! their means become a history point, and a NaN or infinite value ends the run with a
//! [`Diverged`] error that names it.

use anyhow::Result;
use tch::{Device, Kind, Tensor};

use super::config::{TrainConfig, lr_of};
use super::history::History;

/// Training stopped because a loss or a weight stopped being finite (NaN or infinite): the
/// one error whose cure is a smaller learning rate. Find it with `error.downcast_ref`.
#[derive(Debug, Clone)]
pub struct Diverged {
    /// The generator step at which it was seen.
    pub step: usize,
    pub message: String,
}

impl std::fmt::Display for Diverged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Diverged {}

impl Diverged {
    /// `name` became `value` at generator step `step` of a run with `config`.
    pub(crate) fn new(config: &TrainConfig, step: usize, name: &str, value: f64) -> Self {
        Diverged {
            step,
            message: format!(
                "training diverged at step {step}: {name} became {value}. Likely causes: a \
                 learning rate too high (lr_g = {}, lr_d = {}), a critic without clipping or \
                 penalty, or a loss that took log(0). Lower the learning rates and call reset(), \
                 or load the last checkpoint.",
                lr_of(config.opt_g),
                lr_of(config.opt_d)
            ),
        }
    }
}

/// Names of the D sums, then of the G sums, in the order the window holds them.
const D_NAMES: [&str; 5] = ["loss_d", "D(x)", "D(G(z))", "‖∇D‖", "W estimate"];
const G_NAMES: [&str; 4] = ["loss_g", "D(G(z)) after D's step", "‖∇G‖", "L1"];

/// Running sums of the step's numbers on the device, emptied into the history every
/// `log_every` steps (one read-back per window instead of one per step).
#[derive(Debug)]
pub(crate) struct Window {
    /// Sums over D updates: loss_d, D(x), D(G(z)) before D's update, ‖∇D‖, Wasserstein estimate.
    pub(crate) d: Tensor,
    /// Sums over G updates: loss_g, D(G(z)) after D's update, ‖∇G‖, L1.
    pub(crate) g: Tensor,
    pub(crate) d_count: usize,
    pub(crate) g_count: usize,
}

impl Window {
    pub(crate) fn new(device: Device) -> Self {
        Window {
            d: Tensor::zeros([D_NAMES.len() as i64], (Kind::Float, device)),
            g: Tensor::zeros([G_NAMES.len() as i64], (Kind::Float, device)),
            d_count: 0,
            g_count: 0,
        }
    }

    /// The sums read back from the device (one sync): D's, then G's.
    fn read(&self) -> Result<(Vec<f64>, Vec<f64>)> {
        Ok((
            Vec::<f64>::try_from(self.d.to_kind(Kind::Double))?,
            Vec::<f64>::try_from(self.g.to_kind(Kind::Double))?,
        ))
    }

    /// Reads the sums back, appends their means to `history` as the point of step `step`, and
    /// starts a new window; a [`Diverged`] error on a NaN or infinite value.
    pub(crate) fn flush(
        &mut self,
        history: &mut History,
        step: usize,
        config: &TrainConfig,
    ) -> Result<()> {
        let (d, g) = self.read()?;
        let (dn, gn) = (self.d_count.max(1) as f64, self.g_count.max(1) as f64);
        let wasserstein = config.loss.is_wasserstein();
        // Pix2Pix's L1 to the target; CycleGAN's cycle L1.
        let model = config.model.model();
        let reconstructs = model.reconstructs() || model.unpaired();
        history.push(
            step,
            [d[0] / dn, g[0] / gn, d[1] / dn, d[2] / dn, g[1] / gn],
            (d[3] / dn, g[2] / gn),
            wasserstein.then_some(d[4] / dn),
            reconstructs.then_some(g[3] / gn),
        );
        *self = Window::new(self.d.device());
        if let Some((name, value)) = history.last_non_finite() {
            return Err(Diverged::new(config, step, name, value).into());
        }
        Ok(())
    }

    /// Checks the steps summed since the last history point (a `train(n)` whose `n` is not a
    /// multiple of `log_every` ends between two): their sums must be finite. The window stays
    /// as it is, so the history is the same however the steps were split.
    pub(crate) fn check(&self, step: usize, config: &TrainConfig) -> Result<()> {
        if self.d_count + self.g_count == 0 {
            return Ok(());
        }
        let (d, g) = self.read()?;
        let all = D_NAMES.iter().zip(&d).chain(G_NAMES.iter().zip(&g));
        for (name, value) in all {
            if !value.is_finite() {
                return Err(Diverged::new(config, step, name, *value).into());
            }
        }
        Ok(())
    }
}

/// Every weight in `variables` is finite; a [`Diverged`] error naming the first that is not.
pub(crate) fn check_weights(
    variables: Vec<(String, Tensor)>,
    config: &TrainConfig,
    step: usize,
) -> Result<()> {
    let variables: Vec<(String, Tensor)> = variables
        .into_iter()
        .filter(|(_, v)| v.is_floating_point())
        .collect();
    // One read-back for all of them; the name is looked for only when one is not finite.
    let each: Vec<Tensor> = variables.iter().map(|(_, v)| v.isfinite().all()).collect();
    if each.is_empty() || bool::try_from(Tensor::stack(&each, 0).all())? {
        return Ok(());
    }
    for ((name, _), finite) in variables.iter().zip(&each) {
        if !bool::try_from(finite)? {
            let name = format!("the weight {name}");
            return Err(Diverged::new(config, step, &name, f64::NAN).into());
        }
    }
    Ok(())
}
