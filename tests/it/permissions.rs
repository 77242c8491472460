//! Permission problems are the user's to fix, so the error names the file they know — never a
//! temp file — and says what to check. Run as an unprivileged user: as root (CI), aiorch runs
//! as `nobody`, since root ignores file modes.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;

use crate::common::{Run, TestEnv, assert_same, run_cmd};

const NOBODY: u32 = 65534;

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// A sandbox managing all four clients that `nobody` can reach when the tests run as root: in
/// the system temp dir, since the checkout (and so the build's temp dir) may be private.
fn sandbox() -> TestEnv {
    if !is_root() {
        return TestEnv::new();
    }
    let env = TestEnv::empty_in(&std::env::temp_dir());
    env.write_config(crate::common::ALL_CLIENTS);
    env
}

/// The command for `aiorch ARGS` as a user the file modes apply to: as root, `nobody` runs a
/// copy of the binary inside the sandbox (the build's copy may sit in a directory only root can
/// enter).
fn unprivileged(env: &TestEnv, args: &[&str]) -> std::process::Command {
    if !is_root() {
        return env.std_cmd(args);
    }
    let copy = env.path("aiorch");
    std::fs::copy(crate::common::AIORCH, &copy).unwrap();
    chown_tree(env.path(""));
    let mut cmd = env.std_cmd_of(&copy, args);
    cmd.uid(NOBODY).gid(NOBODY);
    cmd
}

fn run_unprivileged(env: &TestEnv, args: &[&str]) -> Run {
    run_cmd(&mut assert_cmd::Command::from_std(unprivileged(env, args)))
}

