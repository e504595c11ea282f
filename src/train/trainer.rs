//! The trainer: one value that holds a whole run and lives across notebook cells.
//!
//! ```text
//! let mut trainer = Trainer::new(TrainConfig::gan(model), mnist)?;
//! trainer.train(500)?;      // 500 generator steps
//! trainer.train(500)?;      // 500 more: it continues, it does not start over
//! trainer.losses(0.0)?      // the loss curves so far (next cell: trainer.snapshots_gif()?)
//! trainer.reset()?;         // start again from step 0 with the same seed
//! ```
//!
//! The loop is short: each generator step seeds its random stream, hands a [`Round`] (the
//! players, the batches, the history window) to a step function ([`standard_step`] unless you
//! give your own) and moves the average of G; every `log_every` steps the window becomes a
//! history point and a line may be printed, and every `snapshot_every` steps a snapshot is taken. The trainer's other files hold the rest,
//! one concern each: `players` (networks and optimisers), `batches` (the data's order and the
//! fixed input), `seeds`, `health` (history window and divergence), `progress` (the live line),
//! `summary`, `sample`, `views` (charts and grids) and `checkpoint`.
//!
//! ## Exact resume
//! A run's randomness is a function of `(seed, step)` (see `seeds`), so the random generators'
//! state never needs saving: a checkpoint holds the weights, both optimisers' moments, the step
//! counters, the fixed noise, the history and the partly filled history window, and training on
//! from it repeats, bit for bit on a CPU, what the run that never stopped did.

use std::time::Instant;

use anyhow::{Result, bail};
use tch::{Device, Tensor};

use super::batches::{Batches, FixedInput};
use super::config::{ModelConfig, TrainConfig, lr_of};
use super::data::{TrainData, check_data};
use super::health::{Window, check_weights};
use super::history::History;
use super::players::Players;
use super::round::{Round, standard_step};
use super::seeds;
use crate::game::Generator;
use crate::precision::{self, Precision};

/// The generator's output at one step for the fixed noise, on the CPU: images as bytes
/// `[n, C, H, W]`, or points `[n, 2]` as floats for the toy model.
#[derive(Debug)]
pub struct Snapshot {
    pub step: usize,
    pub samples: Tensor,
}

/// Which statistics a generator's batch norm uses when it makes pictures for you.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Statistics {
    /// Those of the batch being generated (training mode, dropout on), as the DCGAN and
    /// Pix2Pix papers sample.
    #[default]
    Batch,
    /// The running averages gathered during training (evaluation mode, dropout off), as most
    /// deployed models do: each sample then depends on its own noise alone.
    Running,
}

/// A GAN being trained: networks, optimisers, data, history and snapshots.
pub struct Trainer {
    /// The hyperparameters the players were built with: read them with [`Trainer::config`],
    /// change them with [`Trainer::reconfigure`] (which rebuilds) or [`Trainer::set_lr`].
    pub(super) config: TrainConfig,
    pub(super) device: Device,
    pub(super) players: Players,
    pub(super) batches: Batches,
    pub(super) fixed: FixedInput,
    pub(super) history: History,
    pub(super) window: Window,
    pub(super) snapshots: Vec<Snapshot>,
    /// Generator steps done.
    pub(super) steps_done: usize,
    /// Seconds spent in `train` (all calls, across resumes).
    pub(super) seconds: f64,
    /// The step of the last progress line printed (a call's closing line repeats no point).
    printed_step: usize,
    /// The folder it keeps its progress in ([`Trainer::kept`]) and its live view, if any.
    pub(super) keep: Option<super::keep::Keep>,
    pub(super) live: Option<super::live::Live>,
    /// Which batch-norm statistics `sample`, `generate_from` and `translate` use (not the
    /// training step, nor the snapshots): [`Statistics::Batch`] unless you set it.
    pub statistics: Statistics,
    /// With `config.ema`: whether samples, snapshots and scores come from the moving average
    /// (`true`, the default) or from G itself (`false`, to compare the two on one run).
    pub sample_average: bool,
}

impl std::fmt::Debug for Trainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Trainer {{ model: {}, data: {}, step: {}, device: {:?} }}",
            self.config.model.name(),
            self.data().info().name,
            self.steps_done,
            self.device
        )
    }
}

