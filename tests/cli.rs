//! The `gans` command, run as a user runs it: train, resume, refusals, signals (Ctrl-C, SIGTERM,
//! SIGHUP), closed pipes, NaN, sample, eval.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

mod common;
use common::{checkpoint_step, gans, ok, spawn_training, text};

fn scratch(name: &str) -> PathBuf {
    common::scratch("cli", name)
}

fn ring(out: &Path, steps: usize, extra: &[&str]) -> Output {
    let (steps, out) = (steps.to_string(), out.to_str().unwrap().to_string());
    let mut args = vec![
        "train",
        "vanilla",
        "--dataset",
        "ring",
        "--steps",
        &steps,
        "--device",
        "cpu",
        "--out",
        &out,
    ];
    args.extend_from_slice(extra);
    gans(&args)
}

#[test]
fn resume_is_exact_refusals_keep_the_run_and_nan_keeps_the_last_good_checkpoint() {
    let dir = scratch("resume");
    let (straight, split) = (dir.join("straight"), dir.join("split"));
    ok(&ring(&straight, 200, &["--checkpoint-every", "50"]));
    for file in [
        "run.json",
        "config.json",
        "losses.svg",
        "d.svg",
        "samples.svg",
        "checkpoint/checkpoint.safetensors",
    ] {
        assert!(straight.join(file).is_file(), "{file} missing");
    }

    // 100 steps, then --resume to 200: the same bytes as 200 straight.
    ok(&ring(&split, 100, &["--checkpoint-every", "50"]));
    assert_eq!(checkpoint_step(&split), 100);
    let resumed = gans(&[
        "train",
        "--resume",
        split.to_str().unwrap(),
        "--steps",
        "200",
    ]);
    ok(&resumed);
    assert!(text(&resumed.stderr).contains("step 100 → 200"));
    // Every tensor equal, bit for bit (the description inside also holds the wall time).
    let weights = |run: &Path| {
        let path = run.join("checkpoint/checkpoint.safetensors");
        let mut all = tch::Tensor::read_safetensors(path).unwrap();
        all.retain(|(name, _)| name != "meta/json");
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    };
    let (a, b) = (weights(&straight), weights(&split));
    assert_eq!(a.len(), b.len());
    for ((name, x), (_, y)) in a.iter().zip(&b) {
        assert!(
            x.equal(y),
            "{name}: the resumed run differs from the straight one"
        );
    }
    let tensors =
        |run: &Path| std::fs::read(run.join("checkpoint/checkpoint.safetensors")).unwrap();

    // An existing run folder is not overwritten without --force, and is left as it was.
    let before = tensors(&straight);
    let refused = ring(&straight, 50, &[]);
    assert_eq!(refused.status.code(), Some(1));
    let message = text(&refused.stderr);
    assert!(message.contains("already exists"), "{message}");
    assert!(message.contains("at step 200"), "{message}");
    assert!(message.contains("--resume"), "{message}");
    assert!(tensors(&straight) == before);

    // Settings cannot change on --resume (only the length and the learning rate).
    let refused = gans(&["train", "--resume", split.to_str().unwrap(), "--seed", "3"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(text(&refused.stderr).contains("leave out --seed"));

    // A learning rate of 1e30 is refused before a step is taken (a diverging run is tested in
    // run.rs, where the weights can be poisoned): the checkpoint of step 200 stays, loadable.
    let refused = gans(&[
        "train",
        "--resume",
        split.to_str().unwrap(),
        "--steps",
        "400",
        "--lr",
        "1e30",
    ]);
    assert_eq!(refused.status.code(), Some(1));
    let message = text(&refused.stderr);
    assert!(message.contains("is too large"), "{message}");
    assert_eq!(checkpoint_step(&split), 200);
    let report = gans(&[
        "eval",
        "--checkpoint",
        split.to_str().unwrap(),
        "--n",
        "500",
    ]);
    ok(&report);
    assert!(
        text(&report.stdout).contains("modes"),
        "{}",
        text(&report.stdout)
    );

    // --force starts over.
    ok(&ring(&straight, 20, &["--force"]));
    assert_eq!(checkpoint_step(&straight), 20);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `gans train` on the rings in `run` towards a step it never reaches, saving only when stopped,
/// with a progress line every 10 steps: a new run if there is none, else `--resume` (so that it
/// also proves that the run loads). SIGHUP starts with the disposition `hup` (`libc::SIG_DFL`, or
/// `libc::SIG_IGN` as under `nohup`), whatever the test itself runs under.
fn endless(run: &Path, hup: libc::sighandler_t) -> Command {
    use std::os::unix::process::CommandExt;
    let mut command = Command::new(env!("CARGO_BIN_EXE_gans"));
    let path = run.to_str().unwrap();
    if run.join("run.json").is_file() {
        command.args(["train", "--resume", path]);
    } else {
        command.args(["train", "vanilla", "--dataset", "ring", "--out", path]);
    }
    command.args(["--steps", "1000000", "--checkpoint-every", "1000000"]);
    command.args(["--print-every", "10", "--device", "cpu"]);
    // SAFETY: signal(2) is async-signal-safe, as `pre_exec` requires of what runs after fork.
    unsafe {
        command.pre_exec(move || {
            libc::signal(libc::SIGHUP, hup);
            Ok(())
        });
    }
    command
}

/// Ctrl-C, SIGTERM and SIGHUP save a checkpoint and stop the run, with 128 + the signal's number
/// as the exit status. A second signal, however soon after the first, quits at once (130 for a
/// second Ctrl-C) and leaves the last checkpoint whole: two Ctrl-Cs 10 ms apart used to crash
/// inside libtorch (a panic, or a segmentation fault, exit status 139). Every case resumes the
/// run the case before it left; under `nohup`, SIGHUP does not stop a run.
#[test]
fn signals_save_and_stop_and_a_second_one_quits_at_once() {
    let dir = scratch("signals");
    let run = dir.join("run");
    let mut step = 0;
    // The signal, the milliseconds before the same signal again (none: sent once), the status.
    let cases = [
        (libc::SIGINT, None, 130),
        (libc::SIGTERM, None, 143),
        (libc::SIGHUP, None, 129),
        (libc::SIGINT, Some(0), 130),
        (libc::SIGINT, Some(10), 130),
        (libc::SIGINT, Some(100), 130),
        (libc::SIGINT, Some(1000), 130),
        (libc::SIGTERM, Some(10), 143),
    ];
    for (signal, again, status) in cases {
        // Once it prints progress it trains, and the handler is in place.
        let training = spawn_training(&mut endless(&run, libc::SIG_DFL), true);
        training.signal(signal);
        if let Some(ms) = again {
            std::thread::sleep(Duration::from_millis(ms));
            // (If it has ended already, the signal finds it unwaited-for and is ignored.)
            training.signal(signal);
        }
        let output = training.finish();
        let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
        let case = format!(
            "signal {signal}, again after {again:?} ms: {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
            output.status
        );
        // An exit status, not a death by a signal (139: a segmentation fault; 101: a panic).
        assert_eq!(output.status.code(), Some(status), "{case}");
        assert!(
            !stderr.contains("panicked") && !stderr.contains("error:"),
            "{case}"
        );
        let saved = checkpoint_step(&run);
        if again.is_none() {
            // One signal: a checkpoint at the end of the chunk it came in.
            assert!(stdout.contains("interrupted at step"), "{case}");
            assert!(saved > step, "{case}");
        } else {
            // Two: a checkpoint as above, or none (then the last one stands, whole).
            assert!(saved >= step, "{case}");
        }
        step = saved;
    }

    // Under nohup a closed terminal does not stop the run; Ctrl-C still does.
    let mut training = spawn_training(&mut endless(&run, libc::SIG_IGN), true);
    training.signal(libc::SIGHUP);
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        training.child.try_wait().unwrap().is_none(),
        "SIGHUP stopped a run started under nohup"
    );
    training.signal(libc::SIGINT);
    let output = training.finish();
    assert_eq!(output.status.code(), Some(130), "{}", text(&output.stderr));
    step = step.max(checkpoint_step(&run));

    // And the run trains on from its last checkpoint.
    let target = (step + 20).to_string();
    ok(&gans(&[
        "train",
        "--resume",
        run.to_str().unwrap(),
        "--steps",
        &target,
        "--device",
        "cpu",
    ]));
    assert_eq!(checkpoint_step(&run), step + 20);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Runs `gans ARGS…` with stdout a pipe whose reader is gone before the command prints a line,
/// as in `gans … | true` (or `| head -1` once its line is read): every write there fails with
/// EPIPE. With `stderr_too`, stderr as well (`gans … 2>&1 | true`).
fn with_closed_pipe(args: &[&str], stderr_too: bool) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gans"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the gans binary runs");
    drop(child.stdout.take());
    if stderr_too {
        drop(child.stderr.take());
    }
    child.wait_with_output().expect("waiting for gans")
}

/// A reader that goes away (`gans info | head -1`, `gans train … | head -1`) ends the printing,
/// not the command: no panic ("failed printing to stdout: Broken pipe", which stopped training
/// at step 0), exit status 0, and a training run trains to its target and saves.
#[test]
fn a_closed_pipe_ends_the_printing_not_the_command() {
    let dir = scratch("pipe");
    let run = dir.join("run");
    let out = run.to_str().unwrap();
    let quiet = |output: &Output, what: &str| {
        let stderr = text(&output.stderr);
        // 0, not 101 (a panic) or a death by SIGPIPE.
        assert_eq!(output.status.code(), Some(0), "{what}: {stderr}");
        assert!(
            !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
            "{what}: {stderr}"
        );
    };
    quiet(&with_closed_pipe(&["info"], false), "gans info | true");
    let train = [
        "train",
        "vanilla",
        "--dataset",
        "ring",
        "--steps",
        "60",
        "--print-every",
        "10",
        "--device",
        "cpu",
        "--out",
        out,
    ];
    quiet(&with_closed_pipe(&train, false), "gans train … | true");
    assert_eq!(checkpoint_step(&run), 60);
    // stderr closed too: the progress lines fail as well.
    let resume = [
        "train",
        "--resume",
        out,
        "--steps",
        "120",
        "--print-every",
        "10",
        "--device",
        "cpu",
    ];
    quiet(
        &with_closed_pipe(&resume, true),
        "gans train --resume … 2>&1 | true",
    );
    assert_eq!(checkpoint_step(&run), 120);
    let eval = ["eval", "--checkpoint", out, "--n", "100", "--device", "cpu"];
    quiet(&with_closed_pipe(&eval, false), "gans eval … | true");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn samples_as_png_and_npy_and_scores_beside_the_floor() {
    let dir = scratch("sample");
    let run = dir.join("mlp");
    ok(&gans(&[
        "train",
        "vanilla",
        "--dataset",
        "mnist",
        "--steps",
        "30",
        "--device",
        "cpu",
        "--out",
        run.to_str().unwrap(),
    ]));
    assert!(run.join("samples.png").is_file() && run.join("snapshots.gif").is_file());
    let npy = dir.join("out/samples.npy");
    ok(&gans(&[
        "sample",
        "--checkpoint",
        run.to_str().unwrap(),
        "--n",
        "16",
        "--out",
        npy.to_str().unwrap(),
    ]));
    let bytes = std::fs::read(&npy).unwrap();
    assert_eq!(&bytes[..6], b"\x93NUMPY");
    let data_start = 10 + u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let header = text(&bytes[10..data_start]);
    assert!(header.contains("'descr': '<u1'"), "{header}");
    assert!(header.contains("'shape': (16,28,28,1,)"), "{header}");
    assert_eq!(bytes.len(), data_start + 16 * 28 * 28);
    let png = dir.join("grid.png");
    ok(&gans(&[
        "sample",
        "--checkpoint",
        run.join("checkpoint").to_str().unwrap(),
        "--out",
        png.to_str().unwrap(),
    ]));
    assert!(image::open(&png).is_ok());
    let wrong = gans(&[
        "sample",
        "--checkpoint",
        run.to_str().unwrap(),
        "--out",
        "x.jpg",
    ]);
    assert_eq!(wrong.status.code(), Some(1));
    assert!(text(&wrong.stderr).contains(".png"));
    let missing = gans(&[
        "sample",
        "--checkpoint",
        dir.to_str().unwrap(),
        "--out",
        "x.png",
    ]);
    assert!(text(&missing.stderr).contains("not a run folder"));

    let scores = gans(&["eval", "--checkpoint", run.to_str().unwrap(), "--n", "200"]);
    ok(&scores);
    let out = text(&scores.stdout);
    assert!(out.contains("Fréchet distance"), "{out}");
    assert!(out.contains("(real data:"), "{out}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Notebook 06's remedies are switches of `gans train`: they land in the run's config, a run
/// with all of them trains, resumes and samples, and a switch that does not fit the model or a
/// resumed run is refused by name.
#[test]
fn remedies_are_switches_that_land_in_the_config_and_are_refused_where_they_do_not_fit() {
    let dir = scratch("remedies");
    let run = dir.join("dcgan");
    let path = run.to_str().unwrap();
    let train = |extra: &[&str]| small_dcgan(path, "4", extra);
    ok(&train(&[
        "--lr-d",
        "4e-4",
        "--ema",
        "0.9",
        "--spectral-norm",
        "--hinge",
        "--r1",
        "1",
        "--minibatch-std",
        "--diff-augment",
    ]));
    let config = std::fs::read_to_string(run.join("config.json")).unwrap();
    for field in [
        "\"spectral_norm\": true",
        "\"minibatch_std\": true",
        "\"diff_augment\": true",
        "\"ema\": 0.9",
        "\"r1_gamma\": 1.0",
        "\"Hinge\"",
        "0.0004",
    ] {
        assert!(
            config.contains(field),
            "{field} is not in config.json:\n{config}"
        );
    }
    // The run goes on with its own settings; a remedy flag on --resume is refused.
    ok(&gans(&["train", "--resume", path, "--steps", "6"]));
    assert_eq!(checkpoint_step(&run), 6);
    let refused = gans(&["train", "--resume", path, "--steps", "8", "--ema", "0.5"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(text(&refused.stderr).contains("leave out --ema"));
    assert_eq!(checkpoint_step(&run), 6);
    // --lr on resume sets both rates unless --lr-d keeps D's apart.
    ok(&gans(&[
        "train", "--resume", path, "--steps", "7", "--lr", "1e-4", "--lr-d", "3e-4",
    ]));
    let config = std::fs::read_to_string(run.join("config.json")).unwrap();
    assert!(
        config.contains("0.0001") && config.contains("0.0003"),
        "{config}"
    );
    // Switches that do not fit: named, and nothing is created.
    let toy = dir.join("toy");
    let refused = ring(&toy, 5, &["--spectral-norm"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused.stderr).contains("has neither"),
        "{}",
        text(&refused.stderr)
    );
    assert!(!toy.exists());
    let refused = train(&["--force", "--real-label", "1.5"]);
    assert!(text(&refused.stderr).contains("between 0.5 and 1"));
    assert_eq!(checkpoint_step(&run), 7, "a refused --force keeps the run");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `gans train dcgan` trains the course's fast-EMA preset unless told otherwise (notebook 06), and
/// `--preset paper` gives the paper's settings; the other models keep their papers' settings.
#[test]
fn a_dcgan_run_is_fast_ema_by_default_and_paper_by_name() {
    use gans::train::TrainConfig;
    let dir = scratch("presets");
    let config_of = |name: &str, extra: &[&str]| -> TrainConfig {
        let run = dir.join(name);
        ok(&small_dcgan(run.to_str().unwrap(), "2", extra));
        let json = std::fs::read_to_string(run.join("config.json")).unwrap();
        serde_json::from_str(&json).unwrap()
    };
    // The optimisers and the moving average are the presets' own, whatever the preset's rate.
    let settings = |c: &TrainConfig| (c.opt_g, c.opt_d, c.ema);
    let fast_ema = config_of("default", &[]);
    assert_eq!(
        settings(&fast_ema),
        settings(&TrainConfig::fast_ema(fast_ema.model.clone()))
    );
    let paper = config_of("paper", &["--preset", "paper"]);
    assert_eq!(
        settings(&paper),
        settings(&TrainConfig::gan(paper.model.clone()))
    );
    assert_ne!(settings(&fast_ema), settings(&paper));
    // By its name, and by the name it had before (`tuned`), for commands written then.
    for name in ["fast-ema", "tuned"] {
        let named = config_of(name, &["--preset", name]);
        assert_eq!(settings(&named), settings(&fast_ema), "{name}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `--precision bf16` lands in the config, trains, resumes at the same precision (a changed
/// one is refused by name), and an unknown precision lists the valid ones.
#[test]
fn a_bf16_run_records_its_precision_and_resumes_in_it() {
    use gans::precision::{Precision, check_supported};
    use gans::train::TrainConfig;
    let dir = scratch("precision");
    let run = dir.join("bf16");
    let run_s = run.to_str().unwrap();
    let trained = small_dcgan(run_s, "3", &["--precision", "bf16"]);
    if check_supported(Precision::Bf16, tch::Device::Cpu).is_err() {
        // this CPU has no bf16: refused by name, and nothing is left behind
        assert!(!trained.status.success());
        assert!(
            text(&trained.stderr).contains("--precision fp32"),
            "{}",
            text(&trained.stderr)
        );
        assert!(!run.exists(), "a refused run leaves no folder");
        std::fs::remove_dir_all(&dir).ok();
        return;
    }
    ok(&trained);
    let config: TrainConfig =
        serde_json::from_str(&std::fs::read_to_string(run.join("config.json")).unwrap()).unwrap();
    assert_eq!(config.precision, Precision::Bf16);
    let again = gans(&[
        "train",
        "--resume",
        run_s,
        "--steps",
        "5",
        "--precision",
        "fp32",
    ]);
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("leave out --precision"),
        "{}",
        text(&again.stderr)
    );
    ok(&gans(&["train", "--resume", run_s, "--steps", "5"]));
    assert_eq!(checkpoint_step(&run), 5);
    let bogus = small_dcgan(
        dir.join("fp16").to_str().unwrap(),
        "3",
        &["--precision", "fp16"],
    );
    assert!(!bogus.status.success());
    let message = text(&bogus.stderr);
    assert!(
        message.contains("fp32") && message.contains("bf16"),
        "{message}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `gans train dcgan` on MNIST at width 8, batch 16, for `steps` steps into `out`, plus `extra`.
fn small_dcgan(out: &str, steps: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "train",
        "dcgan",
        "--dataset",
        "mnist",
        "--width",
        "8",
        "--batch-size",
        "16",
        "--steps",
        steps,
        "--device",
        "cpu",
        "--out",
        out,
    ];
    args.extend_from_slice(extra);
    gans(&args)
}

/// `gans train cyclegan` on a folder in the CycleGAN datasets' layout: it trains with the
/// paper's decay over the second half, writes the translations of its fixed pictures, samples
/// test translations beside their inputs, and says why it cannot score them (no true
/// counterparts). Data of another kind is refused with the data it needs.
#[test]
fn a_cyclegan_trains_on_a_folder_of_two_sets_and_samples_them() {
    let dir = scratch("cyclegan");
    let data = dir.join("dark2light");
    for (side, n, shade) in [
        ("trainA", 6, 30u8),
        ("trainB", 5, 220),
        ("testA", 3, 40),
        ("testB", 3, 200),
    ] {
        std::fs::create_dir_all(data.join(side)).unwrap();
        for i in 0..n {
            let picture = image::RgbImage::from_fn(32, 32, |x, y| {
                image::Rgb([
                    shade,
                    shade.wrapping_add((x * 3) as u8),
                    (y * 5) as u8 + i as u8,
                ])
            });
            picture
                .save(data.join(side).join(format!("{i}.png")))
                .unwrap();
        }
    }
    let run = dir.join("run");
    let trained = gans(&[
        "train",
        "cyclegan",
        "--dataset",
        data.to_str().unwrap(),
        "--image-size",
        "32",
        "--width",
        "4",
        "--batch-size",
        "2",
        "--steps",
        "12",
        "--device",
        "cpu",
        "--out",
        run.to_str().unwrap(),
    ]);
    ok(&trained);
    let config = std::fs::read_to_string(run.join("config.json")).unwrap();
    assert!(
        config.contains("\"CycleGan\"") && config.contains("\"LeastSquares\""),
        "{config}"
    );
    assert!(
        config.contains("\"lr_decay\": {\n    \"start\": 6,\n    \"end\": 12"),
        "{config}"
    );
    assert!(image::open(run.join("samples.png")).is_ok());
    let png = dir.join("translations.png");
    ok(&gans(&[
        "sample",
        "--checkpoint",
        run.to_str().unwrap(),
        "--out",
        png.to_str().unwrap(),
    ]));
    // Three test pictures, input | output, side by side: six pictures of 32 px and margins.
    let grid = image::open(&png).unwrap();
    assert!(
        grid.width() >= 6 * 32 && grid.height() >= 32,
        "{}×{}",
        grid.width(),
        grid.height()
    );
    let scores = gans(&["eval", "--checkpoint", run.to_str().unwrap()]);
    assert_eq!(scores.status.code(), Some(1));
    assert!(
        text(&scores.stderr).contains("no true counterparts"),
        "{}",
        text(&scores.stderr)
    );
    let wrong = gans(&[
        "train",
        "cyclegan",
        "--dataset",
        "mnist",
        "--steps",
        "2",
        "--out",
        dir.join("wrong").to_str().unwrap(),
    ]);
    assert_eq!(wrong.status.code(), Some(1));
    let err = text(&wrong.stderr);
    assert!(
        err.contains("emoji-vendors") && err.contains("trainA/"),
        "{err}"
    );
    assert!(!dir.join("wrong").exists(), "nothing was created");
    std::fs::remove_dir_all(&dir).unwrap();
}
