//! The `gans` command: the course's code without Jupyter. Every subcommand calls the library
//! (`gans::train`, `gans::metrics`) through this program's own modules: `spec` (datasets and
//! models by name, each paper's settings), `folder` (run folders), `drive` (training to a step
//! with checkpoints), `signals` (Ctrl-C, SIGTERM and SIGHUP) and `output` (results on stdout,
//! progress on stderr, and a closed pipe that ends the printing, not the run). There is no second
//! training loop here.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{Context, Result, bail, ensure};
use clap::{Parser, Subcommand};
use gans::data::Split;
use gans::metrics;
use gans::prelude::*;
// First: its `say!` and `note!` are used by the modules below.
#[macro_use]
mod output;
mod drive;
mod folder;
mod signals;
mod spec;

use drive::Ended;
use folder::{RunFolder, RunInfo};
use gans::train::registry;
use gans::train::{LinearDecay, ModelConfig, TrainData};
use spec::{DataSpec, ModelKind};

#[derive(Parser)]
#[command(
    name = "gans",
    version,
    about = "Generative Adversarial Networks, the course's code on the command line"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a model into a run folder (config, checkpoints, charts, samples, snapshot GIF).
    Train(Box<TrainArgs>),
    /// Generate samples from a run as a PNG grid or a NumPy .npy array (uint8, N×H×W×C).
    Sample {
        /// The run folder (or its checkpoint/ folder).
        #[arg(long)]
        checkpoint: PathBuf,
        /// How many samples (Pix2Pix: how many held-out inputs to translate).
        #[arg(long, default_value_t = 64, allow_negative_numbers = true, value_parser = at_least_one)]
        n: usize,
        /// Output file: .png for a grid, .npy for the array. Not inside the dataset or another
        /// run's folder, nor in place of a file `gans train` writes in this run's folder.
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[arg(long, default_value = "auto")]
        device: String,
        /// Replace --out if that file exists already.
        #[arg(long)]
        force: bool,
    },
    /// Score a run: Fréchet distance, KID, coverage and label accuracy beside the real-data
    /// floor; modes covered for the rings; L1, PSNR and SSIM for Pix2Pix.
    Eval {
        /// The run folder (or its checkpoint/ folder).
        #[arg(long)]
        checkpoint: PathBuf,
        /// Samples to score, at least 50 (capped at the test split's size).
        #[arg(long, default_value_t = 1000, allow_negative_numbers = true, value_parser = at_least_one)]
        n: usize,
        #[arg(long, default_value = "auto")]
        device: String,
    },
    /// Which device training would use, the libtorch in use, and which datasets are installed.
    Info {
        /// Device to check: auto, cpu, cuda or cuda:N.
        #[arg(long, default_value = "auto")]
        device: String,
    },
}

