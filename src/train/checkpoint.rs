//! Checkpoints: a run saved so that training on from it is exactly the run that never stopped.
//!
//! A checkpoint is a folder with two files:
//! - `checkpoint.safetensors`: the weights of every player (`net/generator.…`,
//!   `net/discriminator.…`, batch-norm running statistics included), both optimisers' moments
//!   (`opt_g/…`, `opt_d/…`), the fixed noise (`fixed/…`), the snapshots (`snapshot/<i>`), the
//!   partly filled history window (`window/…`) and the step (`meta/step`). Safetensors holds
//!   tensors only: loading it runs no code, unlike a pickle.
//! - `checkpoint.json`: the [`TrainConfig`], the data it trained on, the step counters and the
//!   history, readable by a person.
//!
//! The tensor file is the checkpoint: it also carries the JSON, as the bytes of the tensor
//! `meta/json`, and it is written to a temporary file, flushed and renamed into place in one
//! step. A kill at any instant therefore leaves the previous whole checkpoint or the new whole
//! one, never a mix. `checkpoint.json` is written after it, for people and tools to read; when
//! the two disagree (a kill between the two renames), the tensor file wins. Loading takes the
//! description and the weights from one read of the tensor file, so a run saving into the
//! folder meanwhile (`gans eval` of a run that is training) cannot pair one save's description
//! with another save's weights. Checkpoints written before `meta/json` existed load from
//! `checkpoint.json`, with the step each file records compared.

use std::path::Path;

use anyhow::{Context, Result, bail, ensure};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tch::{Kind, Tensor};

use super::config::TrainConfig;
use super::data::{DataInfo, TrainData};
use super::history::History;
use super::trainer::{Snapshot, Trainer};
use crate::files;

/// The version of the layout below; bump it when the layout changes.
const FORMAT: &str = "gans-checkpoint/1";
const TENSORS: &str = "checkpoint.safetensors";
const META: &str = "checkpoint.json";

/// The tensors of a checkpoint file, by name.
type Named = Vec<(String, Tensor)>;

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
    /// A kept trainer's ([`Trainer::kept`]): the config of the line that built it, before any
    /// `set_lr` or `set_progress`. Absent from other checkpoints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kept_from: Option<TrainConfig>,
}

impl CheckpointMeta {
    /// Reads and checks the description of the checkpoint in `dir`: the copy inside its tensor
    /// file (which cannot disagree with the weights), or `checkpoint.json` for checkpoints
    /// written before the tensor file carried one.
    pub fn read(dir: impl AsRef<Path>) -> Result<Self> {
        let (value, source) = Self::read_value(dir.as_ref())?;
        Self::parse(value, &source)
    }

    /// The checked description in `value`, read from `source`.
    fn parse(value: Value, source: &str) -> Result<Self> {
        let meta: Self = serde_json::from_value(value).with_context(|| {
            format!("{source} does not describe a checkpoint this version of gans understands")
        })?;
        // Before anything is built from it: a description edited by hand may ask for networks
        // of any size.
        meta.config.check_sizes().with_context(|| {
            format!(
                "{source} describes a model gans does not build (was it edited by hand?); nothing \
                 was built or changed. Put back the value the run was trained with, or start a \
                 new run"
            )
        })?;
        Ok(meta)
    }

    /// The description `value` (read from `source`, the checkpoint in `dir`) for a trainer with
    /// `config`, which the checkpoint's must equal (an error lists the differences). The saved
    /// config is read as a [`TrainConfig`] where it can be (so that a checkpoint written before a
    /// setting existed gets its default), and compared as it was written otherwise: a model of
    /// one's own (`ModelConfig::Custom`) only its own code can build.
    fn parse_for(mut value: Value, source: &str, dir: &Path, config: &TrainConfig) -> Result<Self> {
        let saved = value
            .get_mut("config")
            .map(Value::take)
            .with_context(|| format!("{source} has no config"))?;
        let saved = match serde_json::from_value::<TrainConfig>(saved.clone()) {
            Ok(complete) => serde_json::to_value(complete)?,
            Err(_) => saved,
        };
        let differences = config_differences(&saved, &serde_json::to_value(config)?);
        if !differences.is_empty() {
            bail!(
                "{} holds another model or config than this trainer:\n  {}\nBuild the trainer \
                 with the checkpoint's own config: Trainer::load(dir, data).",
                dir.display(),
                differences.join("\n  ")
            );
        }
        let rest: Counters = serde_json::from_value(value).with_context(|| {
            format!("{source} does not describe a checkpoint this version of gans understands")
        })?;
        Ok(CheckpointMeta {
            format: rest.format,
            crate_version: rest.crate_version,
            config: config.clone(),
            data: rest.data,
            step: rest.step,
            d_steps: rest.d_steps,
            window_counts: rest.window_counts,
            snapshot_steps: rest.snapshot_steps,
            seconds: rest.seconds,
            history: rest.history,
            kept_from: rest.kept_from,
        })
    }