impl Trainer {
    /// A new run at step 0: networks built and initialised from `config.seed`, on the device
    /// the data lives on.
    pub fn new(config: TrainConfig, data: impl Into<TrainData>) -> Result<Self> {
        let data = data.into();
        config.validate()?;
        check_data(&config, &data)?;
        let device = data.device();
        let players = Players::build(&config, device)?;
        let fixed = FixedInput::draw(&config, &data, device)?;
        Ok(Trainer {
            window: Window::new(device),
            config,
            device,
            players,
            batches: Batches::new(data),
            fixed,
            history: History::default(),
            snapshots: Vec::new(),
            steps_done: 0,
            seconds: 0.0,
            printed_step: 0,
            keep: None,
            live: None,
            statistics: Statistics::Batch,
            sample_average: true,
        })
    }

    /// Starts over from step 0 with the same config: new weights from the seed, empty history
    /// and snapshots.
    pub fn reset(&mut self) -> Result<()> {
        self.reconfigure(self.config.clone())
    }

    /// Starts over from step 0 with `config` (a model, a loss, a seed…: anything may change,
    /// since the players are built anew). On an error the trainer is left as it was.
    ///
    /// ```text
    /// trainer.reconfigure(trainer.config().clone().seed(7).batch_size(32))?;
    /// ```
    pub fn reconfigure(&mut self, config: TrainConfig) -> Result<()> {
        config.validate()?;
        check_data(&config, &self.batches.data)?;
        let players = Players::build(&config, self.device)?;
        let fixed = FixedInput::draw(&config, &self.batches.data, self.device)?;
        self.config = config;
        self.players = players;
        self.fixed = fixed;
        self.batches.rewind();
        self.steps_done = 0;
        self.printed_step = 0;
        self.history = History::default();
        self.snapshots.clear();
        self.window = Window::new(self.device);
        self.seconds = 0.0;
        if let Some(keep) = self.keep.as_mut() {
            keep.planned = 0;
        }
        Ok(())
    }

    /// The hyperparameters of this run.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// Generator steps trained so far.
    pub fn steps_done(&self) -> usize {
        self.steps_done
    }

    /// The recorded numbers of the game.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// The fixed-noise snapshots so far.
    pub fn snapshots(&self) -> &[Snapshot] {
        &self.snapshots
    }

    /// The training data.
    pub fn data(&self) -> &TrainData {
        &self.batches.data
    }

    pub fn device(&self) -> Device {
        self.device
    }

    /// Every weight of every network by name (`generator.fc1.weight`, …), sorted by name;
    /// batch norm's running statistics included. The tensors share memory with the model.
    pub fn variables(&self) -> Vec<(String, Tensor)> {
        self.players.variables()
    }

    /// Seconds spent training so far.
    pub fn seconds(&self) -> f64 {
        self.seconds
    }

    /// Changes `lr_g` and `lr_d` from now on (the optimisers keep their moments). A value that
    /// is not a learning rate (0, negative, NaN, above 1) is refused and nothing changes.
    pub fn set_lr(&mut self, lr_g: f64, lr_d: f64) -> Result<()> {
        let config = self.config.clone().lr(lr_g, lr_d);
        config.validate()?;
        self.config = config;
        self.players.opt_g.set_lr(lr_g);
        self.players.opt_d.set_lr(lr_d);
        Ok(())
    }

    /// Changes how often a line of progress is printed (every `print_every` steps, 0: only by
    /// time; about every `print_seconds`, 0: not by time) and how often a snapshot is taken
    /// (every `snapshot_every` steps, 0: never), from now on. Nothing else about the run changes.
    pub fn set_progress(
        &mut self,
        print_every: usize,
        print_seconds: f64,
        snapshot_every: usize,
    ) -> Result<()> {
        let mut config = self.config.clone();
        config.print_every = print_every;
        config.print_seconds = print_seconds;
        config.snapshot_every = snapshot_every;
        config.validate()?;
        self.config = config;
        Ok(())
    }

    /// Trains for `steps` more generator steps (each after `n_critic` discriminator steps) with
    /// the crate's step, [`standard_step`]. Prints a line of progress about every
    /// `print_seconds` (and every `print_every` steps if set). Stops with an error naming the
    /// step if a loss becomes NaN or infinite.
    pub fn train(&mut self, steps: usize) -> Result<()> {
        let step = self.course_step()?;
        self.play_rounds(steps, step, true)
    }

    /// The step the model of the course plays: CycleGAN's for a CycleGAN, the crate's standard
    /// step for a game of one generator and one discriminator.
    fn course_step(&self) -> Result<fn(&mut Round) -> Result<()>> {
        if let ModelConfig::CycleGan(_) = self.config.model {
            return Ok(super::cycle::cycle_step);
        }
        self.players.ensure_one_of_each(self.config.model.name())?;
        Ok(standard_step)
    }

