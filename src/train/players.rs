//! The players of a run: every network the model builds, the optimisers that train them, and the
//! moving average of the generator that samples.
//!
//! All weights live in one VarStore, each under its player's name (`generator.fc1.weight`,
//! `discriminator.conv2.weight`; a CycleGAN's `g_ab.…`, `d_b.…`). One optimiser trains the
//! generators' side of the game, one the discriminators' side, as the papers' code does: a model
//! with two generators updates both with one Adam. Checkpoints store the weights by these names
//! and the optimisers' moments as `opt_g/…` and `opt_d/…`.

use anyhow::{Context, Result};
use tch::{Device, Tensor, nn};

use super::config::TrainConfig;
use super::ema::MovingAverage;
use super::seeds;
use crate::game::{Discriminator, Generator, Networks};
use crate::optim::Optimizer;
use crate::precision::{self, Switch};

/// Every network of the game and what trains it.
pub struct Players {
    /// All weights, under each player's name.
    pub(crate) vs: nn::VarStore,
    /// The generators by name; the first one samples.
    pub(crate) generators: Vec<(String, Box<dyn Generator>)>,
    /// The discriminators (or critics) by name.
    pub(crate) discriminators: Vec<(String, Box<dyn Discriminator>)>,
    /// Trains every generator.
    pub(crate) opt_g: Optimizer,
    /// Trains every discriminator.
    pub(crate) opt_d: Optimizer,
    /// With `config.ema`: the moving average of the first generator's weights.
    pub(crate) average: Option<MovingAverage>,
    /// The precision the networks' layers multiply in; the trainer turns it to the run's
    /// precision around each step.
    pub(crate) switch: Switch,
}

impl Players {
    /// The model's networks, freshly initialised from the run's seed, and their optimisers.
    pub(crate) fn build(config: &TrainConfig, device: Device) -> Result<Self> {
        seeds::seed_torch(config.seed, seeds::INIT, 0);
        let vs = nn::VarStore::new(device);
        let switch = Switch::default();
        let networks = precision::building(&switch, || config.model.model().build(&vs))?;
        if config.channels_last {
            crate::models::to_channels_last(&vs);
        }
        check_players(&networks, &vs, config.model.name())?;
        let opt_g = Optimizer::over(config.opt_g, &vs, &names(&networks.generators));
        let opt_d = Optimizer::over(config.opt_d, &vs, &names(&networks.discriminators));
        // After the players are drawn, so that switching the average on changes none of them.
        let average = match config.ema {
            Some(_) => Some(MovingAverage::new(config, &vs, device)?),
            None => None,
        };
        Ok(Players {
            vs,
            generators: networks.generators,
            discriminators: networks.discriminators,
            opt_g,
            opt_d,
            average,
            switch,
        })
    }

    /// An error unless the game has one generator and one discriminator: what the crate's own
    /// step plays (a game of more players brings its own step to `train_with`).
    pub(crate) fn ensure_one_of_each(&self, model: &str) -> Result<()> {
        let (g, d) = (self.generators.len(), self.discriminators.len());
        anyhow::ensure!(
            g == 1 && d == 1,
            "{model} has {g} generators and {d} discriminators; the crate's step plays one of \
             each: give the game's own step to trainer.train_with(steps, step)"
        );
        Ok(())
    }

    /// The precision switch of these networks' layers: `switch().autocast(precision, f)` runs
    /// them in `precision` outside a training step (the trainer turns it around each step).
    pub fn switch(&self) -> &Switch {
        &self.switch
    }

    /// The first generator: the one that samples, and the one a one-G game trains.
    pub fn generator(&self) -> &dyn Generator {
        &*self.generators[0].1
    }

    /// The first discriminator (or critic).
    pub fn discriminator(&self) -> &dyn Discriminator {
        &*self.discriminators[0].1
    }

    /// A generator by the name the model gave it (`generator`; a CycleGAN's `g_ab`).
    pub fn generator_named(&self, name: &str) -> Result<&dyn Generator> {
        find(&self.generators, name, "generator")
    }