    /// Where `checkpoint.json`, the readable copy beside the tensor file, no longer says what
    /// the tensor file's own description (`meta/json`, which loading reads) says: it was edited
    /// by hand, and the edit is not used. Each difference as `path: checkpoint.safetensors a,
    /// checkpoint.json b`. Empty when the two agree, when either is missing, and when the copy
    /// is of another step (a save cut short between the two files, which the next one mends).
    pub fn edited_copy(dir: impl AsRef<Path>) -> Result<Vec<String>> {
        let dir = dir.as_ref();
        let (tensors, copy) = (dir.join(TENSORS), dir.join(META));
        let (Ok(Some(embedded)), Ok(text)) =
            (embedded_meta(&tensors), std::fs::read_to_string(&copy))
        else {
            return Ok(Vec::new());
        };
        let embedded: Value = serde_json::from_str(&embedded).with_context(|| damaged(&tensors))?;
        let Ok(copied) = serde_json::from_str::<Value>(&text) else {
            return Ok(vec![format!("{} is not valid JSON", copy.display())]);
        };
        if copied.get("step") != embedded.get("step") {
            return Ok(Vec::new());
        }
        let names = ("checkpoint.safetensors", "checkpoint.json");
        Ok(json_differences(&embedded, &copied, "", names)
            .into_iter()
            .map(|d| d.trim_start_matches('.').to_string())
            .collect())
    }

    /// The JSON of the checkpoint in `dir`, its format checked, and where it came from.
    fn read_value(dir: &Path) -> Result<(Value, String)> {
        let tensors = dir.join(TENSORS);
        let embedded = match tensors.is_file() {
            true => embedded_meta(&tensors)?,
            false => None,
        };
        Self::value_of(dir, embedded)
    }

    /// The JSON of the checkpoint in `dir` and its tensors, read together from one read of the
    /// tensor file (`None` where it is missing). A run saving into `dir` meanwhile renames a
    /// new file into place between any two reads of it, so everything loading needs comes
    /// from this one: one save's description never meets another save's weights.
    fn read_whole(dir: &Path) -> Result<(Value, String, Option<Named>)> {
        let path = dir.join(TENSORS);
        if !path.is_file() {
            let (value, source) = Self::value_of(dir, None)?;
            return Ok((value, source, None));
        }
        // The header first: a damaged file is explained before libtorch reads it.
        embedded_meta(&path)?;
        let tensors = Tensor::read_safetensors(&path).with_context(|| damaged(&path))?;
        let embedded = match tensors.iter().find(|(n, _)| n == "meta/json") {
            Some((_, t)) => {
                let bytes = Vec::<u8>::try_from(t).with_context(|| damaged(&path))?;
                Some(String::from_utf8(bytes).with_context(|| damaged(&path))?)
            }
            None => None,
        };
        let (value, source) = Self::value_of(dir, embedded)?;
        Ok((value, source, Some(tensors)))
    }

    /// The JSON of the checkpoint in `dir`, from `embedded` (its tensor file's copy) where there
    /// is one and from `checkpoint.json` otherwise, its format checked, and where it came from.
    fn value_of(dir: &Path, embedded: Option<String>) -> Result<(Value, String)> {
        let tensors = dir.join(TENSORS);
        let (text, source) = match embedded {
            Some(json) => (json, format!("{} (its meta/json)", tensors.display())),
            _ => {
                let path = dir.join(META);
                let text = std::fs::read_to_string(&path).with_context(|| {
                    format!(
                        "reading {}: is {} a checkpoint folder written by Trainer::save?",
                        path.display(),
                        dir.display()
                    )
                })?;
                (text, path.display().to_string())
            }
        };
        let value: Value =
            serde_json::from_str(&text).with_context(|| format!("{source} is not valid JSON"))?;
        let format = value.get("format").and_then(Value::as_str).unwrap_or("");
        ensure!(
            format == FORMAT,
            "{source} has format {format:?}; this version of gans reads {FORMAT:?}"
        );
        Ok((value, source))
    }
}