    /// Trains for `steps` more generator steps with your own step function (see
    /// [`Round`]): everything else is what [`Trainer::train`] does, the same seeding, batches,
    /// history, snapshots, progress and checkpoints.
    pub fn train_with(
        &mut self,
        steps: usize,
        step: impl FnMut(&mut Round) -> Result<()>,
    ) -> Result<()> {
        self.play_rounds(steps, step, true)
    }

    /// [`Trainer::train`] without the progress lines: for a program that shows progress its
    /// own way (the `gans` command's progress bar). The run is the same, number for number.
    pub fn train_silently(&mut self, steps: usize) -> Result<()> {
        let step = self.course_step()?;
        self.play_rounds(steps, step, false)
    }

    fn play_rounds(
        &mut self,
        steps: usize,
        mut step: impl FnMut(&mut Round) -> Result<()>,
        print: bool,
    ) -> Result<()> {
        // Here, not in `new`: a bf16 checkpoint samples and scores in fp32 on any machine.
        precision::check_supported(self.config.precision, self.device)?;
        let steps = self.begin_call(steps);
        let start = Instant::now();
        let (first, target) = (self.steps_done, self.steps_done + steps);
        let mut printed: Option<Instant> = None;
        let live = self.config.print_seconds > 0.0 && print;
        if self.steps_done == 0 && self.snapshots.is_empty() && self.config.snapshot_every > 0 {
            self.snapshot()?;
        }
        let seconds_before = self.seconds;
        let result = (|| -> Result<()> {
            for _ in 0..steps {
                self.play(&mut step)?;
                // Kept current, for the saves a kept trainer makes mid-call.
                self.seconds = seconds_before + start.elapsed().as_secs_f64();
                let done = self.steps_done;
                if done.is_multiple_of(self.config.log_every) {
                    self.window.flush(&mut self.history, done, &self.config)?;
                    let every = self.config.print_every;
                    let since = printed.unwrap_or(start).elapsed().as_secs_f64();
                    if (every > 0 && done.is_multiple_of(every) && print)
                        || (live && since >= self.config.print_seconds)
                    {
                        let rate = (done - first) as f64 / start.elapsed().as_secs_f64();
                        println!("{}", self.progress(rate, target - done));
                        printed = Some(Instant::now());
                        self.printed_step = done;
                    }
                }
                if self.config.snapshot_every > 0 && done.is_multiple_of(self.config.snapshot_every)
                {
                    self.snapshot()?;
                }
                self.live_tick(false);
                self.keep_progress(false);
            }
            Ok(())
        })();
        self.seconds = seconds_before + start.elapsed().as_secs_f64();
        result?;
        self.window.check(self.steps_done, &self.config)?;
        if steps > 0 {
            self.live_tick(true);
            self.keep_progress(true);
        }
        self.settle_random();
        // The closing line, when the history has a point no line showed yet.
        let newest = self.history.step.last().copied().unwrap_or(0);
        if live && steps > 0 && newest > self.printed_step {
            let rate = steps as f64 / start.elapsed().as_secs_f64().max(1e-9);
            println!("{}", self.progress(rate, 0));
            self.printed_step = newest;
        }
        Ok(())
    }

    /// One generator step: seeds this step's random stream, runs `step` on a [`Round`] that
    /// borrows the players, the batches and the history window, checks that it reported its
    /// updates, moves the average of G, and counts the step.
    fn play(&mut self, step: &mut impl FnMut(&mut Round) -> Result<()>) -> Result<()> {
        seeds::seed_torch(self.config.seed, seeds::STEP, self.steps_done as u64);
        if let Some(decay) = self.config.lr_decay {
            let factor = decay.factor(self.steps_done);
            self.players.opt_g.set_lr(lr_of(self.config.opt_g) * factor);
            self.players.opt_d.set_lr(lr_of(self.config.opt_d) * factor);
        }
        let switch = self.players.switch.clone();
        let precision = self.config.precision;
        let mut round = Round::new(
            &self.config,
            self.steps_done,
            &mut self.players,
            &mut self.batches,
            &mut self.window,
        );
        switch.autocast(precision, || step(&mut round))?;
        round.check_reports()?;
        if precision == Precision::Bf16 && !switch.take_used() {
            bail!(
                "precision bf16, but no layer of this run's networks multiplied in bf16 during \
                 step {}: only the layers of gans::precision (conv2d, conv_transpose2d, linear) \
                 switch, and this model's networks use none of them; train it in fp32 \
                 (.precision(Precision::Fp32)), or build its layers with gans::precision",
                self.steps_done
            );
        }
        if let (Some(beta), Some(average)) = (self.config.ema, self.players.average.as_mut()) {
            average.update(beta, self.steps_done);
        }
        self.steps_done += 1;
        Ok(())
    }

