//! Checkpoints: a run saved so that training on from it is exactly the run that never stopped.
//!
//! A checkpoint is a folder with two files:
//! - `checkpoint.safetensors`: the weights of both networks (`net/generator.…`,
//!   `net/discriminator.…`, batch-norm running statistics included), both optimisers' moments
//!   (`opt_g/…`, `opt_d/…`), the fixed noise (`fixed/…`), the snapshots (`snapshot/<i>`), the
//!   partly filled history window (`window/…`) and the step (`meta/step`). Safetensors holds
//!   tensors only: loading it runs no code, unlike a pickle.
//! - `checkpoint.json`: the [`TrainConfig`], the data it trained on, the step counters and the
//!   history, readable by a person.
//!
//! Both are written to temporary files first and renamed into place, tensors first: a crash
//! mid-save leaves the previous checkpoint whole (or a new tensor file beside the old JSON,
//! which loading detects by the step each records, and refuses).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tch::{Kind, Tensor};

use super::config::TrainConfig;
use super::history::History;
use super::trainer::{DataInfo, Snapshot, TrainData, Trainer};

/// The version of the layout below; bump it when the layout changes.
const FORMAT: &str = "gans-checkpoint/1";
const TENSORS: &str = "checkpoint.safetensors";
const META: &str = "checkpoint.json";

/// The JSON half of a checkpoint.
#[derive(Debug, Serialize, Deserialize)]
pub struct CheckpointMeta {
    pub format: String,
    pub crate_version: String,
    pub config: TrainConfig,
    pub data: DataInfo,
    pub step: usize,
    pub d_steps: usize,
    pub window_counts: (usize, usize),
    pub snapshot_steps: Vec<usize>,
    pub seconds: f64,
    pub history: History,
}

impl CheckpointMeta {
    /// Reads and checks the JSON of the checkpoint in `dir`.
    pub fn read(dir: impl AsRef<Path>) -> Result<Self> {
        let path = dir.as_ref().join(META);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "reading {}: is {} a checkpoint folder written by Trainer::save?",
                path.display(),
                dir.as_ref().display()
            )
        })?;
        let value: Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not valid JSON", path.display()))?;
        let format = value.get("format").and_then(Value::as_str).unwrap_or("");
        ensure!(
            format == FORMAT,
            "{} has format {format:?}; this version of gans reads {FORMAT:?}",
            path.display()
        );
        serde_json::from_value(value).with_context(|| {
            format!(
                "{} does not describe a checkpoint this version of gans understands",
                path.display()
            )
        })
    }
}

impl Trainer {
    /// Saves the whole run into the folder `dir` (created if missing), replacing a previous
    /// checkpoint there atomically.
    pub fn save(&self, dir: impl AsRef<Path>) -> Result<()> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the checkpoint folder {}", dir.display()))?;
        let mut tensors: Vec<(String, Tensor)> = Vec::new();
        for (name, var) in self.variables() {
            tensors.push((format!("net/{name}"), var.detach()));
        }
        for (prefix, opt) in [("opt_g", &self.opt_g), ("opt_d", &self.opt_d)] {
            for (name, t) in opt.state() {
                tensors.push((format!("{prefix}/{name}"), t));
            }
        }
        tensors.push(("fixed/input".into(), self.fixed.shallow_clone()));
        if let Some(extra) = &self.fixed_extra {
            tensors.push(("fixed/extra".into(), extra.shallow_clone()));
        }
        for (i, s) in self.snapshots.iter().enumerate() {
            tensors.push((format!("snapshot/{i}"), s.samples.shallow_clone()));
        }
        tensors.push(("window/d".into(), self.window.d.shallow_clone()));
        tensors.push(("window/g".into(), self.window.g.shallow_clone()));
        tensors.push(("meta/step".into(), Tensor::from(self.step as i64)));
        // safetensors wants contiguous CPU tensors.
        let tensors: Vec<(String, Tensor)> = tensors
            .into_iter()
            .map(|(n, t)| (n, t.to_device(tch::Device::Cpu).contiguous()))
            .collect();

