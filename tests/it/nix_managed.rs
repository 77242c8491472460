//! `[apply] nix_managed`: files home-manager writes as read-only links into the Nix store.
//! apply must leave them alone (never write through the link, never retract through it),
//! doctor must name their manager and check they carry aiorch's settings, and `aiorch render`
//! prints exactly what the Nix modules must hand to the client module.

use crate::common::TestEnv;

const CONFIG: &str = r#"
[clients]
claude = "always"
gemini = "never"
codex = "never"
copilot = "never"

[mcp]
serve_self = false

[plugins]
enabled = ["pdf@anthropic-agent-skills"]

[apply]
nix_managed = [{ path = "~/.claude/settings.json", by = "programs.claude-code" }]
"#;

/// A stand-in for the store file home-manager links: `store/settings.json` holding `text`,
/// read-only, linked from ~/.claude/settings.json.
fn nix_store_file(env: &TestEnv, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    let store = env.path("store/settings.json");
    if store.exists() {
        std::fs::set_permissions(&store, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    env.write("store/settings.json", text);
    std::fs::set_permissions(&store, std::fs::Permissions::from_mode(0o444)).unwrap();
    let link = env.path("~/.claude/settings.json");
    std::fs::create_dir_all(link.parent().unwrap()).unwrap();
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&store, &link).unwrap();
}

/// What aiorch would merge into ~/.claude/settings.json (without the nix_managed entry, the
/// same: render does not depend on it).
fn rendered(env: &TestEnv) -> String {
    env.ok(["render", "--client", "claude"]).stdout.clone()
}

/// The lines holding `needle`, each with the `fix:` line that follows it.
fn lines_with(text: &str, needle: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = vec![];
    for (i, l) in lines.iter().enumerate() {
        if l.contains(needle) {
            out.push(*l);
            out.extend(lines.get(i + 1).filter(|n| n.trim_start().starts_with("fix:")));
        }
    }
    out.join("\n")
}

#[test]
fn apply_leaves_a_nix_managed_file_alone_and_says_so() {
    let env = TestEnv::with_config(CONFIG);
    nix_store_file(&env, "{\"theme\": \"dark\"}\n");
    let run = env.ok(["apply"]);
    assert_eq!(env.read("store/settings.json"), "{\"theme\": \"dark\"}\n", "the store file was written{run}");
    assert_eq!(std::fs::read_link(env.path("~/.claude/settings.json")).unwrap(), env.path("store/settings.json"));
    env.insta().bind(|| insta::assert_snapshot!("apply_line", lines_with(&run.stdout, "managed by")));
    // The rest of Claude's files are still applied.
    assert!(env.exists("~/.claude/CLAUDE.md"));
    let json = env.json(["apply", "--dry-run"]);
    assert_eq!(json["nix_managed"][0]["managed_by"], "home-manager (programs.claude-code)", "{json:#}");
    assert_eq!(json["summary"]["created"], 0, "{json:#}");
}

#[test]
fn keys_merged_before_nix_took_the_file_are_forgotten_not_retracted() {
    let env = TestEnv::with_config(&CONFIG.replace("nix_managed", "nix_managed_later"));
    env.write_config(&CONFIG.replace("[apply]\nnix_managed = ", "# later: "));
    env.ok(["apply"]);
    assert!(env.read("~/.claude/settings.json").contains("pdf@anthropic-agent-skills"));
    // home-manager now writes the file (with what render says) and the config lists it.
    env.write_config(CONFIG);
    let fragment = rendered(&env);
    nix_store_file(&env, &fragment);
    let run = env.ok(["apply"]);
    assert!(run.stdout.contains("aiorch forgets the"), "{run}");
    assert_eq!(env.read("store/settings.json"), fragment);
    let ledger = env.ledger().to_string();
    assert!(!ledger.contains(".claude/settings.json"), "{ledger}");
    env.ok(["revert"]);
    assert_eq!(env.read("store/settings.json"), fragment, "revert wrote through the link");
}

#[test]
fn doctor_names_the_manager_and_checks_the_store_file_carries_aiorchs_settings() {
    let env = TestEnv::with_config(CONFIG);
    let fragment = rendered(&env);
    nix_store_file(&env, &fragment);
    env.ok(["apply"]);
    let checks = env.json(["doctor", "--no-connect"]);
    let ours: Vec<&serde_json::Value> = checks["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["name"].as_str().unwrap_or("").contains("managed by home-manager"))
        .collect();
    assert_eq!(ours.len(), 1, "{checks:#}");
    assert_eq!(ours[0]["status"], "ok", "{checks:#}");

    // The user's own value in programs.claude-code.settings won over aiorch's.
    let mut doc: serde_json::Value = serde_json::from_str(&fragment).unwrap();
    doc["enabledPlugins"]["pdf@anthropic-agent-skills"] = false.into();
    doc["permissions"]["deny"].as_array_mut().unwrap().remove(0);
    nix_store_file(&env, &doc.to_string());
    let run = env.run(["doctor", "--no-connect"]);
    env.insta().bind(|| insta::assert_snapshot!("doctor_drift", lines_with(&run.stdout, "settings")));
}

#[test]
fn render_prints_what_apply_would_merge() {
    let env = TestEnv::with_config(&CONFIG.replace("[apply]\nnix_managed = ", "# "));
    let fragment: serde_json::Value = serde_json::from_str(&rendered(&env)).unwrap();
    env.ok(["apply"]);
    let written: serde_json::Value = serde_json::from_str(&env.read("~/.claude/settings.json")).unwrap();
    assert_eq!(fragment, written, "render and apply disagree about a fresh settings.json");
    env.expect(["render", "--client", "copilot"], 2).assert_stderr_contains("no settings file");
}
