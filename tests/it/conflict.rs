//! Files that are not aiorch's where aiorch wants to put its own: they are backed up (and the
//! user is told), replaced, and `aiorch revert` gives back exactly what was there.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;

use crate::common::{TestEnv, assert_same};

const STAMP: &str = "20261121T102500Z";

/// Kind, mode and content of everything under home (no inodes: restored files are new ones).
fn home_state(env: &TestEnv) -> BTreeMap<String, String> {
    env.fingerprint_of(&["home"], false)
}

/// A home full of the user's own things exactly where aiorch wants to write.
fn user_home(env: &TestEnv) {
    env.write("~/.claude/CLAUDE.md", "# My Claude instructions\n\nAlways answer in haiku.\n");
    std::fs::set_permissions(env.path("~/.claude/CLAUDE.md"), std::fs::Permissions::from_mode(0o600)).unwrap();
    env.write("~/.codex/AGENTS.md", "# My Codex rules\n");
    env.write("~/.claude/commands/review.md", "my own review command\n");
    // A dotfiles-style link where aiorch wants its own link.
    env.write("~/dotfiles/AGENTS.md", "dotfiles agents\n");
    std::os::unix::fs::symlink("dotfiles/AGENTS.md", env.path("~/AGENTS.md")).unwrap();
    // A directory where a file belongs.
    env.write("~/.copilot/copilot-instructions.md/notes.txt", "odd, but mine\n");
    env.write("~/.copilot/config.json", "{\"banner\": \"never\"}\n");
}

