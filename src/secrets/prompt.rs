//! Reading a value for `secrets set`: from the terminal without echo, or from stdin when it is
//! not a terminal (`pbpaste | aiorch secrets set K`). Never from argv.

use std::io::{IsTerminal, Read, Write};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{self, SaFlags, SigAction, SigHandler, SigSet, Signal};
use nix::sys::termios::{self, LocalFlags, SetArg};
use zeroize::Zeroizing;

use super::Value;
use crate::error::CliError;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_interrupt(_: nix::libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// The value for `name`: a hidden prompt on the terminal, else all of stdin (one trailing
/// newline dropped). An empty value is refused.
pub fn read_value(name: &str) -> anyhow::Result<Value> {
    let value = if std::io::stdin().is_terminal() {
        read_hidden(&format!("value for {name} (input hidden): "))?
    } else {
        let mut bytes = Zeroizing::new(Vec::new());
        std::io::stdin().lock().read_to_end(&mut bytes)?;
        super::value_from_stdout(std::mem::take(&mut *bytes), &|| format!("the value for {name} on stdin"))?
    };
    if value.is_empty() {
        return Err(CliError::bad_input(format!("empty value: nothing stored for {name}"))
            .hint("type or pipe the value; `aiorch secrets rm NAME` removes a secret")
            .into());
    }
    Ok(value)
}

/// Prompt on /dev/tty with echo off; ^C cancels (and restores the terminal).
fn read_hidden(prompt: &str) -> anyhow::Result<Value> {
    let mut tty = fs_err::OpenOptions::new().read(true).write(true).open("/dev/tty")?;
    let saved = termios::tcgetattr(tty.as_fd())?;
    let mut quiet = saved.clone();
    quiet.local_flags.remove(LocalFlags::ECHO);
    quiet.local_flags.insert(LocalFlags::ECHONL);
    // Without SA_RESTART a ^C makes the read below return EINTR instead of killing us with the
    // terminal left silent.
    INTERRUPTED.store(false, Ordering::SeqCst);
    let action = SigAction::new(SigHandler::Handler(on_interrupt), SaFlags::empty(), SigSet::empty());
    // SAFETY: the handler only stores to an atomic.
    let old = unsafe { signal::sigaction(Signal::SIGINT, &action)? };
    // Echo off (dropping any type-ahead, as getpass does) *before* the prompt shows, so nothing
    // typed after it can be echoed or discarded.
    termios::tcsetattr(tty.as_fd(), SetArg::TCSAFLUSH, &quiet)?;
    tty.write_all(prompt.as_bytes())?;
    tty.flush()?;
    let mut line = Zeroizing::new(Vec::with_capacity(256));
    let mut byte = [0u8; 1];
    let result = loop {
        // Wait in short polls, not in read(): a ^C that lands just before a blocking read would
        // otherwise leave us waiting for a line that never comes.
        if INTERRUPTED.load(Ordering::SeqCst) {
            break Err(CliError::bad_input("cancelled: nothing stored"));
        }
        let mut fds = [PollFd::new(tty.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(100u16)) {
            Ok(0) => continue,
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => break Err(CliError::failed(format!("reading the terminal failed: {e}"))),
        }
        match tty.read(&mut byte) {
            Ok(0) => break Ok(()),
            Ok(_) if byte[0] == b'\n' => break Ok(()),
            Ok(_) => line.push(byte[0]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {
                if INTERRUPTED.load(Ordering::SeqCst) {
                    break Err(CliError::bad_input("cancelled: nothing stored"));
                }
            }
            Err(e) => break Err(CliError::failed(format!("reading the terminal failed: {e}"))),
        }
    };
    let _ = termios::tcsetattr(tty.as_fd(), SetArg::TCSAFLUSH, &saved);
    // SAFETY: restores the disposition we replaced.
    let _ = unsafe { signal::sigaction(Signal::SIGINT, &old) };
    if INTERRUPTED.load(Ordering::SeqCst) {
        let _ = tty.write_all(b"\n");
    }
    result?;
    if line.ends_with(b"\r") {
        line.pop();
    }
    super::value_from_bytes(line, &|| "the typed value".to_string())
}
