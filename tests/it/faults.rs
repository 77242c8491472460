//! Real fault injection: a crash after every single change (`AIORCH_FAULT_ABORT_AFTER`), a
//! real SIGKILL at a pseudo-random moment, concurrent runs, and a client rewriting its settings
//! while aiorch writes. After each: nothing is half-written, a re-apply converges, a further
//! apply has nothing to do, and revert still gives the user's files back exactly.

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use crate::common::{Rng, TestEnv, assert_same};

const USER_SETTINGS: &str = "{\n  \"theme\": \"Dracula\",\n  \"mcpServers\": {\"x\": {\"command\": \"x\"}}\n}\n";

/// A sandbox with the user's own files where aiorch writes (replaced ones, and a merge
/// target) and a small live agentsmd tree: every kind of change (link, rendered file, composed
/// file, merged key, backup) in a dozen changes, so a crash after each one stays quick.
fn scenario() -> TestEnv {
    let env = TestEnv::empty();
    env.write("agentsmd/AGENTS.md", "# Agents\n\nBe careful.\n");
    env.write("agentsmd/rules/00-safety.md", "Never push.\n");
    env.write("agentsmd/commands/review.md", "---\ndescription: Review the diff\n---\nReview $ARGUMENTS.\n");
    env.write(
        "config/aiorch.toml",
        format!("[agentsmd]\nsource = \"{}\"\n\n{}", env.path("agentsmd").display(), crate::common::ALL_CLIENTS),
    );
    env.write("~/.claude/CLAUDE.md", "# mine\n");
    env.write("~/.codex/AGENTS.md", "# my codex rules\n");
    env.write("~/.gemini/settings.json", USER_SETTINGS);
    env
}

/// Content-level state (kind, mode, bytes; no inodes) of home and of the generated files.
fn contents(env: &TestEnv) -> BTreeMap<String, String> {
    env.fingerprint_of(&["home", "state/generated"], false)
}

/// What a single, uninterrupted apply of `scenario()` produces, and how many changes it makes.
struct Reference {
    before: BTreeMap<String, String>,
    after: BTreeMap<String, String>,
    changes: usize,
    /// Ledger entries after one apply (a merged file holds several owned keys).
    entries: usize,
}

fn reference() -> Reference {
    let env = scenario();
    let before = contents(&env);
    let plan = env.ok(["apply", "--dry-run", "--json"]).json();
    let changes = plan["changes"].as_array().unwrap().len();
    env.ok(["apply"]);
    let entries = env.ledger()["entries"].as_array().unwrap().len();
    Reference { before, after: contents(&env), changes, entries }
}

/// The crash guarantee: every path is either as it was before or as it is after a full apply
/// (never half-written), temp files only where a run stages them, every structured file parses.
#[track_caller]
fn assert_consistent(env: &TestEnv, r: &Reference, what: &str) {
    let mut now = contents(env);
    // A run stages every new file under a temp name beside its target before renaming any,
    // so a kill leaves staged temp files (never a target half-written), only where a full apply
    // writes a file. The next run sweeps them (see `recover`).
    let temps = temp_files(env);
    for t in &temps {
        let dir = t.rsplit_once('/').map_or("", |(d, _)| d);
        // (The state dir too: the ledger and the backups are written atomically as well.)
        assert!(
            dir.starts_with("state") || r.after.keys().any(|k| k.rsplit_once('/').is_some_and(|(d, _)| d == dir)),
            "{what}: temp file {t} outside the directories apply writes to"
        );
    }
    now.retain(|k, _| !temps.contains(k));
    for (path, desc) in &now {
        let ok = r.before.get(path) == Some(desc) || r.after.get(path) == Some(desc);
        // A directory a full apply creates may exist, empty, after a crash.
        let dir = desc == "dir" && r.after.get(path).is_some_and(|d| d == "dir");
        assert!(
            ok || dir,
            "{what}: {path} is neither before nor after:\n  now:    {desc}\n  before: {:?}\n  after:  {:?}",
            r.before.get(path),
            r.after.get(path)
        );
    }
    for path in r.before.keys().chain(r.after.keys()) {
        assert!(
            now.contains_key(path) || !r.before.contains_key(path) || !r.after.contains_key(path),
            "{what}: {path} vanished"
        );
    }
    assert_parses(env, what);
}

#[track_caller]
fn assert_parses(env: &TestEnv, what: &str) {
    for top in ["home", "state"] {
        for (rel, bytes) in env.files_under(top) {
            let text = String::from_utf8(bytes).unwrap_or_default();
            if rel.ends_with(".json") {
                serde_json::from_str::<serde_json::Value>(&text)
                    .unwrap_or_else(|e| panic!("{what}: {rel} does not parse: {e}\n{text}"));
            } else if rel.ends_with(".toml") {
                text.parse::<toml::Table>().unwrap_or_else(|e| panic!("{what}: {rel} does not parse: {e}\n{text}"));
            }
        }
    }
}