#[test]
fn user_files_are_backed_up_replaced_and_restored() {
    let env = TestEnv::new();
    user_home(&env);
    let before = home_state(&env);
    let originals: BTreeMap<String, Vec<u8>> = env.files_under("home");

    let run = env.ok(["apply"]);
    for f in [
        "~/.claude/CLAUDE.md",
        "~/.codex/AGENTS.md",
        "~/.claude/commands/review.md",
        "~/AGENTS.md",
        "~/.copilot/copilot-instructions.md",
    ] {
        run.assert_stdout_contains(f);
        let shown = env.path(f).display().to_string();
        assert!(
            run.stderr.contains(&format!("note: {shown} is "))
                && run.stderr.contains("(not created by aiorch): it will be saved to the backups"),
            "no note for {f}{run}"
        );
    }
    run.assert_stdout_contains("~ ~/.claude/CLAUDE.md  (backed up)");
    run.assert_stdout_contains("(5 backed up)");

    // Replaced by aiorch's versions.
    assert!(env.read("~/.claude/CLAUDE.md").contains("@AGENTS.md"));
    assert!(std::fs::symlink_metadata(env.path("~/.codex/AGENTS.md")).unwrap().file_type().is_symlink());
    assert!(
        std::fs::symlink_metadata(env.path("~/.copilot/copilot-instructions.md")).unwrap().file_type().is_symlink()
    );
    assert_ne!(std::fs::read_link(env.path("~/AGENTS.md")).unwrap(), std::path::Path::new("dotfiles/AGENTS.md"));

    // The backups hold the originals, under backups/STAMP/<absolute path>.
    let backup =
        |f: &str| format!("state/backups/{STAMP}/{}", env.path(f).display().to_string().trim_start_matches('/'));
    assert_eq!(env.read(&backup("~/.claude/CLAUDE.md")), "# My Claude instructions\n\nAlways answer in haiku.\n");
    assert_eq!(
        std::fs::metadata(env.path(&backup("~/.claude/CLAUDE.md"))).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(env.read(&backup("~/.codex/AGENTS.md")), "# My Codex rules\n");
    assert_eq!(
        std::fs::read_link(env.path(&backup("~/AGENTS.md"))).unwrap(),
        std::path::Path::new("dotfiles/AGENTS.md")
    );
    assert_eq!(env.read(&format!("{}/notes.txt", backup("~/.copilot/copilot-instructions.md"))), "odd, but mine\n");
    // Untouched: the user's files aiorch does not manage.
    assert_eq!(env.read("~/.copilot/config.json"), "{\"banner\": \"never\"}\n");
    env.ok(["apply", "--check"]);

    let run = env.ok(["revert"]);
    run.assert_stdout_contains(&format!(
        "< ~/.claude/CLAUDE.md (restored from {}/",
        env.path("state/backups").display()
    ));
    assert_same(&before, &home_state(&env), "home after apply + revert");
    assert_eq!(env.files_under("home"), originals, "byte for byte");
    let ledger = env.ledger();
    assert_eq!(ledger["entries"], serde_json::json!([]), "{ledger:#}");
    assert_eq!(ledger["dirs"], serde_json::json!([]), "{ledger:#}");
    assert_eq!(ledger["created_files"], serde_json::json!([]));
}

#[test]
fn a_fresh_home_is_empty_again_after_revert() {
    let env = TestEnv::new();
    let before = env.tree();
    env.ok(["apply"]);
    let run = env.ok(["revert"]);
    let (c, u, r, _) = run.summary();
    assert_eq!((c, u), (0, 0));
    assert!(r > 40, "{run}");
    assert_eq!(before, "", "the sandbox home starts empty");
    // Only aiorch's bookkeeping is left, in the state dir.
    let left: Vec<String> = env
        .tree()
        .lines()
        .filter(|l| !l.starts_with("dir  state") && !l.starts_with("file state/"))
        .map(str::to_string)
        .collect();
    assert_eq!(left, Vec::<String>::new(), "{}", env.tree());
    assert!(!env.exists("state/generated"), "{}", env.tree());
    let (c, u, r, _) = env.ok(["revert"]).summary();
    assert_eq!((c, u, r), (0, 0, 0), "a second revert has nothing to do");
}

#[test]
fn an_edited_owned_file_is_backed_up_before_it_is_rewritten() {
    let env = TestEnv::new();
    env.ok(["apply"]);
    let ours = env.read("~/.gemini/commands/review.toml");
    env.write("~/.gemini/commands/review.toml", "description = \"my tweak\"\nprompt = \"review {{args}} harder\"\n");

    let run = env.ok(["apply"]);
    run.assert_stdout_contains("~ ~/.gemini/commands/review.toml  (backed up)");
    run.assert_stderr_contains(&format!(
        "note: {} is a file (an edited copy of aiorch's): it will be saved to the backups",
        env.path("~/.gemini/commands/review.toml").display()
    ));
    assert_eq!(env.read("~/.gemini/commands/review.toml"), ours, "aiorch's version is back");
    // The first apply backed nothing up, so this is the first backups/STAMP.
    let b = format!(
        "state/backups/{STAMP}/{}",
        env.path("~/.gemini/commands/review.toml").display().to_string().trim_start_matches('/')
    );
    assert_eq!(env.read(&b), "description = \"my tweak\"\nprompt = \"review {{args}} harder\"\n");

    // revert gives the user's edit back (it is the last thing that was there that was not ours).
    env.ok(["revert"]);
    assert_eq!(
        env.read("~/.gemini/commands/review.toml"),
        "description = \"my tweak\"\nprompt = \"review {{args}} harder\"\n"
    );
    assert!(!env.exists("~/.gemini/commands/plan.toml"));
}

#[test]
fn identical_user_content_is_adopted_but_kept_on_revert() {
    // The user already has exactly what aiorch would write: nothing is rewritten, but revert
    // must not delete the user's file.
    let env = TestEnv::new();
    env.ok(["apply"]);
    let claude_md = env.read("~/.claude/CLAUDE.md");
    env.ok(["revert"]);
    env.write("~/.claude/CLAUDE.md", &claude_md);
    env.ok(["apply"]);
    env.ok(["revert"]);
    assert_eq!(env.read("~/.claude/CLAUDE.md"), claude_md);
}
