//! Background processes aiorch starts and stops: each in its own session (setsid, so its
//! process group id is its PID), recorded in a pid file with its start time so a recycled PID
//! is never signalled, stopped with SIGTERM to the group and SIGKILL after a grace period.
//! Also: who owns a listening port (a foreign server may answer on "our" port).

use std::io;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// What a pid file records about a process aiorch started.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PidRecord {
    pub service: String,
    pub pid: i32,
    /// The kernel's start time of the process: (pid, start time) names one process forever.
    pub start_time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// argv as started (never holds a secret: those go in the environment).
    pub argv: Vec<String>,
    pub log: PathBuf,
    pub started_at: i64,
    /// Hash of what the service was started with (argv, environment names and values that are
    /// not secret, rendered config): status says when the running copy is out of date.
    pub config_hash: String,
}

impl PidRecord {
    pub fn read(path: &Path) -> io::Result<Option<PidRecord>> {
        match fs_err::read(path) {
            Ok(b) => serde_json::from_slice(&b)
                .map(Some)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub fn write(&self, path: &Path) -> io::Result<()> {
        if let Some(d) = path.parent() {
            fs_err::create_dir_all(d)?;
        }
        let text = serde_json::to_string_pretty(self).expect("pid record serialises") + "\n";
        crate::apply::fsutil::write_atomic(path, text.as_bytes(), 0o644)
    }

    /// The recorded process is still the one running under that PID.
    pub fn alive(&self) -> bool {
        start_time(self.pid).is_some_and(|t| t == self.start_time)
    }
}

/// The start time of a live (not zombie) process, as an opaque string.
#[cfg(target_os = "linux")]
pub fn start_time(pid: i32) -> Option<String> {
    let stat = fs_err::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // f[0] is field 3 (state), so field 22 (starttime) is f[19].
    if f.first() == Some(&"Z") || f.first() == Some(&"X") {
        return None;
    }
    f.get(19).map(|s| s.to_string())
}

#[cfg(not(target_os = "linux"))]
pub fn start_time(pid: i32) -> Option<String> {
    let out = Command::new("ps").args(["-o", "lstart=,stat=", "-p", &pid.to_string()]).output().ok()?;
    let s = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if s.is_empty() || s.ends_with('Z') {
        return None;
    }
    Some(s.rsplit_once(' ').map_or(s.as_str(), |(t, _)| t).trim().to_string())
}

/// A pipe already holding `bytes` and closed for writing: the child reads them on stdin and then
/// sees end of file. Used for a config that holds a secret (Redis' `requirepass`), so it is
/// never on argv or disk. The pipe buffer (64 KiB on Linux, 16 KiB on macOS) holds a config.
fn stdin_pipe(bytes: &[u8]) -> io::Result<Stdio> {
    let (reader, mut writer) = io::pipe()?;
    io::Write::write_all(&mut writer, bytes)?;
    drop(writer);
    Ok(reader.into())
}

/// Start `argv` detached: own session, stdin from /dev/null (or `stdin`'s bytes), stdout+stderr
/// appended to `log`. Secrets go into the child's environment (or its stdin) only.
pub fn spawn(
    argv: &[String],
    env: &[(String, String)],
    secrets: &[(String, Zeroizing<String>)],
    stdin: Option<&[u8]>,
    cwd: &Path,
    log: &Path,
) -> io::Result<Child> {
    let (prog, args) =
        argv.split_first().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty command"))?;
    if let Some(d) = log.parent() {
        fs_err::create_dir_all(d)?;
    }
    fs_err::create_dir_all(cwd)?;
    let mut out = fs_err::OpenOptions::new().create(true).append(true).open(log)?.into_parts().0;
    use std::io::Write;
    writeln!(out, "=== aiorch {}: {}", crate::ui::utc_stamp(crate::ui::now_unix()), argv.join(" "))?;
    let err = out.try_clone()?;
    let mut cmd = Command::new(prog);
    let input = match stdin {
        Some(b) => stdin_pipe(b)?,
        None => Stdio::null(),
    };
    cmd.args(args).current_dir(cwd).stdin(input).stdout(out).stderr(err);
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    cmd.envs(secrets.iter().map(|(k, v)| (k, v.as_str())));
    // SAFETY: setsid is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| nix::unistd::setsid().map(|_| ()).map_err(io::Error::from));
    }
    cmd.spawn()
}

/// Replace this process with `argv` (the foreground `aiorch service run`): the service manager
/// then supervises the server itself and its signals reach it directly.
pub fn exec(
    argv: &[String],
    env: &[(String, String)],
    secrets: &[(String, Zeroizing<String>)],
    stdin: Option<&[u8]>,
    cwd: &Path,
) -> io::Error {
    let Some((prog, args)) = argv.split_first() else {
        return io::Error::new(io::ErrorKind::InvalidInput, "empty command");
    };
    if let Err(e) = fs_err::create_dir_all(cwd) {
        return e;
    }
    let mut cmd = Command::new(prog);
    cmd.args(args).current_dir(cwd);
    if let Some(b) = stdin {
        match stdin_pipe(b) {
            Ok(p) => cmd.stdin(p),
            Err(e) => return e,
        };
    }
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    cmd.envs(secrets.iter().map(|(k, v)| (k, v.as_str())));
    cmd.exec()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// Nothing ran under that PID any more.
    NotRunning,
    /// The PID now belongs to another process: left alone.
    Reused,
    /// Ended after SIGTERM.
    Terminated,
    /// Needed SIGKILL.
    Killed,
}

/// Stop a recorded process and its group: SIGTERM, wait up to `grace`, then SIGKILL.
pub fn stop(rec: &PidRecord, grace: Duration) -> Stopped {
    let Some(t) = start_time(rec.pid) else { return Stopped::NotRunning };
    if t != rec.start_time {
        return Stopped::Reused;
    }
    let pid = Pid::from_raw(rec.pid);
    // The group only when the process leads it (it does when we started it with setsid).
    let leads = nix::unistd::getpgid(Some(pid)).is_ok_and(|g| g == pid);
    let signal = |s: Signal| {
        let _ = if leads { killpg(pid, s) } else { kill(pid, s) };
    };
    signal(Signal::SIGTERM);
    let t0 = Instant::now();
    while t0.elapsed() < grace {
        if !rec.alive() {
            // Children of the group may linger briefly; give them the same treatment.
            if leads {
                let _ = killpg(pid, Signal::SIGKILL);
            }
            return Stopped::Terminated;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    signal(Signal::SIGKILL);
    let t1 = Instant::now();
    while rec.alive() && t1.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(50));
    }
    Stopped::Killed
}

/// Whether `host:port` can be bound right now (nobody listens there).
pub fn port_free(host: &str, port: u16) -> bool {
    let host = match host {
        "" | "0.0.0.0" => "0.0.0.0",
        "localhost" => "127.0.0.1",
        h => h.trim_start_matches('[').trim_end_matches(']'),
    };
    std::net::TcpListener::bind((host, port)).is_ok()
}

/// Who listens on a TCP port, relative to a process tree aiorch started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// A process of the tree rooted at the given PID (the PID itself or a descendant).
    Ours(i32),
    /// Someone else (PIDs when they can be seen).
    Other(Vec<i32>),
    NotListening,
}