/// Temp files of aiorch's atomic writes anywhere in the sandbox.
fn temp_files(env: &TestEnv) -> Vec<String> {
    crate::common::walk(&env.root, &env.root)
        .into_iter()
        .map(|(rel, _)| rel)
        .filter(|rel| rel.rsplit('/').next().unwrap().starts_with(".aiorch-tmp-"))
        .collect()
}

/// After a crash: a normal apply converges, another one has nothing to do, revert restores.
#[track_caller]
fn recover(env: &TestEnv, r: &Reference, what: &str) {
    let run = env.ok(["apply"]);
    assert_same(&r.after, &contents(env), &format!("{what}: re-apply converges to a clean apply"));
    assert_eq!(temp_files(env), Vec::<String>::new(), "{what}: temp files left after the re-apply{run}");
    assert_parses(env, what);
    let (c, u, rm, _) = env.ok(["apply"]).summary();
    assert_eq!((c, u, rm), (0, 0, 0), "{what}: the third apply has nothing to do");
    env.ok(["revert"]);
    let home = |m: &BTreeMap<String, String>| {
        m.iter().filter(|(k, _)| k.starts_with("home")).map(|(k, v)| (k.clone(), v.clone())).collect::<BTreeMap<_, _>>()
    };
    assert_same(&home(&r.before), &home(&contents(env)), &format!("{what}: revert restores the user's home"));
    assert_eq!(env.ledger()["entries"], serde_json::json!([]), "{what}");
}

#[test]
fn abort_after_every_change() {
    let r = reference();
    assert!(r.changes >= 12, "{}", r.changes);
    // Two workers share the N's (2 cores); each N gets a fresh sandbox.
    let next = std::sync::atomic::AtomicUsize::new(1);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                loop {
                    let n = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    if n > r.changes {
                        break;
                    }
                    let env = scenario();
                    let mut cmd = env.std_cmd(["apply"]);
                    // No core dumps from the intended abort.
                    let out = no_core(&mut cmd).env("AIORCH_FAULT_ABORT_AFTER", n.to_string()).output().unwrap();
                    let what = format!("abort after change {n}");
                    assert_eq!(
                        out.status.signal(),
                        Some(6),
                        "{what}: expected SIGABRT, got {:?}\n{}",
                        out.status,
                        String::from_utf8_lossy(&out.stderr)
                    );
                    assert_consistent(&env, &r, &what);
                    recover(&env, &r, &what);
                }
            });
        }
    });
}

/// `ulimit -c 0` for the child: a crash we cause on purpose must not write a core file.
fn no_core(cmd: &mut std::process::Command) -> &mut std::process::Command {
    let program = cmd.get_program().to_owned();
    let args: Vec<_> = cmd.get_args().map(|a| a.to_owned()).collect();
    let envs: Vec<_> = cmd.get_envs().filter_map(|(k, v)| Some((k.to_owned(), v?.to_owned()))).collect();
    let dir = cmd.get_current_dir().map(|d| d.to_owned());
    let mut sh = std::process::Command::new("/bin/sh");
    sh.env_clear().envs(envs).arg("-c").arg("ulimit -c 0; exec \"$0\" \"$@\"").arg(program).args(args);
    if let Some(d) = dir {
        sh.current_dir(d);
    }
    *cmd = sh;
    cmd
}

#[test]
fn sigkill_at_random_moments() {
    let r = reference();
    let delay_ms = 20u64;
    for seed in 0..10u64 {
        let mut rng = Rng(0xA10C_0000 + seed);
        let env = scenario();
        // Start-up and planning take some ms too: spread the kills over all of it.
        let kill_after = rng.below(r.changes as u64 * delay_ms + 150);
        let mut child = env
            .std_cmd(["apply"])
            .env("AIORCH_FAULT_DELAY_MS", delay_ms.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(kill_after));
        child.kill().unwrap();
        let status = child.wait().unwrap();
        let what = format!("SIGKILL after {kill_after} ms (seed {seed}, {status:?})");
        assert!(status.signal() == Some(9) || status.success(), "{what}");
        assert_consistent(&env, &r, &what);
        recover(&env, &r, &what);
    }
}

