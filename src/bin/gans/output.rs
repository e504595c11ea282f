//! What the command prints, and where. Results, what a script reads (the scores, `gans info`'s
//! report, the last line of a training run), go to stdout; progress, warnings and errors go to
//! stderr. `gans eval … | head -1` therefore gets the first result, and `gans train … > out.txt`
//! keeps the outcome while the progress stays on the screen.
//!
//! A reader that goes away early (`head -1`, a closed log pipe, a terminal that was closed) must
//! not end the command: `println!` panics there ("failed printing to stdout: Broken pipe"), and
//! in a training run that panic lost the steps since the last checkpoint. `say!` and `note!`
//! instead drop their line, and every later one for that stream, and the command goes on: a
//! training run trains, saves its checkpoints and ends with its usual exit status (0 when it
//! reached its target). The status does not change because nobody read the output: a training
//! run whose log was cut did its work, and `set -o pipefail` should not call it a failure.
//!
//! SIGPIPE stays ignored (Rust's default for a program), so a write to a closed pipe fails with
//! `BrokenPipe` instead of killing the process: with the signal's default action a training run
//! whose log pipe closed would die before its next checkpoint.
//!
//! The library's own prints (`gans::device()`'s line, a trainer's progress lines) stay on stdout
//! for the notebooks; the command does not call the functions that print there (it picks the
//! device itself and trains with `Trainer::train_silently`).

use std::fmt::Arguments;
use std::io::{ErrorKind, Write};
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once stdout failed: its reader is gone, and nothing more is written there.
static STDOUT_GONE: AtomicBool = AtomicBool::new(false);
/// The same for stderr.
static STDERR_GONE: AtomicBool = AtomicBool::new(false);

/// Prints a line of results on stdout, like `println!`, without ever panicking.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::output::to_stdout(format_args!($($arg)*))
    };
}

/// Prints a line of progress, a warning or an error on stderr, like `eprintln!`, without ever
/// panicking.
macro_rules! note {
    ($($arg:tt)*) => {
        $crate::output::to_stderr(format_args!($($arg)*))
    };
}

/// One line on stdout (see `say!`).
pub fn to_stdout(line: Arguments) {
    let failed = write_line(&mut std::io::stdout().lock(), &STDOUT_GONE, line);
    if let Some(e) = failed
        && e.kind() != ErrorKind::BrokenPipe
    {
        // A closed pipe is normal (`| head`); anything else (a full disk under `> file`) is
        // worth a word where it can still be read.
        to_stderr(format_args!(
            "gans: writing to stdout failed ({e}); the command goes on without printing there"
        ));
    }
}

/// One line on stderr (see `note!`).
pub fn to_stderr(line: Arguments) {
    // Nowhere is left to say that stderr failed: the line is dropped.
    let _ = write_line(&mut std::io::stderr().lock(), &STDERR_GONE, line);
}

/// Writes `line` and a newline to `stream` and flushes it, unless the stream failed before.
/// Returns the error of a first failure, after which `gone` is set and the stream stays quiet.
fn write_line(
    stream: &mut impl Write,
    gone: &AtomicBool,
    line: Arguments,
) -> Option<std::io::Error> {
    if gone.load(Ordering::Relaxed) {
        return None;
    }
    let written = writeln!(stream, "{line}").and_then(|()| stream.flush());
    match written {
        Ok(()) => None,
        Err(e) => {
            gone.store(true, Ordering::Relaxed);
            Some(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer whose reader has gone, like a pipe after `head -1` exits.
    struct ClosedPipe;

    impl Write for ClosedPipe {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_stream_fails_once_then_stays_quiet() {
        let gone = AtomicBool::new(false);
        let mut open = Vec::new();
        assert!(write_line(&mut open, &gone, format_args!("step {}", 10)).is_none());
        assert_eq!(open, b"step 10\n");
        let first = write_line(&mut ClosedPipe, &gone, format_args!("step 20"));
        assert_eq!(first.map(|e| e.kind()), Some(ErrorKind::BrokenPipe));
        assert!(gone.load(Ordering::Relaxed));
        assert!(write_line(&mut ClosedPipe, &gone, format_args!("step 30")).is_none());
    }
}