#[derive(clap::Args)]
struct TrainArgs {
    /// The model: one of the course's (the library's registry), each taught by a notebook.
    #[arg(value_enum, required_unless_present = "resume")]
    model: Option<ModelKind>,
    /// A dataset name (mnist, fashion-mnist, letters, emoji, emoji-faces, ring, grid,
    /// edges2emoji, edges2fashion) or a folder of images (pix2pix: of A|B pictures).
    #[arg(long, required_unless_present = "resume")]
    dataset: Option<String>,
    /// Train until this generator step.
    #[arg(long, conflicts_with = "epochs", allow_negative_numbers = true, value_parser = at_least_one)]
    steps: Option<usize>,
    /// Train for this many passes over the data.
    #[arg(long, allow_negative_numbers = true, value_parser = at_least_one)]
    epochs: Option<usize>,
    #[arg(long, allow_negative_numbers = true, value_parser = at_least_one)]
    batch_size: Option<usize>,
    /// Learning rate of both G and D (default: the preset's). With --resume: from now on.
    #[arg(long, allow_hyphen_values = true)]
    lr: Option<f64>,
    #[arg(long)]
    seed: Option<u64>,
    /// Feature maps of the conv models' widest layer (64 in the papers).
    #[arg(long)]
    width: Option<i64>,
    /// Image side where the data allows a choice (letters, emoji, folders).
    #[arg(long)]
    image_size: Option<u32>,
    /// auto (CUDA when there is a GPU), cpu, cuda or cuda:N.
    #[arg(long, default_value = "auto")]
    device: String,
    /// The run folder to create.
    #[arg(long, required_unless_present = "resume", conflicts_with = "resume")]
    out: Option<PathBuf>,
    /// Continue the run in this folder exactly where its checkpoint left it (to --steps, or
    /// to the run's own target).
    #[arg(long)]
    resume: Option<PathBuf>,
    /// Delete a non-empty --out folder and start over.
    #[arg(long)]
    force: bool,
    /// Save a checkpoint and the figures every this many steps (500 for a new run; with
    /// --resume, from now on).
    #[arg(long, allow_negative_numbers = true, value_parser = at_least_one)]
    checkpoint_every: Option<usize>,
    /// Without a terminal (logs, CI): print a line of progress every this many steps.
    #[arg(long, default_value_t = 100)]
    print_every: usize,
    /// Which settings: the model's paper's, or (dcgan) the course's fast-ema preset of notebook 06
    /// (Adam 1e-3 and a moving average of G: measured better at the same step cost). Default:
    /// fast-ema for dcgan, paper for the other models.
    #[arg(long, value_enum)]
    preset: Option<Preset>,
    /// The precision of the step's convolutions and matrix products: fp32, or bf16 (bfloat16
    /// products and activations; weights, optimisers and losses fp32) on a CPU with avx512_bf16
    /// or AMX.
    #[arg(long, value_enum)]
    precision: Option<Precision>,
    #[command(flatten)]
    remedies: RemedyArgs,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Preset {
    /// The paper's settings (DCGAN, WGAN, WGAN-GP, Pix2Pix, …).
    Paper,
    /// The course's fast-EMA DCGAN (`TrainConfig::fast_ema`): Adam 1e-3 for G and D and samples
    /// from a moving average of G, measured better at the same step cost. (Once named `tuned`.)
    #[value(alias = "tuned")]
    FastEma,
}

/// The remedies of notebook 06, each a switch on top of the model's settings.
#[derive(clap::Args)]
struct RemedyArgs {
    /// D's learning rate, apart from G's (two time-scale update rule, Heusel et al. 2017).
    /// With --resume: from now on.
    #[arg(long, allow_hyphen_values = true)]
    lr_d: Option<f64>,
    /// Sample from a moving average of G's weights with this decay (e.g. 0.999).
    #[arg(long, allow_hyphen_values = true)]
    ema: Option<f64>,
    /// Spectral normalisation of D's layers (Miyato et al. 2018).
    #[arg(long)]
    spectral_norm: bool,
    /// The hinge loss instead of the BCE game (Lim & Ye 2017).
    #[arg(long)]
    hinge: bool,
    /// R1 penalty on real data with this γ (Mescheder et al. 2018; e.g. 1).
    #[arg(long, allow_hyphen_values = true)]
    r1: Option<f64>,
    /// The minibatch standard deviation before D's last layer (Karras et al. 2018).
    #[arg(long)]
    minibatch_std: bool,
    /// Differentiable augmentation of all D sees (Zhao et al. 2020), for small data.
    #[arg(long)]
    diff_augment: bool,
    /// One-sided label smoothing: D's target for real images instead of 1 (Salimans et al.
    /// 2016: 0.9).
    #[arg(long, allow_hyphen_values = true)]
    real_label: Option<f64>,
}

impl RemedyArgs {
    fn remedies(&self) -> gans::train::Remedies {
        gans::train::Remedies {
            lr_d: self.lr_d,
            ema: self.ema,
            spectral_norm: self.spectral_norm,
            hinge: self.hinge,
            r1_gamma: self.r1,
            minibatch_std: self.minibatch_std,
            diff_augment: self.diff_augment,
            real_label: self.real_label,
        }
    }
}

/// A count given on the command line: a whole number, at least 1.
fn at_least_one(text: &str) -> std::result::Result<usize, String> {
    match text.trim().parse::<i128>() {
        Ok(n) if n >= 1 && n <= usize::MAX as i128 => Ok(n as usize),
        Ok(_) => Err(format!(
            "{text} is not allowed here: give a whole number of at least 1"
        )),
        Err(_) => Err(format!(
            "{text} is not a whole number: give one of at least 1, e.g. 64"
        )),
    }
}

fn main() {
    let code = match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            note!("error: {e:#}");
            1
        }
    };
    std::process::exit(code);
}

