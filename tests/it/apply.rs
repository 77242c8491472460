//! `aiorch apply`: the plan, what lands on disk for each client, idempotence, drift checks,
//! retraction, `auto` detection, the master switch and `--json`.

use crate::common::{TestEnv, assert_same};

/// The plan lines of a dry run, without the diffs (those are covered by the file snapshots).
fn plan_lines(stdout: &str) -> String {
    stdout.lines().filter(|l| !l.starts_with("    ")).map(|l| format!("{l}\n")).collect()
}

#[test]
fn dry_run_shows_the_plan_and_changes_nothing() {
    let env = TestEnv::new();
    let before = env.fingerprint();
    let run = env.ok(["apply", "--dry-run"]);
    env.insta().bind(|| insta::assert_snapshot!("dry_run_plan", plan_lines(&run.stdout)));
    // Diffs are shown for rendered files.
    run.assert_stdout_contains("    +++ b/~/.claude/CLAUDE.md\n");
    run.assert_stdout_contains("    +@AGENTS.md\n");
    // A dry run takes no lock: nothing at all is created, not even the state dir.
    let after = env.fingerprint();
    assert_same(&before, &after, "dry run");
}

#[test]
fn apply_links_and_renders_every_client() {
    let env = TestEnv::new();
    let run = env.ok(["apply"]);
    let (created, _updated, removed, unchanged) = run.summary();
    assert!(created > 0 && removed == 0 && unchanged == 0, "{run}");
    let s = env.insta();
    s.bind(|| {
        insta::assert_snapshot!("tree_after_apply", env.tree());
        insta::assert_snapshot!("claude_md", env.read("~/.claude/CLAUDE.md"));
        insta::assert_snapshot!("gemini_command_review_toml", env.read("~/.gemini/commands/review.toml"));
        insta::assert_snapshot!("codex_skill_review", env.read("~/.codex/skills/review/SKILL.md"));
        insta::assert_snapshot!("copilot_skill_review", env.read("~/.copilot/skills/review/SKILL.md"));
        insta::assert_snapshot!("gemini_settings_json", env.read("~/.gemini/settings.json"));
    });
    // The instructions every client reads: AGENTS.md followed by each rule, with markers.
    let composed = env.read("state/generated/instructions/AGENTS.md");
    let head: String = composed.lines().take(12).map(|l| format!("{l}\n")).collect();
    let markers: String =
        composed.lines().filter(|l| l.starts_with("<!-- aiorch: ")).map(|l| format!("{l}\n")).collect();
    s.bind(|| {
        insta::assert_snapshot!("instructions_head", head);
        insta::assert_snapshot!("instructions_rule_markers", markers);
    });
    assert!(
        composed.starts_with(&env.read("state/generated/agentsmd/AGENTS.md")),
        "the composed instructions start with AGENTS.md"
    );
    // Every instructions link resolves to the same composed file.
    for link in [
        "~/.claude/AGENTS.md",
        "~/.gemini/AGENTS.md",
        "~/.codex/AGENTS.md",
        "~/.copilot/copilot-instructions.md",
        "~/AGENTS.md",
    ] {
        assert_eq!(env.read(link), composed, "{link}");
    }
    // Gemini's TOML command parses and uses {{args}}, never $ARGUMENTS.
    let toml: toml::Table = env.read("~/.gemini/commands/review.toml").parse().expect("gemini command is TOML");
    let prompt = toml["prompt"].as_str().unwrap();
    assert!(!prompt.contains("$ARGUMENTS"), "{prompt}");
    // The ledger records every artifact.
    let ledger = env.ledger();
    let entries = ledger["entries"].as_array().unwrap();
    let paths: std::collections::BTreeSet<&str> = entries.iter().map(|e| e["path"].as_str().unwrap()).collect();
    assert_eq!(paths.len(), created + _updated, "every changed path is in the ledger{run}");
}

#[test]
fn second_apply_changes_nothing_not_even_mtimes() {
    let env = TestEnv::new();
    env.ok(["apply"]);
    let before = env.fingerprint();
    let run = env.ok(["apply"]);
    let (c, u, r, unchanged) = run.summary();
    assert_eq!((c, u, r), (0, 0, 0), "{run}");
    assert!(unchanged > 0);
    // Same inode, same mtime, same bytes for every path, the ledger included.
    assert_same(&before, &env.fingerprint(), "second apply");
    // And --check agrees.
    env.ok(["apply", "--check"]).assert_stdout_contains("check: 0 created, 0 updated, 0 removed");
}

