//! Helpers shared by the tests that run the `gans` command as a user does.

#![allow(dead_code)] // each test file uses its own part

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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