fn run(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Train(args) => train(*args),
        Command::Sample {
            checkpoint,
            n,
            out,
            seed,
            device,
            force,
        } => sample(&checkpoint, n, &out, seed, &device, force).map(|_| 0),
        Command::Eval {
            checkpoint,
            n,
            device,
        } => eval(&checkpoint, n, &device).map(|_| 0),
        Command::Info { device } => info(&device).map(|_| 0),
    }
}

/// Exit status after Ctrl-C (128 + SIGINT), as shells report it; SIGTERM gives 143 and SIGHUP
/// 129 (see `signals`).
const INTERRUPTED: i32 = 130;

/// `gans train`: progress on stderr (a bar on a terminal, a line every `--print-every` steps
/// otherwise), the outcome on stdout. Exit status 0 once the target is reached; after a signal,
/// 128 + its number with a checkpoint saved (130 for Ctrl-C); 1 on an error.
fn train(args: TrainArgs) -> Result<i32> {
    let device = pick_device(&args.device)?;
    let (folder, mut trainer, run) = match &args.resume {
        Some(dir) => resume(dir, &args, device)?,
        None => start(&args, device)?,
    };
    // From here on the folder holds a run that loads: a signal saves it and stops (see
    // `signals`). Until now a signal ended the command at once, by its default action: nothing
    // had trained, and a folder half made is put right by the next command that opens it.
    signals::install()?;
    let (target, checkpoint_every) = (run.target_steps, run.checkpoint_every);
    note!(
        "gans: {} on {}, step {} → {target}, run folder {}",
        run.model,
        trainer.data().info().name,
        trainer.steps_done(),
        folder.dir.display()
    );
    if trainer.steps_done() >= target {
        say!(
            "gans: the run is already at step {} (target {target}); pass a larger --steps to go on",
            trainer.steps_done()
        );
        return Ok(0);
    }

    let bar = indicatif::ProgressBar::new(target as u64).with_position(trainer.steps_done() as u64);
    let terminal = std::io::stderr().is_terminal();
    if terminal {
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg} (eta {eta})")
                .expect("a valid template"),
        );
    } else {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let print_every = args.print_every;
    let ended = drive::drive(
        &mut trainer,
        &folder,
        target,
        checkpoint_every,
        &signals::STOP,
        |t, rate| {
            bar.set_position(t.steps_done() as u64);
            let line = t.progress(rate, target.saturating_sub(t.steps_done()));
            if terminal {
                bar.set_message(line);
            } else if print_every > 0 && t.steps_done().is_multiple_of(print_every) {
                note!("{line}");
            }
        },
    );
    bar.finish_and_clear();
    let step = trainer.steps_done();
    match ended? {
        Ended::Finished => {
            say!(
                "gans: done: step {step} in {:.1} s of training; {} in {}",
                trainer.seconds(),
                folder.written(&trainer),
                folder.dir.display()
            );
            Ok(0)
        }
        Ended::Interrupted => {
            let (signal, code) = signals::received().unwrap_or(("a signal", INTERRUPTED));
            say!(
                "gans: interrupted at step {step} by {signal}; checkpoint saved. Continue with \
                 `gans train --resume {}`",
                folder.dir.display()
            );
            Ok(code)
        }
    }
}

