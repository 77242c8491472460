//! `aiorch secrets`: per-backend round trips, exec semantics (same PID, exit codes, signals),
//! `--mask`, the keychain path through a fake `/usr/bin/security`, and the canary test: a secret
//! value never shows up in a file, a log, doctor's output, or any argv.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::{HANG_LIMIT, Run, TestEnv, contains, hex, require_tool, spawn};

/// What the fake `security` (tests/it/fixtures/fake-security) runs on (see `require_tool`).
fn fake_security_tools() -> Option<PathBuf> {
    require_tool("bash", "apt-get install bash")
}

const FILE_BACKEND: &str = "[secrets]\nbackend = \"file\"\n";

/// set → list → exec → rm → list for one backend, with the value checked in the child.
fn round_trip(sb: &TestEnv, value: &str) {
    sb.run_in(["secrets", "set", "API_KEY"], &format!("{value}\n")).assert_code(0);
    sb.run_in(["secrets", "set", "OTHER_KEY"], "other-value").assert_code(0);
    let list = sb.ok(["secrets", "list"]);
    assert_eq!(list.stdout, "API_KEY\nOTHER_KEY\n", "{list}");
    assert!(!list.all().contains(value));
    let json = sb.ok(["--json", "secrets", "list"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["names"], serde_json::json!(["API_KEY", "OTHER_KEY"]));

    // The child sees exactly what was stored, and only what was asked for.
    let r = sb.ok([
        "secrets",
        "exec",
        "--only",
        "API_KEY",
        "--",
        "sh",
        "-c",
        "printf '%s|%s' \"$API_KEY\" \"${OTHER_KEY-unset}\"",
    ]);
    assert_eq!(r.stdout, format!("{value}|unset"), "{r}");
    // Without --only: every name the backend holds.
    let r = sb.ok(["secrets", "exec", "--", "sh", "-c", "printf '%s|%s' \"$API_KEY\" \"$OTHER_KEY\""]);
    assert_eq!(r.stdout, format!("{value}|other-value"), "{r}");
    // `--only ""` (what exec_wrapper_args gives for no names) injects nothing.
    let r = sb.ok(["secrets", "exec", "--only", "", "--", "sh", "-c", "printf '%s' \"${API_KEY-unset}\""]);
    assert_eq!(r.stdout, "unset", "{r}");
    // Exit codes pass through.
    sb.run(["secrets", "exec", "--only", "API_KEY", "--", "sh", "-c", "exit 7"]).assert_code(7);
    sb.run(["secrets", "exec", "--mask", "--only", "API_KEY", "--", "sh", "-c", "exit 9"]).assert_code(9);

    sb.ok(["secrets", "rm", "API_KEY"]);
    assert_eq!(sb.ok(["secrets", "list"]).stdout, "OTHER_KEY\n");
    let r = sb.run(["secrets", "rm", "API_KEY"]);
    r.assert_code(2);
    assert!(r.stderr.contains("no secret API_KEY"), "{r}");
    sb.ok(["secrets", "rm", "OTHER_KEY"]);
}

/// A missing secret: exit 2, the backend and the fix named, and the child never started.
fn missing_secret_stops_the_child(sb: &TestEnv, backend_words: &str) {
    let marker = sb.root.join("child-ran");
    let r = sb.run(["secrets", "exec", "--only", "NOT_THERE", "--", "touch", &marker.display().to_string()]);
    r.assert_code(2);
    assert!(r.stderr.contains("NOT_THERE") && r.stderr.contains(backend_words), "{r}");
    assert!(r.stderr.contains("hint:"), "{r}");
    assert!(!marker.exists(), "the child must not start");
}

#[test]
fn file_backend_round_trip() {
    let sb = TestEnv::with_config(FILE_BACKEND);
    round_trip(&sb, "sk-file 'quoted' \"double\" $dollar");
    missing_secret_stops_the_child(&sb, "file backend");
    let meta = std::fs::metadata(sb.path("~/.config/aiorch/secrets.env")).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
}

#[test]
fn file_backend_refuses_a_readable_file() {
    let sb = TestEnv::with_config(FILE_BACKEND);
    sb.run_in(["secrets", "set", "K"], "v").assert_code(0);
    let p = sb.path("~/.config/aiorch/secrets.env");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
    let r = sb.run(["secrets", "exec", "--only", "K", "--", "true"]);
    r.assert_code(2);
    assert!(r.stderr.contains("mode 0640") && r.stderr.contains(&format!("chmod 600 {}", p.display())), "{r}");
    let d = sb.run(["doctor"]);
    d.assert_code(1);
    assert!(d.stdout.contains("✗ secrets file"), "{d}");
}

#[test]
fn file_backend_path_respects_config_and_home() {
    let sb = TestEnv::with_config("[secrets]\nbackend = \"file\"\nfile = \"~/vault/s.env\"\n");
    sb.run_in(["secrets", "set", "K"], "v").assert_code(0);
    assert!(sb.path("~/vault/s.env").exists());
    let r = sb.run_in(["secrets", "set", "K"], "");
    r.assert_code(2);
    assert!(r.stderr.contains("empty value"), "{r}");
    let r = sb.run_in(["secrets", "set", "BAD-NAME"], "v");
    r.assert_code(2);
    assert!(r.stderr.contains("not a valid secret name"), "{r}");
}

#[test]
fn env_backend_passes_through() {
    let mut sb = TestEnv::with_config("[secrets]\nbackend = \"env\"\n");
    sb.set_env("FROM_ENV", "env-value");
    let r = sb.ok(["secrets", "exec", "--only", "FROM_ENV", "--", "sh", "-c", "printf %s \"$FROM_ENV\""]);
    assert_eq!(r.stdout, "env-value");
    missing_secret_stops_the_child(&sb, "env backend");
    let r = sb.run_in(["secrets", "set", "X"], "v");
    r.assert_code(2);
    assert!(r.stderr.contains("env backend cannot set"), "{r}");
    let r = sb.run(["secrets", "exec", "--", "true"]);
    r.assert_code(2);
    assert!(r.stderr.contains("--only"), "{r}");
}

#[test]
fn command_backend_round_trip() {
    // A tiny `pass`-like store: one file per secret under the sandbox.
    let config = r#"[secrets]
backend = "command"
command = ["sh", "-c", "cat \"$0\"", "@ROOT@/vault/{name}"]
command_set = ["sh", "-c", "mkdir -p \"$(dirname \"$0\")\" && cat > \"$0\"", "@ROOT@/vault/{name}"]
command_rm = ["rm", "@ROOT@/vault/{name}"]
command_list = ["ls", "@ROOT@/vault"]
"#;
    let sb = TestEnv::with_config(config);
    round_trip(&sb, "sk-command-value");
    missing_secret_stops_the_child(&sb, "command backend");

    let sb =
        TestEnv::with_config("[secrets]\nbackend = \"command\"\ncommand = [\"sh\", \"-c\", \"exit 1\", \"{name}\"]\n");
    let r = sb.run_in(["secrets", "set", "K"], "v");
    r.assert_code(2);
    assert!(r.stderr.contains("command_set is not configured"), "{r}");
    let sb = TestEnv::with_config("[secrets]\nbackend = \"command\"\ncommand = [\"cat\", \"/etc/hostname\"]\n");
    let r = sb.run(["secrets", "exec", "--only", "K", "--", "true"]);
    r.assert_code(2);
    assert!(r.stderr.contains("no `{name}` placeholder"), "{r}");
}

#[test]
fn keychain_backend_through_a_fake_security() {
    if fake_security_tools().is_none() {
        return;
    }
    let mut sb = TestEnv::with_config("[secrets]\nbackend = \"keychain\"\n");
    sb.install_fake_security();
    let kc = sb.path("~/Library/Keychains/ai-secrets.keychain-db");

    // Before setup: a clear error naming the fix.
    let r = sb.run_in(["secrets", "set", "API_KEY"], "v");
    r.assert_code(2);
    assert!(r.stderr.contains("does not exist") && r.stderr.contains("aiorch secrets setup"), "{r}");

    // setup: `security create-keychain` prompts for the password itself (here on stdin).
    let r = sb.run_in(["secrets", "setup"], "kc-password\nkc-password\n");
    r.assert_code(0);
    assert!(r.stderr.contains("password for new keychain"), "security prompted{r}");
    assert!(kc.exists());
    let r = sb.ok(["secrets", "setup"]);
    assert!(r.stdout.contains("exists") && r.stdout.contains("already in the keychain search list"), "idempotent{r}");
    // An empty password typed at the prompt is refused loudly (exit 1), not silently kept.
    let mut other = TestEnv::with_config("[secrets]\nbackend = \"keychain\"\n");
    other.install_fake_security();
    let r = other.run_in(["secrets", "setup"], "\n\n");
    r.assert_code(1);
    assert!(r.stderr.contains("has an empty password"), "{r}");

    let value = "sk-keychain value \"with\" quotes";
    round_trip(&sb, value);
    missing_secret_stops_the_child(&sb, "keychain backend");

    let d = sb.run(["doctor", "--json"]);
    let checks: serde_json::Value = serde_json::from_str(&d.stdout).unwrap();
    let status = |name: &str| {
        checks["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["group"] == "secrets" && c["name"] == name)
            .map(|c| c["status"].as_str().unwrap().to_string())
    };
    assert_eq!(status("keychain password").as_deref(), Some("ok"), "{d}");
    assert_eq!(status("keychain locking").as_deref(), Some("ok"), "{d}");
    assert_eq!(status("keychain search list").as_deref(), Some("ok"), "{d}");

    // No value was ever on a `security` argv, neither raw nor hex-encoded.
    let log = std::fs::read_to_string(sb.root.join("security.log")).unwrap();
    let hex = hex(value);
    assert!(log.contains("-i") && log.contains("find-generic-password -s API_KEY -w"), "{log}");
    assert!(
        !log.contains(value) && !log.contains(&hex) && !log.contains("other-value") && !log.contains("kc-password"),
        "{log}"
    );
}

#[test]
fn keychain_doctor_warns_about_an_empty_password_and_no_lock_on_sleep() {
    if fake_security_tools().is_none() {
        return;
    }
    let mut sb = TestEnv::with_config(
        "[secrets]\nbackend = \"keychain\"\n[mcp.servers.gh]\ncommand = \"gh-mcp\"\nsecrets = [\"GH_TOKEN\"]\n",
    );
    sb.install_fake_security();
    let kc = sb.path("~/Library/Keychains/ai-secrets.keychain-db");
    // The seed system's keychain: empty password, default settings, not in the search list.
    let st = std::process::Command::new(sb.bin.join("security"))
        .env_clear()
        .envs(sb.vars())
        .args(["create-keychain", "-p", ""])
        .arg(&kc)
        .status()
        .unwrap();
    assert!(st.success());
    let d = sb.run(["doctor"]);
    d.assert_code(1);
    for want in [
        "! keychain password: empty",
        "! keychain locking: does not lock on sleep",
        "! keychain search list",
        "✗ GH_TOKEN: missing from the keychain backend",
        "needed by mcp server gh",
        "fix: store it with `aiorch secrets set GH_TOKEN`",
    ] {
        assert!(d.stdout.contains(want), "missing {want:?}{d}");
    }
    // An item the seed setup stored under another account is updated in place, not shadowed.
    let st = std::process::Command::new(sb.bin.join("security"))
        .env_clear()
        .envs(sb.vars())
        .args(["add-generic-password", "-a", "seed-user", "-s", "GH_TOKEN", "-w", "old-value"])
        .arg(&kc)
        .status()
        .unwrap();
    assert!(st.success());
    sb.run_in(["secrets", "set", "GH_TOKEN"], "ghp_x").assert_code(0);
    let r = sb.ok(["secrets", "exec", "--only", "GH_TOKEN", "--", "sh", "-c", "printf %s \"$GH_TOKEN\""]);
    assert_eq!(r.stdout, "ghp_x");
    let items = std::fs::read_to_string(&kc).unwrap();
    assert_eq!(items.lines().filter(|l| l.contains("\tGH_TOKEN\t")).count(), 1, "{items}");
    assert!(items.contains("\tGH_TOKEN\tseed-user\t"), "{items}");
    let d = sb.run(["doctor"]);
    assert!(d.stdout.contains("✓ GH_TOKEN: resolves (needed by mcp server gh)"), "{d}");
    // `setup` on the existing keychain fixes the settings and the search list, and fails on
    // the empty password it cannot fix for you.
    let r = sb.run(["secrets", "setup"]);
    r.assert_code(1);
    assert!(r.stderr.contains("has an empty password") && r.stderr.contains("security set-keychain-password"), "{r}");
    let d = sb.run(["doctor"]);
    assert!(
        d.stdout.contains("✓ keychain locking: on sleep and after 3600s idle")
            && d.stdout.contains("✓ keychain search list"),
        "{d}"
    );
}

/// Wait for a line on a child's stdout (with a deadline).
fn wait_line(out: &mut impl BufRead, want: &str) {
    let deadline = Instant::now() + HANG_LIMIT;
    let mut line = String::new();
    while Instant::now() < deadline {
        line.clear();
        if out.read_line(&mut line).unwrap() == 0 {
            panic!("stdout closed before {want:?}");
        }
        if line.trim() == want {
            return;
        }
    }
    panic!("no {want:?} within {HANG_LIMIT:?}");
}

#[test]
fn exec_replaces_itself_and_signals_reach_the_child() {
    let sb = TestEnv::with_config(FILE_BACKEND);
    sb.run_in(["secrets", "set", "K"], "value-k").assert_code(0);

    // Same PID: the shell reports the PID we spawned.
    let mut child = sb.spawn(["secrets", "exec", "--only", "K", "--", "sh", "-c", "echo $$; exec sleep 30"]);
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), child.id().to_string(), "exec keeps the PID");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGTERM).unwrap();
    let st = child.wait().unwrap();
    assert_eq!(st.signal(), Some(15), "killed by the signal itself: {st:?}");

    // --mask: aiorch stays, forwards the signal, and exits with the child's status.
    for (sig, script, want) in [
        (
            nix::sys::signal::Signal::SIGTERM,
            "trap 'echo got-term; exit 42' TERM; echo ready; while :; do sleep 0.05; done",
            42,
        ),
        (nix::sys::signal::Signal::SIGINT, "trap 'exit 43' INT; echo ready; while :; do sleep 0.05; done", 43),
        (nix::sys::signal::Signal::SIGHUP, "trap 'exit 44' HUP; echo ready; while :; do sleep 0.05; done", 44),
        (nix::sys::signal::Signal::SIGTERM, "echo ready; exec sleep 30", 128 + 15),
    ] {
        let mut c = sb.std_cmd(["secrets", "exec", "--mask", "--only", "K", "--", "sh", "-c", script]);
        // Its own process group: nothing but our kill reaches it (no terminal involved).
        let mut child = spawn(c.process_group(0).stdout(Stdio::piped()).stderr(Stdio::piped()));
        let mut out = BufReader::new(child.stdout.take().unwrap());
        wait_line(&mut out, "ready");
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), sig).unwrap();
        let st = child.wait().unwrap();
        assert_eq!(st.code(), Some(want), "{sig:?} with {script:?}: {st:?}");
    }

    // A command that does not exist: 127, like a shell.
    let r = sb.run(["secrets", "exec", "--only", "K", "--", "no-such-command-xyz"]);
    r.assert_code(127);
    assert!(r.stderr.contains("no-such-command-xyz: command not found"), "{r}");
    sb.run(["secrets", "exec", "--mask", "--only", "K", "--", "no-such-command-xyz"]).assert_code(127);
}