/// Everything of [`CheckpointMeta`] but the config.
#[derive(Deserialize)]
struct Counters {
    format: String,
    crate_version: String,
    data: DataInfo,
    step: usize,
    d_steps: usize,
    window_counts: (usize, usize),
    snapshot_steps: Vec<usize>,
    seconds: f64,
    history: History,
    #[serde(default)]
    kept_from: Option<TrainConfig>,
}

/// The checkpoint in `dir` was trained on `info`'s data (the same name, size and shape).
fn same_data(dir: &Path, saved: &DataInfo, info: &DataInfo) -> Result<()> {
    ensure!(
        saved == info,
        "{} was trained on {} ({} examples of shape {:?}), and the data given now is {} ({} of \
         {:?}): a run resumes on the data it was trained on. Put back the examples that changed, \
         or start a new run on the data as it is now",
        dir.display(),
        saved.name,
        saved.len,
        saved.shape,
        info.name,
        info.len,
        info.shape
    );
    Ok(())
}

/// The advice given with every damaged checkpoint file.
fn damaged(path: &Path) -> String {
    format!(
        "{} is damaged (truncated, or not a checkpoint written by gans). Nothing was changed. \
         Restore it from a copy, or start the run again; a run folder written by `gans train` \
         keeps one checkpoint, so copy checkpoint/ aside to keep an older one",
        path.display()
    )
}

/// The bytes of the `meta/json` tensor of a safetensors file, read from its header without
/// loading the other tensors; `None` for a file without one (an older checkpoint).
fn embedded_meta(path: &Path) -> Result<Option<String>> {
    use std::io::{Read, Seek, SeekFrom};
    let read = || -> std::io::Result<Option<Vec<u8>>> {
        let mut file = std::fs::File::open(path)?;
        let file_len = file.metadata()?.len();
        let mut len = [0u8; 8];
        file.read_exact(&mut len)?;
        let header_len = u64::from_le_bytes(len);
        let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "bad header");
        if header_len > file_len.saturating_sub(8) || header_len > 100_000_000 {
            return Err(bad());
        }
        let mut header = vec![0u8; header_len as usize];
        file.read_exact(&mut header)?;
        let header: Value = serde_json::from_slice(&header).map_err(|_| bad())?;
        let Some(entry) = header.get("meta/json") else {
            return Ok(None);
        };
        let offsets: Vec<u64> = entry
            .get("data_offsets")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_u64).collect())
            .unwrap_or_default();
        let [begin, end] = offsets[..] else {
            return Err(bad());
        };
        let start = 8u64
            .checked_add(header_len)
            .and_then(|s| s.checked_add(begin));
        let stop = start
            .zip(end.checked_sub(begin))
            .and_then(|(s, n)| s.checked_add(n));
        let (Some(start), Some(stop)) = (start, stop) else {
            return Err(bad());
        };
        if stop > file_len {
            return Err(bad());
        }
        file.seek(SeekFrom::Start(start))?;
        let mut bytes = vec![0u8; (end - begin) as usize];
        file.read_exact(&mut bytes)?;
        Ok(Some(bytes))
    };
    let bytes = read().with_context(|| damaged(path))?;
    bytes
        .map(|b| String::from_utf8(b).with_context(|| damaged(path)))
        .transpose()
}