/// The device named by `--device`, said on stderr (see [`device_named`]).
fn pick_device(name: &str) -> Result<Device> {
    let device = device_named(name)?;
    note!("gans: {}", describe(device));
    Ok(device)
}

/// The device named by `--device`: `auto` is the library's choice (the first CUDA GPU, else the
/// CPU), made here without `gans::device()`, which prints its line on stdout for the notebooks
/// (and would panic there on a closed pipe); the other names as `parse_device` reads them.
fn device_named(name: &str) -> Result<Device> {
    if name.trim().eq_ignore_ascii_case("auto") {
        Ok(if gans::device::cuda_available() {
            Device::Cuda(0)
        } else {
            Device::Cpu
        })
    } else {
        parse_device(name)
    }
}

/// A new run: data, the model's paper settings with the flags applied, the folder. Everything
/// is checked before the folder is touched.
fn start(args: &TrainArgs, device: Device) -> Result<(RunFolder, Trainer, RunInfo)> {
    let model = args
        .model
        .context("name a model, e.g. `gans train dcgan`")?;
    let dataset = args.dataset.as_deref().context("--dataset is needed")?;
    let out = args.out.as_ref().context("--out runs/NAME is needed")?;
    let spec = DataSpec::parse(dataset, model, args.image_size)?;
    // The folder first (cheap), then the data, the model and the settings; nothing is written
    // until all of them are known to be good.
    RunFolder::check_new(out, args.force, spec.folder())?;
    let data = spec.load(Split::Train, device)?;
    let preset = match args.preset {
        Some(Preset::Paper) => registry::Preset::Paper,
        Some(Preset::FastEma) => registry::Preset::FastEma,
        None => model.0.default_preset(),
    };
    let mut config = model.0.config(&data, args.width, preset)?;
    if let Some(b) = args.batch_size {
        config.batch_size = b;
    }
    if let Some(lr) = args.lr {
        warn_if_large(lr, &config);
        config = config.lr(lr, lr);
    }
    if let Some(seed) = args.seed {
        config.seed = seed;
    }
    if let Some(precision) = args.precision {
        gans::precision::check_supported(precision, device)?;
        config.precision = precision;
    }
    let mut config = config
        .with_remedies(&args.remedies.remedies())
        .map_err(in_flag_terms)?;
    let target = match (args.steps, args.epochs) {
        (Some(steps), _) => steps,
        (None, Some(epochs)) => spec::steps_for_epochs(epochs, &config, &data)?,
        (None, None) => bail!("say how long to train: --steps N or --epochs N"),
    };
    let max = gans::train::MAX_STEPS;
    ensure!(
        target <= max,
        "--steps {target} is more than gans trains in one run ({max}): give a smaller number \
         (the course's runs take 1,000 to 20,000 steps)"
    );
    config.snapshot_every = spec::snapshot_every(target, config.log_every);
    if let ModelConfig::CycleGan(_) = config.model {
        // The CycleGAN paper's schedule: constant, then down to 0 over the second half.
        config.lr_decay = Some(LinearDecay::second_half_of(target));
    }
    let trainer = Trainer::new(config, data).map_err(in_flag_terms)?;
    let run = RunInfo::new(model, spec, target, args.checkpoint_every.unwrap_or(500));
    let folder = RunFolder::create(out, args.force, &run, &trainer)?;
    Ok((folder, trainer, run))
}

/// The library names the settings by their fields (`r1_gamma`, `Norm::Layer`), which a learner
/// sets in a notebook; the flags set them here, so a refusal of a new run names the flags.
const FLAG_TERMS: [(&str, &str); 8] = [
    (
        "give D Norm::Layer, Norm::None or spectral norm for r1_gamma > 0",
        "add --spectral-norm to use --r1 (it takes batch norm out of D), or train wgan-gp, whose \
         critic has layer norm",
    ),
    ("set diff_augment to false", "leave out --diff-augment"),
    ("real_label = ", "--real-label "),
    ("r1_gamma = ", "--r1 "),
    ("ema = ", "--ema "),
    ("lr_g = ", "--lr "),
    ("lr_d = ", "--lr-d "),
    ("a batch_size of", "a --batch-size of"),
];

