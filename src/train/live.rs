//! A view that redraws while a notebook cell trains.
//!
//! evcxr sends a cell's pictures only when the cell ends, and cannot update an output. So the
//! view is shown by an earlier cell ([`Trainer::live`]): a small HTML page whose script asks the
//! Jupyter server every two seconds for `status.json` in the view's folder, and when the trainer
//! has written a newer one, reloads the pictures beside it. While it trains, the trainer rewrites
//! those files (atomically, so a reader never sees half a file) about every three seconds of
//! training, less often when drawing would take more than 2 % of the time. The folder sits under the notebook's own folder, so the Jupyter server that serves
//! the notebook serves the pictures too, through its `files/` address, behind whatever URL,
//! token or proxy the notebook itself is reached by; nothing else runs and nothing is
//! installed. JupyterLab rewrites the view's relative picture addresses into those `files/`
//! addresses, and the script reuses them (their query included) for `status.json`.
//!
//! The pictures are the loss curves, D's verdicts (or the critic's estimate) and the output for
//! the fixed noise (input | output | target for Pix2Pix), drawn without changing anything the
//! run computes: batch-norm statistics touched by drawing are put back, each step reseeds its
//! random numbers, and after each call of a kept or watched trainer the global generator is set
//! from the step alone, whatever the view drew. In a saved notebook, or anywhere the script does not run, the view is
//! one line of text.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

/// Seconds of training between two redraws.
pub const REDRAW_SECONDS: f64 = 3.0;
/// Drawing may take at most 1/MAX_SHARE of the training time: a view that takes longer to draw
/// redraws less often.
pub const MAX_SHARE: f64 = 50.0;

/// The trainer's side: where it draws and when it last did.
#[derive(Debug)]
pub(super) struct Live {
    pub(super) dir: PathBuf,
    pub(super) every: f64,
    /// Seconds the last redraw took, and 1 (0 in tests: no cap by cost).
    pub(super) cost: f64,
    pub(super) throttle: f64,
    pub(super) last: Option<Instant>,
    pub(super) version: u64,
    pub(super) samples: &'static str,
}

#[derive(Serialize)]
pub(super) struct Status<'a> {
    pub(super) version: u64,
    pub(super) step: usize,
    pub(super) text: &'a str,
}

/// The view a notebook cell shows: displays as HTML in Jupyter.
#[derive(Debug, Clone)]
pub struct LiveView {
    pub(super) html: String,
}

impl LiveView {
    /// The view's HTML.
    pub fn html(&self) -> &str {
        &self.html
    }

    /// Shows the view in a notebook.
    pub fn evcxr_display(&self) {
        crate::viz::display_in_notebook("text/html", &self.html);
    }
}

/// The view's page: the pictures (hidden until the first one loads), one status line, and the
/// script that polls.
pub(super) fn view_html(dir: &Path, samples: &str, step: usize) -> String {
    // Each part of the folder's name percent-encoded: a URL path, safe inside an attribute.
    let base = dir
        .components()
        .map(|c| encode(&c.as_os_str().to_string_lossy()))
        .collect::<Vec<_>>()
        .join("/");
    let named = crate::viz::escape_markup(&dir.display().to_string());
    let id = format!(
        "gans-live-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    );
    let img = |name: &str, width: &str| {
        format!(
            "<img data-gans-live src=\"{base}/{name}\" alt=\"\" \
             style=\"display:none; width:{width}; max-width:100%; background:white\">"
        )
    };
    format!(
        "<div id=\"{id}\" style=\"font-family: sans-serif\">\n\
         <div class=\"gans-live-status\">Live view of {named}: in JupyterLab it redraws the \
         losses and the samples every {REDRAW_SECONDS:.0} s while this trainer trains \
         (now at step {step}).</div>\n\
         <div style=\"display:flex; flex-wrap:wrap; gap:8px; align-items:flex-start\">\n\
         {losses}\n{scores}\n{samples}\n</div>\n</div>\n\
         <script>\n{script}</script>",
        losses = img("losses.svg", "420px"),
        scores = img("scores.svg", "420px"),
        samples = img(samples, "320px"),
        script = SCRIPT.replace("ROOT_ID", &id),
    )
}

const SCRIPT: &str = r#"(() => {
  const root = document.getElementById("ROOT_ID");
  if (!root || root.dataset.polling) return;
  root.dataset.polling = "1";
  const line = root.querySelector(".gans-live-status");
  const images = [...root.querySelectorAll("img[data-gans-live]")];
  for (const img of images) {
    img.onload = () => { img.style.display = ""; };
    img.onerror = () => { img.style.display = "none"; };
  }
  // JupyterLab rewrites each relative src into the server's files/ address (with the query it
  // needs, such as _xsrf) shortly after the output appears: read the addresses at every tick.
  const address = (img, v) => {
    const u = new URL(img.getAttribute("src"), document.baseURI);
    u.searchParams.set("v", v);
    return u;
  };
  let seen = null;
  let away = 0;
  const tick = async () => {
    // Not on the page: a notebook that virtualises its cells may bring it back, a re-run
    // output never does (stop after 5 minutes away).
    if (!root.isConnected) { if (++away > 150) clearInterval(timer); return; }
    away = 0;
    if (!images.length) return;
    const first = address(images[0], Date.now());
    const status = new URL("status.json", first);
    first.searchParams.forEach((value, key) => status.searchParams.set(key, value));
    try {
      const reply = await fetch(status.href, { cache: "no-store", credentials: "same-origin" });
      if (!reply.ok) return;
      const s = await reply.json();
      if (s.version === seen) return;
      seen = s.version;
      line.textContent = "live: " + s.text;
      for (const img of images) img.src = address(img, s.version).href;
    } catch (e) { /* not served yet, or being replaced: the next tick tries again */ }
  };
  const timer = setInterval(tick, 2000);
  setTimeout(tick, 500);
})();
"#;

/// `text` percent-encoded for a URL path segment: letters, digits and `-._~` stay.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
