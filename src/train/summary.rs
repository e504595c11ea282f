//! What a trainer holds, in words: one summary line, and both networks layer by layer.

use anyhow::{Context, Result};
use tch::{Device, Kind, Tensor};

use super::progress::thousands;
use super::trainer::Trainer;
use crate::precision::Precision;

impl Trainer {
    /// Trainable parameters of (the generators, the discriminators).
    pub fn parameter_counts(&self) -> (i64, i64) {
        self.players.parameter_counts()
    }

    /// One line on what this trainer holds: model, game, data, sizes, device, step.
    pub fn summary(&self) -> String {
        let (g, d) = self.parameter_counts();
        let config = self.config();
        let info = self.data().info();
        let data = if config.model.makes_points() {
            info.name
        } else {
            format!(
                "{} ({} × {:?})",
                info.name,
                thousands(info.len as i64),
                info.shape
            )
        };
        let mut device = match self.device() {
            Device::Cuda(i) => format!("CUDA:{i}"),
            _ => "CPU".to_string(),
        };
        if config.precision != Precision::Fp32 {
            device = format!("{device} {}", config.precision);
        }
        format!(
            "{} · {} · {data} · G {} parameters, D {} · batch {} · {device} · step {}",
            config.model.name(),
            config.loss.describe(),
            thousands(g),
            thousands(d),
            config.batch_size,
            self.steps_done()
        )
    }

    /// The two networks' shapes for a batch of 2: layer by layer where the model can say (the
    /// DCGAN), input and output otherwise. Runs both in evaluation mode without gradients, so
    /// nothing about the run changes.
    pub fn layers(&self) -> Result<String> {
        let model = self.config().model.model();
        let device = self.device();
        let two = |shape: Vec<i64>| [vec![2], shape].concat();
        let (input, labels) = match model.latent_dim() {
            Some(latent_dim) => (
                Tensor::randn([2, latent_dim], (Kind::Float, device)),
                (model.n_classes() > 0).then(|| Tensor::zeros([2], (Kind::Int64, device))),
            ),
            None => {
                let shape = model
                    .input_shape()
                    .context("a model without noise takes an input")?;
                (Tensor::zeros(two(shape), (Kind::Float, device)), None)
            }
        };
        let (generator, discriminator) = (self.players.generator(), self.players.discriminator());
        let (output, scores) = tch::no_grad(|| -> Result<(Tensor, Tensor)> {
            let output = generator.generate(&input, labels.as_ref(), false);
            let condition = if model.latent_dim().is_some() {
                labels.as_ref()
            } else {
                Some(&input)
            };
            let scores = discriminator.score(&output, condition, false)?;
            Ok((output, scores))
        })?;
        let (g, d) = self.parameter_counts();
        let g_layers = generator
            .layers()
            .unwrap_or_else(|| format!("input {:?} → output {:?}", input.size(), output.size()));
        let d_layers = discriminator.layers().unwrap_or_else(|| {
            format!("candidate {:?} → scores {:?}", output.size(), scores.size())
        });
        Ok(format!(
            "G ({} parameters)\n{g_layers}\n\nD ({} parameters)\n{d_layers}",
            thousands(g),
            thousands(d)
        ))
    }
}
