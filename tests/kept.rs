//! Stop and go: a kept trainer killed mid-call and built again by the same line picks up where
//! it saved, replays the stopped run's calls, and ends bit for bit where the run that never
//! stopped ends. And the live view draws without changing a number.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

mod fixtures;
use fixtures::patterns;

use anyhow::bail;
use gans::models::dcgan::DcganConfig;
use gans::train::{ModelConfig, TrainConfig, Trainer, standard_step};

// libtorch's random generator is one per process: one training at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn config(seed: u64) -> TrainConfig {
    let model = ModelConfig::Dcgan(DcganConfig {
        width: 8,
        n_classes: 3,
        ..DcganConfig::mnist()
    });
    TrainConfig::gan(model)
        .batch_size(16)
        .seed(seed)
        .log_every(3)
        .snapshot_every(4)
        .quiet()
}

/// A fresh folder under target/ (relative, as a notebook's run folders are).
fn folder(name: &str) -> PathBuf {
    let dir = Path::new("target/tmp").join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn assert_same(a: &Trainer, b: &Trainer) {
    assert_eq!(a.steps_done(), b.steps_done());
    assert_eq!(a.history().max_difference(b.history()).unwrap(), 0.0);
    assert_eq!(a.history().step, b.history().step);
    let (va, vb) = (a.variables(), b.variables());
    assert_eq!(va.len(), vb.len());
    for ((na, ta), (nb, tb)) in va.iter().zip(&vb) {
        assert_eq!(na, nb);
        assert!(ta.equal(tb), "{na} differs");
    }
    assert_eq!(a.snapshots().len(), b.snapshots().len());
    for (sa, sb) in a.snapshots().iter().zip(b.snapshots()) {
        assert_eq!(sa.step, sb.step);
        assert!(
            sa.samples.equal(&sb.samples),
            "snapshot of step {}",
            sa.step
        );
    }
}

/// The notebook "train 10; set the learning rates; train 10" as one session runs it: a kept
/// trainer in `dir`, calls of `steps.0` and `steps.1`, stopped (by a failing step, then dropped
/// unsaved) when it reaches step `stop_at`, if given.
fn session(dir: &Path, steps: (usize, usize), stop_at: Option<usize>) -> Option<Trainer> {
    let mut t = Trainer::kept(dir, config(3), patterns()).unwrap();
    t.save_every(0.0).unwrap();
    let stop = move |r: &mut gans::train::Round| {
        if Some(r.step()) == stop_at {
            bail!("the stop button");
        }
        standard_step(r)
    };
    t.train_with(steps.0, stop).ok()?;
    t.set_lr(5e-4, 5e-4).unwrap();
    t.train_with(steps.1, stop).ok()?;
    Some(t)
}

#[test]
fn a_stopped_notebook_run_again_ends_where_the_unstopped_one_does() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (dir, straight_dir) = (folder("kept-resume"), folder("kept-straight"));
    // The notebook, never stopped (kept too, so that both settle the random generator alike).
    let mut straight = session(&straight_dir, (10, 10), None).unwrap();

    // Stopped at step 15, in the second cell, after the learning rates changed.
    assert!(session(&dir, (10, 10), Some(15)).is_none());
    // Run All again: resumed (the new learning rates are part of the saved run, not other
    // settings), the first cell's steps done before, the second finishing its call.
    let mut again = session(&dir, (10, 10), None).unwrap();
    assert_same(&again, &straight);

    // A training cell run once more continues, as it always did; a cell that samples after it
    // draws the same in both.
    again.train(3).unwrap();
    let drawn_again = tch::Tensor::randn([4], tch::kind::FLOAT_CPU);
    straight.train(3).unwrap();
    let drawn_straight = tch::Tensor::randn([4], tch::kind::FLOAT_CPU);
    assert_same(&again, &straight);
    assert!(drawn_again.equal(&drawn_straight));

    // And the save at the end of that call is whole: the next session resumes at step 23.
    let later = Trainer::kept(&dir, config(3), patterns()).unwrap();
    assert_eq!(later.steps_done(), 23);
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_dir_all(&straight_dir).unwrap();
}

#[test]
fn a_second_stop_during_the_replay_and_changed_step_counts_still_end_as_planned() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = folder("kept-twice");
    // Stopped at 15; then stopped again at once in the next session's replay of the first call
    // (which trains nothing, so nothing is saved); then Run All with both cells raised to 12.
    assert!(session(&dir, (10, 10), Some(15)).is_none());
    {
        let mut t = Trainer::kept(&dir, config(3), patterns()).unwrap();
        t.train(10).unwrap();
        assert_eq!(t.steps_done(), 15);
    }
    let again = session(&dir, (12, 12), None).unwrap();
    assert_eq!(again.steps_done(), 24);
    // The saved run had changed its learning rates at step 10 (the first session's first
    // call); the edited notebook then plans 24 steps in all: the same as a run that trained 10,
    // changed them, and trained 14, never stopped.
    let straight_dir = folder("kept-twice-straight");
    let straight = session(&straight_dir, (10, 14), None).unwrap();
    assert_same(&again, &straight);
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_dir_all(&straight_dir).unwrap();
}

