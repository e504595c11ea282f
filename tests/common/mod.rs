//! Helpers shared by the tests: running the `gans` command as a user does, and comparing two
//! trainers.

#![allow(dead_code)] // each test file uses its own part

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{Sender, channel};
use std::thread::JoinHandle;
use std::time::Duration;

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

/// A `gans train` started by [`spawn_training`]. Threads read its stdout and stderr as it writes
/// them, so that it never waits on a full pipe; [`Training::finish`] waits for it to end.
pub struct Training {
    pub child: Child,
    stdout: JoinHandle<String>,
    stderr: JoinHandle<String>,
}

impl Training {
    /// Sends it a signal (`libc::SIGINT`, `libc::SIGTERM`, …), as Ctrl-C or `kill` do.
    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on our own child. It has not been waited for, so its process id is
        // still its own even if it has ended (a signal to an ended child is then ignored).
        let sent = unsafe { libc::kill(self.child.id() as libc::pid_t, signal) };
        assert_eq!(sent, 0, "kill: {}", std::io::Error::last_os_error());
    }

    /// Waits for it to end: its exit status, and all it printed on stdout and stderr.
    pub fn finish(mut self) -> Output {
        let status = self.child.wait().expect("waiting for gans");
        Output {
            status,
            stdout: self.stdout.join().expect("reading stdout").into_bytes(),
            stderr: self.stderr.join().expect("reading stderr").into_bytes(),
        }
    }
}

/// Starts `command` (a `gans train` with `--print-every`) with its stdout and stderr piped; with
/// `wait`, returns once it prints its first progress line (`step …`, on stderr): it is training,
/// and a signal now saves and stops it.
pub fn spawn_training(command: &mut Command, wait: bool) -> Training {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the gans binary runs");
    let (started, trains) = channel();
    let stdout = read_lines(child.stdout.take().unwrap(), None);
    let stderr = read_lines(child.stderr.take().unwrap(), Some(started));
    let mut run = Training {
        child,
        stdout,
        stderr,
    };
    // An error (the command ended without training) arrives at once, as a closed channel.
    if wait && trains.recv_timeout(Duration::from_secs(60)).is_err() {
        let _ = run.child.kill();
        let output = run.finish();
        panic!(
            "gans printed no progress line within 60 s ({:?})\nstdout:\n{}\nstderr:\n{}",
            output.status,
            text(&output.stdout),
            text(&output.stderr)
        );
    }
    run
}

/// A thread that reads `stream` to its end and returns all of it; each line that starts with
/// `step` (a progress line) is announced on `progress`.
fn read_lines(
    stream: impl Read + Send + 'static,
    progress: Option<Sender<()>>,
) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let (mut reader, mut all, mut line) = (BufReader::new(stream), String::new(), Vec::new());
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => return all,
                Ok(_) => {}
            }
            let printed = String::from_utf8_lossy(&line);
            if let Some(progress) = &progress
                && printed.starts_with("step")
            {
                let _ = progress.send(());
            }
            all.push_str(&printed);
        }
    })
}

/// Two trainers ran the same run, bit for bit: every variable, the history, the snapshots and
/// the fixed samples.
pub fn same_run(a: &gans::train::Trainer, b: &gans::train::Trainer) {
    let (va, vb) = (a.variables(), b.variables());
    assert_eq!(va.len(), vb.len());
    for ((name, x), (other, y)) in va.iter().zip(&vb) {
        assert_eq!(name, other);
        assert!(x.equal(y), "{name} differs");
    }
    assert_eq!(a.history(), b.history());
    assert_eq!(a.steps_done(), b.steps_done());
    let (sa, sb) = (a.snapshots(), b.snapshots());
    assert_eq!(sa.len(), sb.len());
    for (x, y) in sa.iter().zip(sb) {
        assert!(x.step == y.step && x.samples.equal(&y.samples));
    }
    assert!(
        a.fixed_samples()
            .unwrap()
            .equal(&b.fixed_samples().unwrap())
    );
}