#[test]
fn temp_files_of_an_interrupted_write_are_swept() {
    // What a process killed inside a write leaves: a temp file next to the target.
    let env = TestEnv::new();
    env.ok(["apply"]);
    for t in ["~/.claude/.aiorch-tmp-Ab12Cd", "~/.gemini/commands/.aiorch-tmp-link-999-0", "state/.aiorch-tmp-zz"] {
        env.write(t, "half-writ");
    }
    env.write("~/.claude/.aiorch-tmpfoo-not-ours", "keep");
    // A read-only look does not touch them…
    env.ok(["apply", "--check"]);
    assert_eq!(temp_files(&env).len(), 3);
    // …the next run does.
    let (c, u, r, _) = env.ok(["apply"]).summary();
    assert_eq!((c, u, r), (0, 0, 0));
    assert_eq!(temp_files(&env), Vec::<String>::new());
    assert_eq!(env.read("~/.claude/.aiorch-tmpfoo-not-ours"), "keep");
}

#[test]
fn concurrent_applies_serialise() {
    let r = reference();
    let env = scenario();
    let barrier = Arc::new(Barrier::new(4));
    let runs: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let b = barrier.clone();
                let env = &env;
                s.spawn(move || {
                    let mut cmd = env.cmd(["apply"]);
                    b.wait();
                    crate::common::run_cmd(&mut cmd)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for run in &runs {
        run.assert_code(0);
    }
    // The lock serialised them: one did the work, the others found nothing to do.
    let busy: Vec<_> = runs
        .iter()
        .filter(|run| {
            let (c, u, r, _) = run.summary();
            c + u + r > 0
        })
        .collect();
    assert_eq!(busy.len(), 1, "{}", runs.iter().map(|r| r.to_string()).collect::<String>());
    assert_same(&r.after, &contents(&env), "four concurrent applies == one apply");
    let ledger = env.ledger();
    assert_eq!(ledger["entries"].as_array().unwrap().len(), r.entries);
    let (c, u, rm, _) = env.ok(["apply"]).summary();
    assert_eq!((c, u, rm), (0, 0, 0));
    // The user's originals were backed up once, not overwritten by later runs' "backups".
    let backups = env.files_under("state/backups");
    assert_eq!(backups.len(), 3, "{:?}", backups.keys());
    env.ok(["revert"]);
    assert_eq!(env.read("~/.claude/CLAUDE.md"), "# mine\n");
    assert_eq!(env.read("~/.gemini/settings.json"), USER_SETTINGS);
}

#[test]
fn a_client_rewriting_its_settings_meanwhile_keeps_both_keys() {
    // Gemini CLI (or `gemini mcp add`) rewrites settings.json while aiorch runs: aiorch must
    // not write back a merge computed from the old text.
    let env = TestEnv::new();
    env.write("~/.gemini/settings.json", USER_SETTINGS);
    let mut child = env
        .std_cmd(["apply"])
        .env("AIORCH_FAULT_DELAY_MS", "40")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Once the first change is on disk the plan has been computed from the old text; settings
    // come ~20 changes later. Rewrite them now, the way a client does (read, add, write).
    let first = env.path("~/.claude/AGENTS.md");
    while std::fs::symlink_metadata(&first).is_err() {
        assert!(child.try_wait().unwrap().is_none(), "apply finished before it was observed");
        std::thread::sleep(Duration::from_millis(1));
    }
    let seen = env.read("~/.gemini/settings.json");
    let rewritten_before_merge = seen == USER_SETTINGS;
    let mut v: serde_json::Value = serde_json::from_str(&seen).unwrap();
    v["general"] = serde_json::json!({"vimMode": true});
    env.write("~/.gemini/settings.json", serde_json::to_string_pretty(&v).unwrap() + "\n");

    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let settings: serde_json::Value = serde_json::from_str(&env.read("~/.gemini/settings.json")).unwrap();
    assert_eq!(settings["general"]["vimMode"], true, "the client's new key survived");
    assert_eq!(settings["context"]["fileName"], serde_json::json!(["AGENTS.md", "GEMINI.md"]), "aiorch's key is there");
    assert_eq!(settings["theme"], "Dracula");
    eprintln!("rewritten before the merge: {rewritten_before_merge}");
    if rewritten_before_merge {
        // The engine noticed the file changed after planning and planned again.
        assert_eq!(
            stdout.matches("~ ~/.gemini/settings.json  [context.fileName[+2]]").count(),
            2,
            "the merge was planned twice:\n{stdout}"
        );
    }
    let (c, u, r, _) = env.ok(["apply"]).summary();
    assert_eq!((c, u, r), (0, 0, 0));
    env.ok(["revert"]);
    let settings: serde_json::Value = serde_json::from_str(&env.read("~/.gemini/settings.json")).unwrap();
    assert_eq!(
        settings,
        serde_json::json!({"theme": "Dracula", "mcpServers": {"x": {"command": "x"}}, "general": {"vimMode": true}})
    );
}

/// A client that rewrites its settings atomically every 5 ms, as Claude Code does with
/// `~/.claude.json` (read, add key `k<i>`, write a temp file, rename it over), until `STOP`
/// exists: `python3 -c WRITER FILE STOP`. Prints how many keys it wrote.
const WRITER: &str = r#"import json, os, sys, time
path, stop = sys.argv[1], sys.argv[2]
i = 0
while not os.path.exists(stop):
    with open(path) as f:
        d = json.load(f)
    d["k%d" % i] = i
    tmp = path + ".client-tmp"
    with open(tmp, "w") as f:
        json.dump(d, f, indent=2)
    os.rename(tmp, path)
    i += 1
    time.sleep(0.005)
print(i)
"#;

#[test]
fn a_client_rewriting_its_file_every_5ms_against_4_concurrent_applies_loses_no_key() {
    // The window between aiorch's last look at a file and its replacement: a client rename that
    // lands in it used to be overwritten (about 1 key in 400). Each of 4 workers applies and
    // reverts (every run merges into or retracts from ~/.claude.json) while the client writes.
    let (mut written, mut retried_out) = (0, 0);
    for round in 0..10 {
        // aiorch's own MCP server goes into ~/.claude.json.
        let env = TestEnv::with_config(crate::common::CLIENTS_ALWAYS);
        env.write("~/.claude.json", "{\"numStartups\": 1}\n");
        let stop = env.path("stop");
        let writer = std::process::Command::new("python3")
            .args(["-c", WRITER])
            .arg(env.path("~/.claude.json"))
            .arg(&stop)
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3");
        let runs: Vec<crate::common::Run> = std::thread::scope(|s| {
            let workers: Vec<_> = (0..4)
                .map(|_| {
                    let env = &env;
                    s.spawn(move || (0..2).flat_map(|_| [env.run(["apply"]), env.run(["revert"])]).collect::<Vec<_>>())
                })
                .collect();
            workers.into_iter().flat_map(|w| w.join().unwrap()).collect()
        });
        std::fs::write(&stop, "").unwrap();
        let out = writer.wait_with_output().unwrap();
        assert!(out.status.success(), "round {round}: the client failed");
        let n: usize = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        for run in &runs {
            // Under a client that never pauses, a run may give up (exit 1, nothing lost) after
            // planning again eight times; anything else is a failure.
            if run.code != Some(0) {
                run.assert_code(1);
                run.assert_stderr_contains("files kept changing while aiorch was writing them");
                retried_out += 1;
            }
        }
        let v: serde_json::Value = serde_json::from_str(&env.read("~/.claude.json")).unwrap();
        let lost: Vec<String> = (0..n).map(|i| format!("k{i}")).filter(|k| v.get(k).is_none()).collect();
        assert_eq!(lost, Vec::<String>::new(), "round {round}: keys the client wrote were lost");
        written += n;
    }
    eprintln!("the client wrote {written} keys, none lost; {retried_out} of 160 runs gave up");
    assert!(retried_out < 80, "most runs must get through");
}

#[test]
fn revert_straight_after_a_crash_gives_everything_back_and_blames_nobody() {
    // A run killed after any change leaves the journal (old ∪ new entries): the entries whose
    // change never landed must not read as the user's edits, and the user's files come back —
    // including a key the user had set where aiorch sets its own (Gemini's context.fileName).
    let r = reference();
    for n in 1..r.changes {
        let env = scenario();
        env.write(
            "~/.gemini/settings.json",
            USER_SETTINGS.replace("\"theme\"", "\"context\": {\"fileName\": \"MINE.md\"},\n  \"theme\""),
        );
        let before = contents(&env);
        let out = no_core(&mut env.std_cmd(["apply"])).env("AIORCH_FAULT_ABORT_AFTER", n.to_string()).output().unwrap();
        if out.status.success() {
            break; // fewer changes than the reference: every crash point was tried
        }
        assert_eq!(out.status.signal(), Some(6), "abort after change {n}");
        let run = env.ok(["revert"]);
        let said = run.to_string();
        assert!(!said.contains("changed since") && !said.contains("changed by hand"), "after change {n}:{run}");
        let home = |m: &BTreeMap<String, String>| {
            m.iter()
                .filter(|(k, _)| k.starts_with("home"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<BTreeMap<_, _>>()
        };
        let mut now = home(&contents(&env));
        now.retain(|k, _| !temp_files(&env).contains(k));
        assert_same(&home(&before), &now, &format!("revert after a crash after change {n}"));
    }
}
