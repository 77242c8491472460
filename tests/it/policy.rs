//! The permission policy end to end: `aiorch apply` renders it into each client's files
//! (snapshots), merges into permission arrays the user also edits (their entries kept,
//! retraction removes only ours), and `aiorch policy show|check` report it.

use serde_json::{Value, json};

use crate::common::{CLIENTS_ALWAYS, POLICY_EVERY_KIND, TestEnv};

/// Every client managed regardless of PATH (and nothing on PATH), `extra` after that.
fn env(extra: &str) -> TestEnv {
    let e = TestEnv::empty().only_bin_on_path();
    config(&e, extra);
    e
}

fn config(e: &TestEnv, extra: &str) {
    // Anthropic's default plugins are another feature's keys in the same settings file.
    e.write_config(&format!("{CLIENTS_ALWAYS}[plugins]\ndefaults = false\n[mcp]\nserve_self = false\n{extra}"));
}

/// The file as JSON (whole-line `//` comments dropped: the fixtures keep one).
fn json_file(e: &TestEnv, rel: &str) -> Value {
    let text: String =
        e.read(rel).lines().filter(|l| !l.trim_start().starts_with("//")).map(|l| format!("{l}\n")).collect();
    serde_json::from_str(&text).unwrap()
}

/// Every file the policy renders, in one text for a snapshot.
fn rendered(e: &TestEnv) -> String {
    let mut out = String::new();
    for rel in [
        "~/.claude/settings.json",
        "~/.gemini/policies/aiorch.toml",
        "~/.codex/rules/aiorch.rules",
        "~/.copilot/settings.json",
    ] {
        let body = std::fs::read_to_string(e.path(rel)).unwrap_or_else(|_| "(absent)\n".into());
        out.push_str(&format!("===== {rel}\n{body}"));
    }
    e.filter(&out)
}

/// A live agentsmd checkout whose policy uses every rule kind and the deny posture.
fn every_kind_env() -> TestEnv {
    let e = env("");
    e.write("agentsmd/AGENTS.md", "# rules\n");
    e.write("agentsmd/permissions/policy.toml", POLICY_EVERY_KIND);
    let src = e.path("agentsmd");
    config(&e, &format!("[agentsmd]\nsource = {:?}\nhome_agents_md = false\n", src.display().to_string()));
    e
}

#[test]
fn default_policy_rendered_per_client() {
    let e = env("");
    e.ok(["apply"]);
    insta::assert_snapshot!("default_policy", rendered(&e));
    // A second run changes nothing, and doctor finds the policy in place.
    assert!(e.ok(["apply"]).stdout.contains("0 created, 0 updated, 0 removed"));
    let doc: Value = e.ok(["doctor", "--json"]).json();
    let policy: Vec<&Value> = doc["checks"].as_array().unwrap().iter().filter(|c| c["group"] == "policy").collect();
    assert!(
        policy
            .iter()
            .filter(|c| c["name"].as_str().unwrap().ends_with("settings in place"))
            .all(|c| c["status"] == "ok"),
        "{policy:#?}"
    );
    assert!(
        policy.iter().any(|c| c["status"] == "warn"
            && c["name"] == "codex cannot express 10 rule(s)"
            && c["detail"].as_str().unwrap().contains("NOT enforced")),
        "{policy:#?}"
    );

    // A user who deletes one of aiorch's deny entries gets a failing doctor, and apply puts it back.
    let text = e.read("~/.claude/settings.json").replace("      \"Bash(rm -rf:*)\",\n", "");
    e.write("~/.claude/settings.json", &text);
    let out = e.expect(["doctor"], 1).stdout;
    assert!(
        out.contains("claude settings in place: ~/.claude/settings.json: `permissions.deny` lacks 1 of aiorch's"),
        "{out}"
    );
    e.ok(["apply"]);
    assert!(e.read("~/.claude/settings.json").contains("\"Bash(rm -rf:*)\""));
    e.ok(["doctor"]);
}

#[test]
fn every_rule_kind_rendered_per_client() {
    let e = every_kind_env();
    e.ok(["apply"]);
    insta::assert_snapshot!("every_kind_policy", rendered(&e));
    let show: Value = e.ok(["policy", "show", "--json"]).json();
    insta::assert_json_snapshot!(
        "every_kind_show",
        serde_json::from_str::<Value>(&e.filter(&show.to_string())).unwrap()
    );
}