        let meta = CheckpointMeta {
            format: FORMAT.into(),
            crate_version: env!("CARGO_PKG_VERSION").into(),
            config: self.config.clone(),
            data: self.data.info(),
            step: self.step,
            d_steps: self.d_steps,
            window_counts: (self.window.d_count, self.window.g_count),
            snapshot_steps: self.snapshots.iter().map(|s| s.step).collect(),
            seconds: self.seconds,
            history: self.history.clone(),
        };
        let temp = temp_path(dir, TENSORS);
        Tensor::write_safetensors(&tensors, &temp)
            .with_context(|| format!("writing {}", temp.display()))?;
        std::fs::rename(&temp, dir.join(TENSORS))
            .with_context(|| format!("moving {} into place", temp.display()))?;
        let json = serde_json::to_vec_pretty(&meta)?;
        crate::viz::write_atomic(&dir.join(META), &json)
    }

    /// A trainer rebuilt from the checkpoint in `dir`, with its own config, ready to train on.
    /// `data` must be the data it was trained on.
    pub fn load(dir: impl AsRef<Path>, data: impl Into<TrainData>) -> Result<Trainer> {
        let meta = CheckpointMeta::read(&dir)?;
        let mut trainer = Trainer::new(meta.config.clone(), data)?;
        trainer.restore(dir.as_ref(), meta)?;
        Ok(trainer)
    }

    /// Loads the checkpoint in `dir` into this trainer, whose config must be the checkpoint's.
    /// On any error the trainer is left as it was.
    pub fn load_checkpoint(&mut self, dir: impl AsRef<Path>) -> Result<()> {
        let meta = CheckpointMeta::read(&dir)?;
        let differences = diff(
            &serde_json::to_value(&meta.config)?,
            &serde_json::to_value(&self.config)?,
            "config",
        );
        if !differences.is_empty() {
            bail!(
                "{} holds another model or config than this trainer:\n  {}\nBuild the trainer \
                 with the checkpoint's own config: Trainer::load(dir, data).",
                dir.as_ref().display(),
                differences.join("\n  ")
            );
        }
        self.restore(dir.as_ref(), meta)
    }

    fn restore(&mut self, dir: &Path, meta: CheckpointMeta) -> Result<()> {
        let info = self.data.info();
        ensure!(
            meta.data == info,
            "{} was trained on {} ({} examples of shape {:?}), this trainer has {} ({} of {:?}): \
             resume on the same data",
            dir.display(),
            meta.data.name,
            meta.data.len,
            meta.data.shape,
            info.name,
            info.len,
            info.shape
        );
        let path = dir.join(TENSORS);
        let tensors = Tensor::read_safetensors(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let find = |key: &str| -> Result<&Tensor> {
            tensors
                .iter()
                .find(|(n, _)| n == key)
                .map(|(_, t)| t)
                .with_context(|| format!("{} has no tensor `{key}`", path.display()))
        };
        let step = find("meta/step")?.int64_value(&[]);
        ensure!(
            step as usize == meta.step,
            "{} is at step {step} but {META} says step {}: the last save was interrupted. \
             Use an earlier checkpoint.",
            path.display(),
            meta.step
        );

        // Check every network variable before changing anything.
        let variables = self.vs.variables();
        let stored: Vec<&str> = tensors
            .iter()
            .filter_map(|(n, _)| n.strip_prefix("net/"))
            .collect();
        let mut problems = Vec::new();
        for (name, var) in &variables {
            match tensors.iter().find(|(n, _)| n == &format!("net/{name}")) {
                None => problems.push(format!("missing `{name}`")),
                Some((_, t)) if t.size() != var.size() => problems.push(format!(
                    "`{name}` has shape {:?}, the model {:?}",
                    t.size(),
                    var.size()
                )),
                Some(_) => {}
            }
        }
        for name in &stored {
            if !variables.contains_key(*name) {
                problems.push(format!("unexpected `{name}`"));
            }
        }
        if !problems.is_empty() {
            problems.truncate(6);
            bail!(
                "{} does not fit this model: {}",
                path.display(),
                problems.join("; ")
            );
        }
        let state = |prefix: &str| -> Vec<(String, Tensor)> {
            tensors
                .iter()
                .filter_map(|(n, t)| {
                    n.strip_prefix(prefix)
                        .map(|rest| (rest.to_string(), t.shallow_clone()))
                })
                .collect()
        };
        // Optimisers load into copies first, so a failure changes nothing.
        let mut opt_g = self.opt_g.clone_empty();
        let mut opt_d = self.opt_d.clone_empty();
        opt_g.load_state(&state("opt_g/"))?;
        opt_d.load_state(&state("opt_d/"))?;
        let device = self.device;
        let fixed = find("fixed/input")?.to_device(device);
        let fixed_extra = match find("fixed/extra") {
            Ok(t) => Some(t.to_device(device)),
            Err(_) => None,
        };
        let snapshots: Vec<Snapshot> = meta
            .snapshot_steps
            .iter()
            .enumerate()
            .map(|(i, &step)| {
                Ok(Snapshot {
                    step,
                    samples: find(&format!("snapshot/{i}"))?.shallow_clone(),
                })
            })
            .collect::<Result<_>>()?;
        let window_d = find("window/d")?.to_device(device).to_kind(Kind::Float);
        let window_g = find("window/g")?.to_device(device).to_kind(Kind::Float);

        // Everything is read and checked: now change the trainer.
        tch::no_grad(|| {
            for (name, mut var) in variables {
                if let Ok(t) = find(&format!("net/{name}")) {
                    var.copy_(t);
                }
            }
        });
        self.opt_g = opt_g;
        self.opt_d = opt_d;
        self.fixed = fixed;
        self.fixed_extra = fixed_extra;
        self.snapshots = snapshots;
        self.window.d = window_d;
        self.window.g = window_g;
        (self.window.d_count, self.window.g_count) = meta.window_counts;
        self.step = meta.step;
        self.d_steps = meta.d_steps;
        self.history = meta.history;
        self.seconds = meta.seconds;
        Ok(())
    }
}