#[test]
fn changed_settings_or_start_afresh_begin_at_step_zero_and_keep_other_files() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = folder("kept-afresh");
    let mut first = Trainer::kept(&dir, config(3), patterns()).unwrap();
    first.train(6).unwrap();
    assert!(dir.join("checkpoint.safetensors").exists());
    // Another seed: a different run, started afresh.
    let mut other = Trainer::kept(&dir, config(4), patterns()).unwrap();
    assert_eq!(other.steps_done(), 0);
    assert!(other.save_every(-1.0).is_err());
    assert!(
        Trainer::new(config(4), patterns())
            .unwrap()
            .save_every(5.0)
            .is_err()
    );
    // How often it prints is not a setting of the run: that one resumes.
    let mut same = Trainer::kept(&dir, config(3).print_every(2), patterns()).unwrap();
    assert_eq!(same.steps_done(), 6);
    // On purpose: the folder's run goes, a learner's own file there stays.
    std::fs::write(dir.join("notes.txt"), "mine").unwrap();
    same.start_afresh().unwrap();
    assert_eq!(same.steps_done(), 0);
    assert!(!dir.join("checkpoint.safetensors").exists());
    assert_eq!(
        std::fs::read_to_string(dir.join("notes.txt")).unwrap(),
        "mine"
    );
    let after = Trainer::kept(&dir, config(3), patterns()).unwrap();
    assert_eq!(after.steps_done(), 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_live_view_draws_its_pictures_and_changes_no_number() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = folder("live-view");
    let mut plain = Trainer::new(config(5), patterns()).unwrap();
    plain.train(9).unwrap();

    let mut watched = Trainer::new(config(5), patterns()).unwrap();
    let err = watched.live().unwrap_err().to_string();
    assert!(err.contains("Trainer::kept"), "{err}");
    let view = watched.live_in(&dir).unwrap();
    assert!(view.html().contains("losses.svg") && view.html().contains("<script>"));
    watched.live_every_step();
    watched.train(9).unwrap();
    // Drawing the fixed noise's samples in training mode would move batch norm's running
    // statistics; the view puts them back, so the run is the unwatched one, bit for bit.
    assert_same(&watched, &plain);
    for name in ["losses.svg", "scores.svg", "samples.png"] {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        assert!(bytes.len() > 100, "{name}: {} bytes", bytes.len());
    }
    let status: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("status.json")).unwrap()).unwrap();
    assert_eq!(status["step"], 9);
    assert!(status["version"].as_u64().unwrap() >= 3, "{status}");
    // Only the view's own files, rewritten in place: no temporary file is left behind.
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["losses.svg", "samples.png", "scores.svg", "status.json"]
    );
    // A folder holding a learner's own files is refused, and they stay.
    let theirs = folder("live-theirs");
    std::fs::create_dir_all(&theirs).unwrap();
    std::fs::write(theirs.join("losses.png"), "mine").unwrap();
    let err = watched.live_in(&theirs).unwrap_err().to_string();
    assert!(err.contains("losses.png"), "{err}");
    assert_eq!(
        std::fs::read_to_string(theirs.join("losses.png")).unwrap(),
        "mine"
    );
    std::fs::remove_dir_all(&theirs).unwrap();
    // A folder outside the notebook's cannot be served: refused, saying why.
    let err = watched.live_in("/tmp/elsewhere").unwrap_err().to_string();
    assert!(err.contains("inside the notebook's folder"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn gans_runs_dir_moves_a_relative_folder_and_messages_keep_its_name() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let root = folder("runs-root");
    // SAFETY: the lock above keeps the tests of this file from running at the same time, and
    // none of them reads the environment otherwise.
    unsafe { std::env::set_var("GANS_RUNS_DIR", &root) };
    let made = Trainer::kept("runs/moved", config(3), patterns());
    unsafe { std::env::remove_var("GANS_RUNS_DIR") };
    let mut trainer = made.unwrap();
    assert_eq!(trainer.kept_in(), Some(root.join("runs/moved").as_path()));
    let view = trainer.live().unwrap();
    // The page still asks for the pictures where the notebook named them.
    assert!(view.html().contains("src=\"runs/moved/live/losses.svg\""));
    trainer.train(3).unwrap();
    assert!(root.join("runs/moved/checkpoint.safetensors").exists());
    assert!(root.join("runs/moved/live/losses.svg").exists());
    assert!(!Path::new("runs/moved").exists());
    std::fs::remove_dir_all(&root).unwrap();
}