impl Trainer {
    /// Saves the whole run into the folder `dir` (created if missing), replacing a previous
    /// checkpoint there atomically.
    pub fn save(&self, dir: impl AsRef<Path>) -> Result<()> {
        let dir = dir.as_ref();
        self.check_finite().with_context(|| {
            format!(
                "not saving to {}: the checkpoint already there, if any, stays as it was",
                dir.display()
            )
        })?;
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the checkpoint folder {}", dir.display()))?;
        let mut tensors: Vec<(String, Tensor)> = Vec::new();
        for (name, var) in self.variables() {
            tensors.push((format!("net/{name}"), var.detach()));
        }
        if let Some(average) = &self.players.average {
            for (name, var) in average.variables() {
                tensors.push((format!("ema/{name}"), var.detach()));
            }
        }
        for (prefix, opt) in [
            ("opt_g", &self.players.opt_g),
            ("opt_d", &self.players.opt_d),
        ] {
            for (name, t) in opt.state() {
                tensors.push((format!("{prefix}/{name}"), t));
            }
        }
        tensors.push(("fixed/input".into(), self.fixed.input.shallow_clone()));
        if let Some(extra) = &self.fixed.condition_or_target {
            tensors.push(("fixed/extra".into(), extra.shallow_clone()));
        }
        for (i, s) in self.snapshots.iter().enumerate() {
            tensors.push((format!("snapshot/{i}"), s.samples.shallow_clone()));
        }
        tensors.push(("window/d".into(), self.window.d.shallow_clone()));
        tensors.push(("window/g".into(), self.window.g.shallow_clone()));
        tensors.push(("meta/step".into(), Tensor::from(self.steps_done as i64)));
        // safetensors wants contiguous CPU tensors.
        let mut tensors: Vec<(String, Tensor)> = tensors
            .into_iter()
            .map(|(n, t)| (n, t.to_device(tch::Device::Cpu).contiguous()))
            .collect();

        let meta = CheckpointMeta {
            format: FORMAT.into(),
            crate_version: env!("CARGO_PKG_VERSION").into(),
            config: self.config.clone(),
            data: self.data().info(),
            step: self.steps_done,
            d_steps: self.batches.drawn,
            window_counts: (self.window.d_count, self.window.g_count),
            snapshot_steps: self.snapshots.iter().map(|s| s.step).collect(),
            seconds: self.seconds,
            history: self.history.clone(),
            kept_from: self.keep.as_ref().map(|k| k.built_with.clone()),
        };
        let json = serde_json::to_vec_pretty(&meta)?;
        tensors.push(("meta/json".into(), Tensor::from_slice(&json)));

        // One file holds the whole checkpoint, so one rename replaces it whole.
        files::replace_atomically(&dir.join(TENSORS), |temp| {
            Ok(Tensor::write_safetensors(&tensors, temp)?)
        })?;
        // The readable copy; the tensor file above is what loading trusts.
        files::write_atomic(&dir.join(META), &json)
    }

    /// A trainer rebuilt from the checkpoint in `dir`, with its own config, ready to train on.
    /// `data` must be the data it was trained on.
    pub fn load(dir: impl AsRef<Path>, data: impl Into<TrainData>) -> Result<Trainer> {
        let data = data.into();
        Self::from_checkpoint(dir.as_ref(), |_| data)
    }

    /// A trainer rebuilt from the checkpoint in `dir` without its training data, on `device`:
    /// enough to sample, translate, draw its charts and score it, not to train on (that needs
    /// [`Trainer::load`] with the data). Used by `gans sample` and `gans eval`, so that they
    /// work when the training data has moved or changed.
    pub fn load_without_data(dir: impl AsRef<Path>, device: tch::Device) -> Result<Trainer> {
        Self::from_checkpoint(dir.as_ref(), |meta| TrainData::Absent {
            info: meta.data.clone(),
            device,
        })
    }

    /// The checkpoint's own model built on `data(meta)`, then loaded with its state.
    fn from_checkpoint(
        dir: &Path,
        data: impl FnOnce(&CheckpointMeta) -> TrainData,
    ) -> Result<Trainer> {
        let (value, source, tensors) = CheckpointMeta::read_whole(dir)?;
        let meta = CheckpointMeta::parse(value, &source)?;
        let data = data(&meta);
        // Before the trainer is built: data that changed since (pictures removed from a
        // folder) would otherwise be refused for what it does to the config (a batch larger
        // than the data), with advice that cannot be followed on a checkpoint.
        same_data(dir, &meta.data, &data.info())?;
        let mut trainer = Trainer::new(meta.config.clone(), data)?;
        trainer.restore(dir, meta, tensors)?;
        Ok(trainer)
    }

    /// Loads the checkpoint in `dir` into this trainer, whose config must be the checkpoint's.
    /// On any error the trainer is left as it was.
    pub fn load_checkpoint(&mut self, dir: impl AsRef<Path>) -> Result<()> {
        let dir = dir.as_ref();
        let (value, source, tensors) = CheckpointMeta::read_whole(dir)?;
        let meta = CheckpointMeta::parse_for(value, &source, dir, &self.config)?;
        self.restore(dir, meta, tensors)
    }