#[test]
fn check_exits_1_on_drift_and_names_it() {
    let env = TestEnv::new();
    env.ok(["apply"]);
    env.ok(["apply", "--check"]);

    std::fs::remove_file(env.path("~/.codex/AGENTS.md")).unwrap();
    let before = env.fingerprint();
    let run = env.expect(["apply", "--check"], 1);
    run.assert_stdout_contains(
        "+ ~/.codex/AGENTS.md -> [TEMP]/state/generated/instructions/AGENTS.md"
            .replace("[TEMP]", &env.root.display().to_string())
            .as_str(),
    );
    run.assert_stdout_contains("check: 1 created, 0 updated, 0 removed");
    assert_same(&before, &env.fingerprint(), "--check");
    env.ok(["apply"]);
    env.ok(["apply", "--check"]);

    env.write("~/.gemini/commands/review.toml", "description = \"mine now\"\nprompt = \"x\"\n");
    let run = env.expect(["apply", "--check"], 1);
    run.assert_stdout_contains("~ ~/.gemini/commands/review.toml  (backed up)");
    run.assert_stdout_contains("check: 0 created, 1 updated, 0 removed");
    run.assert_stderr_contains("review.toml is a file (an edited copy of aiorch's)");
    assert_eq!(
        env.read("~/.gemini/commands/review.toml"),
        "description = \"mine now\"\nprompt = \"x\"\n",
        "--check wrote"
    );
}