    /// A discriminator by name.
    pub fn discriminator_named(&self, name: &str) -> Result<&dyn Discriminator> {
        find(&self.discriminators, name, "discriminator")
    }

    /// One variable of the var store by its full name (`d_b.pool.images`), sharing memory with
    /// the model: for state a model keeps beside its weights, such as CycleGAN's pools.
    pub fn variable(&self, name: &str) -> Result<Tensor> {
        let variables = self.vs.variables();
        let found = variables.get(name).map(Tensor::shallow_clone);
        found.with_context(|| format!("this model has no variable `{name}`"))
    }

    /// Every weight by name, sorted by name; batch norm's running statistics included. The
    /// tensors share memory with the model.
    pub(crate) fn variables(&self) -> Vec<(String, Tensor)> {
        let mut variables: Vec<(String, Tensor)> = self.vs.variables().into_iter().collect();
        variables.sort_by(|a, b| a.0.cmp(&b.0));
        variables
    }

    /// Trainable parameters of (every generator, every discriminator).
    pub(crate) fn parameter_counts(&self) -> (i64, i64) {
        let variables = self.variables();
        let count = |players: Vec<&str>| -> i64 {
            variables
                .iter()
                .filter(|(n, t)| {
                    t.requires_grad() && players.iter().any(|p| n.starts_with(&format!("{p}.")))
                })
                .map(|(_, t)| t.numel() as i64)
                .sum()
        };
        (
            count(names(&self.generators)),
            count(names(&self.discriminators)),
        )
    }

    /// The generator that makes samples: the moving average when there is one and `average`
    /// asks for it, the first generator otherwise.
    pub(crate) fn sampler(&self, average: bool) -> &dyn Generator {
        match &self.average {
            Some(ema) if average => &*ema.generator,
            _ => self.generator(),
        }
    }
}

/// At least one generator and one discriminator, each with trainable weights under its own
/// name, and no trainable weight outside every player (which no optimiser would train).
fn check_players(networks: &Networks, vs: &nn::VarStore, model: &str) -> Result<()> {
    anyhow::ensure!(
        !networks.generators.is_empty() && !networks.discriminators.is_empty(),
        "{model} built {} generators and {} discriminators: a game needs at least one of each",
        networks.generators.len(),
        networks.discriminators.len()
    );
    let trainable: Vec<String> = vs
        .variables()
        .into_iter()
        .filter(|(_, t)| t.requires_grad())
        .map(|(name, _)| name)
        .collect();
    let players = names(&networks.generators)
        .into_iter()
        .chain(names(&networks.discriminators));
    let players: Vec<&str> = players.collect();
    let owned = |name: &str, player: &str| name.starts_with(&format!("{player}."));
    for player in &players {
        anyhow::ensure!(
            trainable.iter().any(|name| owned(name, player)),
            "{model}'s player `{player}` has no trainable weight under `{player}.`: build each \
             network under the var-store path of its name (vs.root() / \"{player}\")"
        );
    }
    if let Some(stray) = trainable
        .iter()
        .find(|n| !players.iter().any(|p| owned(n, p)))
    {
        anyhow::bail!(
            "{model} built the weight `{stray}` outside every player, so no optimiser would train \
             it: build it under one player's name"
        );
    }
    Ok(())
}

/// The players' names, in order.
fn names<T>(players: &[(String, T)]) -> Vec<&str> {
    players.iter().map(|(name, _)| name.as_str()).collect()
}

/// The player `name` of `players`; an error naming those there are.
fn find<'a, T: ?Sized>(players: &'a [(String, Box<T>)], name: &str, kind: &str) -> Result<&'a T> {
    let found = players.iter().find(|(n, _)| n == name);
    found.map(|(_, p)| &**p).with_context(|| {
        let there: Vec<String> = players.iter().map(|(n, _)| format!("`{n}`")).collect();
        format!(
            "this model has no {kind} `{name}`; it has {}",
            there.join(", ")
        )
    })
}