fn in_flag_terms(e: anyhow::Error) -> anyhow::Error {
    let text = format!("{e:#}");
    let flags = FLAG_TERMS
        .iter()
        .fold(text.clone(), |t, (field, flag)| t.replace(field, flag));
    match flags == text {
        true => e,
        false => anyhow::anyhow!(flags),
    }
}

/// A learning rate ten times the paper's or more trains, if at all, only by luck: say so.
fn warn_if_large(lr: f64, config: &TrainConfig) {
    let preset = gans::train::lr_of(config.opt_g);
    if lr.is_finite() && lr >= 10.0 * preset {
        note!(
            "gans: warning: a learning rate of {lr} is {:.0} times this run's preset {preset}; \
             GANs usually diverge at such rates (a NaN stops the run with its last good \
             checkpoint)",
            lr / preset
        );
    }
}

/// An existing run from its checkpoint; only the length and the learning rate may change.
fn resume(
    dir: &PathBuf,
    args: &TrainArgs,
    device: Device,
) -> Result<(RunFolder, Trainer, RunInfo)> {
    for (given, flag) in [
        (args.model.is_some(), "a model"),
        (args.dataset.is_some(), "--dataset"),
        (args.batch_size.is_some(), "--batch-size"),
        (args.seed.is_some(), "--seed"),
        (args.width.is_some(), "--width"),
        (args.image_size.is_some(), "--image-size"),
        (args.epochs.is_some(), "--epochs"),
        (args.force, "--force"),
        (args.preset.is_some(), "--preset"),
        (args.precision.is_some(), "--precision"),
        (
            gans::train::Remedies {
                lr_d: None,
                ..args.remedies.remedies()
            } != gans::train::Remedies::default(),
            "--ema, --spectral-norm, --hinge, --r1, --minibatch-std, --diff-augment and \
             --real-label",
        ),
    ] {
        ensure!(
            !given,
            "--resume continues a run with its own settings (see {}): leave out {flag}",
            dir.join("config.json").display()
        );
    }
    let folder = RunFolder::open_to_train(dir)?;
    let (mut trainer, mut run) = folder.load_trainer(device)?;
    // config.json may be edited: new learning rates there are honoured, anything else refused.
    let edited = folder.edited_learning_rates(&trainer)?;
    // --lr sets both rates, --lr-d D's alone (after --lr): a run with its own D rate keeps it
    // unless told otherwise. The flags win over config.json.
    let flags = args.lr.is_some() || args.remedies.lr_d.is_some();
    if flags || edited.is_some() {
        let config = trainer.config();
        let (old_g, old_d) = (
            gans::train::lr_of(config.opt_g),
            gans::train::lr_of(config.opt_d),
        );
        let (file_g, file_d) = edited.unwrap_or((old_g, old_d));
        let (lr_g, lr_d) = (
            args.lr.unwrap_or(file_g),
            args.remedies.lr_d.or(args.lr).unwrap_or(file_d),
        );
        let config_json = folder.dir.join("config.json");
        if edited.is_some() {
            note!(
                "gans: {} sets lr_g = {file_g} and lr_d = {file_d} (the checkpoint has {old_g} \
                 and {old_d}): training on with lr_g = {lr_g} and lr_d = {lr_d}{}",
                config_json.display(),
                if flags {
                    " (--lr and --lr-d win over the file)"
                } else {
                    ""
                }
            );
        }
        warn_if_large(lr_g.max(lr_d), config);
        trainer.set_lr(lr_g, lr_d).with_context(|| match flags {
            true => format!(
                "--lr {lr_g} / --lr-d {lr_d}: the run in {} is unchanged",
                dir.display()
            ),
            false => format!(
                "the learning rates in {}: put back a positive number such as 2e-4; the run in \
                 {} is unchanged",
                config_json.display(),
                dir.display()
            ),
        })?;
    }
    let max = gans::train::MAX_STEPS;
    for (flag, value) in [
        ("--steps", args.steps),
        ("--checkpoint-every", args.checkpoint_every),
    ] {
        ensure!(
            value.is_none_or(|v| v <= max),
            "{flag} {}: more than gans trains in one run ({max}); give a smaller number",
            value.unwrap_or_default()
        );
    }
    let steps = args.steps.filter(|&s| s != run.target_steps);
    let every = args.checkpoint_every.filter(|&e| e != run.checkpoint_every);
    if steps.is_some() || every.is_some() {
        // config.json follows the checkpoint (a new learning rate lands with the next one).
        run.target_steps = steps.unwrap_or(run.target_steps);
        run.checkpoint_every = every.unwrap_or(run.checkpoint_every);
        folder.write_run(&run)?;
    }
    Ok((folder, trainer, run))
}

