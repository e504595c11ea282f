//! Hostile input against the `gans` command, as a new user would try it: nothing a user has is
//! lost (old runs, their own files, the data), and every refusal names the value or file, what
//! is wrong and what to do. Each case is a row of docs/reliability.md.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use gans::train::Trainer;
use tch::Device;

mod common;
use common::{gans, ok, spawn_training, text};

fn scratch(name: &str) -> PathBuf {
    common::scratch("reliability", name)
}

/// The command failed with exit status 1 and said every one of `needles` on stderr.
fn refused(output: &Output, needles: &[&str]) {
    let message = text(&output.stderr);
    // 1: refused by gans; 2: refused by the argument parser.
    assert!(matches!(output.status.code(), Some(1 | 2)), "{message}");
    assert!(!message.contains("panicked"), "{message}");
    for needle in needles {
        assert!(message.contains(needle), "no `{needle}` in:\n{message}");
    }
}

/// `n` random colour pictures of `side`×`side` pixels in `dir`.
fn pictures(dir: &Path, n: usize, side: u32) {
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..n {
        let picture = image::RgbImage::from_fn(side, side, |x, y| {
            let v = ((x * 37 + y * 11 + i as u32 * 53) % 256) as u8;
            image::Rgb([v, v / 2, 255 - v])
        });
        picture.save(dir.join(format!("{i:03}.png"))).unwrap();
    }
}

/// `gans train MODEL` on a folder of 28×28 pictures, a few steps of a narrow model.
fn train_folder(model: &str, data: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "train",
        model,
        "--dataset",
        data.to_str().unwrap(),
        "--image-size",
        "28",
        "--device",
        "cpu",
        "--out",
        out.to_str().unwrap(),
    ];
    if !extra.contains(&"--batch-size") {
        args.extend_from_slice(&["--batch-size", "4"]);
    }
    if !extra.contains(&"--steps") && !extra.contains(&"--epochs") {
        args.extend_from_slice(&["--steps", "2"]);
    }
    if model != "vanilla" {
        args.extend_from_slice(&["--width", "8"]);
    }
    args.extend_from_slice(extra);
    gans(&args)
}

fn ring(out: &Path, extra: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gans"));
    command
        .args(["train", "vanilla", "--dataset", "ring", "--device", "cpu"])
        .args(["--out", out.to_str().unwrap()])
        .args(extra);
    command
}

/// The run folder loads (from its checkpoint alone) and is at this step: `gans sample` (or, for
/// the rings, whose points make no picture, `gans eval`) opens it as the command does, finishing
/// an interrupted replacement if any, and loads it; then the library loads its checkpoint and
/// says the step.
fn loads_at(run: &Path) -> usize {
    let path = run.to_str().unwrap();
    let picture = run.with_extension("probe.png");
    let out = picture.to_str().unwrap();
    let mut probe = gans(&[
        "sample",
        "--checkpoint",
        path,
        "--n",
        "4",
        "--out",
        out,
        "--device",
        "cpu",
    ]);
    if text(&probe.stderr).contains("makes 2-D points, not images") {
        probe = gans(&["eval", "--checkpoint", path, "--n", "50", "--device", "cpu"]);
    }
    assert!(
        probe.status.success(),
        "{}: {}",
        run.display(),
        text(&probe.stderr)
    );
    let _ = std::fs::remove_file(&picture);
    let trainer = Trainer::load_without_data(run.join("checkpoint"), Device::Cpu)
        .unwrap_or_else(|e| panic!("{}: {e:#}", run.display()));
    trainer.steps_done()
}

/// `gans train --resume run` for `steps` more steps, which must land.
fn train_on(run: &Path, steps: usize, extra: &[&str]) {
    let target = (loads_at(run) + steps).to_string();
    let mut args = vec![
        "train",
        "--resume",
        run.to_str().unwrap(),
        "--steps",
        &target,
    ];
    args.extend_from_slice(extra);
    ok(&gans(&args));
    assert_eq!(loads_at(run).to_string(), target);
}

/// Hidden staging or replaced folders left beside `dir`.
fn leftovers(dir: &Path) -> Vec<String> {
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    std::fs::read_dir(dir.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&format!(".{name}.")))
        .collect()
}

#[test]
fn force_checks_everything_before_it_deletes_and_replaces_only_run_folders() {
    let dir = scratch("force");
    let data = dir.join("pictures");
    pictures(&data, 24, 28);
    let run = dir.join("run");
    ok(&train_folder("vanilla", &data, &run, &[]));
    assert_eq!(loads_at(&run), 2);

    // A batch larger than the data: refused before the old run is touched.
    let out = train_folder(
        "vanilla",
        &data,
        &run,
        &["--force", "--batch-size", "100000"],
    );
    refused(&out, &["batch_size 100000 is larger than", "(24 examples)"]);
    assert_eq!(loads_at(&run), 2);
    assert!(leftovers(&run).is_empty(), "{:?}", leftovers(&run));

    // A folder of the user's own files, a plain file: never deleted, with or without --force.
    let thesis = dir.join("thesis");
    std::fs::create_dir_all(&thesis).unwrap();
    std::fs::write(thesis.join("thesis.txt"), "four years").unwrap();
    let out = train_folder("vanilla", &data, &thesis, &["--force"]);
    refused(&out, &["not a run folder", "nothing was deleted"]);
    assert_eq!(
        std::fs::read_to_string(thesis.join("thesis.txt")).unwrap(),
        "four years"
    );
    let file = dir.join("notes.txt");
    std::fs::write(&file, "mine").unwrap();
    let out = train_folder("vanilla", &data, &file, &["--force"]);
    refused(&out, &["is a file, not a folder"]);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "mine");

    // A run folder that also holds the user's file, a hidden one, or a backup inside its
    // checkpoint/: --force would delete them, so it refuses, naming them.
    for (extra, named) in [
        ("my-notes.md", "`my-notes.md`"),
        (".notes", "`.notes`"),
        (
            "checkpoint/step-1000.safetensors",
            "`checkpoint/step-1000.safetensors`",
        ),
    ] {
        std::fs::write(run.join(extra), "keep").unwrap();
        let out = train_folder("vanilla", &data, &run, &["--force"]);
        refused(&out, &[named, "nothing was deleted"]);
        assert_eq!(loads_at(&run), 2);
        std::fs::remove_file(run.join(extra)).unwrap();
    }

    // The dataset itself, a folder holding it, a folder inside it: refused.
    let out = train_folder("vanilla", &data, &data, &["--force"]);
    refused(&out, &["the dataset folder"]);
    let out = train_folder("vanilla", &data, &dir, &["--force"]);
    refused(&out, &["holds the dataset folder"]);
    let out = train_folder("vanilla", &data, &data.join("run"), &[]);
    refused(
        &out,
        &["inside the dataset folder", "would become training data"],
    );
    assert_eq!(std::fs::read_dir(&data).unwrap().count(), 24);

    // --force on a real run folder replaces it, and leaves nothing hidden behind.
    ok(&train_folder(
        "vanilla",
        &data,
        &run,
        &["--force", "--steps", "3"],
    ));
    assert_eq!(loads_at(&run), 3);
    assert!(leftovers(&run).is_empty(), "{:?}", leftovers(&run));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A ring run that trains until it is stopped, saving a checkpoint every 10 steps (every chunk)
