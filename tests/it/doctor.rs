//! `aiorch doctor`: exit 0 when everything aiorch owns is in place, exit 1 naming the path
//! and the fix for each kind of drift, exit 2 for a config it cannot read.

use crate::common::TestEnv;

fn applied() -> TestEnv {
    let env = TestEnv::new();
    env.ok(["apply"]);
    env
}

/// A failed doctor run: exit 1, `✗ …detail` followed by `fix: …fix`.
#[track_caller]
fn fails_with(env: &TestEnv, detail: &str, fix: &str) {
    let run = env.expect(["doctor"], 1);
    let lines: Vec<&str> = run.stdout.lines().collect();
    let i = lines
        .iter()
        .position(|l| l.contains("✗") && l.contains(detail))
        .unwrap_or_else(|| panic!("no failed check naming {detail:?}{run}"));
    assert_eq!(lines.get(i + 1).map(|l| l.trim()), Some(format!("fix: {fix}").as_str()), "{run}");
    assert!(run.stdout.ends_with("problems\n"), "{run}");
    // --json says the same, with ok:false.
    let v = env.expect(["doctor", "--json"], 1).json();
    assert_eq!(v["ok"], false);
    assert!(v["summary"]["fail"].as_u64().unwrap() >= 1);
    let check = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["status"] == "fail" && c["detail"].as_str().unwrap().contains(detail))
        .unwrap_or_else(|| panic!("{v:#}"));
    assert_eq!(check["fix"], fix);
}

#[test]
fn clean_after_apply() {
    // Anthropic's default plugins are declared but only installed by Claude (or `plugins sync`),
    // and the default policy has rules some clients cannot enforce: doctor rightly warns about
    // both. Leave them out to see a fully clean run.
    let env = TestEnv::with_config(&format!(
        "{}\n[plugins]\ndefaults = false\n[policy]\nenable = false\n",
        crate::common::ALL_CLIENTS
    ));
    env.ok(["apply"]);
    let run = env.ok(["doctor"]);
    env.insta().bind(|| insta::assert_snapshot!("doctor_clean", run.stdout));
    let v = env.ok(["doctor", "--json"]).json();
    assert_eq!(v["ok"], true);
    assert_eq!(v["summary"]["fail"], 0);
    assert!(v["checks"].as_array().unwrap().iter().all(|c| c["status"] == "ok"), "{v:#}");
    env.ok(["doctor", "--strict"]);
}

#[test]
fn before_any_apply_it_reports_pending_changes() {
    let env = TestEnv::new();
    fails_with(
        &env,
        "pending change(s): ~/.claude/AGENTS.md",
        "run `aiorch apply --dry-run` to see them, then `aiorch apply`",
    );
    assert!(!env.exists("state"), "doctor writes nothing");
}

#[test]
fn a_removed_link() {
    let env = applied();
    std::fs::remove_file(env.path("~/.codex/AGENTS.md")).unwrap();
    fails_with(&env, "~/.codex/AGENTS.md is missing", "run `aiorch apply`");
    env.ok(["apply"]);
    env.ok(["doctor"]);
}

#[test]
fn a_link_replaced_by_a_file() {
    let env = applied();
    std::fs::remove_file(env.path("~/.gemini/AGENTS.md")).unwrap();
    env.write("~/.gemini/AGENTS.md", "my own\n");
    fails_with(
        &env,
        "~/.gemini/AGENTS.md should link to",
        "run `aiorch apply` (the current content will be backed up)",
    );
}

#[test]
fn an_edited_owned_file() {
    let env = applied();
    env.write("~/.claude/CLAUDE.md", "edited\n");
    fails_with(
        &env,
        "~/.claude/CLAUDE.md was changed after aiorch wrote it",
        "edit the agentsmd source instead, then `aiorch apply` (your edit will be backed up)",
    );
    // The conflict is also spelled out as a warning.
    let run = env.expect(["doctor"], 1);
    run.assert_stdout_contains("! conflict:");
}

#[test]
fn an_edited_merged_key() {
    let env = applied();
    let text = env.read("~/.gemini/settings.json").replace("\"GEMINI.md\"", "\"MINE.md\"");
    env.write("~/.gemini/settings.json", text);
    fails_with(
        &env,
        "~/.gemini/settings.json: `context.fileName` lacks \"GEMINI.md\"",
        "run `aiorch apply` to add them again",
    );
    env.ok(["apply"]);
    env.ok(["doctor"]);
}

#[test]
fn a_removed_merged_key() {
    let env = applied();
    env.write("~/.gemini/settings.json", "{\"theme\": \"x\"}\n");
    fails_with(&env, "~/.gemini/settings.json: `context.fileName` is missing", "run `aiorch apply`");
}

#[test]
fn a_dangling_link() {
    let env = applied();
    // The link's target (aiorch's copy of the command) goes away.
    std::fs::remove_file(env.path("state/generated/agentsmd/commands/review.md")).unwrap();
    fails_with(&env, "~/.claude/commands/review.md -> ", "run `aiorch apply` (or restore the source)");
    let run = env.expect(["doctor"], 1);
    run.assert_stdout_contains("review.md is dangling");
    env.ok(["apply"]);
    env.ok(["doctor"]);
}

#[test]
fn a_settings_file_that_no_longer_parses() {
    let env = applied();
    env.write("~/.gemini/settings.json", "{\"theme\": \n");
    let shown = format!("{}:2:1", env.path("~/.gemini/settings.json").display());
    fails_with(&env, &format!("cannot plan: {shown}"), "fix or move the file it names, then run `aiorch apply`");
    fails_with(&env, &shown, "fix the file by hand; aiorch will not write into a file it cannot parse");
}

#[test]
fn a_broken_config_is_exit_2() {
    let env = TestEnv::with_config("[clients]\nclaude = \"sometimes\"\n");
    let run = env.expect(["doctor"], 2);
    run.assert_stdout_contains(&format!(
        "✗ config loads: {}:2:10: \
         unknown variant `sometimes`",
        env.config.display()
    ));
    let v = env.expect(["doctor", "--json"], 2).json();
    assert_eq!(v["ok"], false);
}

#[test]
fn no_managed_client_is_a_warning() {
    crate::common::assert_no_system_clients();
    let env = TestEnv::with_config("[agentsmd]\nhome_agents_md = false\n");
    env.ok(["apply"]);
    assert_eq!(std::fs::read_dir(&env.home).unwrap().count(), 0, "nothing for a client in the home");
    let run = env.ok(["doctor"]);
    run.assert_stdout_contains("! managed clients: none (no client CLI found on PATH)");
    env.expect(["doctor", "--strict"], 1);
}