/// Who owns the listening socket on `port`, relative to the tree rooted at `root` (0: none).
#[cfg(target_os = "linux")]
pub fn port_owner(port: u16, root: i32) -> Owner {
    let inodes = linux::listening_inodes(port);
    if inodes.is_empty() {
        return Owner::NotListening;
    }
    if root > 0 {
        for p in linux::tree(root) {
            if linux::holds_any(p, &inodes) {
                return Owner::Ours(p);
            }
        }
    }
    Owner::Other(linux::all_pids().into_iter().filter(|&p| linux::holds_any(p, &inodes)).collect())
}

/// macOS (and other Unixes with lsof): `lsof -a -g PGID -iTCP:PORT -sTCP:LISTEN`.
#[cfg(not(target_os = "linux"))]
pub fn port_owner(port: u16, root: i32) -> Owner {
    let lsof = |extra: &[String]| -> Vec<i32> {
        let mut args: Vec<String> = vec!["-nP".into(), "-t".into()];
        args.extend_from_slice(extra);
        args.extend([format!("-iTCP:{port}"), "-sTCP:LISTEN".into()]);
        Command::new("lsof")
            .args(&args)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).lines().filter_map(|l| l.trim().parse().ok()).collect())
            .unwrap_or_default()
    };
    if root > 0 {
        if let Some(p) = lsof(&["-a".into(), "-g".into(), root.to_string()]).first() {
            return Owner::Ours(*p);
        }
    }
    match lsof(&[]) {
        v if v.is_empty() => Owner::NotListening,
        v => Owner::Other(v),
    }
}