/// `gans sample`: the file `--out` is checked before the model is loaded and again before it is
/// written (see [`RunFolder::check_sample_out`]).
fn sample(
    checkpoint: &PathBuf,
    n: usize,
    out: &PathBuf,
    seed: u64,
    device: &str,
    force: bool,
) -> Result<()> {
    ensure!(n > 0, "--n must be at least 1");
    let extension = out
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    let npy = match extension.as_deref() {
        Some("npy") => true,
        Some("png") => false,
        _ => bail!(
            "--out {}: end the file name in .png (a grid) or .npy (a NumPy array)",
            out.display()
        ),
    };
    ensure!(
        npy || n <= MAX_GRID,
        "--n {n}: a grid of more than {MAX_GRID} pictures is too large to look at, and to hold \
         in memory: use --n {MAX_GRID} or fewer for a .png, or write any number to a NumPy \
         array (--out samples.npy), which is drawn and written {SAMPLE_BATCH} at a time"
    );
    let folder = RunFolder::open(checkpoint)?;
    // The folders whose files are training data: the run's own dataset folder, and the course's
    // data folder (its datasets and cached classifiers).
    let info = folder.read_info()?;
    let course_data = gans::data::data_dir();
    let mut datasets: Vec<(&std::path::Path, String)> = Vec::new();
    if let Some(data) = info.dataset.folder() {
        let shown = format!("the dataset folder {} of this run", data.display());
        datasets.push((data, shown));
    }
    datasets.push((
        course_data.as_path(),
        format!(
            "the course's data folder {} (its datasets and cached classifiers; GANS_DATA_DIR \
             sets it)",
            course_data.display()
        ),
    ));
    folder.check_sample_out(out, force, &datasets)?;
    let (trainer, info) = folder.load_for_sampling(pick_device(device)?)?;
    tch::manual_seed(seed as i64);
    let pix2pix = trainer.config().model.model().input_shape().is_some();
    if trainer.config().model.makes_points() {
        bail!("the ring's model makes 2-D points, not images: see samples.svg in the run folder");
    }
    // The samples of a .npy file are drawn and written a batch at a time, straight into the
    // file (which appears whole once they all are): memory stays one batch, whatever --n.
    if npy && !pix2pix {
        let shape = trainer.config().model.model().example_shape();
        let [c, h, w] = shape[..] else {
            bail!("this model makes examples of shape {shape:?}, not images");
        };
        write_here(&folder, out, force, &datasets)?;
        metrics::save_npy_batches(out, n, [c, h, w], |file| {
            metrics::sample_batches(&trainer, n, SAMPLE_BATCH, |images, _| file.write(&images))
        })?;
        return sampled(n, false, &trainer, out);
    }
    let (images, grid) = if pix2pix {
        let (inputs, targets) = test_inputs(info.dataset.load(Split::Test, trainer.device())?)?;
        let n = n.min(inputs.size()[0] as usize) as i64;
        let inputs = inputs.narrow(0, 0, n);
        let outputs = trainer.translate(&inputs)?;
        let grid = match targets {
            Some(targets) => compare(
                &[&inputs, &outputs, &targets.narrow(0, 0, n)],
                n as usize,
                2,
                1,
            )?,
            None => compare(&[&inputs, &outputs], n as usize, 4, 1)?,
        };
        (outputs, grid)
    } else {
        let (images, _) = metrics::samples_with_labels_by(&trainer, n, SAMPLE_BATCH)?;
        let per_row = match trainer.config().model.n_classes() {
            0 => gans::viz::square_columns(n),
            k => k as usize,
        };
        let scale = if images.size()[2] <= 32 { 2 } else { 1 };
        let grid = image_grid(&images, per_row, scale)?;
        (images, grid)
    };
    // Again: a file may have appeared there while the samples were drawn.
    write_here(&folder, out, force, &datasets)?;
    if npy {
        metrics::save_npy(&images, out)?;
    } else {
        grid.save(out)?;
    }
    sampled(images.size()[0] as usize, pix2pix, &trainer, out)
}

