//! Stopping a training run from outside: Ctrl-C (SIGINT), `kill` and service managers (SIGTERM:
//! systemd, `docker stop`), and a closed terminal (SIGHUP).
//!
//! The first of these signals asks the run to stop: [`STOP`] is raised, the run finishes the
//! chunk of steps it is in, saves a checkpoint and exits with 128 + the signal's number, as
//! shells report a command a signal ended: 130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP.
//! A second signal of any of the three, at any interval, ends the process at once with 128 + its
//! number (130 for a second Ctrl-C), without saving: the last checkpoint stays as it was, since
//! every checkpoint is written beside the old one and renamed onto it (`gans::files`), so that a
//! process that stops mid-save leaves the old checkpoint whole, as `kill -9` does.
//!
//! Why the handler does so little. The `ctrlc` crate ran our closure on a thread of its own, and
//! on the second Ctrl-C that closure called `std::process::exit`. `exit` runs the C and C++
//! exit-time teardown (`atexit` handlers, the destructors of libtorch's static objects: its
//! operator registry, allocators and thread pools) on that thread while the main thread is still
//! inside libtorch, in a training step or writing the checkpoint. The main thread then used
//! objects that no longer existed: a C++ error that tch turned into a panic, or a segmentation
//! fault (exit status 139). Two Ctrl-Cs 10 ms apart did it, because the second one landed while
//! the run was finishing its chunk and saving; a second one a second later found the process
//! gone. Here the handler only stores to atomics, writes a fixed message with `write(2)`, and on
//! the second signal calls `_exit(2)`: all three are async-signal-safe, and `_exit` ends the
//! process in the kernel without running any teardown, so nothing is destroyed under a running
//! thread. The kernel closes the files and releases the run folder's lock; a save that was under
//! way leaves only its temporary file beside the checkpoint.
//!
//! A SIGHUP that is ignored when the command starts (`nohup gans train …`) stays ignored: the run
//! goes on when its terminal closes, which is what `nohup` is for.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use anyhow::Result;

/// Raised by the first signal: the training loop saves and stops after its current chunk.
pub static STOP: AtomicBool = AtomicBool::new(false);

/// The number of the first signal received, 0 before any.
static FIRST: AtomicI32 = AtomicI32::new(0);

/// Installs the handler for SIGINT, SIGTERM and SIGHUP (see the module's documentation).
pub fn install() -> Result<()> {
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: `sigaction` is called with a zeroed (valid) struct whose handler is a function
        // that only does async-signal-safe work, and with a valid pointer or null for the old
        // action. `sigemptyset` gets a pointer to the struct's own mask.
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            if signal == libc::SIGHUP
                && libc::sigaction(signal, std::ptr::null(), &mut old) == 0
                && old.sa_sigaction == libc::SIG_IGN
            {
                continue; // nohup: a closed terminal is not a reason to stop
            }
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            libc::sigemptyset(&mut action.sa_mask);
            // SA_RESTART: a read or write of the save under way is resumed after the handler,
            // not failed with EINTR. The handler stays installed for the second signal.
            action.sa_flags = libc::SA_RESTART;
            if libc::sigaction(signal, &action, std::ptr::null_mut()) != 0 {
                let e = std::io::Error::last_os_error();
                anyhow::bail!("installing the handler of signal {signal} (Ctrl-C, kill): {e}");
            }
        }
    }
    Ok(())
}

/// The first signal received, if any: its name and the exit status it gives.
pub fn received() -> Option<(&'static str, i32)> {
    match FIRST.load(Ordering::SeqCst) {
        0 => None,
        signal => Some((name(signal), 128 + signal)),
    }
}

fn name(signal: libc::c_int) -> &'static str {
    match signal {
        libc::SIGINT => "Ctrl-C (SIGINT)",
        libc::SIGTERM => "SIGTERM",
        libc::SIGHUP => "SIGHUP (the terminal closed)",
        _ => "a signal",
    }
}

/// The handler. Only async-signal-safe work: atomics, `write(2)` and `_exit(2)`.
extern "C" fn on_signal(signal: libc::c_int) {
    // SAFETY: `__errno_location` returns this thread's errno, saved and restored so that the
    // code the signal interrupted does not see `write`'s errno.
    let errno = unsafe { *libc::__errno_location() };
    let first = FIRST
        .compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst)
        .is_ok();
    if first {
        STOP.store(true, Ordering::SeqCst);
        let message: &[u8] = match signal {
            libc::SIGINT => {
                b"\ngans: Ctrl-C: saving a checkpoint after this chunk, then stopping \
                  (Ctrl-C again to quit at once, without saving)\n"
            }
            libc::SIGTERM => {
                b"\ngans: SIGTERM: saving a checkpoint after this chunk, then stopping\n"
            }
            _ => b"\ngans: SIGHUP: saving a checkpoint after this chunk, then stopping\n",
        };
        write_stderr(message);
        // SAFETY: as above.
        unsafe { *libc::__errno_location() = errno };
    } else {
        write_stderr(
            b"\ngans: quitting at once, without finishing a save; the last checkpoint saved is \
              whole (`gans train --resume` continues from it)\n",
        );
        // SAFETY: `_exit` is async-signal-safe and runs no exit handlers or destructors.
        unsafe { libc::_exit(128 + signal) };
    }
}

/// Writes `message` to stderr with `write(2)`, which is async-signal-safe (`eprintln!` takes a
/// lock and may allocate: not in a signal handler). A failure is ignored: nowhere to report it.
fn write_stderr(message: &[u8]) {
    // SAFETY: the pointer and length describe `message`, which outlives the call.
    let _ = unsafe { libc::write(2, message.as_ptr().cast(), message.len()) };
}