    /// Every weight of every network is finite; an error naming the first that is not.
    /// [`Trainer::save`] calls it, so a diverged state is never written over a good checkpoint.
    pub fn check_finite(&self) -> Result<()> {
        check_weights(self.variables(), &self.config, self.steps_done)
    }

    /// Generates from the fixed input and keeps it, on the CPU, as a snapshot.
    fn snapshot(&mut self) -> Result<()> {
        let samples = self.fixed_samples()?;
        let samples = if self.config.model.makes_points() {
            samples.to_device(Device::Cpu)
        } else {
            // Bytes on the CPU: a quarter of the memory of floats.
            crate::viz::to_u8(&samples)
        };
        self.snapshots.push(Snapshot {
            step: self.steps_done,
            samples,
        });
        Ok(())
    }

    /// The generator's output for the fixed noise (or fixed input images), on the device:
    /// the moving average's when `config.ema` is set.
    pub fn fixed_samples(&self) -> Result<Tensor> {
        let labels = self.fixed.labels(&self.config);
        let generator = self.sampler();
        Ok(tch::no_grad(|| {
            generator.generate(&self.fixed.input, labels, true)
        }))
    }

    /// The generator that makes samples: the moving average of G's weights when `config.ema`
    /// is set (and [`Trainer::sample_average`] is on), G itself otherwise. Training always
    /// uses G.
    pub fn sampler(&self) -> &dyn Generator {
        self.players.sampler(self.sample_average)
    }