    /// Puts the state in `tensors` (read with `meta` by [`CheckpointMeta::read_whole`]) into
    /// this trainer, or changes nothing.
    fn restore(&mut self, dir: &Path, meta: CheckpointMeta, tensors: Option<Named>) -> Result<()> {
        same_data(dir, &meta.data, &self.data().info())?;
        let path = dir.join(TENSORS);
        let Some(tensors) = tensors else {
            bail!(
                "{} is missing: {} holds no whole checkpoint",
                path.display(),
                dir.display()
            );
        };
        let find = |key: &str| -> Result<&Tensor> {
            tensors
                .iter()
                .find(|(n, _)| n == key)
                .map(|(_, t)| t)
                .with_context(|| format!("{} has no tensor `{key}`", path.display()))
        };
        let step = find("meta/step")?
            .f_int64_value(&[])
            .with_context(|| damaged(&path))?;
        ensure!(
            step as usize == meta.step,
            "{} is at step {step} but {META} says step {}: the last save was interrupted. \
             Use an earlier checkpoint.",
            path.display(),
            meta.step
        );

        // Check every network variable before changing anything.
        let variables = self.players.vs.variables();
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
        let averages = (self.players.average.as_ref())
            .map(|a| a.variables())
            .unwrap_or_default();
        for (name, var) in &averages {
            match tensors.iter().find(|(n, _)| n == &format!("ema/{name}")) {
                None => problems.push(format!("missing the moving average `ema/{name}`")),
                Some((_, t)) if t.size() != var.size() => {
                    problems.push(format!("`ema/{name}` has shape {:?}", t.size()))
                }
                Some(_) => {}
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
        let mut opt_g = self.players.opt_g.clone_empty();
        let mut opt_d = self.players.opt_d.clone_empty();
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
        ensure!(
            window_d.size() == self.window.d.size()
                && window_g.size() == self.window.g.size()
                && fixed.size().get(1..) == self.fixed.input.size().get(1..),
            "{}: the history window or the fixed input has the wrong shape for this model ({:?}, \
             {:?}, {:?}): {}",
            path.display(),
            window_d.size(),
            window_g.size(),
            fixed.size(),
            damaged(&path)
        );

        // Everything is read and checked: now change the trainer.
        tch::no_grad(|| {
            for (name, mut var) in variables {
                if let Ok(t) = find(&format!("net/{name}")) {
                    var.copy_(t);
                }
            }
            for (name, mut var) in averages {
                if let Ok(t) = find(&format!("ema/{name}")) {
                    var.copy_(t);
                }
            }
        });
        self.players.opt_g = opt_g;
        self.players.opt_d = opt_d;
        self.fixed.input = fixed;
        self.fixed.condition_or_target = fixed_extra;
        self.snapshots = snapshots;
        self.window.d = window_d;
        self.window.g = window_g;
        (self.window.d_count, self.window.g_count) = meta.window_counts;
        self.steps_done = meta.step;
        self.batches.drawn = meta.d_steps;
        self.history = meta.history;
        self.seconds = meta.seconds;
        Ok(())
    }
}

/// The leaves where two JSON values differ, as `path: checkpoint A, this trainer B`.
/// What differs between a saved config and a trainer's, setting by setting, leaving out how
/// often they print (which changes nothing a run computes).
pub(super) fn config_differences(saved: &Value, current: &Value) -> Vec<String> {
    json_differences(saved, current, "config", ("checkpoint", "this trainer"))
        .into_iter()
        .filter(|d| !d.starts_with("config.print_"))
        .collect()
}

/// The leaves where the JSON values `a` and `b` differ, below `path`, each as
/// `path.to.leaf: NAME_A a, NAME_B b` with `names` = (NAME_A, NAME_B).
pub fn json_differences(a: &Value, b: &Value, path: &str, names: (&str, &str)) -> Vec<String> {
    diff(a, b, path, names)
}

fn diff(saved: &Value, current: &Value, path: &str, names: (&str, &str)) -> Vec<String> {
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
                        names,
                    )
                })
                .collect()
        }
        (a, b) if a == b => vec![],
        (a, b) => vec![format!("{path}: {} {a}, {} {b}", names.0, names.1)],
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
        .quiet();
        Trainer::new(config, ring()).unwrap()
    }

    /// A checkpoint written before a setting existed (here `channels_last`, `print_seconds`)
    /// loads into a trainer with that setting's default: the saved config is read with its
    /// defaults before it is compared.
    #[test]
    fn an_older_checkpoint_without_newer_settings_loads_into_a_trainer() {
        let dir = test_dir("checkpoint-older-settings");
        let mut t = trainer(16);
        t.train(3).unwrap();
        t.save(&dir).unwrap();
        // The older layout: no tensor copy of the JSON (read from checkpoint.json), and a config
        // without the settings added since.
        let path = dir.join(META);
        let mut meta: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let config = meta["config"].as_object_mut().unwrap();
        config.remove("channels_last");
        config.remove("print_seconds");
        std::fs::write(&path, serde_json::to_vec(&meta).unwrap()).unwrap();
        std::fs::remove_file(dir.join(TENSORS)).unwrap();
        let defaults = trainer(16)
            .config()
            .clone()
            .channels_last(false)
            .print_seconds(5.0);
        let read_for = |config: &TrainConfig| {
            let (value, source, _) = CheckpointMeta::read_whole(&dir)?;
            CheckpointMeta::parse_for(value, &source, &dir, config)
        };
        let old = read_for(&defaults);
        assert_eq!(old.unwrap().step, 3);
        let err = read_for(&defaults.channels_last(true)).unwrap_err();
        assert!(format!("{err:#}").contains("channels_last"), "{err:#}");
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

    /// `gans eval` of a run that is training: each load pairs a save's description with the
    /// same save's weights, however the saves fall between its reads.
    #[test]
    fn a_checkpoint_saved_over_while_it_loads_loads_whole() {
        let dir = test_dir("checkpoint-live");
        // The files of two saves, written over each other in the order `save` writes them.
        // Building a trainer seeds libtorch's global generator, which tests running beside this
        // one draw from: three are built in all, none in the saver's loop.
        let mut t = trainer(16);
        let saves: Vec<Vec<Vec<u8>>> = (0..2)
            .map(|_| {
                t.train(1).unwrap();
                t.save(&dir).unwrap();
                [TENSORS, META]
                    .map(|f| std::fs::read(dir.join(f)).unwrap())
                    .to_vec()
            })
            .collect();
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        /// Stops the saver however the test ends, a failed unwrap included.
        struct Stop(Arc<AtomicBool>);
        impl Drop for Stop {
            fn drop(&mut self) {
                self.0.store(true, Ordering::Relaxed);
            }
        }
        let written = Arc::new(AtomicUsize::new(0));
        let stop = Stop(Arc::new(AtomicBool::new(false)));
        let saver = {
            let (dir, written, done) = (dir.clone(), written.clone(), stop.0.clone());
            std::thread::spawn(move || {
                for n in 0.. {
                    if done.load(Ordering::Relaxed) {
                        break;
                    }
                    let save = &saves[n % 2];
                    files::write_atomic(&dir.join(TENSORS), &save[0]).unwrap();
                    files::write_atomic(&dir.join(META), &save[1]).unwrap();
                    written.store(n + 1, Ordering::Relaxed);
                }
            })
        };
        // A torn pair (before this was fixed: "the last save was interrupted") fails an unwrap.
        // The loads go on until they have met many saves of both steps, or the saver failed.
        let mut loader = trainer(16);
        let mut steps = std::collections::BTreeSet::new();
        let mut loads = 0;
        while (loads < 100 || written.load(Ordering::Relaxed) < 200) && !saver.is_finished() {
            loader.load_checkpoint(&dir).unwrap();
            steps.insert(loader.steps_done());
            if loads == 50 {
                Trainer::load(&dir, ring()).unwrap();
            }
            loads += 1;
        }
        drop(stop);
        saver.join().unwrap();
        assert_eq!(steps.len(), 2, "{steps:?}");
    }

    /// A tensor file from before it carried its description (`meta/json`) loads with
    /// `checkpoint.json`'s.
    #[test]
    fn a_tensor_file_without_its_description_loads_with_the_json() {
        let dir = test_dir("checkpoint-no-meta-json");
        let mut t = trainer(16);
        t.train(3).unwrap();
        t.save(&dir).unwrap();
        let path = dir.join(TENSORS);
        let tensors: Vec<(String, Tensor)> = Tensor::read_safetensors(&path)
            .unwrap()
            .into_iter()
            .filter(|(n, _)| n != "meta/json")
            .collect();
        Tensor::write_safetensors(&tensors, &path).unwrap();
        assert_eq!(embedded_meta(&path).unwrap(), None);
        let mut loader = trainer(16);
        loader.load_checkpoint(&dir).unwrap();
        assert_eq!(loader.steps_done(), 3);
        assert!(loader.variables()[0].1.equal(&t.variables()[0].1));
        // Its step is still checked against the JSON's.
        let json = std::fs::read_to_string(dir.join(META)).unwrap();
        let edited = json.replacen("\"step\": 3", "\"step\": 2", 1);
        assert_ne!(json, edited);
        std::fs::write(dir.join(META), edited).unwrap();
        let err = format!("{:#}", loader.load_checkpoint(&dir).unwrap_err());
        assert!(err.contains("the last save was interrupted"), "{err}");
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
        // A kill between the two renames: a tensor file from a later save beside the old
        // JSON. The tensor file carries its own description, so the checkpoint is whole.
        let json = std::fs::read_to_string(dir.join(META)).unwrap();
        t.train(2).unwrap();
        t.save(&dir).unwrap();
        std::fs::write(dir.join(META), &json).unwrap();
        assert_eq!(Trainer::load(&dir, ring()).unwrap().steps_done(), 4);
        // Even with the readable copy damaged or gone.
        std::fs::write(dir.join(META), "not json").unwrap();
        assert_eq!(Trainer::load(&dir, ring()).unwrap().steps_done(), 4);
        std::fs::remove_file(dir.join(META)).unwrap();
        assert_eq!(Trainer::load(&dir, ring()).unwrap().steps_done(), 4);

        // The tensor file truncated: which file, that it is damaged, what to do.
        let tensors = dir.join(TENSORS);
        let good = std::fs::read(&tensors).unwrap();
        std::fs::write(&tensors, &good[..good.len() - 100]).unwrap();
        let err = format!("{:#}", Trainer::load(&dir, ring()).unwrap_err());
        assert!(err.contains("checkpoint.safetensors is damaged"), "{err}");
        std::fs::write(&tensors, &good).unwrap();

        // The description inside from another version: refused by format.
        let mut t = trainer(16);
        t.train(2).unwrap();
        let other = test_dir("checkpoint-broken-format");
        t.save(&other).unwrap();
        let text = std::fs::read(other.join(TENSORS)).unwrap();
        let from = FORMAT.as_bytes();
        let at = text.windows(from.len()).position(|w| w == from).unwrap();
        let mut changed = text.clone();
        changed[at + from.len() - 1] = b'9';
        std::fs::write(other.join(TENSORS), &changed).unwrap();
        let err = format!("{:#}", Trainer::load(&other, ring()).unwrap_err());
        assert!(
            err.contains("gans-checkpoint/9") && err.contains(FORMAT),
            "{err}"
        );
        // No temporary files are left behind by the saves.
        let names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.contains(".tmp")), "{names:?}");
    }

    #[test]
    fn non_finite_weights_are_never_saved_and_steps_between_records_are_checked() {
        let dir = test_dir("checkpoint-nan");
        let mut t = trainer(16); // log_every 2
        t.train(2).unwrap();
        t.save(&dir).unwrap();
        let before = std::fs::read(dir.join(TENSORS)).unwrap();
        let (_, mut weight) = t.variables().swap_remove(0);
        tch::no_grad(|| {
            let _ = weight.fill_(f64::NAN);
        });
        // One step ends between two history points: its losses are still read.
        let err = t.train(1).unwrap_err();
        assert!(
            err.downcast_ref::<crate::train::Diverged>().is_some(),
            "{err:#}"
        );
        assert!(
            err.to_string().starts_with("training diverged at step 3"),
            "{err:#}"
        );
        let err = format!("{:#}", t.save(&dir).unwrap_err());
        assert!(
            err.contains("not saving") && err.contains("stays as it was"),
            "{err}"
        );
        assert_eq!(std::fs::read(dir.join(TENSORS)).unwrap(), before);
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