/// Samples at most this many at a time: `gans sample`'s memory is one batch for a .npy file.
const SAMPLE_BATCH: usize = 256;
/// The most pictures `gans sample` puts in one grid (a 100×100 grid: 5,600 pixels a side for
/// 28×28 images); a .npy file takes any number.
const MAX_GRID: usize = 10_000;

/// Checks `out` once more (see [`RunFolder::check_sample_out`]) and creates its folder.
fn write_here(
    folder: &RunFolder,
    out: &std::path::Path,
    force: bool,
    datasets: &[(&std::path::Path, String)],
) -> Result<()> {
    folder.check_sample_out(out, force, datasets)?;
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    Ok(())
}

/// Says what `gans sample` wrote.
fn sampled(count: usize, pix2pix: bool, trainer: &Trainer, out: &std::path::Path) -> Result<()> {
    say!(
        "gans: {count} {} from step {} written to {}",
        if pix2pix { "translations" } else { "samples" },
        trainer.steps_done(),
        out.display()
    );
    Ok(())
}

fn eval(checkpoint: &PathBuf, n: usize, device: &str) -> Result<()> {
    ensure!(
        n >= 50,
        "--n {n}: a Fréchet distance from fewer than 50 samples means little; use --n 50 or more \
         (1000 by default)"
    );
    let folder = RunFolder::open(checkpoint)?;
    let (trainer, info) = folder.load_for_sampling(pick_device(device)?)?;
    let dev = trainer.device();
    say!(
        "gans: {} on {} at step {}",
        info.model,
        info.dataset.name(),
        trainer.steps_done()
    );
    tch::manual_seed(0);
    let model = &trainer.config().model;
    if model.makes_points() {
        say!("{}", trainer.mode_report(n.max(100))?);
    } else if model.model().input_shape().is_some() {
        let (inputs, targets) = test_inputs(info.dataset.load(Split::Test, dev)?)?;
        let targets = targets.with_context(|| {
            format!(
                "the test pictures of {} have no true counterparts to score translations \
                 against: look at them with `gans sample`",
                info.dataset.name()
            )
        })?;
        let outputs = trainer.translate_all(&inputs)?;
        say!(
            "{} held-out pairs: L1 {:.4}, PSNR {:.2} dB, SSIM {:.3}",
            inputs.size()[0],
            metrics::image::l1(&outputs, &targets)?,
            metrics::image::psnr(&outputs, &targets)?,
            metrics::image::ssim(&outputs, &targets)?
        );
    } else {
        let data = trainer.data().info();
        ensure!(
            metrics::classifier::course_classifier(&data.name, &data.shape).is_some(),
            "there is no feature classifier for {} (the crate has them for mnist, fashion-mnist, \
             letters at 28 and emoji at 32 and 64): export samples with `gans sample --out \
             samples.npy` and score them with your own tools",
            info.dataset.name()
        );
        let classifier = metrics::classifier::for_data(&data.name, &data.shape, dev)?;
        let TrainData::Images(test) = info.dataset.load(Split::Test, dev)? else {
            bail!("an image run has an image test split");
        };
        // The training split gives the real-data floor beside each score.
        let TrainData::Images(train) = info.dataset.load(Split::Train, dev)? else {
            bail!("an image run has an image training split");
        };
        // Seeded again here: training a missing classifier above drew from the same generator,
        // and the samples must not depend on whether the cache was there.
        tch::manual_seed(0);
        say!(
            "{}",
            metrics::evaluate(&trainer, &classifier, &train, &test, n)?
        );
    }
    Ok(())
}

