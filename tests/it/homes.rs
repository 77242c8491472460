//! Homes shaped like real ones: settings files that are links (into dotfiles, into the Nix
//! store, dangling), read-only, or being written by their client at the very moment aiorch
//! reads them. Each case either works without losing a byte of the user's, or stops before the
//! first change (exit 2 naming the file and the fix) and leaves the home and the state dir as
//! they were.

use std::os::unix::fs::{PermissionsExt, symlink};
use std::time::Duration;

use crate::common::{CLIENTS_ALWAYS, Run, TestEnv, assert_same, require_tool};

const USER_SETTINGS: &str = "{\n  \"theme\": \"Dracula\",\n  \"mcpServers\": {\"x\": {\"command\": \"x\"}}\n}\n";

/// A refused run changed nothing: the home is as it was and there is no state dir at all
/// (no lock, no ledger, no backup, no generated file).
#[track_caller]
fn assert_untouched(env: &TestEnv, before: &std::collections::BTreeMap<String, String>, run: &Run) {
    assert_same(before, &env.fingerprint_of(&["home"], true), &format!("the home after a refused run{run}"));
    assert!(!env.state.exists(), "the state dir was created by a refused run{run}");
}

#[test]
fn a_settings_file_being_written_by_its_client_is_read_once_written() {
    // Gemini CLI saves with writeFileSync: open(O_TRUNC), then write. An apply that reads the
    // file in between saw `{}` and replaced the file; the client's write then landed on the
    // unlinked inode and the user's settings were gone.
    let env = TestEnv::new();
    env.write("~/.gemini/settings.json", USER_SETTINGS);
    let client_writes = USER_SETTINGS.replace("\"theme\"", "\"general\": {\"vimMode\": true},\n  \"theme\"");
    let truncated = env.path("truncated");
    let mut writer = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys, time\nf = open(sys.argv[1], 'w')\nopen(sys.argv[2], 'w').close()\n\
             time.sleep(0.12)\nf.write(sys.argv[3])\nf.close()\n",
        ])
        .arg(env.path("~/.gemini/settings.json"))
        .arg(&truncated)
        .arg(&client_writes)
        .spawn()
        .expect("python3");
    while !truncated.exists() {
        std::thread::sleep(Duration::from_millis(1));
    }
    // The file is empty now and the client is about to write it.
    assert_eq!(env.read("~/.gemini/settings.json"), "");
    let run = env.ok(["apply"]);
    assert!(writer.wait().unwrap().success());
    let v: serde_json::Value = serde_json::from_str(&env.read("~/.gemini/settings.json")).unwrap();
    assert_eq!(v["theme"], "Dracula", "the user's settings survived{run}");
    assert_eq!(v["general"]["vimMode"], true, "the client's write survived{run}");
    assert_eq!(v["mcpServers"]["x"]["command"], "x");
    assert_eq!(v["context"]["fileName"], serde_json::json!(["AGENTS.md", "GEMINI.md"]), "aiorch's key{run}");
    env.ok(["revert"]);
    let v: serde_json::Value = serde_json::from_str(&env.read("~/.gemini/settings.json")).unwrap();
    let want: serde_json::Value = serde_json::from_str(&client_writes).unwrap();
    assert_eq!(v, want);
}

#[test]
fn an_empty_settings_file_that_stays_empty_is_merged_into() {
    let env = TestEnv::new();
    env.write("~/.gemini/settings.json", "");
    env.ok(["apply"]);
    let v: serde_json::Value = serde_json::from_str(&env.read("~/.gemini/settings.json")).unwrap();
    assert_eq!(v["context"]["fileName"], serde_json::json!(["AGENTS.md", "GEMINI.md"]));
    env.ok(["revert"]);
    let v: serde_json::Value = serde_json::from_str(&env.read("~/.gemini/settings.json")).unwrap();
    assert_eq!(v, serde_json::json!({}));
}

#[test]
fn a_read_only_file_behind_a_link_is_never_written_through() {
    // A store-like directory outside HOME: read-only directory, read-only file.
    let env = TestEnv::new();
    env.write("store/claude-settings.json", "{\"theme\": \"dark\"}\n");
    std::fs::set_permissions(env.path("store/claude-settings.json"), PermissionsExt::from_mode(0o444)).unwrap();
    std::fs::set_permissions(env.path("store"), PermissionsExt::from_mode(0o555)).unwrap();
    std::fs::create_dir_all(env.path("~/.claude")).unwrap();
    symlink(env.path("store/claude-settings.json"), env.path("~/.claude/settings.json")).unwrap();
    let before = env.fingerprint_of(&["home"], true);

    let run = env.expect(["apply"], 2);
    run.assert_stderr_contains(".claude/settings.json (a link to ");
    run.assert_stderr_contains("store/claude-settings.json) is read-only (mode 0444)");
    run.assert_stderr_contains("chmod u+w ");
    assert_untouched(&env, &before, &run);
    assert_eq!(env.read("store/claude-settings.json"), "{\"theme\": \"dark\"}\n");
    // A dry run says the same, before anyone tries.
    env.expect(["apply", "--dry-run"], 2).assert_stderr_contains("is read-only");
    std::fs::set_permissions(env.path("store"), PermissionsExt::from_mode(0o755)).unwrap();
}

