//! Helpers shared by the tests that run the `gans` command as a user does.

#![allow(dead_code)] // each test file uses its own part

use std::io::{BufRead, BufReader, Lines};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs `gans ARGS…` and waits for it.
pub fn gans(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gans"))
        .args(args)
        .output()
        .expect("the gans binary runs")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A fresh scratch folder for one test (`prefix` names the test file).
pub fn scratch(prefix: &str, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gans-{prefix}-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The command succeeded; otherwise fail with what it printed.
pub fn ok(output: &Output) {
    assert!(
        output.status.success(),
        "gans failed ({:?})\nstdout:\n{}\nstderr:\n{}",
        output.status,
        text(&output.stdout),
        text(&output.stderr)
    );
}

/// The step recorded in a run folder's checkpoint description.
pub fn checkpoint_step(run: &Path) -> u64 {
    let json = std::fs::read_to_string(run.join("checkpoint/checkpoint.json")).unwrap();
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    value["step"].as_u64().unwrap()
}

/// Starts `command` (a `gans train` with `--print-every`) with its stdout piped; with `wait`,
/// returns once it prints its first progress line (`step …`): it is training. The rest of its
/// lines come back to read.
pub fn spawn_training(command: &mut Command, wait: bool) -> (Child, Lines<BufReader<ChildStdout>>) {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the gans binary runs");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let start = Instant::now();
    if wait {
        loop {
            let line = lines.next().expect("a progress line").unwrap();
            if line.starts_with("step") {
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(60), "no progress");
        }
    }
    (child, lines)
}