#[test]
fn check_says_what_each_client_does() {
    let e = env("");
    let out = e.ok(["policy", "check", "rm -rf /"]).stdout;
    insta::assert_snapshot!("check_rm_rf", out);
    let v = e.ok(["policy", "check", "--json", "git status && git push --force"]).json();
    assert_eq!(v["policy"]["decision"], "deny");
    assert_eq!(v["policy"]["part"], "git push --force");
    let by: Vec<(String, String)> = v["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["client"].as_str().unwrap().into(), c["decision"].as_str().unwrap().into()))
        .collect();
    assert_eq!(
        by,
        [
            ("claude".into(), "deny".into()),
            ("gemini".into(), "deny".into()),
            ("codex".into(), "deny".into()),
            ("copilot".into(), "ask".into()),
            ("opencode".into(), "deny".into()),
            ("aider".into(), "ask".into())
        ]
    );
    let v = e.ok(["policy", "check", "--json", "--kind", "read", "~/.ssh/id_ed25519", "--client", "codex"]).json();
    assert_eq!(v["clients"][0]["decision"], "allow", "Codex cannot enforce read rules and check must say so");
    assert!(v["clients"][0]["reason"].as_str().unwrap().contains("NOT enforced"));
    // Bad input: exit 2.
    e.expect(["policy", "check", "--kind", "nope", "x"], 2);
}

#[test]
fn user_permission_entries_are_kept_and_only_ours_retracted() {
    let e = env("[policy]\nallow = { commands = [\"make test\"] }\ndeny = { hosts = [\"evil.test\"] }\n");
    let user_claude = "{\n  // my settings\n  \"permissions\": {\
                       \n    \"allow\": [\"Bash(npm run lint:*)\", \"Bash(git status:*)\"],\
                       \n    \"deny\": [\"Read(./secrets/**)\"]\n  },\n  \"model\": \"opus\"\n}\n";
    e.write("~/.claude/settings.json", user_claude);
    e.write("~/.copilot/settings.json", "{\"deniedUrls\": [\"https://mine.test\"], \"theme\": \"dark\"}\n");
    e.write("~/.codex/config.toml", "# mine\nmodel = \"o3\"\napproval_policy = \"on-request\"\n");
    e.ok(["apply"]);

    let c = json_file(&e, "~/.claude/settings.json");
    let allow = c["permissions"]["allow"].as_array().unwrap();
    assert_eq!(
        &allow[..2],
        &[json!("Bash(npm run lint:*)"), json!("Bash(git status:*)")],
        "the user's entries stay first"
    );
    assert!(allow.contains(&json!("Bash(make test:*)")));
    assert_eq!(
        allow.iter().filter(|v| *v == "Bash(git status:*)").count(),
        1,
        "an entry the user already had is not duplicated"
    );
    assert!(c["permissions"]["deny"].as_array().unwrap().contains(&json!("Read(./secrets/**)")));
    assert!(e.read("~/.claude/settings.json").contains("// my settings"));
    assert_eq!(
        json_file(&e, "~/.copilot/settings.json")["deniedUrls"],
        json!(["https://mine.test", "https://evil.test", "http://evil.test"])
    );
    assert_eq!(
        e.read("~/.codex/config.toml"),
        "# mine\nmodel = \"o3\"\napproval_policy = \"on-request\"\n",
        "Codex's approval policy is the user's"
    );

    // Drop our extra rules: only aiorch's entries go.
    config(&e, "");
    e.ok(["apply"]);
    let allow = json_file(&e, "~/.claude/settings.json")["permissions"]["allow"].as_array().unwrap().clone();
    assert!(!allow.contains(&json!("Bash(make test:*)")));
    assert!(allow.contains(&json!("Bash(npm run lint:*)")) && allow.contains(&json!("Bash(git status:*)")));
    assert_eq!(json_file(&e, "~/.copilot/settings.json")["deniedUrls"], json!(["https://mine.test"]));

    // Revert: the user's files are as they wrote them (their git status entry included).
    e.ok(["revert"]);
    let c = json_file(&e, "~/.claude/settings.json");
    assert_eq!(c["permissions"]["allow"], json!(["Bash(npm run lint:*)", "Bash(git status:*)"]));
    assert_eq!(c["permissions"]["deny"], json!(["Read(./secrets/**)"]));
    assert_eq!(c["model"], "opus");
    assert_eq!(
        json_file(&e, "~/.copilot/settings.json"),
        json!({"deniedUrls": ["https://mine.test"], "theme": "dark"})
    );
    assert_eq!(e.read("~/.codex/config.toml"), "# mine\nmodel = \"o3\"\napproval_policy = \"on-request\"\n");
    assert!(!e.path("~/.gemini/policies/aiorch.toml").exists());
}

#[test]
fn opt_outs_and_bad_policy() {
    let e = env("[policy.clients]\ncodex = false\n");
    e.ok(["apply"]);
    assert!(!e.path("~/.codex/rules/aiorch.rules").exists());
    assert!(e.path("~/.gemini/policies/aiorch.toml").exists());
    config(&e, "[policy]\nenable = false\n");
    e.ok(["apply"]);
    assert!(!e.path("~/.gemini/policies/aiorch.toml").exists(), "disabling retracts");

    config(&e, "[policy]\ndeny = { commands = [\"rm -rf *\"] }\n");
    let err = e.expect(["apply"], 2).stderr;
    assert!(err.contains("deny.commands \"rm -rf *\""), "{err}");
    config(&e, "[policy]\nposture = \"allow\"\n");
    e.expect(["policy", "show"], 2);
}
