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

#[test]
fn a_stopped_notebook_run_again_ends_where_the_unstopped_one_does() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = folder("kept-resume");
    // The notebook, never stopped: two training cells of 10 steps.
    let mut straight = Trainer::new(config(3), patterns()).unwrap();
    straight.train(10).unwrap();
    straight.train(10).unwrap();

    // The same notebook, stopped at step 15 (in the second cell) by a kill: the step that
    // fails stands for the kill, and the trainer is then dropped unsaved.
    {
        let mut first = Trainer::kept(&dir, config(3), patterns()).unwrap();
        first.save_every(0.0).unwrap();
        first.train(10).unwrap();
        let stopped = first.train_with(10, |r| {
            if r.step() == 15 {
                bail!("the stop button");
            }
            standard_step(r)
        });
        assert!(stopped.is_err());
    }
    // Run All again: the same lines.
    let mut again = Trainer::kept(&dir, config(3), patterns()).unwrap();
    assert_eq!(
        again.steps_done(),
        15,
        "resumed from the save after step 15"
    );
    again.train(10).unwrap(); // the first cell: done before the stop
    assert_eq!(again.steps_done(), 15);
    again.train(10).unwrap(); // the second cell: finishes its 10 steps, to step 20
    assert_same(&again, &straight);

    // A training cell run once more continues, as it always did.
    again.train(3).unwrap();
    straight.train(3).unwrap();
    assert_same(&again, &straight);

    // And the save at the end of that call is whole: the next session resumes at step 23.
    let later = Trainer::kept(&dir, config(3), patterns()).unwrap();
    assert_same(&later, &straight);
    std::fs::remove_dir_all(&dir).unwrap();
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
    assert!(!dir.join("calls.json").exists());
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
