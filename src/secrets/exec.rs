//! Running a command with secrets in its environment.
//!
//! Without masking aiorch *replaces itself* with the child (`execvp`): same PID, so signals,
//! job control and the exit status are the child's, and no aiorch process lingers holding
//! values. With masking it must stay to filter the output: it supervises the child, forwards
//! SIGINT/SIGTERM/SIGHUP/SIGQUIT/SIGUSR1/SIGUSR2/SIGWINCH, and exits with the child's code
//! (128 + signal when the child was killed).

use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

use nix::libc;
use nix::sys::signal::{self, SaFlags, SigAction, SigHandler, SigSet, Signal};

use super::Value;
use super::mask::Masker;

/// How a command could not be started: shell conventions (127 not found, 126 not runnable).
pub struct StartError {
    pub code: u8,
    pub message: String,
}

fn start_error(program: &OsString, e: &std::io::Error) -> StartError {
    let shown = program.to_string_lossy();
    match e.kind() {
        std::io::ErrorKind::NotFound => StartError { code: 127, message: format!("{shown}: command not found") },
        std::io::ErrorKind::PermissionDenied => {
            StartError { code: 126, message: format!("{shown}: permission denied") }
        }
        _ => StartError { code: 126, message: format!("{shown}: cannot run it: {e}") },
    }
}

fn command(argv: &[OsString], secrets: &[(String, Value)]) -> Command {
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]);
    for (name, value) in secrets {
        cmd.env(name, value.as_str());
    }
    cmd
}

/// Replace this process with `argv` (returns only when that fails).
pub fn replace(argv: &[OsString], secrets: Vec<(String, Value)>) -> StartError {
    let mut cmd = command(argv, &secrets);
    // `Command` holds its own copies of the values now; zero ours before the exec.
    drop(secrets);
    let e = cmd.exec();
    start_error(&argv[0], &e)
}

static CHILD: AtomicI32 = AtomicI32::new(0);
static PENDING: AtomicI32 = AtomicI32::new(0);
static TTY: AtomicI32 = AtomicI32::new(-1);

const FORWARDED: [Signal; 7] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGWINCH,
];

/// Signal handler: pass the signal on to the child. Only async-signal-safe calls here.
extern "C" fn forward(sig: libc::c_int) {
    // A terminal sends ^C, ^\ and hangups to its whole foreground process group, which includes
    // the child (it shares our group): forwarding those would deliver them twice.
    let tty = TTY.load(Ordering::SeqCst);
    if tty >= 0 && matches!(sig, libc::SIGINT | libc::SIGQUIT | libc::SIGHUP | libc::SIGWINCH) {
        // SAFETY: tcgetpgrp and getpgrp are async-signal-safe and take no pointers.
        let (fg, own) = unsafe { (libc::tcgetpgrp(tty), libc::getpgrp()) };
        if fg == own {
            return;
        }
    }
    let pid = CHILD.load(Ordering::SeqCst);
    if pid > 0 {
        // SAFETY: kill is async-signal-safe; pid is our own child's.
        unsafe { libc::kill(pid, sig) };
    } else {
        PENDING.store(sig, Ordering::SeqCst);
    }
}

/// Run `argv` with the secrets in its environment, masking them in its stdout and stderr;
/// returns the exit code to exit with.
pub fn supervise(argv: &[OsString], secrets: Vec<(String, Value)>) -> Result<u8, StartError> {
    let masker = || Masker::new(&secrets);
    let (out_masker, err_masker) = (masker(), masker());
    if let Ok(tty) = fs_err::File::open("/dev/tty") {
        // Kept open (and CLOEXEC, std's default) for the handler's foreground-group check.
        TTY.store(std::os::fd::IntoRawFd::into_raw_fd(tty), Ordering::SeqCst);
    }
    let action = SigAction::new(SigHandler::Handler(forward), SaFlags::SA_RESTART, SigSet::empty());
    for sig in FORWARDED {
        // SAFETY: the handler only uses async-signal-safe calls and atomics.
        let _ = unsafe { signal::sigaction(sig, &action) };
    }
    let mut cmd = command(argv, &secrets);
    drop(secrets);
    cmd.stdin(Stdio::inherit()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| start_error(&argv[0], &e))?;
    drop(cmd);
    CHILD.store(child.id() as i32, Ordering::SeqCst);
    let pending = PENDING.swap(0, Ordering::SeqCst);
    if pending > 0 {
        // SAFETY: plain kill of our child.
        unsafe { libc::kill(child.id() as i32, pending) };
    }

    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let stdout = child.stdout.take().expect("piped stdout");
    let stderr = child.stderr.take().expect("piped stderr");
    let tx2 = done_tx.clone();
    std::thread::spawn(move || {
        pump(stdout, std::io::stdout(), out_masker);
        let _ = done_tx.send(());
    });
    std::thread::spawn(move || {
        pump(stderr, std::io::stderr(), err_masker);
        let _ = tx2.send(());
    });

    let status =
        child.wait().map_err(|e| StartError { code: 1, message: format!("waiting for the child failed: {e}") })?;
    CHILD.store(0, Ordering::SeqCst);
    // The pipes close when the child and anything it started that kept them exit; don't wait
    // forever on a daemon that inherited them.
    for _ in 0..2 {
        if done_rx.recv_timeout(Duration::from_secs(2)).is_err() {
            break;
        }
    }
    Ok(match (status.code(), status.signal()) {
        (Some(c), _) => c as u8,
        (None, Some(s)) => (128 + s) as u8,
        _ => 1,
    })
}

/// Copy `from` to `to` through the masker, flushing after every read so interactive output
/// is not delayed.
fn pump(mut from: impl Read, to: impl Write, mut masker: Masker) {
    let mut to = to;
    let mut buf = zeroize::Zeroizing::new(vec![0u8; 16 * 1024]);
    let mut out = zeroize::Zeroizing::new(Vec::with_capacity(16 * 1024));
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        out.clear();
        masker.feed(&buf[..n], &mut out);
        if to.write_all(&out).and_then(|_| to.flush()).is_err() {
            return;
        }
    }
    out.clear();
    masker.finish(&mut out);
    let _ = to.write_all(&out).and_then(|_| to.flush());
}