/// The held-out inputs of a model that translates, and their true targets where known.
fn test_inputs(data: TrainData) -> Result<(tch::Tensor, Option<tch::Tensor>)> {
    match data {
        TrainData::Pairs(test) => Ok((test.inputs, Some(test.targets))),
        TrainData::Unpaired(test) => {
            let truth = test.aligned.then_some(test.b);
            Ok((test.a, truth))
        }
        other => bail!("{} holds no input pictures to translate", other.info().name),
    }
}

/// Reads one split of a dataset, and says how many examples it holds.
type LoadSplit = fn(Split) -> Result<usize>;

/// `gans info`: its whole report is its result, on stdout.
fn info(device_name: &str) -> Result<()> {
    say!("gans {}", env!("CARGO_PKG_VERSION"));
    let in_use = gans::device::torch_lib_dir_in_use();
    let in_use = in_use.as_ref().map(|p| p.display().to_string());
    say!(
        "libtorch in use: {}",
        in_use.as_deref().unwrap_or("unknown")
    );
    say!("libtorch at build time: {}", gans::device::TORCH_LIB_DIR);
    say!("CUDA backend: {:?}", gans::device::load_cuda());
    say!("tch::Cuda::is_available(): {}", tch::Cuda::is_available());
    say!("CUDA devices: {}", tch::Cuda::device_count());
    let device = device_named(device_name)?;
    say!("gans: {}", describe(device));
    // A real operation on the chosen device, so that "available" means "works".
    let x = Tensor::randn([256, 256], (Kind::Float, device));
    let y = x.matmul(&x.transpose(0, 1)).trace().double_value(&[]);
    say!("check: trace(x xᵀ) of a 256×256 normal matrix on {device:?} = {y:.1} (≈ 65536)");
    say!("data folder: {}", data::data_dir().display());
    // Each dataset is read, both splits, so that "installed" means "loads".
    let checks: [(&str, LoadSplit); 4] = [
        ("mnist", |split| {
            Ok(data::mnist::load(split, Device::Cpu)?.len())
        }),
        ("fashion-mnist", |split| {
            Ok(data::fashion_mnist::load(split, Device::Cpu)?.len())
        }),
        ("emoji", |split| {
            let options = data::emoji::EmojiOptions::default();
            Ok(data::emoji::load(split, &options, Device::Cpu)?.len())
        }),
        ("fonts", |split| {
            let options = data::letters::LetterOptions::default();
            Ok(data::letters::load(split, &options, Device::Cpu)?.len())
        }),
    ];
    for (name, load) in checks {
        let read = load(Split::Train).and_then(|train| Ok((train, load(Split::Test)?)));
        let state = match (data::data_dir().join(name).exists(), read) {
            (_, Ok((train, test))) => {
                format!("installed ({train} training and {test} test examples read)")
            }
            (false, Err(_)) => "missing (run `make data`)".into(),
            (true, Err(e)) => match format!("{e:#}") {
                e if e.contains("make data") => format!("damaged: {e}"),
                e => format!("damaged: {e}. Run `make data` again to install it afresh"),
            },
        };
        say!("  {name:<14} {state}");
    }
    Ok(())
}

/// A fresh, empty folder for one test's files, unique to this process.
#[cfg(test)]
fn test_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gans-cli-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("creating a test folder under the temp dir");
    dir
}
