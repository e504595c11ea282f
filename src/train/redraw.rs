//! The trainer's side of the live view (described in `live`): [`Trainer::live`], and the
//! redraw about every three seconds of training.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, ensure};
use tch::Tensor;

use super::live::{Live, LiveView, MAX_SHARE, REDRAW_SECONDS, Status, view_html};
use super::trainer::Trainer;
use crate::files;

impl Trainer {
    /// A view of this trainer that redraws while it trains, for a notebook cell shown before
    /// the training cell. It draws into `live/` in the trainer's kept folder
    /// ([`Trainer::kept`]); [`Trainer::live_in`] names a folder.
    pub fn live(&mut self) -> Result<LiveView> {
        let keep = self.keep.as_ref().context(
            "this trainer keeps no folder: make it with Trainer::kept(dir, config, data), or \
             name the view's folder with live_in(dir)",
        )?;
        let (dir, shown) = (keep.dir.join("live"), keep.shown.join("live"));
        servable(&shown)?;
        self.start_live(&dir, &shown)
    }

    /// A view that redraws while this trainer trains, drawing into `dir`, a folder under the
    /// notebook's own (relative to it), which the Jupyter server serves: an empty or new
    /// folder, or one a live view drew in before.
    pub fn live_in(&mut self, dir: impl AsRef<Path>) -> Result<LiveView> {
        let dir = dir.as_ref();
        servable(dir)?;
        self.start_live(dir, dir)
    }

    /// Draws into `dir`; the page asks for the pictures at `shown`, relative to the notebook.
    fn start_live(&mut self, dir: &Path, shown: &Path) -> Result<LiveView> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the live view's folder {}", shown.display()))?;
        let others: Vec<String> = std::fs::read_dir(dir)
            .with_context(|| format!("reading the live view's folder {}", shown.display()))?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| !VIEW_FILES.contains(&name.as_str()) && !name.starts_with('.'))
            .collect();
        ensure!(
            others.is_empty(),
            "{} holds files a live view did not make ({}): name an empty folder for the view, \
             whose files it replaces",
            shown.display(),
            others.join(", ")
        );
        let samples = if self.config.model.makes_points() {
            "samples.svg"
        } else {
            "samples.png"
        };
        let mut live = Live {
            dir: dir.to_path_buf(),
            every: REDRAW_SECONDS,
            cost: 0.0,
            throttle: 1.0,
            last: None,
            version: 0,
            samples,
        };
        // Start from what the trainer holds now, so the view never shows another run's files.
        for name in VIEW_FILES {
            let _ = std::fs::remove_file(dir.join(name));
        }
        if !self.history.is_empty() {
            self.redraw(&mut live)?;
        }
        let html = view_html(shown, samples, self.steps_done);
        self.live = Some(live);
        Ok(LiveView { html })
    }

    /// Redraws the live view when its time has come (`at_end`: the call is over). A view that
    /// cannot be drawn stops with a notice; training goes on.
    pub(super) fn live_tick(&mut self, at_end: bool) {
        let Some(mut live) = self.live.take() else {
            return;
        };
        // Every REDRAW_SECONDS, and never more often than keeps drawing under 1/MAX_SHARE of
        // the time (a big model on a slow machine draws less often).
        let wait = live.every.max(live.cost * MAX_SHARE * live.throttle);
        let due = at_end || live.last.is_none_or(|t| t.elapsed().as_secs_f64() >= wait);
        if due
            && !self.history.is_empty()
            && let Err(e) = self.redraw(&mut live)
        {
            eprintln!("gans: the live view stopped: {e:#}");
            return;
        }
        self.live = Some(live);
    }

    /// Test hook: redraw the live view after every step.
    #[doc(hidden)]
    pub fn live_every_step(&mut self) {
        if let Some(live) = self.live.as_mut() {
            live.every = 0.0;
            live.throttle = 0.0;
        }
    }

    fn redraw(&self, live: &mut Live) -> Result<()> {
        let began = Instant::now();
        let dir = &live.dir;
        files::write_atomic(
            &dir.join("losses.svg"),
            self.losses(0.6)?.to_svg()?.as_bytes(),
        )?;
        if self.config.adversarial {
            files::write_atomic(
                &dir.join("scores.svg"),
                self.d_chart(0.6)?.to_svg()?.as_bytes(),
            )?;
        }
        let samples = dir.join(live.samples);
        self.with_statistics_kept(|| -> Result<()> {
            if self.config.model.makes_points() {
                files::write_atomic(&samples, self.toy_chart(512)?.to_svg()?.as_bytes())
            } else if self.shows_triplets() {
                self.triplets(4)?.save(&samples)
            } else {
                self.fixed_grid()?.save(&samples)
            }
        })?;
        live.version += 1;
        live.last = Some(Instant::now());
        live.cost = began.elapsed().as_secs_f64();
        let text = format!(
            "step {}",
            super::progress::thousands(self.steps_done as i64)
        );
        let status = Status {
            version: live.version,
            step: self.steps_done,
            text: &text,
        };
        files::write_atomic(&dir.join("status.json"), &serde_json::to_vec(&status)?)
    }

    /// Runs `f`, then puts back every batch-norm running statistic it changed: drawing in
    /// training mode updates them, and the run must not depend on when a view was drawn.
    fn with_statistics_kept<T>(&self, f: impl FnOnce() -> T) -> T {
        let mut kept: Vec<(Tensor, Tensor)> = Vec::new();
        let mut all = self.players.variables();
        if let Some(average) = &self.players.average {
            all.extend(average.variables());
        }
        for (name, var) in all {
            if name.contains("running_") || name.ends_with("num_batches_tracked") {
                kept.push((var.copy(), var));
            }
        }
        let out = f();
        tch::no_grad(|| {
            for (saved, mut var) in kept {
                var.copy_(&saved);
            }
        });
        out
    }
}

/// The files a live view writes (and replaces).
const VIEW_FILES: [&str; 5] = [
    "losses.svg",
    "scores.svg",
    "samples.png",
    "samples.svg",
    "status.json",
];

/// A folder the Jupyter server can serve to the notebook: relative to it, inside it.
fn servable(dir: &Path) -> Result<()> {
    ensure!(
        dir.is_relative() && !dir.components().any(|c| c.as_os_str() == ".."),
        "{}: the live view's folder must be inside the notebook's folder, given relative to it \
         (such as runs/02/faces/live), for the Jupyter server to serve its pictures",
        dir.display()
    );
    Ok(())
}
