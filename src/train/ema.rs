//! The moving average of G's weights (Yazıcı et al., 2019): a third network beside G and D.
//!
//! A copy of the generator, in its own VarStore, whose every weight follows G's as
//! `ema ← β_t·ema + (1 − β_t)·G` after step t, with the usual warm-up
//! `β_t = min(β, (1 + t) / (10 + t))` (TensorFlow's `ExponentialMovingAverage` with
//! `num_updates`), so that the starting weights do not linger in a short run. Batch norm's
//! running statistics are copied, not averaged. Sampling, snapshots and scores use it; training
//! never does.

use anyhow::{Context, Result};
use tch::{Device, Tensor, nn};

use super::config::TrainConfig;
use crate::game::Generator;

pub(crate) struct MovingAverage {
    pub(crate) vs: nn::VarStore,
    /// The averaged copy of the first generator (the one that samples).
    pub(crate) generator: Box<dyn Generator>,
    /// The player it averages (`generator`).
    name: String,
    /// (the average, G's own weight), in name order.
    pairs: Vec<(Tensor, Tensor)>,
}

impl MovingAverage {
    /// A copy of the sampling generator of `vs`, built from `config` in a VarStore of its own
    /// (the model builds its other players beside it, small and never used: models build their
    /// networks as a set).
    pub(crate) fn new(config: &TrainConfig, vs: &nn::VarStore, device: Device) -> Result<Self> {
        let ema_vs = nn::VarStore::new(device);
        // under a switch of its own that stays fp32: the average only samples, outside the step
        let networks = crate::precision::building(&Default::default(), || {
            config.model.model().build(&ema_vs)
        })?;
        if config.channels_last {
            crate::models::to_channels_last(&ema_vs);
        }
        let (name, generator) = networks
            .generators
            .into_iter()
            .next()
            .context("the model built no generator")?;
        let average = MovingAverage {
            vs: ema_vs,
            generator,
            name,
            pairs: Vec::new(),
        };
        let live = vs.variables();
        let mut pairs = Vec::new();
        for (name, mut weight) in average.variables() {
            let own = live
                .get(&name)
                .with_context(|| format!("the average has `{name}`, G has not"))?;
            tch::no_grad(|| weight.copy_(own));
            // The average is never trained.
            let _ = weight.set_requires_grad(false);
            pairs.push((weight, own.shallow_clone()));
        }
        Ok(MovingAverage { pairs, ..average })
    }

    /// The decay used after step `step` (0 for the first) for a target decay `beta`.
    pub(crate) fn decay(beta: f64, step: usize) -> f64 {
        beta.min((1.0 + step as f64) / (10.0 + step as f64))
    }

    /// One step of the average after step `step`, towards a decay of `beta`.
    pub(crate) fn update(&mut self, beta: f64, step: usize) {
        let beta = Self::decay(beta, step);
        tch::no_grad(|| {
            for (average, own) in &mut self.pairs {
                if own.requires_grad() {
                    let _ = average.lerp_(&*own, 1.0 - beta);
                } else {
                    average.copy_(own);
                }
            }
        });
    }

    /// The average's weights by name (`generator.…`), sorted, as a checkpoint stores them.
    pub(crate) fn variables(&self) -> Vec<(String, Tensor)> {
        let prefix = format!("{}.", self.name);
        let mut all: Vec<(String, Tensor)> = self
            .vs
            .variables()
            .into_iter()
            .filter(|(name, _)| name.starts_with(&prefix))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }
}