#[test]
fn mask_redacts_values_split_across_writes() {
    let sb = TestEnv::with_config(FILE_BACKEND);
    sb.run_in(["secrets", "set", "TOKEN"], "tok-0123456789").assert_code(0);
    sb.run_in(["secrets", "set", "TOK"], "tok-01").assert_code(0);
    let script = concat!(
        r#"printf 'a %s b\n' "$TOKEN"; printf 'tok-01234'; sleep 0.2; printf '56789 end\n'; "#,
        r#"printf 'err %s\n' "$TOK" >&2; printf 'tok-0 partial'"#,
    );
    let r = sb.ok(["secrets", "exec", "--mask", "--only", "TOKEN,TOK", "--", "sh", "-c", script]);
    assert_eq!(r.stdout, "a <redacted:TOKEN> b\n<redacted:TOKEN> end\ntok-0 partial", "{r}");
    assert_eq!(r.stderr, "err <redacted:TOK>\n", "{r}");
    // Without --mask the child's output is its own.
    let r = sb.ok(["secrets", "exec", "--only", "TOKEN", "--", "sh", "-c", "printf %s \"$TOKEN\""]);
    assert_eq!(r.stdout, "tok-0123456789");
}

// ---------------------------------------------------------------------------------------------
// Canary: run everything with a unique value and prove it rests nowhere.