    /// The networks being trained, to run or inspect directly (`players().discriminator()`);
    /// a notebook checks its own networks against them.
    pub fn players(&self) -> &Players {
        &self.players
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Dataset;
    use crate::models::mlp::MlpConfig;
    use crate::models::patchgan::PatchGanConfig;
    use crate::models::unet::UnetConfig;
    use crate::train::ModelConfig;
    use crate::train::ema::MovingAverage;
    use tch::Kind;

    fn mlp_trainer() -> Trainer {
        let data = Dataset {
            name: "noise".into(),
            images: Tensor::rand([64, 1, 28, 28], (Kind::Float, Device::Cpu)) * 2.0 - 1.0,
            labels: None,
            class_names: vec![],
        };
        let config = TrainConfig::gan(ModelConfig::Mlp(MlpConfig::default()))
            .batch_size(16)
            .quiet();
        let mut trainer = Trainer::new(config, data).unwrap();
        trainer.train(3).unwrap();
        trainer
    }

    /// With `ema = β` the average's weights are `β_t·average + (1 − β_t)·G` after step t (β_t
    /// warming up to β; batch norm's statistics copied), and samples come from it unless
    /// `sample_average` is off. (That G trains the same with and without the average is checked
    /// in tests/determinism.rs, which holds the process's random generator alone.)
    #[test]
    fn the_moving_average_follows_g_and_makes_the_samples() {
        use crate::models::dcgan::DcganConfig;
        let data = Dataset {
            name: "noise".into(),
            images: Tensor::ones([32, 1, 28, 28], (Kind::Float, Device::Cpu)) * 0.5,
            labels: None,
            class_names: vec![],
        };
        let model = DcganConfig {
            width: 4,
            ..DcganConfig::mnist()
        };
        let config = TrainConfig::gan(model)
            .batch_size(8)
            .quiet()
            .ema(Some(0.75));
        let mut averaged = Trainer::new(config, data).unwrap();
        let weight = |t: &Trainer| t.players.vs.variables()["generator.deconv1.weight"].copy();
        let average = |t: &Trainer| {
            let all = t.players.average.as_ref().unwrap().variables();
            let find = |n: &str| all.iter().find(|(name, _)| name == n).unwrap().1.copy();
            (
                find("generator.deconv1.weight"),
                find("generator.bn1.running_mean"),
            )
        };
        assert!(
            average(&averaged).0.equal(&weight(&averaged)),
            "starts as G"
        );
        let mut expected = weight(&averaged);
        for t in 0..3 {
            averaged.train(1).unwrap();
            let beta = [0.1, 2.0 / 11.0, 0.25][t]; // (1 + t) / (10 + t), below 0.75
            assert_eq!(MovingAverage::decay(0.75, t), beta);
            expected = &expected * beta + weight(&averaged) * (1.0 - beta);
            let (w, running) = average(&averaged);
            let gap = (&w - &expected).abs().max().double_value(&[]);
            assert!(gap < 1e-6, "the average is off by {gap}");
            assert!(running.equal(&averaged.players.vs.variables()["generator.bn1.running_mean"]));
        }
        assert_eq!(MovingAverage::decay(0.75, 100), 0.75, "the warm-up ends");
        // The samples are the average's; with sample_average off, G's own.
        let own = || {
            let g = averaged.players.generator();
            tch::no_grad(|| g.generate(&averaged.fixed.input, None, true))
        };
        let from_g = own();
        assert!(!averaged.fixed_samples().unwrap().equal(&from_g));
        averaged.sample_average = false;
        assert!(averaged.fixed_samples().unwrap().equal(&own()));
    }

    /// The live line names time left; the summary names the data and the step.
    #[test]
    fn the_live_line_and_the_summary_say_where_the_run_is() {
        let trainer = mlp_trainer();
        let line = trainer.progress(10.0, 50);
        assert!(line.contains("5 s left") && line.contains(" g "), "{line}");
        let summary = trainer.summary();
        assert!(
            summary.contains("noise (64 × [1, 28, 28])") && summary.contains("step 3"),
            "{summary}"
        );
    }

    /// `layers` prints both networks without changing the run: layer by layer for the DCGAN,
    /// input → output for the others.
    #[test]
    fn layers_show_shapes_and_change_nothing() {
        let mut trainer = mlp_trainer();
        let before = trainer.variables();
        let text = trainer.layers().unwrap();
        assert!(
            text.contains("input [2, 100] → output [2, 1, 28, 28]"),
            "{text}"
        );
        assert!(text.contains("scores [2"), "{text}");
        for ((name, a), (_, b)) in before.iter().zip(trainer.variables()) {
            assert!(a.equal(&b), "{name} changed");
        }
        let config = trainer
            .config()
            .clone()
            .model(crate::models::dcgan::DcganConfig {
                image_size: 28,
                channels: 1,
                width: 4,
                ..Default::default()
            });
        trainer.reconfigure(config).unwrap();
        let text = trainer.layers().unwrap();
        assert!(
            text.contains("deconv3 tanh") && text.contains("conv3 → score"),
            "{text}"
        );
    }

    /// `recent` averages the points of the last n steps only.
    #[test]
    fn recent_means_cover_the_last_steps() {
        let mut h = History::default();
        for (step, v) in [(10, 1.0), (20, 2.0), (30, 4.0)] {
            h.push(step, [v; 5], (v, v), None, None);
        }
        assert_eq!(h.recent(&h.loss_d, 10), 4.0);
        assert_eq!(h.recent(&h.loss_d, 20), 3.0);
        assert_eq!(h.recent(&h.loss_d, 1000), 7.0 / 3.0);
        assert_eq!(h.around(&h.loss_d, 19, 5), 2.0);
        assert_eq!(h.around(&h.loss_d, 25, 5), 3.0);
        assert!(h.around(&h.loss_d, 100, 5).is_nan());
        assert!(History::default().recent(&[], 10).is_nan());
    }

    /// One noise vector has no batch statistics: batch norm would give every z the same
    /// picture, so `sample(1)` uses the running ones; `Statistics::Running` uses them always.
    #[test]
    fn one_sample_depends_on_its_noise_and_running_statistics_are_an_option() {
        let mut trainer = mlp_trainer();
        let (a, b) = (trainer.sample(1).unwrap(), trainer.sample(1).unwrap());
        assert!(
            !a.equal(&b),
            "two single samples from different z are different"
        );
        let z = Tensor::randn([4, 100], (Kind::Float, Device::Cpu));
        let batch = trainer.generate_from(&z, None).unwrap();
        trainer.statistics = Statistics::Running;
        let running = trainer.generate_from(&z, None).unwrap();
        assert!(!batch.allclose(&running, 1e-4, 1e-4, false));
        // With running statistics, a sample is the same alone or in a batch.
        let alone = trainer.generate_from(&z.narrow(0, 0, 1), None).unwrap();
        assert!(alone.allclose(&running.narrow(0, 0, 1), 1e-5, 1e-5, false));
    }

    #[test]
    fn learning_rates_and_edits_that_do_not_fit_change_nothing() {
        let mut trainer = mlp_trainer();
        let before = trainer.config().clone();
        for lr in [0.0, -1e-4, f64::NAN, f64::INFINITY, 1e9] {
            let err = trainer.set_lr(lr, lr).unwrap_err().to_string();
            assert!(err.contains("lr_g"), "{err}");
            assert_eq!(trainer.config(), &before, "{lr}");
        }
        trainer.set_lr(1e-4, 1e-4).unwrap();
        assert_eq!(crate::train::lr_of(trainer.config().opt_g), 1e-4);
        // A new model comes with new players: reconfigure rebuilds them, from step 0; a config
        // that does not validate changes nothing.
        let wider = trainer.config().clone().model(MlpConfig {
            latent_dim: 64,
            ..MlpConfig::default()
        });
        assert!(trainer.reconfigure(wider.clone().batch_size(0)).is_err());
        assert_eq!(trainer.steps_done(), 3);
        trainer.reconfigure(wider).unwrap();
        assert_eq!(trainer.steps_done(), 0);
        trainer.train(1).unwrap();
        // Wrong shapes for the public sampling functions are errors, not panics.
        assert!(
            trainer
                .generate_from(&Tensor::zeros([0, 64], (Kind::Float, Device::Cpu)), None)
                .is_err()
        );
        assert!(
            trainer
                .interpolation(0, 5, crate::train::Interpolation::Slerp)
                .is_err()
        );
        assert!(trainer.snapshot_rows(0, 4).is_err());
    }

    /// Labels and hand-made datasets of the wrong kind are errors that say what to give, not
    /// libtorch panics in `one_hot` or `index_select`.
    #[test]
    fn labels_of_the_wrong_kind_or_range_are_explained() {
        let cpu = (Kind::Float, Device::Cpu);
        let labelled = |labels: Tensor| Dataset {
            name: "three".into(),
            images: Tensor::rand([12, 1, 28, 28], cpu) * 2.0 - 1.0,
            labels: Some(labels),
            class_names: vec!["a".into(), "b".into(), "c".into()],
        };
        let config = TrainConfig::gan(ModelConfig::Mlp(MlpConfig {
            n_classes: 3,
            ..MlpConfig::default()
        }))
        .batch_size(4)
        .quiet();
        let good = Tensor::arange(12, (Kind::Int64, Device::Cpu)).remainder(3);
        for (labels, said) in [
            (good.to_kind(Kind::Int), "must be int64"),
            (good.narrow(0, 0, 6), "must be int64 [12]"),
            (&good + 1, "must lie in 0..3"),
        ] {
            let err = Trainer::new(config.clone(), labelled(labels))
                .unwrap_err()
                .to_string();
            assert!(err.contains(said), "{err}");
        }
        let bytes = Dataset {
            images: Tensor::zeros([12, 1, 28, 28], (Kind::Uint8, Device::Cpu)),
            ..labelled(good.shallow_clone())
        };
        let err = Trainer::new(config.clone(), bytes).unwrap_err().to_string();
        assert!(err.contains("must be floats"), "{err}");

        let trainer = Trainer::new(config, labelled(good)).unwrap();
        let z = Tensor::randn([2, 100], cpu);
        let int32 = Tensor::from_slice(&[0i32, 2]);
        assert!(
            trainer.generate_from(&z, Some(&int32)).is_ok(),
            "int32 class numbers are fine"
        );
        for (labels, said) in [
            (Tensor::from_slice(&[0i64, 3]), "must lie in 0..3"),
            (Tensor::from_slice(&[0.0f32, 1.0]), "must be class numbers"),
            (Tensor::from_slice(&[0i64, 1, 2]), "one class per row of z"),
        ] {
            let err = trainer
                .generate_from(&z, Some(&labels))
                .unwrap_err()
                .to_string();
            assert!(err.contains(said), "{err}");
        }
    }

    #[test]
    fn a_patchgan_that_cannot_read_the_pairs_is_refused() {
        let unet = UnetConfig {
            image_size: 64,
            in_channels: 1,
            out_channels: 3,
            width: 8,
            dropout: 0.5,
            ..Default::default()
        };
        let config = TrainConfig::pix2pix(unet, PatchGanConfig::default()); // 6 channels
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("in_channels to 4"), "{err}");
    }
}