fn temp_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!(".{name}.tmp-{}", std::process::id()))
}

/// The leaves where two JSON values differ, as `path: checkpoint A, this trainer B`.
fn diff(saved: &Value, current: &Value, path: &str) -> Vec<String> {
    match (saved, current) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter()
                .flat_map(|k| {
                    diff(
                        a.get(k).unwrap_or(&Value::Null),
                        b.get(k).unwrap_or(&Value::Null),
                        &format!("{path}.{k}"),
                    )
                })
                .collect()
        }
        (a, b) if a == b => vec![],
        (a, b) => vec![format!("{path}: checkpoint {a}, this trainer {b}")],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::test_dir;
    use crate::data::toy2d::{Toy2d, Toy2dKind};
    use crate::models::toy::ToyConfig;
    use tch::Device;

    fn ring() -> Toy2d {
        Toy2d::new(Toy2dKind::Ring, Device::Cpu)
    }

    fn trainer(hidden: i64) -> Trainer {
        let config = TrainConfig::toy(ToyConfig {
            hidden,
            ..Default::default()
        })
        .batch_size(32)
        .log_every(2)
        .print_every(0);
        Trainer::new(config, ring()).unwrap()
    }

    #[test]
    fn another_model_is_refused_by_name_and_nothing_changes() {
        let dir = test_dir("checkpoint-other-model");
        let mut small = trainer(16);
        small.train(3).unwrap();
        small.save(&dir).unwrap();
        let mut other = trainer(32);
        let before = other.variables()[0].1.copy();
        let err = format!("{:#}", other.load_checkpoint(&dir).unwrap_err());
        assert!(
            err.contains("config.model.Toy.hidden: checkpoint 16, this trainer 32"),
            "{err}"
        );
        assert!(other.variables()[0].1.equal(&before));
        assert_eq!(other.steps_done(), 0);
        // Trainer::load builds the checkpoint's own model instead.
        let loaded = Trainer::load(&dir, ring()).unwrap();
        assert_eq!(
            (loaded.steps_done(), loaded.config.clone()),
            (3, small.config.clone())
        );
        // Other data is refused.
        let grid = Toy2d::new(Toy2dKind::Grid, Device::Cpu);
        let err = format!("{:#}", Trainer::load(&dir, grid).unwrap_err());
        assert!(
            err.contains("toy2d/ring") && err.contains("toy2d/grid"),
            "{err}"
        );
    }

    #[test]
    fn broken_checkpoints_are_explained() {
        let dir = test_dir("checkpoint-broken");
        let err = format!(
            "{:#}",
            Trainer::load(dir.join("nothing"), ring()).unwrap_err()
        );
        assert!(
            err.contains("checkpoint folder written by Trainer::save"),
            "{err}"
        );

        let mut t = trainer(16);
        t.train(2).unwrap();
        t.save(&dir).unwrap();
        // A tensor file from a later save beside the old JSON: an interrupted save.
        let json = std::fs::read_to_string(dir.join(META)).unwrap();
        t.train(2).unwrap();
        t.save(&dir).unwrap();
        std::fs::write(dir.join(META), &json).unwrap();
        let err = format!("{:#}", Trainer::load(&dir, ring()).unwrap_err());
        assert!(err.contains("interrupted"), "{err}");

        std::fs::write(dir.join(META), "{\"format\": \"something else\"}").unwrap();
        let err = format!("{:#}", Trainer::load(&dir, ring()).unwrap_err());
        assert!(err.contains("gans-checkpoint/1"), "{err}");
        std::fs::write(dir.join(META), "not json").unwrap();
        let err = format!("{:#}", Trainer::load(&dir, ring()).unwrap_err());
        assert!(err.contains("not valid JSON"), "{err}");
        // No temporary files are left behind by the saves.
        let names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.contains(".tmp")), "{names:?}");
    }

    #[test]
    fn a_nan_stops_training_with_the_step() {
        let mut t = trainer(16);
        t.train(2).unwrap();
        let (_, mut weight) = t.variables().swap_remove(0);
        tch::no_grad(|| {
            let _ = weight.fill_(f64::NAN);
        });
        let err = t.train(4).unwrap_err().to_string();
        assert!(
            err.starts_with("training diverged at step 4") && err.contains("lr_g = 0.001"),
            "{err}"
        );
    }
}