/// `pid`'s children, from /proc/*/stat.
fn children_of(pid: u32) -> Vec<u32> {
    let mut out = vec![];
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(p) = e.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else { continue };
        // `pid (comm) state ppid …`: comm may hold spaces, so split after the last ')'.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|s| s.parse::<u32>().ok());
        if ppid == Some(pid) {
            out.push(p);
        }
    }
    out
}

struct ProcSeen {
    cmdlines: Vec<(u32, Vec<u8>)>,
    environs: Vec<(u32, Vec<u8>)>,
}

/// Poll the process tree under `root` until it exits: every cmdline and environ seen.
fn watch_tree(child: &mut std::process::Child) -> ProcSeen {
    let mut seen = ProcSeen { cmdlines: vec![], environs: vec![] };
    let deadline = Instant::now() + HANG_LIMIT;
    loop {
        let mut stack = vec![child.id()];
        while let Some(p) = stack.pop() {
            if let Ok(c) = std::fs::read(format!("/proc/{p}/cmdline")) {
                seen.cmdlines.push((p, c));
            }
            if let Ok(e) = std::fs::read(format!("/proc/{p}/environ")) {
                seen.environs.push((p, e));
            }
            stack.extend(children_of(p));
        }
        if child.try_wait().unwrap().is_some() {
            return seen;
        }
        assert!(Instant::now() < deadline, "process tree did not finish");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn canary_value() -> String {
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("canary-{:x}-{}", t, std::process::id())
}

/// Run apply, secrets exec (plain and --mask, watching /proc), doctor and list with `canary`
/// stored; returns every captured output. Checks argv and environ on the way.
fn exercise(sb: &TestEnv, canary: &str) -> Vec<Run> {
    let mut runs = vec![];
    runs.push(sb.run_in(["-vv", "secrets", "set", "CANARY_TOKEN"], canary));
    runs.last().unwrap().assert_code(0);
    runs.push(sb.run(["-vv", "apply"]));
    runs.last().unwrap().assert_code(0);

    for mask in [false, true] {
        let mut args = vec!["-vv", "secrets", "exec"];
        if mask {
            args.push("--mask");
        }
        args.extend([
            "--only",
            "CANARY_TOKEN",
            "--",
            "sh",
            "-c",
            "echo \"child sees $CANARY_TOKEN\"; sleep 0.5; echo done",
        ]);
        let mut child = spawn(sb.std_cmd(&args).stdout(Stdio::piped()).stderr(Stdio::piped()));
        let aiorch_pid = child.id();
        let seen = watch_tree(&mut child);
        let out = child.wait_with_output();
        let run = Run {
            cmdline: format!("{args:?}"),
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into(),
            stderr: String::from_utf8_lossy(&out.stderr).into(),
        };
        run.assert_code(0);
        let pids: BTreeSet<u32> = seen.cmdlines.iter().map(|(p, _)| *p).collect();
        assert!(pids.len() >= if mask { 3 } else { 2 }, "saw the whole tree (aiorch, sh, sleep): {:?}", seen.cmdlines);
        for (pid, cmdline) in &seen.cmdlines {
            assert!(
                !contains(cmdline, canary.as_bytes()),
                "argv of pid {pid} holds the canary: {:?}",
                String::from_utf8_lossy(cmdline)
            );
        }
        // Positive control: the child's environment does hold it (so the scan can see it)…
        assert!(
            seen.environs.iter().any(|(pid, e)| *pid != aiorch_pid && contains(e, canary.as_bytes())),
            "the canary must reach the child's environment"
        );
        if mask {
            // …while the supervising aiorch never put it in its own.
            assert!(
                seen.environs.iter().filter(|(p, _)| *p == aiorch_pid).all(|(_, e)| !contains(e, canary.as_bytes())),
                "aiorch's own environment holds the canary"
            );
            assert!(run.stdout.contains("child sees <redacted:CANARY_TOKEN>"), "{run}");
            runs.push(run);
        } else {
            // Plain exec: the child's own output is its business (not aiorch's); only stderr is aiorch's.
            assert!(run.stdout.contains(canary), "{run}");
            runs.push(Run { stdout: String::new(), ..run });
        }
    }
    for args in
        [&["-vv", "doctor"][..], &["-vv", "--json", "doctor"], &["secrets", "list"], &["--json", "secrets", "list"]]
    {
        runs.push(sb.run(args));
    }
    let doctor = &runs[runs.len() - 4];
    assert!(doctor.stdout.contains("✓ CANARY_TOKEN: resolves (needed by mcp server canary)"), "{doctor}");
    runs
}

fn assert_no_canary(sb: &TestEnv, canary: &str, runs: &[Run], store: &[PathBuf]) {
    let hex = hex(canary);
    for needle in [canary, hex.as_str()] {
        let hits = sb.files_holding(&["home", "state"], needle.as_bytes(), store);
        assert!(hits.is_empty(), "canary ({needle}) found in {hits:?}");
        for r in runs {
            assert!(!r.all().contains(needle), "canary in output{r}");
        }
    }
    assert!(sb.state.join("ledger.json").exists(), "apply ran and wrote its state");
}

#[test]
fn canary_never_rests_file_backend() {
    let canary = canary_value();
    let config = "[secrets]\nbackend = \"file\"\nfile = \"@ROOT@/vault/secrets.env\"\n[clients]\nclaude = \"always\"\n\
                  gemini = \"always\"\ncodex = \"always\"\ncopilot = \"always\"\n[mcp.servers.canary]\n\
                  command = \"canary-server\"\nsecrets = [\"CANARY_TOKEN\"]\n";
    let sb = TestEnv::with_config(config);
    let runs = exercise(&sb, &canary);
    // The backend file itself is the one place the value belongs (outside HOME and the state dir).
    assert!(std::fs::read_to_string(sb.root.join("vault/secrets.env")).unwrap().contains(&canary));
    assert_no_canary(&sb, &canary, &runs, &[]);
}

#[test]
fn canary_never_rests_keychain_backend() {
    if fake_security_tools().is_none() {
        return;
    }
    let canary = canary_value();
    let config = "[secrets]\nbackend = \"keychain\"\n[clients]\nclaude = \"always\"\n[mcp.servers.canary]\n\
                  command = \"canary-server\"\nsecrets = [\"CANARY_TOKEN\"]\n";
    let mut sb = TestEnv::with_config(config);
    sb.install_fake_security();
    sb.run_in(["secrets", "setup"], "pw\npw\n").assert_code(0);
    let runs = exercise(&sb, &canary);
    // The fake keychain (values hex-encoded, as the real one is encrypted) and the search list
    // are the store.
    let kc = sb.path("~/Library/Keychains/ai-secrets.keychain-db");
    assert_no_canary(&sb, &canary, &runs, &[kc]);
    // Every process aiorch started for the keychain: `security`, whose argv the fake logged.
    let log = std::fs::read_to_string(sb.root.join("security.log")).unwrap();
    let hex = hex(&canary);
    assert!(!log.contains(&canary) && !log.contains(&hex), "{log}");
    let subcommands: BTreeSet<&str> = log.lines().filter_map(|l| l.split_whitespace().next()).collect();
    assert!(subcommands.contains("-i") && subcommands.contains("find-generic-password"), "{subcommands:?}");
}

/// util-linux's `script`, which gives a child a pseudo-terminal (see `require_tool`).
fn script_tool() -> Option<PathBuf> {
    require_tool("script", "util-linux's `script`: apt-get install bsdutils")
}

/// Drive `aiorch ARGS` on a pseudo-terminal (`script`, the path `script_tool` found): wait for
/// `prompt`, type `keys`, and return the whole terminal transcript and the exit code.
fn on_a_terminal(sb: &TestEnv, script: &Path, args: &[&str], prompt: &str, keys: &[u8]) -> (String, Option<i32>) {
    let mut words = vec![env!("CARGO_BIN_EXE_aiorch").to_string()];
    words.extend(sb.sandbox_args());
    words.extend(args.iter().map(|a| a.to_string()));
    let line = format!("exec {}", words.iter().map(|w| format!("'{w}'")).collect::<Vec<_>>().join(" "));
    let mut child = spawn(
        std::process::Command::new(script)
            .args(["-qec", &line, "/dev/null"])
            .env_clear()
            .envs(sb.vars())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    let transcript = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
    let mut stdout = child.stdout.take().unwrap();
    let t2 = transcript.clone();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = std::io::Read::read(&mut stdout, &mut buf) {
            if n == 0 {
                break;
            }
            t2.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    let deadline = Instant::now() + HANG_LIMIT;
    while !String::from_utf8_lossy(&transcript.lock().unwrap()).contains(prompt) {
        assert!(
            Instant::now() < deadline,
            "no prompt {prompt:?}: {:?}",
            String::from_utf8_lossy(&transcript.lock().unwrap())
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(keys).unwrap();
    stdin.flush().unwrap();
    // Keep the terminal open until aiorch is done with it.
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if Instant::now() > deadline {
            panic!("aiorch did not finish on the terminal: {:?}", String::from_utf8_lossy(&transcript.lock().unwrap()));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    drop(stdin);
    reader.join().unwrap();
    let text = String::from_utf8_lossy(&transcript.lock().unwrap()).to_string();
    (text, status.code())
}

#[test]
fn set_prompts_on_the_terminal_without_echo() {
    let Some(script) = script_tool() else { return };
    let sb = TestEnv::with_config(FILE_BACKEND);
    let (text, code) =
        on_a_terminal(&sb, &script, &["secrets", "set", "TTY_KEY"], "(input hidden): ", b"typed-secret-value\r");
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("stored TTY_KEY"), "{text}");
    assert!(!text.contains("typed-secret-value"), "the value was echoed: {text}");
    let r = sb.ok(["secrets", "exec", "--only", "TTY_KEY", "--", "sh", "-c", "printf %s \"$TTY_KEY\""]);
    assert_eq!(r.stdout, "typed-secret-value");

    // ^C at the prompt cancels: nothing stored, exit 2, and the terminal echoes again after.
    let (text, code) = on_a_terminal(&sb, &script, &["secrets", "set", "OTHER"], "(input hidden): ", b"abc\x03");
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("cancelled"), "{text}");
    assert!(!text.contains("abc"), "{text}");
    assert_eq!(sb.ok(["secrets", "list"]).stdout, "TTY_KEY\n");
}

#[test]
fn set_refuses_a_nul_byte_and_reserved_names() {
    let sb = TestEnv::with_config(FILE_BACKEND);
    let r = sb.run_in(["secrets", "set", "API_KEY"], "abc\0def\n");
    r.assert_code(2);
    r.assert_stderr_contains("the value for API_KEY contains a NUL byte; nothing was stored");
    assert!(!r.all().contains("abc") && !r.all().contains("def"), "the value is never echoed{r}");
    for name in ["PATH", "HOME", "USER", "SHELL", "LD_PRELOAD", "LD_LIBRARY_PATH", "DYLD_INSERT_LIBRARIES"] {
        let r = sb.run_in(["secrets", "set", name], "value-1234\n");
        r.assert_code(2);
        r.assert_stderr_contains(&format!("`{name}` is a name the system or a program reads from the environment"));
    }
    assert_eq!(sb.ok(["secrets", "list"]).stdout, "", "nothing was stored");
    // A reserved name already in the backend (stored before aiorch refused it) is not injected.
    sb.write("~/.config/aiorch/secrets.env", "LD_PRELOAD=/tmp/evil.so\n");
    std::fs::set_permissions(sb.path("~/.config/aiorch/secrets.env"), std::fs::Permissions::from_mode(0o600)).unwrap();
    let r = sb.run(["secrets", "exec", "--", "sh", "-c", "echo started"]);
    r.assert_code(2);
    r.assert_stderr_contains("aiorch secrets rm LD_PRELOAD");
    assert!(!r.stdout.contains("started"), "{r}");
}

#[test]
fn mask_refuses_a_value_too_short_to_hide() {
    let sb = TestEnv::with_config(FILE_BACKEND);
    sb.run_in(["secrets", "set", "PIN"], "e").assert_code(0);
    sb.run_in(["secrets", "set", "TOKEN"], "tok-0123456789").assert_code(0);
    let r = sb.run(["secrets", "exec", "--mask", "--only", "PIN,TOKEN", "--", "sh", "-c", "echo hello there"]);
    r.assert_code(2);
    assert_eq!(
        r.stderr,
        "error: --mask cannot hide PIN: masking a value that short would mark where it occurs and so show it\n  \
         hint: leave it out with --only, run without --mask, or store a longer value; the command was not started\n",
        "{r}"
    );
    assert_eq!(r.stdout, "", "the command did not start");
    // Long enough values are masked as before.
    let r = sb.ok(["secrets", "exec", "--mask", "--only", "TOKEN", "--", "sh", "-c", "echo \"$TOKEN\""]);
    assert_eq!(r.stdout, "<redacted:TOKEN>\n");
}