#[test]
fn never_retracts_exactly_that_clients_artifacts() {
    let env = TestEnv::new();
    env.ok(["apply"]);
    let before = env.fingerprint();
    env.write("config/aiorch.toml", crate::common::ALL_CLIENTS.replace("codex = \"always\"", "codex = \"never\""));
    let run = env.ok(["apply"]);
    let after = env.fingerprint();

    let gone: Vec<&String> = before.keys().filter(|k| !after.contains_key(*k)).collect();
    assert!(!gone.is_empty());
    assert!(gone.iter().all(|k| k.starts_with("home/.codex")), "only Codex's paths go: {gone:?}");
    assert!(!env.exists("~/.codex"), "the .codex dir aiorch created is removed too{run}");
    let codex_before = before.keys().filter(|k| k.starts_with("home/.codex")).count();
    assert_eq!(gone.len(), codex_before);
    // Everything else is untouched (same inode and mtime), apart from aiorch's config and ledger.
    for (k, v) in &after {
        if k == "state/ledger.json" || k == "config/aiorch.toml" {
            continue;
        }
        assert_eq!(before.get(k), Some(v), "{k} changed{run}");
    }
    let (c, u, r, _) = run.summary();
    assert_eq!((c, u), (0, 0), "{run}");
    assert_eq!(
        r,
        before.iter().filter(|(k, v)| k.starts_with("home/.codex") && !v.starts_with("dir")).count(),
        "{run}"
    );
    let ledger = env.ledger();
    assert!(
        ledger["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["owner"] != "codex" && !e["path"].as_str().unwrap().contains("/.codex/"))
    );
    env.ok(["apply", "--check"]);
}

#[test]
fn auto_manages_only_clients_found_on_path() {
    crate::common::assert_no_system_clients();
    let env =
        TestEnv::with_config("[clients]\nclaude = \"auto\"\ngemini = \"auto\"\ncodex = \"auto\"\ncopilot = \"auto\"\n");
    env.install_fake_client("claude", "2.1.329 (Claude Code)");
    env.install_fake_client("codex", "codex-cli 0.169.0");
    env.ok(["apply"]);
    assert!(env.exists("~/.claude/CLAUDE.md"));
    assert!(env.exists("~/.codex/AGENTS.md"));
    assert!(!env.exists("~/.gemini"), "{}", env.tree());
    assert!(!env.exists("~/.copilot"), "{}", env.tree());
    assert!(env.exists("~/AGENTS.md"));

    // Gemini appears on PATH: the next apply picks it up.
    env.install_fake_client("gemini", "0.61.0");
    let run = env.ok(["apply"]);
    run.assert_stdout_contains("+ ~/.gemini/AGENTS.md");
    assert!(env.exists("~/.gemini/settings.json"));
    assert!(!env.exists("~/.copilot"));
}

#[test]
fn no_config_file_means_defaults_auto() {
    crate::common::assert_no_system_clients();
    let env = TestEnv::empty();
    env.install_fake_client("copilot", "1.0.2");
    // No --config: the default path under the (fake) home, which does not exist.
    let home = env.home.display().to_string();
    let state = env.state.display().to_string();
    let run = crate::common::run_cmd(&mut env.bare_cmd(["--home", &home, "--state-dir", &state, "apply"]));
    run.assert_code(0);
    assert!(env.exists("~/.copilot/copilot-instructions.md"));
    for d in ["~/.claude", "~/.gemini", "~/.codex"] {
        assert!(!env.exists(d), "{d}");
    }
}

#[test]
fn enable_false_changes_nothing() {
    let env = TestEnv::with_config(&format!("enable = false\n{}", crate::common::ALL_CLIENTS));
    let before = env.fingerprint();
    let run = env.ok(["apply"]);
    run.assert_stdout_contains("enable = false");
    assert_same(&before, &env.fingerprint(), "apply with enable = false");
    assert!(!env.exists("state"), "no state dir is created");

    // After a real apply, switching it off leaves everything as it is too.
    env.write("config/aiorch.toml", crate::common::ALL_CLIENTS);
    env.ok(["apply"]);
    env.write("config/aiorch.toml", format!("enable = false\n{}", crate::common::ALL_CLIENTS));
    let before = env.fingerprint();
    env.ok(["apply"]);
    env.ok(["apply", "--check"]);
    assert_same(&before, &env.fingerprint(), "apply with enable = false after an apply");
}

#[test]
fn json_output_has_the_summary() {
    let env = TestEnv::new();
    let plan = env.ok(["apply", "--dry-run", "--json"]).json();
    let run = env.ok(["apply", "--json"]);
    let applied = run.json();
    for v in [&plan, &applied] {
        let s = &v["summary"];
        for k in ["created", "updated", "removed", "unchanged", "backups"] {
            assert!(s[k].is_u64(), "summary.{k} in {v}");
        }
        assert!(s["created"].as_u64().unwrap() > 0);
        assert!(v["changes"].as_array().unwrap().iter().all(|c| c["path"].is_string() && c["action"].is_string()));
    }
    assert_eq!(plan["summary"], applied["summary"], "the dry run announced what apply did");
    assert_eq!(plan["changes"], applied["changes"]);
    let claude = applied["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["path"] == "~/.claude/CLAUDE.md")
        .expect("CLAUDE.md change");
    assert_eq!(claude["action"], "create");
    let settings = applied["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["path"] == "~/.gemini/settings.json")
        .expect("settings change");
    assert_eq!(settings["action"], "merge");
    assert_eq!(settings["keys"], serde_json::json!(["context.fileName[+2]"]));

    let again = env.ok(["apply", "--json"]).json();
    assert_eq!(again["summary"]["created"], 0);
    assert_eq!(again["summary"]["updated"], 0);
    assert_eq!(again["summary"]["removed"], 0);
    assert_eq!(again["changes"], serde_json::json!([]));
}

/// By default every managed client gets aiorch's own MCP server, started by the absolute path
/// of this binary.
#[test]
fn aiorch_registers_its_own_mcp_server_by_default() {
    let env = TestEnv::with_config("[clients]\nclaude = \"always\"\ncodex = \"always\"\n");
    env.ok(["apply"]);
    let claude: serde_json::Value = serde_json::from_str(&env.read("~/.claude.json")).unwrap();
    let me = std::fs::canonicalize(crate::common::AIORCH).unwrap();
    assert_eq!(claude["mcpServers"]["aiorch"]["command"], me.display().to_string());
    let args = claude["mcpServers"]["aiorch"]["args"].as_array().unwrap();
    assert_eq!(&args[args.len() - 2..], &[serde_json::json!("mcp"), serde_json::json!("serve")]);
    assert!(env.read("~/.codex/config.toml").contains("[mcp_servers.aiorch]"));
}

/// home-manager's programs.codex with `home.preferXdgDirectories` moves Codex's home to
/// ~/.config/codex and sets CODEX_HOME, and Codex then reads only that directory: import reads
/// it, apply writes there (instructions, skills, MCP servers, rules) and doctor checks it, with
/// nothing in ~/.codex.
#[test]
fn codex_files_go_to_codex_home_when_it_is_set() {
    // aiorch's own MCP server is registered (and probed by doctor: it needs no network)
    let env = TestEnv::with_config(&format!("{}[plugins]\ndefaults = false\n", crate::common::CLIENTS_ALWAYS));
    let codex_home = env.path("~/.config/codex").display().to_string();
    let env = env.var("CODEX_HOME", &codex_home);
    env.write("~/.config/codex/config.toml", "[mcp_servers.mine]\ncommand = \"mine-mcp\"\n");
    env.write("~/.config/codex/skills/own/SKILL.md", "---\nname: own\n---\nmine\n");

    let imported = env.ok(["import", "--dry-run", "--from", "codex"]);
    assert!(imported.stdout.contains("mine-mcp"), "import reads $CODEX_HOME/config.toml{imported}");
    assert!(imported.stderr.contains("~/.config/codex/skills: skills stay"), "{imported}");

    let run = env.ok(["apply"]);
    let toml = env.read("~/.config/codex/config.toml");
    assert!(toml.contains("[mcp_servers.aiorch]") && toml.contains("[mcp_servers.mine]"), "{toml}{run}");
    assert!(env.path("~/.config/codex/AGENTS.md").is_symlink(), "{run}");
    assert!(env.exists("~/.config/codex/skills/review/SKILL.md"), "{run}");
    assert!(env.exists("~/.config/codex/rules/aiorch.rules"), "{run}");
    assert!(!env.exists("~/.codex"), "nothing goes to ~/.codex while CODEX_HOME is set{run}");

    let doctor = env.ok(["doctor"]);
    assert!(doctor.stdout.contains("codex settings in place: ~/.config/codex/rules/aiorch.rules"), "{doctor}");
    assert!(!doctor.stdout.contains("~/.codex"), "{doctor}");
    std::fs::remove_file(env.path("~/.config/codex/AGENTS.md")).unwrap();
    let doctor = env.expect(["doctor"], 1);
    assert!(doctor.stdout.contains("~/.config/codex/AGENTS.md is missing"), "{doctor}");
}