#[test]
fn a_link_into_the_nix_store_is_nix_s_file() {
    let Some(nix_store) = require_tool("nix-store", "Nix (https://nixos.org/download)") else { return };
    let env = TestEnv::new();
    // What home-manager's programs.claude-code leaves: ~/.claude/settings.json -> /nix/store/….
    // Content unique to this sandbox: a fresh store path each run (the store is shared and
    // content-addressed; a path an older, broken aiorch wrote through would no longer verify).
    let content = format!("{{\"model\": \"opus\", \"sandbox\": \"{}\"}}\n", env.root.display());
    env.write("hm/settings.json", &content);
    let out = std::process::Command::new(&nix_store).arg("--add").arg(env.path("hm/settings.json")).output().unwrap();
    assert!(out.status.success(), "nix-store --add: {}", String::from_utf8_lossy(&out.stderr));
    let store_path = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(store_path.starts_with("/nix/store/"), "{store_path}");
    std::fs::create_dir_all(env.path("~/.claude")).unwrap();
    symlink(&store_path, env.path("~/.claude/settings.json")).unwrap();
    let before = env.fingerprint_of(&["home"], true);

    let run = env.expect(["apply"], 2);
    run.assert_stderr_contains(".claude/settings.json is managed by Nix (it resolves into /nix/store/");
    run.assert_stderr_contains("set it in your Nix config or let aiorch's module compose with it (programs.aiorch)");
    assert_untouched(&env, &before, &run);
    let verify = std::process::Command::new(&nix_store).args(["--verify-path", &store_path]).output().unwrap();
    assert!(verify.status.success(), "the store path was modified: {}", String::from_utf8_lossy(&verify.stderr));
    assert_eq!(std::fs::read_to_string(&store_path).unwrap(), content);
}

#[test]
fn a_dangling_link_at_a_merge_target_is_reported_not_followed() {
    // aiorch's own MCP server goes into ~/.claude.json.
    let env = TestEnv::with_config(CLIENTS_ALWAYS);
    let target = env.path("dotfiles/missing/claude.json");
    symlink(&target, env.path("~/.claude.json")).unwrap();
    let before = env.fingerprint_of(&["home"], true);

    let run = env.expect(["apply"], 2);
    run.assert_stderr_contains(&format!(
        "{} is a link to {}, which does not exist",
        env.path("~/.claude.json").display(),
        target.display()
    ));
    run.assert_stderr_contains(&format!("remove the link (`rm {}`)", env.path("~/.claude.json").display()));
    assert!(!env.exists("dotfiles"), "the link was followed to create directories outside HOME{run}");
    assert_untouched(&env, &before, &run);
}

#[test]
fn a_dangling_link_on_the_way_to_a_target_stops_before_the_first_change() {
    // ~/.claude/commands -> a dotfiles directory that is not checked out.
    let env = TestEnv::new();
    std::fs::create_dir_all(env.path("~/.claude")).unwrap();
    symlink(env.path("dotfiles/claude/commands"), env.path("~/.claude/commands")).unwrap();
    let before = env.fingerprint_of(&["home"], true);

    let run = env.expect(["apply"], 2);
    run.assert_stderr_contains(&format!(
        "{} is a link to {}, which does not exist",
        env.path("~/.claude/commands").display(),
        env.path("dotfiles/claude/commands").display()
    ));
    run.assert_stderr_contains("nothing was changed");
    assert!(!env.exists("~/.claude/CLAUDE.md"), "files were written before the error{run}");
    assert!(!env.exists("dotfiles"));
    assert_untouched(&env, &before, &run);

    // Once the link leads somewhere, apply goes through it.
    std::fs::create_dir_all(env.path("dotfiles/claude/commands")).unwrap();
    env.ok(["apply"]);
    assert!(env.path("dotfiles/claude/commands/review.md").is_symlink());
}

#[test]
fn a_file_where_a_directory_belongs_stops_before_the_first_change() {
    let env = TestEnv::new();
    env.write("~/.codex", "not a directory\n");
    let before = env.fingerprint_of(&["home"], true);
    let run = env.expect(["apply"], 2);
    run.assert_stderr_contains("~/.codex is a file, but ~/.codex/");
    run.assert_stderr_contains("needs it to be a directory");
    assert_untouched(&env, &before, &run);
}