/// `pid (command)` for messages.
pub fn describe(pid: i32) -> String {
    let comm = fs_err::read_to_string(format!("/proc/{pid}/comm")).map(|s| s.trim().to_string()).unwrap_or_default();
    if comm.is_empty() { format!("pid {pid}") } else { format!("pid {pid} ({comm})") }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::collections::HashSet;

    /// Socket inodes in LISTEN state on `port` (IPv4 and IPv6).
    pub fn listening_inodes(port: u16) -> HashSet<u64> {
        let mut out = HashSet::new();
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            let Ok(text) = fs_err::read_to_string(table) else { continue };
            for line in text.lines().skip(1) {
                let f: Vec<&str> = line.split_whitespace().collect();
                // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
                if f.len() < 10 || f[3] != "0A" {
                    continue;
                }
                let local_port = f[1].rsplit(':').next().and_then(|h| u16::from_str_radix(h, 16).ok());
                if local_port == Some(port)
                    && let Ok(inode) = f[9].parse::<u64>()
                    && inode != 0
                {
                    out.insert(inode);
                }
            }
        }
        out
    }

    pub fn all_pids() -> Vec<i32> {
        let Ok(rd) = fs_err::read_dir("/proc") else { return vec![] };
        rd.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect()
    }

    /// (ppid, pgid, sid) of a process.
    fn ids(pid: i32) -> Option<(i32, i32, i32)> {
        let stat = fs_err::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let f: Vec<&str> = stat[stat.rfind(')')? + 2..].split_whitespace().collect();
        Some((f.get(1)?.parse().ok()?, f.get(2)?.parse().ok()?, f.get(3)?.parse().ok()?))
    }

    /// `root`, its descendants, and every process in its group or session.
    pub fn tree(root: i32) -> Vec<i32> {
        let procs: Vec<(i32, (i32, i32, i32))> = all_pids().into_iter().filter_map(|p| Some((p, ids(p)?))).collect();
        let mut set: Vec<i32> = vec![root];
        let mut i = 0;
        while i < set.len() {
            let parent = set[i];
            for (p, (ppid, _, _)) in &procs {
                if *ppid == parent && !set.contains(p) {
                    set.push(*p);
                }
            }
            i += 1;
        }
        for (p, (_, pgid, sid)) in &procs {
            if (*pgid == root || *sid == root) && !set.contains(p) {
                set.push(*p);
            }
        }
        set
    }

    pub fn holds_any(pid: i32, inodes: &HashSet<u64>) -> bool {
        let Ok(rd) = fs_err::read_dir(format!("/proc/{pid}/fd")) else { return false };
        rd.filter_map(|e| fs_err::read_link(e.ok()?.path()).ok()).any(|l| {
            l.to_str()
                .and_then(|s| s.strip_prefix("socket:[")?.strip_suffix(']')?.parse::<u64>().ok())
                .is_some_and(|i| inodes.contains(&i))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_time_identifies_this_process() {
        let me = std::process::id() as i32;
        let t = start_time(me).expect("own start time");
        assert_eq!(start_time(me), Some(t));
        assert_eq!(start_time(i32::MAX), None);
    }

    #[test]
    fn port_owner_tells_ours_from_theirs() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let me = std::process::id() as i32;
        // Other tests in this process fork children: one may hold the socket for an instant
        // between fork and exec, and it is ours too.
        assert!(matches!(port_owner(port, me), Owner::Ours(_)));
        // Not in the tree of PID 1's child-less stand-in: someone else (us) owns it.
        match port_owner(port, i32::MAX) {
            Owner::Other(p) => assert!(p.contains(&me), "{p:?}"),
            o => panic!("{o:?}"),
        }
        assert!(!port_free("127.0.0.1", port));
        drop(l);
        let gone = (0..50).any(|_| {
            std::thread::sleep(Duration::from_millis(10));
            port_owner(port, me) == Owner::NotListening
        });
        assert!(gone, "{:?}", port_owner(port, me));
    }

    #[test]
    fn stdin_bytes_reach_the_child_and_end_with_eof() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("cat.log");
        let argv: Vec<String> = ["sh", "-c", "cat; echo END"].map(String::from).to_vec();
        let mut child = spawn(&argv, &[], &[], Some(b"requirepass x\n"), dir.path(), &log).unwrap();
        child.wait().unwrap();
        let text = fs_err::read_to_string(&log).unwrap();
        assert!(text.ends_with("requirepass x\nEND\n"), "{text}");
    }

    #[test]
    fn stop_spares_a_reused_pid_and_stops_a_group() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("x.log");
        // A shell that starts a child: both must go when the group is stopped.
        let argv: Vec<String> = ["sh", "-c", "sleep 30 & wait"].map(String::from).to_vec();
        let mut child = spawn(&argv, &[], &[], None, dir.path(), &log).unwrap();
        let pid = child.id() as i32;
        let st = loop {
            if let Some(t) = start_time(pid) {
                break t;
            }
        };
        let rec = PidRecord {
            service: "t".into(),
            pid,
            start_time: st.clone(),
            port: None,
            argv,
            log,
            started_at: 0,
            config_hash: String::new(),
        };
        let reused = PidRecord { start_time: format!("{st}0"), ..rec.clone() };
        assert_eq!(stop(&reused, Duration::from_secs(1)), Stopped::Reused);
        assert!(rec.alive());
        // Reap in the background so the zombie does not look alive (the CLI's children are
        // reaped by init once aiorch exits).
        let waiter = std::thread::spawn(move || child.wait());
        assert_eq!(stop(&rec, Duration::from_secs(5)), Stopped::Terminated);
        waiter.join().unwrap().unwrap();
        // The group's other member (sleep) went too; its zombie may need a moment to be reaped.
        let t0 = Instant::now();
        while nix::sys::signal::killpg(Pid::from_raw(pid), None).is_ok() {
            assert!(t0.elapsed() < Duration::from_secs(5), "group still has members");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