/// and printing a progress line as often.
const ENDLESS: [&str; 6] = [
    "--steps",
    "100000000",
    "--checkpoint-every",
    "1",
    "--print-every",
    "10",
];

/// A pseudo-random number in 0..n from a seed (the test prints its seed).
fn lcg(state: &mut u64, n: u64) -> u64 {
    *state = state
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    (*state >> 33) % n
}

#[test]
fn a_kill_at_any_moment_leaves_a_run_that_loads() {
    let dir = scratch("kill");
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    println!("delays drawn from seed {seed}");
    let mut state = seed;
    let run = dir.join("run");
    let mut loaded = 0;
    for attempt in 0..10 {
        // A new run or a resumed one, each saving a checkpoint (and its figures) every 10
        // steps; every third attempt is killed at once, while the run folder is being made.
        let resume = attempt % 2 == 1 && run.join("run.json").is_file();
        let early = attempt % 3 == 0;
        let mut command = if resume {
            let mut c = Command::new(env!("CARGO_BIN_EXE_gans"));
            c.args(["train", "--resume", run.to_str().unwrap()]).args([
                "--steps",
                "100000000",
                "--print-every",
                "10",
            ]);
            c
        } else {
            ring(&run, &[&ENDLESS[..], &["--force"]].concat())
        };
        // Unless early, wait for the first progress line: training has begun.
        let mut training = spawn_training(&mut command, !early);
        let delay = Duration::from_millis(lcg(&mut state, if early { 600 } else { 800 }));
        std::thread::sleep(delay);
        training.child.kill().unwrap(); // SIGKILL
        training.finish();
        println!(
            "attempt {attempt}: killed {delay:?} after {} (resume: {resume})",
            if early {
                "the start"
            } else {
                "the first progress line"
            }
        );
        let hidden_old = std::fs::read_dir(&dir).unwrap().any(|e| {
            e.unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(".run.old-")
        });
        if run.exists() || hidden_old {
            // (A kill between --force's two renames: opening the run moves it back.)
            let step = loads_at(&run);
            println!("  the run loads at step {step}");
            loaded += 1;
        } else {
            println!("  killed before the run folder was moved into place: no folder");
        }
    }
    assert!(
        loaded >= 6,
        "only {loaded} of 10 kills left a folder to load"
    );
    // And it trains on from whatever it holds.
    train_on(&run, 10, &[]);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// While a command trains into a run folder, no other command may replace it or train into it.
#[test]
fn a_run_in_use_is_left_alone() {
    let dir = scratch("busy");
    let run = dir.join("run");
    let mut training = spawn_training(&mut ring(&run, &ENDLESS), true);
    let out = ring(&run, &["--steps", "5", "--force"]).output().unwrap();
    refused(
        &out,
        &["in use by another gans command", "nothing was changed"],
    );
    let out = gans(&["train", "--resume", run.to_str().unwrap(), "--steps", "5"]);
    refused(&out, &["in use by another gans command"]);
    // Reading it is fine.
    ok(&gans(&[
        "eval",
        "--checkpoint",
        run.to_str().unwrap(),
        "--n",
        "100",
    ]));
    training.child.kill().unwrap();
    training.finish();
    // Once it is gone, the folder is free; --checkpoint-every can change on --resume.
    train_on(&run, 20, &["--checkpoint-every", "7"]);
    let info = std::fs::read_to_string(run.join("run.json")).unwrap();
    assert!(info.contains("\"checkpoint_every\": 7"), "{info}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn learning_rates_that_are_not_are_refused_and_the_run_still_loads() {
    let dir = scratch("lr");
    let run = dir.join("run");
    ok(&ring(&run, &["--steps", "20"]).output().unwrap());
    for (lr, said) in [
        ("nan", "is not a learning rate"),
        ("0", "is not a learning rate"),
        ("-1e-4", "is not a learning rate"),
        ("1e9", "is too large"),
        ("inf", "is not a learning rate"),
    ] {
        let out = gans(&[
            "train",
            "--resume",
            run.to_str().unwrap(),
            "--steps",
            "40",
            "--lr",
            lr,
        ]);
        refused(&out, &[said, "is unchanged"]);
        assert_eq!(loads_at(&run), 20, "--lr {lr}");
    }
    // The run still trains on, at its own rate.
    ok(&gans(&[
        "train",
        "--resume",
        run.to_str().unwrap(),
        "--steps",
        "30",
    ]));
    assert_eq!(loads_at(&run), 30);
    // A new run with a rate ten times the paper's trains, with a warning.
    let out = ring(&dir.join("fast"), &["--steps", "10", "--lr", "0.05"])
        .output()
        .unwrap();
    ok(&out);
    assert!(
        text(&out.stderr).contains("50 times this run's preset"),
        "{}",
        text(&out.stderr)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn every_refusal_says_what_to_do() {
    let dir = scratch("answers");
    let data = dir.join("pictures");
    pictures(&data, 24, 28);
    let run = dir.join("run");
    let run_s = run.to_str().unwrap().to_string();

    let out = train_folder("vanilla", &data, &dir.join("e0"), &["--epochs", "0"]);
    refused(&out, &["0 is not allowed here", "at least 1"]);
    let out = train_folder("vanilla", &data, &dir.join("s"), &["--steps", "-3"]);
    refused(&out, &["-3 is not allowed here"]);

    // Tiny pictures are not blown up silently.
    let tiny = dir.join("tiny");
    pictures(&tiny, 8, 1);
    let out = train_folder("vanilla", &tiny, &dir.join("t"), &[]);
    refused(&out, &["1×1 is too small to make a 28×28 image"]);
    assert!(!dir.join("t").exists(), "no stub folder on refusal");

    // Pix2Pix offers only the sizes its U-Net has.
    let out = gans(&[
        "train",
        "pix2pix",
        "--dataset",
        data.to_str().unwrap(),
        "--image-size",
        "128",
        "--steps",
        "1",
        "--out",
        dir.join("p").to_str().unwrap(),
    ]);
    refused(&out, &["--image-size 128 is not available", "[64, 256]"]);

    // A WGAN names itself (on stderr, with the progress); sample and eval ask for numbers that
    // make sense.
    let wgan = dir.join("wgan");
    let out = train_folder("wgan", &data, &wgan, &[]);
    ok(&out);
    assert!(
        text(&out.stderr).contains("gans: wgan on"),
        "{}",
        text(&out.stderr)
    );
    ok(&train_folder("dcgan", &data, &run, &[]));
    let png = dir.join("x.png");
    let png_s = png.to_str().unwrap();
    let out = gans(&[
        "sample",
        "--checkpoint",
        &run_s,
        "--n",
        "-3",
        "--out",
        png_s,
    ]);
    refused(&out, &["-3 is not allowed here"]);
    let out = gans(&["eval", "--checkpoint", &run_s, "--n", "0"]);
    refused(&out, &["0 is not allowed here"]);
    let out = gans(&["eval", "--checkpoint", &run_s, "--n", "10"]);
    refused(&out, &["--n 10", "50 or more"]);

    // sample needs only the checkpoint: the data may move.
    std::fs::rename(&data, dir.join("moved")).unwrap();
    ok(&gans(&[
        "sample",
        "--checkpoint",
        &run_s,
        "--n",
        "4",
        "--out",
        png_s,
    ]));
    assert!(image::open(&png).is_ok());
    // Training on needs the data, and says so.
    let out = gans(&["train", "--resume", &run_s, "--steps", "4"]);
    refused(
        &out,
        &[
            "loading the training data",
            "sampling and scoring do not need it",
        ],
    );
    std::fs::rename(dir.join("moved"), &data).unwrap();

    // A checkpoint copied in from the WGAN run: refused by name, not resumed as a WGAN.
    let own = dir.join("own-checkpoint");
    std::fs::rename(run.join("checkpoint"), &own).unwrap();
    std::fs::create_dir_all(run.join("checkpoint")).unwrap();
    for file in ["checkpoint.safetensors", "checkpoint.json"] {
        std::fs::copy(
            wgan.join("checkpoint").join(file),
            run.join("checkpoint").join(file),
        )
        .unwrap();
    }
    let out = gans(&["train", "--resume", &run_s, "--steps", "4"]);
    refused(
        &out,
        &[
            "holds a wgan model",
            "says dcgan",
            "copied in from another run",
        ],
    );
    std::fs::remove_dir_all(run.join("checkpoint")).unwrap();
    std::fs::rename(&own, run.join("checkpoint")).unwrap();

    // A damaged checkpoint: which file, that it is damaged, what to do; nothing changes.
    let tensors = run.join("checkpoint/checkpoint.safetensors");
    let good = std::fs::read(&tensors).unwrap();
    for damaged in [good[..good.len() / 2].to_vec(), vec![7u8; 1000], Vec::new()] {
        std::fs::write(&tensors, &damaged).unwrap();
        let out = gans(&["sample", "--checkpoint", &run_s, "--out", png_s, "--force"]);
        refused(&out, &["checkpoint.safetensors is damaged", "Restore it"]);
        assert_eq!(std::fs::read(&tensors).unwrap(), damaged);
        // (The picture a refused sample would have replaced is still the one before.)
        assert!(image::open(&png).is_ok());
    }
    std::fs::write(&tensors, &good).unwrap();
    assert_eq!(loads_at(&run), 2);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `gans sample --checkpoint run --out OUT`, plus `extra`.
fn sample_to(run: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "sample",
        "--checkpoint",
        run.to_str().unwrap(),
        "--n",
        "4",
        "--device",
        "cpu",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    gans(&args)
}

/// The command deletes, moves or overwrites only what it wrote itself: the user's folders named
/// like its hidden staging and recovery folders survive `sample`, `train --resume` and `train
/// --force`; `sample --out` never writes into the dataset, into another run's folder or over a
/// file `gans train` writes, and replaces an existing file only with `--force`.
#[test]
fn files_the_command_did_not_write_are_never_deleted_or_overwritten() {
    let dir = scratch("not-ours");
    let data = dir.join("pictures");
    pictures(&data, 24, 28);
    let run = dir.join("run");
    ok(&train_folder("vanilla", &data, &run, &[]));

    // Folders of the user's named like gans's own (`.NAME.new-PID`, `.NAME.old-PID`).
    let users = [dir.join(".run.new-123"), dir.join(".run.old-123")];
    for folder in &users {
        std::fs::create_dir_all(folder).unwrap();
        std::fs::write(folder.join("mine.txt"), "keep").unwrap();
    }
    let kept = |folder: &Path| {
        std::fs::read_to_string(folder.join("mine.txt")).is_ok_and(|t| t == "keep")
            && std::fs::read_dir(folder).unwrap().count() == 1
    };
    let grid = dir.join("grid.png");
    let out = sample_to(&run, &grid, &[]);
    ok(&out);
    assert!(
        text(&out.stderr).contains("gans did not make it"),
        "{}",
        text(&out.stderr)
    );
    train_on(&run, 2, &[]);
    let out = train_folder("vanilla", &data, &run, &["--force", "--steps", "3"]);
    ok(&out);
    assert!(
        text(&out.stderr).contains("gans did not make it"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(loads_at(&run), 3);
    for folder in &users {
        assert!(kept(folder), "{} was touched", folder.display());
    }
    let mut left = leftovers(&run);
    left.sort();
    assert_eq!(left, [".run.new-123", ".run.old-123"]);

    // Into the dataset folder: refused, over a picture (even with --force) or beside them.
    let picture = data.join("000.png");
    let before = std::fs::read(&picture).unwrap();
    let out = sample_to(&run, &picture, &["--force"]);
    refused(
        &out,
        &[
            "lies inside the dataset folder",
            "of this run",
            "would be read as training data",
        ],
    );
    assert_eq!(std::fs::read(&picture).unwrap(), before);
    let out = sample_to(&run, &data.join("new.png"), &[]);
    refused(&out, &["lies inside the dataset folder"]);
    assert_eq!(std::fs::read_dir(&data).unwrap().count(), 24);
    // Nor into the course's data folder (mnist, emoji, … and the cached classifiers).
    let course = gans::data::data_dir().join("gans-reliability-refused.png");
    let out = sample_to(&run, &course, &[]);
    refused(&out, &["lies inside the course's data folder"]);
    assert!(!course.exists());

    // Into another run's folder, or over this run's own files: refused, naming the folder.
    let other = dir.join("other");
    ok(&train_folder("vanilla", &data, &other, &[]));
    let theirs = std::fs::read(other.join("samples.png")).ok();
    let named = format!(
        "inside {},",
        std::fs::canonicalize(&other).unwrap().display()
    );
    for name in ["samples.png", "drawn.png"] {
        let out = sample_to(&run, &other.join(name), &["--force"]);
        refused(&out, &[named.as_str(), "the folder of another run"]);
    }
    assert_eq!(std::fs::read(other.join("samples.png")).ok(), theirs);
    assert!(!other.join("drawn.png").exists());
    let own = std::fs::read(run.join("samples.png")).ok();
    for name in ["samples.png", "checkpoint/drawn.png"] {
        let out = sample_to(&run, &run.join(name), &["--force"]);
        refused(&out, &["is written by `gans train`", "choose another name"]);
    }
    assert_eq!(std::fs::read(run.join("samples.png")).ok(), own);
    assert!(!run.join("checkpoint/drawn.png").exists());

    // An existing file: refused without --force, replaced with it.
    std::fs::write(&grid, "my own picture").unwrap();
    let out = sample_to(&run, &grid, &[]);
    refused(&out, &["already exists", "pass --force to replace it"]);
    assert_eq!(std::fs::read_to_string(&grid).unwrap(), "my own picture");
    ok(&sample_to(&run, &grid, &["--force"]));
    assert!(image::open(&grid).is_ok());
    // A folder is never replaced, --force or not.
    let folder = dir.join("folder.png");
    std::fs::create_dir_all(&folder).unwrap();
    let out = sample_to(&run, &folder, &["--force"]);
    refused(&out, &["is a folder, not a file"]);
    assert!(folder.is_dir());

    // Beside the run's files, under a name of its own: fine.
    ok(&sample_to(&run, &run.join("drawn.png"), &[]));
    assert!(image::open(run.join("drawn.png")).is_ok());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Rewrites the description of `run`'s checkpoint (the tensor file's `meta/json`, which loading
/// trusts, and its readable copy `checkpoint.json`) with `edit`, as a user with a script might.
fn edit_checkpoint(run: &Path, edit: impl Fn(&mut serde_json::Value)) {
    let path = run.join("checkpoint/checkpoint.safetensors");
    let mut tensors = tch::Tensor::read_safetensors(&path).unwrap();
    let (_, json) = tensors.iter_mut().find(|(n, _)| n == "meta/json").unwrap();
    let mut meta: serde_json::Value =
        serde_json::from_slice(&Vec::<u8>::try_from(&*json).unwrap()).unwrap();
    edit(&mut meta);
    let bytes = serde_json::to_vec_pretty(&meta).unwrap();
    *json = tch::Tensor::from_slice(&bytes);
    tch::Tensor::write_safetensors(&tensors, &path).unwrap();
    std::fs::write(run.join("checkpoint/checkpoint.json"), &bytes).unwrap();
}

/// Edits the JSON file `path` with `edit`.
fn edit_json(path: &Path, edit: impl Fn(&mut serde_json::Value)) {
    let mut value: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    edit(&mut value);
    std::fs::write(path, serde_json::to_vec_pretty(&value).unwrap()).unwrap();
}

/// The files a user may edit (`run.json`, `config.json`, the checkpoint's description) are
/// checked with bounds before anything is built or allocated; an edit is honoured (the learning
/// rates in `config.json`) or refused by the file's and the field's name, and never overwritten.
#[test]
fn edited_files_are_checked_before_anything_is_built() {
    let dir = scratch("edited");
    let data = dir.join("pictures");
    pictures(&data, 24, 28);
    let run = dir.join("run");
    let run_s = run.to_str().unwrap().to_string();
    ok(&train_folder("dcgan", &data, &run, &[]));
    let png = dir.join("x.png");
    let resume = || gans(&["train", "--resume", &run_s, "--steps", "4"]);

    // A width of 1,000,000 in the checkpoint's description (39 GB of weights): refused by file
    // and field, at once, by `sample` and by `train --resume`.
    let keep: Vec<(PathBuf, Vec<u8>)> = ["checkpoint.safetensors", "checkpoint.json"]
        .iter()
        .map(|f| run.join("checkpoint").join(f))
        .map(|p| (p.clone(), std::fs::read(&p).unwrap()))
        .collect();
    edit_checkpoint(&run, |meta| {
        meta["config"]["model"]["Dcgan"]["width"] = 1_000_000.into()
    });
    let started = std::time::Instant::now();
    let needles = [
        "checkpoint.safetensors (its meta/json)",
        "config.model.Dcgan.width = 1000000 is outside the range gans builds, 1 to 1024",
        "Put back the value",
    ];
    refused(&sample_to(&run, &png, &[]), &needles);
    refused(&resume(), &needles);
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
    assert!(!png.exists());
    for (path, bytes) in &keep {
        std::fs::write(path, bytes).unwrap();
    }
    assert_eq!(loads_at(&run), 2);

    // run.json edited: named, with what to put back (it blamed a copied checkpoint).
    let run_json = run.join("run.json");
    let before = std::fs::read(&run_json).unwrap();
    edit_json(&run_json, |info| info["model"] = "wgan".into());
    let out = sample_to(&run, &png, &[]);
    refused(
        &out,
        &[
            "run.json says \"model\": \"wgan\"",
            "run.json was edited",
            "Put back \"model\": \"dcgan\"",
        ],
    );
    assert!(
        !text(&out.stderr).contains("copied in"),
        "{}",
        text(&out.stderr)
    );
    std::fs::write(&run_json, &before).unwrap();
    edit_json(&run_json, |info| info["checkpoint_every"] = 0.into());
    refused(
        &resume(),
        &[
            "run.json: checkpoint_every = 0 is outside 1 to",
            "--checkpoint-every",
        ],
    );
    std::fs::write(&run_json, &before).unwrap();

    // config.json edited beyond the learning rates: refused by field, and left as the user
    // wrote it.
    let config_json = run.join("config.json");
    let original = std::fs::read(&config_json).unwrap();
    edit_json(&config_json, |config| config["batch_size"] = 8.into());
    let edited = std::fs::read(&config_json).unwrap();
    refused(
        &resume(),
        &[
            "config.json was edited",
            "config.batch_size: checkpoint 4, config.json 8",
            "start a new run",
        ],
    );
    assert_eq!(std::fs::read(&config_json).unwrap(), edited);
    assert_eq!(loads_at(&run), 2);
    // Its learning rates: honoured, as --lr would be, and said so.
    std::fs::write(&config_json, &original).unwrap();
    let set_lr = |config: &mut serde_json::Value| {
        for opt in ["opt_g", "opt_d"] {
            let kind = config[opt]
                .as_object_mut()
                .unwrap()
                .values_mut()
                .next()
                .unwrap();
            kind["lr"] = 5e-4.into();
        }
    };
    edit_json(&config_json, set_lr);
    let out = resume();
    ok(&out);
    assert!(
        text(&out.stderr).contains("sets lr_g = 0.0005 and lr_d = 0.0005"),
        "{}",
        text(&out.stderr)
    );
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("checkpoint/checkpoint.json")).unwrap())
            .unwrap();
    let lr = meta["config"]["opt_g"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()["lr"]
        .clone();
    assert_eq!(lr.as_f64(), Some(5e-4));
    assert_eq!(loads_at(&run), 4);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `sample --n` beyond what a grid can show is refused; a .npy file takes any number, drawn and
/// written a batch at a time.
#[test]
fn many_samples_are_drawn_in_batches() {
    assert_eq!(
        gans::metrics::batches(600, 256).collect::<Vec<_>>(),
        [(0, 256), (256, 256), (512, 88)]
    );
    assert_eq!(
        gans::metrics::batches(256, 256).collect::<Vec<_>>(),
        [(0, 256)]
    );
    assert_eq!(gans::metrics::batches(3, 0).count(), 3);

    let dir = scratch("many");
    let data = dir.join("pictures");
    pictures(&data, 24, 28);
    let run = dir.join("run");
    ok(&train_folder("dcgan", &data, &run, &[]));
    let png = dir.join("grid.png");
    let sample_n = |n: &str, out: &Path| {
        let out = out.to_str().unwrap();
        let run = run.to_str().unwrap();
        gans(&[
            "sample",
            "--checkpoint",
            run,
            "--n",
            n,
            "--device",
            "cpu",
            "--out",
            out,
        ])
    };
    let out = sample_n("10001", &png);
    refused(
        &out,
        &["--n 10001", "--n 10000 or fewer for a .png", ".npy"],
    );
    assert!(!png.exists());

    // 600 samples: three batches, streamed into one array.
    let npy = dir.join("many.npy");
    ok(&sample_n("600", &npy));
    let bytes = std::fs::read(&npy).unwrap();
    let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let header = std::str::from_utf8(&bytes[10..10 + header_len]).unwrap();
    let channels = if header.contains("'shape': (600,28,28,3,)") {
        3
    } else {
        1
    };
    assert!(
        header.contains(&format!("'shape': (600,28,28,{channels},)")),
        "{header}"
    );
    assert_eq!((10 + header_len) % 16, 0);
    assert_eq!(bytes.len() - 10 - header_len, 600 * 28 * 28 * channels);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A disk that fills up while a run trains: the save that fails names the checkpoint file (not
/// the hidden temporary one), says which step's checkpoint is kept, and that checkpoint loads at
/// that step. The full disk is a 1.5 MB tmpfs where the machine lets a test mount one (as root,
/// or in a user namespace with `unshare`); everywhere, a file-size limit (`ulimit -f`) makes the
/// same write fail.
#[test]
fn a_full_disk_keeps_the_last_checkpoint_and_says_which() {
    let dir = scratch("full");
    let gans_bin = env!("CARGO_BIN_EXE_gans");
    let kept_step = |message: &str| -> usize {
        let at = message
            .find("the checkpoint of step ")
            .unwrap_or_else(|| panic!("no kept checkpoint named in:\n{message}"));
        let rest = &message[at + "the checkpoint of step ".len()..];
        rest[..rest.find(' ').unwrap()].parse().unwrap()
    };

    // A file-size limit: each checkpoint is larger than the last (its history grows), so one of
    // them passes the limit set just above the first.
    let run = dir.join("limited");
    ok(&ring(&run, &["--steps", "20", "--checkpoint-every", "10"])
        .output()
        .unwrap());
    let size = std::fs::metadata(run.join("checkpoint/checkpoint.safetensors"))
        .unwrap()
        .len();
    let script = format!(
        "ulimit -f {}; trap '' XFSZ; exec \"$0\" train --resume \"$1\" --steps 5000 \
         --checkpoint-every 10",
        (size + 3000) / 512
    );
    let out = Command::new("sh")
        .args(["-c", &script, gans_bin, run.to_str().unwrap()])
        .output()
        .unwrap();
    let message = text(&out.stderr);
    refused(
        &out,
        &[
            "could not write",
            "checkpoint.safetensors",
            "ulimit -f",
            "is kept",
        ],
    );
    assert!(!message.contains(".tmp-"), "{message}");
    assert!(!message.contains("panicked"), "{message}");
    let step = kept_step(&message);
    assert!(step >= 20, "{message}");
    assert_eq!(loads_at(&run), step, "{message}");
    assert!(leftovers_in(&run.join("checkpoint")).is_empty());
    // A new run whose first checkpoint passes the limit: nothing is created.
    let new = dir.join("new");
    let script = "ulimit -f 8; trap '' XFSZ; exec \"$0\" train vanilla --dataset ring \
                  --device cpu --steps 5 --out \"$1\"";
    let out = Command::new("sh")
        .args(["-c", script, gans_bin, new.to_str().unwrap()])
        .output()
        .unwrap();
    refused(
        &out,
        &[
            "could not write the new run",
            "nothing was created",
            "ulimit -f",
        ],
    );
    assert!(!new.exists() && leftovers(&new).is_empty());

    // A real full disk, where a tmpfs can be mounted: the run is trained inside it, and copied
    // out once the disk has filled, before the mount goes away with its namespace.
    let copy = dir.join("copied");
    // Then, on the full disk, a sample; and once it is made read-only, a resume and a new run.
    let script = "mount -t tmpfs -o size=1500k tmpfs \"$1\" || exit 99; \
                  \"$0\" train dcgan --dataset mnist --width 8 --device cpu --steps 2000 \
                  --checkpoint-every 20 --out \"$1/run\" 2>\"$1/../stderr\"; \
                  cp -r \"$1/run\" \"$2\"; \
                  \"$0\" sample --checkpoint \"$1/run\" --out \"$1/s.png\" 2>\"$1/../sample\"; \
                  mount -o remount,ro \"$1\"; \
                  \"$0\" train --resume \"$1/run\" --steps 2000 2>\"$1/../resume\"; \
                  \"$0\" train vanilla --dataset ring --steps 5 --out \"$1/new\" 2>\"$1/../new\"";
    let mount = dir.join("disk");
    std::fs::create_dir_all(&mount).unwrap();
    let args = [
        "-c",
        script,
        gans_bin,
        mount.to_str().unwrap(),
        copy.to_str().unwrap(),
    ];
    let root = unsafe { libc::geteuid() } == 0;
    let mut command = Command::new("unshare");
    command.args(if root { &["-m"][..] } else { &["-rm"][..] });
    match command.arg("sh").args(args).status() {
        Ok(status) if status.code() != Some(99) && copy.exists() => {
            let message = std::fs::read_to_string(dir.join("stderr")).unwrap();
            assert!(message.contains("the disk is full"), "{message}");
            assert!(!message.contains(".tmp-"), "{message}");
            assert_eq!(loads_at(&copy), kept_step(&message), "{message}");
            let said = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
            let sample = said("sample");
            assert!(
                sample.contains("could not write") && sample.contains("the disk is full"),
                "{sample}"
            );
            for name in ["resume", "new"] {
                let message = said(name);
                assert!(
                    message.contains("the disk is mounted read-only"),
                    "{message}"
                );
                assert!(
                    !message.contains(".new-") && !message.contains("panicked"),
                    "{message}"
                );
            }
        }
        other => eprintln!(
            "skipped the tmpfs half: this machine does not let the test mount one ({other:?}); \
             the file-size limit above made the same write fail"
        ),
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Temporary files (`.NAME.tmp-…`) left in `dir`.
fn leftovers_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect()
}

/// Advice is given only where it works: `--force` is suggested only for a folder it would
/// replace; a run whose pictures changed is refused for the change, not for its batch size
/// (which `--resume` cannot change); remedy flags are refused by their flags, not by the
/// library's field names; `done:` lists only the files written.
#[test]
fn advice_works_where_it_is_given() {
    let dir = scratch("advice");
    let data = dir.join("pictures");
    pictures(&data, 24, 28);

    // A folder of the user's: --force would refuse it, so it is not suggested.
    let mine = dir.join("mine");
    std::fs::create_dir_all(&mine).unwrap();
    std::fs::write(mine.join("notes.txt"), "mine").unwrap();
    let out = ring(&mine, &["--steps", "2"]).output().unwrap();
    refused(&out, &["not a run folder", "--force would not replace it"]);
    assert!(!text(&out.stderr).contains("pass --force"));
    // A run holding a file of the user's: --resume, not --force.
    let run = dir.join("run");
    let short = train_folder(
        "dcgan",
        &data,
        &run,
        &["--batch-size", "16", "--steps", "3"],
    );
    ok(&short);
    // Fewer than 10 steps: no figure yet, and `done:` does not claim one.
    let said = text(&short.stdout);
    assert!(said.contains("checkpoint (no figures yet"), "{said}");
    assert!(!run.join("losses.svg").exists());
    std::fs::write(run.join("notes.txt"), "mine").unwrap();
    let out = train_folder("dcgan", &data, &run, &[]);
    refused(&out, &["--resume", "--force would not replace it"]);
    std::fs::remove_file(run.join("notes.txt")).unwrap();
    let out = train_folder("dcgan", &data, &run, &[]);
    refused(&out, &["pass --force to replace it"]);

    // Pictures removed from the dataset: refused for the change.
    for i in 0..16 {
        std::fs::remove_file(data.join(format!("{i:03}.png"))).unwrap();
    }
    let out = gans(&["train", "--resume", run.to_str().unwrap(), "--steps", "6"]);
    refused(
        &out,
        &[
            "was trained on",
            "24 examples",
            "8 of",
            "Put back the examples",
        ],
    );
    assert!(!text(&out.stderr).contains("batch_size"));
    assert_eq!(loads_at(&run), 3);

    // Remedies refused by their flags.
    let fresh = dir.join("fresh");
    let out = train_folder("dcgan", &data, &fresh, &["--r1", "1"]);
    refused(&out, &["add --spectral-norm to use --r1"]);
    assert!(!text(&out.stderr).contains("Norm::"));
    let out = train_folder("pix2pix", &data, &fresh, &["--diff-augment"]);
    let message = text(&out.stderr);
    assert!(
        !message.contains("diff_augment") && !message.contains("panicked"),
        "{message}"
    );
    let out = train_folder("dcgan", &data, &fresh, &["--ema", "1.5"]);
    refused(&out, &["--ema 1.5"]);
    let out = train_folder("dcgan", &data, &fresh, &["--real-label", "0.3"]);
    refused(&out, &["--real-label 0.3"]);
    assert!(!fresh.exists());

    // Longer runs list the figures they drew.
    let out = train_folder(
        "dcgan",
        &data,
        &fresh,
        &["--batch-size", "4", "--steps", "10"],
    );
    ok(&out);
    let said = text(&out.stdout);
    assert!(
        said.contains("checkpoint, losses.svg, d.svg, samples.png"),
        "{said}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `checkpoint/checkpoint.json` is a readable copy: an edit of it is refused by `train` (which
/// would overwrite it), named by `sample` (which does not use it), and a copy of another step (a
/// save cut short between the two files) is no edit.
#[test]
fn an_edited_checkpoint_copy_is_named_not_ignored() {
    let dir = scratch("copy");
    let data = dir.join("pictures");
    pictures(&data, 24, 28);
    let run = dir.join("run");
    ok(&train_folder("dcgan", &data, &run, &[]));
    let copy = run.join("checkpoint/checkpoint.json");
    let original = std::fs::read(&copy).unwrap();
    edit_json(&copy, |v| v["config"]["batch_size"] = 8.into());
    let out = gans(&["train", "--resume", run.to_str().unwrap(), "--steps", "4"]);
    refused(
        &out,
        &["checkpoint.json was edited", "config.batch_size", "delete"],
    );
    assert_eq!(loads_at(&run), 2);
    let out = sample_to(&run, &dir.join("s.png"), &[]);
    ok(&out);
    assert!(text(&out.stderr).contains("The edit is not used"));
    // Of another step: a save cut short; training on mends it.
    std::fs::write(&copy, &original).unwrap();
    edit_json(&copy, |v| v["step"] = 1.into());
    train_on(&run, 2, &[]);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Pictures are bounded before they are decoded: one whose header claims 100,000 × 100,000
/// pixels in a few kilobytes (a decompression bomb) and one of 64 megapixels are skipped with
/// the reason, and the rest train.
#[test]
fn pictures_too_large_to_decode_are_skipped_with_the_reason() {
    use std::io::Write;
    let dir = scratch("bomb");
    let data = dir.join("pictures");
    pictures(&data, 8, 28);
    // A PNG whose header says `side`×`side` pixels, holding 10 rows of black, compressed.
    let png = |path: &Path, side: u32| {
        let chunk = |kind: &[u8], data: &[u8]| {
            let mut crc = flate2::Crc::new();
            crc.update(kind);
            crc.update(data);
            [
                &(data.len() as u32).to_be_bytes()[..],
                kind,
                data,
                &crc.sum().to_be_bytes(),
            ]
            .concat()
        };
        let mut header = side.to_be_bytes().repeat(2);
        header.extend_from_slice(&[8, 2, 0, 0, 0]);
        let mut rows = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        for _ in 0..10 {
            rows.write_all(&vec![0u8; 1 + side as usize * 3]).unwrap();
        }
        let file = [
            &b"\x89PNG\r\n\x1a\n"[..],
            &chunk(b"IHDR", &header),
            &chunk(b"IDAT", &rows.finish().unwrap()),
            &chunk(b"IEND", &[]),
        ]
        .concat();
        std::fs::write(path, file).unwrap();
    };
    png(&data.join("bomb.png"), 100_000);
    png(&data.join("large.png"), 8_000);
    let run = dir.join("run");
    let out = train_folder("dcgan", &data, &run, &[]);
    ok(&out);
    let message = text(&out.stderr);
    assert!(
        message.contains("100000×100000 pixels (10000 megapixels)")
            && message.contains("decompression bomb")
            && message.contains("8000×8000 pixels (64 megapixels)"),
        "{message}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `gans info` reads each dataset: one that is there but does not load is "damaged", with the
/// file and what to do, never "installed".
#[test]
fn info_reads_each_dataset() {
    let dir = scratch("info");
    std::fs::create_dir_all(dir.join("emoji")).unwrap();
    std::fs::write(dir.join("emoji/emoji.json"), "not a catalogue").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_gans"))
        .args(["info", "--device", "cpu"])
        .env("GANS_DATA_DIR", &dir)
        .output()
        .unwrap();
    ok(&out);
    let report = text(&out.stdout);
    let line = |name: &str| {
        report
            .lines()
            .find(|l| l.trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("no {name} line in:\n{report}"))
            .to_string()
    };
    assert!(line("emoji").contains("damaged:"), "{report}");
    assert!(line("emoji").contains("emoji.json"), "{report}");
    assert!(
        line("mnist").contains("missing (run `make data`)"),
        "{report}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Makes an odd entry in a folder of pictures.
type Make<'a> = dyn Fn(&Path) + 'a;

/// A copy of the run folder `run` at `to`, for one case to damage.
fn copy_run(run: &Path, to: &Path) -> PathBuf {
    std::fs::create_dir_all(to.join("checkpoint")).unwrap();
    for name in ["run.json", "config.json", "losses.svg", "samples.png"] {
        std::fs::copy(run.join(name), to.join(name)).unwrap();
    }
    for name in ["checkpoint.safetensors", "checkpoint.json"] {
        std::fs::copy(
            run.join("checkpoint").join(name),
            to.join("checkpoint").join(name),
        )
        .unwrap();
    }
    to.to_path_buf()
}

/// Paths, links and odd files, as a hostile user makes them. Each case either works or is
/// refused in words that name the file and what to do; none panics or hangs (a pipe named like
/// a picture used to block the reader forever, a link loop was followed 40 folders deep), and
/// nothing of the user's changes.
#[test]
fn paths_links_and_odd_files() {
    use std::os::unix::fs::symlink;
    let dir = scratch("odd");
    let data = dir.join("pictures");
    pictures(&data, 24, 28);
    let run = dir.join("run");
    ok(&train_folder("dcgan", &data, &run, &["--steps", "12"]));
    let s = |p: &Path| p.to_str().unwrap().to_string();

    // Folders of pictures with one odd entry: skipped with the reason (`Some`), or read
    // (`None`); the other pictures train either way.
    let with_odd = |name: &str, make: &dyn Fn(&Path)| -> String {
        let folder = dir.join(name);
        pictures(&folder, 8, 28);
        make(&folder);
        let out = train_folder("dcgan", &folder, &dir.join(format!("{name}-run")), &[]);
        ok(&out);
        text(&out.stderr)
    };
    let pipe = |f: &Path| {
        let path = std::ffi::CString::new(s(&f.join("zz.png"))).unwrap();
        assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o644) }, 0);
    };
    let cases: [(&str, &Make<'_>, Option<&str>); 6] = [
        (
            "pipe",
            &pipe,
            Some("zz.png: not a file (a pipe, socket or device)"),
        ),
        ("loop", &|f| symlink(".", f.join("self")).unwrap(), None),
        (
            "broken",
            &|f| symlink("/nowhere.png", f.join("zz.png")).unwrap(),
            Some("(a broken link?)"),
        ),
        (
            "empty",
            &|f| std::fs::write(f.join("zz.png"), b"").unwrap(),
            Some("zz.png: not a readable image"),
        ),
        (
            "misnamed",
            &|f| std::fs::rename(f.join("000.png"), f.join("000.jpg")).unwrap(),
            None,
        ),
        (
            "dot",
            &|f| pictures(&f.join("tiny.png"), 1, 1),
            Some("1×1 is too small to make a 28×28 image"),
        ),
    ];
    for (name, make, reason) in cases {
        let said = with_odd(name, make);
        match reason {
            Some(reason) => assert!(said.contains(reason), "{name}: {said}"),
            None => assert!(!said.contains("skipped"), "{name}: {said}"),
        }
    }
    // Upper-case extensions are pictures too.
    let upper = dir.join("upper");
    pictures(&upper, 8, 28);
    for i in 0..8 {
        let old = upper.join(format!("{i:03}.png"));
        std::fs::rename(&old, old.with_extension("PNG")).unwrap();
    }
    ok(&train_folder("dcgan", &upper, &dir.join("upper-run"), &[]));

    // Odd files in a run folder. `losses.svg` a folder: the checkpoint is saved, the figure
    // cannot be, and the message says which.
    let odd = copy_run(&run, &dir.join("figure"));
    std::fs::remove_file(odd.join("losses.svg")).unwrap();
    std::fs::create_dir(odd.join("losses.svg")).unwrap();
    let out = gans(&["train", "--resume", &s(&odd), "--steps", "20"]);
    refused(
        &out,
        &[
            "the checkpoint of step 20 is saved",
            "not every figure",
            "losses.svg",
        ],
    );
    assert_eq!(loads_at(&odd), 20);
    // `samples.png` a link to a file of the user's: the link is replaced, the file is not.
    let odd = copy_run(&run, &dir.join("linked"));
    let mine = dir.join("mine.txt");
    std::fs::write(&mine, "mine").unwrap();
    std::fs::remove_file(odd.join("samples.png")).unwrap();
    symlink(&mine, odd.join("samples.png")).unwrap();
    train_on(&odd, 10, &[]);
    assert_eq!(std::fs::read_to_string(&mine).unwrap(), "mine");
    // A folder where a file of the run belongs, and damaged checkpoints.
    let folder_at = |name: &str, at: &str| {
        let odd = copy_run(&run, &dir.join(name));
        let _ = std::fs::remove_file(odd.join(at));
        std::fs::create_dir(odd.join(at)).unwrap();
        odd
    };
    let resume = |odd: &Path| gans(&["train", "--resume", &s(odd), "--steps", "20"]);
    refused(
        &resume(&folder_at("lock", ".lock")),
        &["the lock file gans keeps", "move it away"],
    );
    refused(
        &resume(&folder_at("config", "config.json")),
        &["the run's config", "move it away"],
    );
    refused(
        &resume(&folder_at("info", "run.json")),
        &["its run.json is not a file"],
    );
    let damaged = |name: &str, bytes: &[u8]| {
        let odd = copy_run(&run, &dir.join(name));
        std::fs::write(odd.join("checkpoint/checkpoint.safetensors"), bytes).unwrap();
        refused(
            &resume(&odd),
            &["checkpoint.safetensors is damaged", "Restore it"],
        );
        let out = sample_to(&odd, &dir.join(format!("{name}.png")), &[]);
        refused(&out, &["checkpoint.safetensors is damaged"]);
    };
    damaged("zero", b"");
    damaged("noise", &[7u8; 100]);
    // A header that claims 2^62 bytes: refused before anything is allocated.
    damaged("claims", &[&(1u64 << 62).to_le_bytes()[..], b"{}"].concat());

    // Paths.
    refused(
        &gans(&["train", "--resume", &s(&mine), "--steps", "20"]),
        &["it is a file, not a folder"],
    );
    let missing = dir.join("missing");
    refused(
        &sample_to(&missing, &dir.join("m.png"), &[]),
        &["it cannot be read"],
    );
    refused(
        &ring(&mine.join("run"), &["--steps", "2"]).output().unwrap(),
        &["a folder above it is a file"],
    );
    refused(
        &ring(Path::new("."), &["--steps", "2"]).output().unwrap(),
        &["does not name a folder"],
    );
    symlink(&run, dir.join("link")).unwrap();
    refused(
        &ring(&dir.join("link"), &["--steps", "2", "--force"])
            .output()
            .unwrap(),
        &["is a link"],
    );
    ok(&ring(&dir.join("ünï côdé run"), &["--steps", "2"])
        .output()
        .unwrap());
    refused(
        &ring(&dir.join("long"), &["--steps", "99999999999"])
            .output()
            .unwrap(),
        &["--steps 99999999999 is more than gans trains in one run"],
    );
    refused(
        &gans(&["train", "--resume", &s(&run), "--steps", "99999999999"]),
        &["--steps 99999999999: more than gans trains in one run"],
    );
    symlink(&data, dir.join("data-link")).unwrap();
    refused(
        &sample_to(&run, &dir.join("data-link/x.png"), &[]),
        &["lies inside the dataset folder"],
    );
    refused(
        &train_folder("dcgan", &data, &dir.join("data-link/run"), &[]),
        &["is or lies inside the dataset folder"],
    );
    let around = dir.join("figure/../run/samples.png");
    refused(
        &sample_to(&run, &around, &[]),
        &["samples.png in the run folder"],
    );
    let one = dir.join("one");
    pictures(&one, 1, 28);
    refused(
        &train_folder("dcgan", &one, &dir.join("one-run"), &["--batch-size", "8"]),
        &["(1 example)", "use a --batch-size of at most 1"],
    );
    // GANS_DATA_DIR: a file is named; empty is the default.
    let with_data_dir = |value: &Path| {
        Command::new(env!("CARGO_BIN_EXE_gans"))
            .args([
                "train",
                "dcgan",
                "--dataset",
                "mnist",
                "--width",
                "8",
                "--device",
                "cpu",
            ])
            .args(["--batch-size", "4", "--steps", "2", "--out"])
            .arg(dir.join(format!("mnist-{}", value.as_os_str().len())))
            .env("GANS_DATA_DIR", value)
            .output()
            .unwrap()
    };
    refused(
        &with_data_dir(&mine),
        &["GANS_DATA_DIR is set to", "which is not a folder"],
    );
    ok(&with_data_dir(Path::new("")));
    // The run and the pictures are as they were.
    assert_eq!(loads_at(&run), 12);
    assert_eq!(std::fs::read_dir(&data).unwrap().count(), 24);
    std::fs::remove_dir_all(&dir).unwrap();
}