fn chown_tree(root: std::path::PathBuf) {
    std::os::unix::fs::lchown(&root, Some(NOBODY), Some(NOBODY)).unwrap();
    if root.is_dir() && !root.is_symlink() {
        for e in std::fs::read_dir(&root).unwrap() {
            chown_tree(e.unwrap().path());
        }
    }
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn an_unwritable_client_directory_names_the_target_and_the_fix() {
    let env = sandbox();
    std::fs::create_dir_all(env.path("~/.claude")).unwrap();
    chmod(&env.path("~/.claude"), 0o555);
    let before = env.fingerprint_of(&["home"], false);
    let run = run_unprivileged(&env, &["apply"]);
    chmod(&env.path("~/.claude"), 0o755);
    run.assert_code(1);
    run.assert_stderr_contains("error: cannot write ~/.claude/");
    run.assert_stderr_contains(": permission denied");
    run.assert_stderr_contains(&format!(
        "hint: your user may not write it: `ls -ld {}",
        env.path("~/.claude").display()
    ));
    assert!(!run.stderr.contains(".aiorch-tmp"), "the error names a temp file{run}");
    // The preflight finds it before the first change: no client file, no state dir either.
    assert_same(&before, &env.fingerprint_of(&["home"], false), "apply into an unwritable ~/.claude");
    assert!(!env.state.exists(), "a refused run created the state dir{run}");
}

/// `aiorch ARGS` as `nobody` (as root) or as the user, started in the background.
fn spawn_unprivileged(env: &TestEnv, args: &[&str], vars: &[(&str, &str)]) -> std::process::Child {
    let mut cmd = unprivileged(env, args);
    cmd.envs(vars.iter().copied()).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    cmd.spawn().unwrap()
}

#[test]
fn a_directory_that_becomes_unwritable_mid_apply_leaves_a_ledger_revert_trusts() {
    // The user's own files where aiorch writes, so a wrong ledger shows: revert would call
    // them "changed by hand" (the ledger claimed aiorch's content there) or lose them.
    let env = sandbox();
    env.write("~/.claude/CLAUDE.md", "# mine\n");
    env.write("~/.codex/AGENTS.md", "# my codex rules\n");
    env.write("~/.gemini/settings.json", "{\"theme\": \"Dracula\"}\n");
    let before = env.fingerprint_of(&["home"], false);
    // Changes land in path order, 40 ms apart: once the first is in, ~/.codex is still ahead.
    let mut child = spawn_unprivileged(&env, &["apply"], &[("AIORCH_FAULT_DELAY_MS", "40")]);
    let first = env.path("~/.claude/AGENTS.md");
    while std::fs::symlink_metadata(&first).is_err() {
        assert!(child.try_wait().unwrap().is_none(), "apply finished before it was observed");
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    chmod(&env.path("~/.codex"), 0o555);
    let out = child.wait_with_output().unwrap();
    chmod(&env.path("~/.codex"), 0o755);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("error: cannot link ~/.codex/AGENTS.md: "), "{stderr}");
    assert_eq!(env.read("~/.codex/AGENTS.md"), "# my codex rules\n", "not reached, still the user's");

    // Revert gives everything back and finds nothing "changed by hand".
    let run = run_unprivileged(&env, &["revert"]);
    run.assert_code(0);
    assert!(
        !run.to_string().contains("changed by hand") && !run.to_string().contains("changed since"),
        "revert took aiorch's record for the user's edits{run}"
    );
    assert_same(&before, &env.fingerprint_of(&["home"], false), "revert after a failed apply");
}

#[test]
fn root_in_another_users_home_is_refused() {
    if !is_root() {
        eprintln!("not root: root's refusal cannot be tried here");
        return;
    }
    let env = sandbox();
    env.write("~/.claude.json", "{\"numStartups\": 3}\n");
    chown_tree(env.home.clone());
    let before = env.fingerprint_of(&["home"], true);
    let run = env.expect(["apply"], 2);
    run.assert_stderr_contains(&format!("{} belongs to nobody, but aiorch runs as root", env.home.display()));
    run.assert_stderr_contains("run it as nobody: `sudo -u nobody aiorch");
    assert_same(&before, &env.fingerprint_of(&["home"], true), "root's refused apply");
    assert!(!env.state.exists(), "the state dir was created{run}");
    // Revert too (it would write the same files).
    env.expect(["revert"], 2);
}

#[test]
fn root_never_writes_through_a_link_to_another_users_file() {
    if !is_root() {
        eprintln!("not root: another user's file cannot be made here");
        return;
    }
    // root's own HOME; ~/.claude.json links to a file of nobody's (a shared dotfiles checkout).
    let env = TestEnv::with_config(crate::common::CLIENTS_ALWAYS);
    env.write("shared/claude.json", "{\"numStartups\": 3}\n");
    std::os::unix::fs::lchown(env.path("shared/claude.json"), Some(NOBODY), Some(NOBODY)).unwrap();
    std::os::unix::fs::symlink(env.path("shared/claude.json"), env.path("~/.claude.json")).unwrap();
    let run = env.expect(["apply"], 2);
    run.assert_stderr_contains(&format!(
        "{} (a link to {}) belongs to nobody, not to root who runs aiorch",
        env.path("~/.claude.json").display(),
        env.path("shared/claude.json").display()
    ));
    let meta = std::fs::metadata(env.path("shared/claude.json")).unwrap();
    assert_eq!(std::os::unix::fs::MetadataExt::uid(&meta), NOBODY, "the file changed owner");
    assert_eq!(env.read("shared/claude.json"), "{\"numStartups\": 3}\n");
    assert!(!env.state.exists());
}

#[test]
fn an_unreadable_config_names_the_file() {
    let env = sandbox();
    chmod(&env.config, 0o000);
    let run = run_unprivileged(&env, &["apply", "--dry-run"]);
    run.assert_code(1);
    run.assert_stderr_contains(&format!("error: cannot read config {}: permission denied", env.config.display()));
    run.assert_stderr_contains("hint: your user may not read it: `ls -ld ");
}

#[test]
fn a_replaced_settings_file_keeps_its_owner_group_and_mode() {
    if !is_root() {
        eprintln!("not root: a file of another group cannot be made here");
        return;
    }
    use std::os::unix::fs::MetadataExt;
    let env = TestEnv::new();
    env.write("~/.gemini/settings.json", "{\"theme\": \"Dracula\"}\n");
    let file = env.path("~/.gemini/settings.json");
    std::os::unix::fs::chown(&file, None, Some(NOBODY)).unwrap();
    chmod(&file, 0o640);
    env.ok(["apply"]);
    let meta = std::fs::metadata(&file).unwrap();
    assert!(env.read("~/.gemini/settings.json").contains("fileName"), "the merge happened");
    assert_eq!((meta.uid(), meta.gid(), meta.mode() & 0o7777), (0, NOBODY, 0o640));
    env.ok(["revert"]);
    let meta = std::fs::metadata(&file).unwrap();
    assert_eq!((meta.uid(), meta.gid(), meta.mode() & 0o7777), (0, NOBODY, 0o640));
}
