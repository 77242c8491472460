//! When aiorch's own bookkeeping is damaged: a backup that went missing, a ledger that is
//! garbage, from a newer aiorch, or lost. Nothing of the user's is destroyed or orphaned, and
//! every message names the file and the way out.

use crate::common::TestEnv;

const STAMP: &str = "20261121T102500Z";

fn backup_of(env: &TestEnv, f: &str) -> String {
    format!("state/backups/{STAMP}/{}", env.path(f).display().to_string().trim_start_matches('/'))
}

#[test]
fn a_missing_backup_keeps_our_file_warns_and_fails() {
    let env = TestEnv::new();
    env.write("~/.claude/CLAUDE.md", "# mine\n");
    env.ok(["apply"]);
    let ours = env.read("~/.claude/CLAUDE.md");
    let backup = backup_of(&env, "~/.claude/CLAUDE.md");
    assert_eq!(env.read(&backup), "# mine\n");
    std::fs::remove_file(env.path(&backup)).unwrap();

    // Doctor names the missing backup.
    let doctor = env.run(["doctor", "--no-connect"]);
    assert!(
        doctor
            .all()
            .contains(&format!("the backup of ~/.claude/CLAUDE.md is missing: {}", env.path(&backup).display())),
        "{doctor}"
    );

    // Revert keeps aiorch's file (the only copy there is), warns naming the backup, exits 1.
    let r = env.expect(["revert"], 1);
    r.assert_stderr_contains(&format!(
        "warning: {} cannot be restored: its backup {} is missing",
        env.path("~/.claude/CLAUDE.md").display(),
        env.path(&backup).display()
    ));
    assert_eq!(env.read("~/.claude/CLAUDE.md"), ours);
    // Put back, the backup is restored by the next revert.
    env.write(&backup, "# mine\n");
    env.ok(["revert"]);
    assert_eq!(env.read("~/.claude/CLAUDE.md"), "# mine\n");
}

#[test]
fn a_garbage_or_newer_ledger_names_its_path_and_the_way_out() {
    let env = TestEnv::new();
    env.ok(["apply"]);
    let ledger = env.path("state/ledger.json");
    let good = env.read("state/ledger.json");

    env.write("state/ledger.json", "{\"version\": 1, \"entries\": [oops");
    let r = env.expect(["apply"], 2);
    r.assert_stderr_contains(&format!("{}:1:", ledger.display()));
    r.assert_stderr_contains("the ledger does not parse");
    r.assert_stderr_contains("move it aside and run `aiorch apply`");
    env.expect(["revert"], 2);

    let newer = good.replacen("\"version\": 1", "\"version\": 99", 1);
    assert_ne!(newer, good);
    env.write("state/ledger.json", &newer);
    let r = env.expect(["apply"], 2);
    r.assert_stderr_contains(&format!("{}: the ledger is version 99, this aiorch reads version 1", ledger.display()));
    r.assert_stderr_contains("run the aiorch that wrote it");
    assert_eq!(env.read("state/ledger.json"), newer, "left as it is");
    env.expect(["revert"], 2);
    let doctor = env.run(["doctor", "--no-connect"]);
    assert_ne!(doctor.code, Some(0), "{doctor}");
}

#[test]
fn a_lost_ledger_never_turns_our_files_into_the_users() {
    let env = TestEnv::new();
    // The user's own things where aiorch writes, links and merges.
    env.write("~/.claude/CLAUDE.md", "# My Claude instructions\n");
    env.write("~/.codex/AGENTS.md", "# My Codex rules\n");
    env.write(
        "~/.gemini/settings.json",
        "{\n  \"theme\": \"Dracula\",\n  \"context\": {\"fileName\": [\"MINE.md\"]}\n}\n",
    );
    env.write("~/.claude/settings.json", "{\"permissions\": {\"allow\": [\"Bash(make:*)\"]}}\n");
    let originals = env.files_under("home");

    env.ok(["apply"]);
    let applied = env.files_under("home");
    // The ledger is lost; following the hint: run apply again.
    std::fs::rename(env.path("state/ledger.json"), env.path("state/ledger.json.lost")).unwrap();
    let r = env.ok(["apply"]);
    assert!(!r.stdout.contains("(backed up)"), "aiorch's own files are not backed up as the user's:\n{r}");
    r.assert_stderr_contains(
        "is exactly what aiorch generates: taken as aiorch's own (the user's original is the backup",
    );
    assert_eq!(env.files_under("home"), applied, "nothing changed on disk");
    let (c, u, rm, _) = env.ok(["apply"]).summary();
    assert_eq!((c, u, rm), (0, 0, 0));

    // Revert gives back the user's originals, byte for byte: not aiorch's files.
    env.ok(["revert"]);
    assert_eq!(env.files_under("home"), originals);
}

#[test]
fn a_lost_ledger_in_a_home_aiorch_filled_alone_reverts_to_empty() {
    // Nothing of the user's was there, so no backups exist: aiorch's generated files tell it.
    let env = TestEnv::new();
    env.ok(["apply"]);
    std::fs::remove_file(env.path("state/ledger.json")).unwrap();
    let r = env.ok(["apply"]);
    assert!(!r.stdout.contains("(backed up)"), "{r}");
    env.ok(["revert"]);
    assert_eq!(env.files_under("home"), Default::default(), "{}", env.tree());
}
