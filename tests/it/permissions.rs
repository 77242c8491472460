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

/// `aiorch ARGS` as a user the file modes apply to: as root, `nobody` runs a copy of the binary
/// inside the sandbox (the build's copy may sit in a directory only root can enter).
fn run_unprivileged(env: &TestEnv, args: &[&str]) -> Run {
    let cmd = if is_root() {
        let copy = env.path("aiorch");
        std::fs::copy(crate::common::AIORCH, &copy).unwrap();
        chown_tree(env.path(""));
        let mut cmd = env.std_cmd_of(&copy, args);
        cmd.uid(NOBODY).gid(NOBODY);
        cmd
    } else {
        env.std_cmd(args)
    };
    run_cmd(&mut assert_cmd::Command::from_std(cmd))
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
    // Every new file is staged before the first rename: a refused directory changes no client file.
    assert_same(&before, &env.fingerprint_of(&["home"], false), "apply into an unwritable ~/.claude");
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
