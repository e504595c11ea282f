//! Training to a target step with checkpoints on the way, as `gans train` does it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::{Result, ensure};

use crate::folder::{RunFolder, has_checkpoint};
use gans::train::Trainer;

/// How a [`drive`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The target step was reached.
    Finished,
    /// `stop` was raised (Ctrl-C, SIGTERM or SIGHUP); the checkpoint holds the step reached.
    Interrupted,
}

/// Trains `trainer` up to step `target` in chunks of `log_every` steps, saving a checkpoint and
/// the figures every `checkpoint_every` steps and at the end. Raising `stop` (the signal handler
/// does, see `signals`) ends the run after the current chunk, with a checkpoint. A NaN or
/// infinite loss ends it with an error and leaves the last checkpoint, the last good state,
/// untouched. `progress` is called after every chunk with the trainer and the speed in steps per
/// second.
pub fn drive(
    trainer: &mut Trainer,
    folder: &RunFolder,
    target: usize,
    checkpoint_every: usize,
    stop: &AtomicBool,
    mut progress: impl FnMut(&Trainer, f64),
) -> Result<Ended> {
    ensure!(
        checkpoint_every > 0,
        "--checkpoint-every must be at least 1"
    );
    let chunk = trainer.config().log_every;
    let (start, first) = (Instant::now(), trainer.steps_done());
    let mut last_saved = trainer.steps_done();
    while trainer.steps_done() < target {
        if stop.load(Ordering::SeqCst) {
            save(folder, trainer)?;
            return Ok(Ended::Interrupted);
        }
        let steps = chunk.min(target - trainer.steps_done());
        // The caller shows progress: the trainer's own lines stay off.
        if let Err(e) = trainer.train_silently(steps) {
            let kept = match (
                saved_step(folder),
                e.downcast_ref::<gans::train::Diverged>(),
            ) {
                (Ok(step), Some(_)) => format!(
                    "The last good checkpoint, step {step}, is kept in {}: continue from it with \
                     `gans train --resume {} --lr <smaller>`.",
                    folder.checkpoint().display(),
                    folder.dir.display()
                ),
                (Ok(step), None) => format!(
                    "Training stopped; the checkpoint of step {step} in {} is kept.",
                    folder.checkpoint().display()
                ),
                (Err(_), _) => "Training stopped.".into(),
            };
            return Err(e.context(kept));
        }
        let done = trainer.steps_done();
        progress(
            trainer,
            (done - first) as f64 / start.elapsed().as_secs_f64().max(1e-9),
        );
        if done - last_saved >= checkpoint_every || done == target {
            save(folder, trainer)?;
            last_saved = done;
        }
    }
    if last_saved != trainer.steps_done() || !has_checkpoint(&folder.checkpoint()) {
        save(folder, trainer)?;
    }
    Ok(Ended::Finished)
}

/// The step of the checkpoint the run folder holds now (an error when none loads).
fn saved_step(folder: &RunFolder) -> Result<usize> {
    Ok(gans::train::CheckpointMeta::read(folder.checkpoint())?.step)
}

/// [`RunFolder::save`], and on an error (a full or read-only disk) which checkpoint the run
/// folder holds now: every file is replaced in one rename, so the last one saved is whole.
fn save(folder: &RunFolder, trainer: &Trainer) -> Result<()> {
    let Err(e) = folder.save(trainer) else {
        return Ok(());
    };
    let step = trainer.steps_done();
    let shown = folder.checkpoint();
    let kept = match saved_step(folder) {
        Ok(saved) if saved == step => format!(
            "the checkpoint of step {step} is saved in {}, but not every figure (losses.svg, \
             samples): they are drawn again with the next checkpoint",
            shown.display()
        ),
        Ok(saved) => format!(
            "saving step {step} failed: the checkpoint of step {saved} in {} is kept and loads. \
             Once the cause is mended, continue from it with `gans train --resume {}`",
            shown.display(),
            folder.dir.display()
        ),
        Err(_) => format!(
            "saving step {step} failed, and {} holds no checkpoint that loads",
            shown.display()
        ),
    };
    Err(e.context(kept))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::folder::RunInfo;
    use crate::spec::{DataSpec, ModelKind};
    use gans::data::toy2d::{Toy2d, Toy2dKind};
    use gans::models::toy::ToyConfig;
    use gans::train::TrainConfig;
    use tch::Device;

    #[test]
    fn drive_gives_divergence_advice_only_for_divergence() {
        let dir = crate::test_dir("run-drive");
        let out = dir.join("run");
        let config = TrainConfig::toy(ToyConfig::default())
            .batch_size(32)
            .log_every(2)
            .quiet();
        let mut trainer = Trainer::new(config, Toy2d::new(Toy2dKind::Ring, Device::Cpu)).unwrap();
        let info = RunInfo::new(ModelKind::named("vanilla").unwrap(), DataSpec::Ring, 10, 2);
        let folder = RunFolder::create(&out, false, &info, &trainer).unwrap();
        let stop = AtomicBool::new(false);
        drive(&mut trainer, &folder, 4, 2, &stop, |_, _| {}).unwrap();
        let (_, mut weight) = trainer.variables().swap_remove(0);
        tch::no_grad(|| {
            let _ = weight.fill_(f64::NAN);
        });
        let err = drive(&mut trainer, &folder, 10, 2, &stop, |_, _| {}).unwrap_err();
        let err = format!("{err:#}");
        assert!(
            err.contains("last good checkpoint, step 4") && err.contains("--lr <smaller>"),
            "{err}"
        );
        let meta = gans::train::CheckpointMeta::read(folder.checkpoint()).unwrap();
        assert_eq!(meta.step, 4);
        // Another failure (here: a trainer loaded without its data) gets no such advice.
        let mut absent = Trainer::load_without_data(folder.checkpoint(), Device::Cpu).unwrap();
        let err = drive(&mut absent, &folder, 10, 2, &stop, |_, _| {}).unwrap_err();
        let err = format!("{err:#}");
        assert!(
            err.contains("checkpoint of step 4 in") && !err.contains("--lr"),
            "{err}"
        );
        drop(folder);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
