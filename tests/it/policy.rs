//! The permission policy end to end: `aiorch apply` renders it into each client's files
//! (snapshots), merges into permission arrays the user also edits (their entries kept,
//! retraction removes only ours), and `aiorch policy show|check` report it.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::{Value, json};

/// A scratch home, state dir and config; every client managed regardless of PATH.
struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new(config_extra: &str) -> Env {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        let e = Env { dir };
        e.config(config_extra);
        e
    }
    fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }
    fn config(&self, extra: &str) {
        // Anthropic's default plugins are another feature's keys in the same settings file.
        let base = "[clients]\nclaude = \"always\"\ngemini = \"always\"\ncodex = \"always\"\ncopilot = \"always\"\n[plugins]\ndefaults = false\n[mcp]\nserve_self = false\n";
        std::fs::write(self.dir.path().join("aiorch.toml"), format!("{base}{extra}")).unwrap();
    }
    fn cmd(&self, args: &[&str]) -> assert_cmd::assert::Assert {
        Command::cargo_bin("aiorch")
            .unwrap()
            .env_clear()
            .env("PATH", "/nonexistent")
            .env("AIORCH_NOW", "1795256700")
            .env("NO_COLOR", "1")
            .current_dir(self.home())
            .arg("--home")
            .arg(self.home())
            .arg("--state-dir")
            .arg(self.dir.path().join("state"))
            .arg("--config")
            .arg(self.dir.path().join("aiorch.toml"))
            .args(args)
            .assert()
    }
    fn ok(&self, args: &[&str]) -> String {
        String::from_utf8(self.cmd(args).success().get_output().stdout.clone()).unwrap()
    }
    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.home().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }
    /// The file as JSON (whole-line `//` comments dropped: the fixtures keep one).
    fn json(&self, rel: &str) -> Value {
        let text: String =
            self.read(rel).lines().filter(|l| !l.trim_start().starts_with("//")).map(|l| format!("{l}\n")).collect();
        serde_json::from_str(&text).unwrap()
    }
    fn write(&self, rel: &str, text: &str) {
        let p = self.home().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    /// Replace the scratch dir in output with a stable token.
    fn filtered(&self, s: &str) -> String {
        // The random directory name is unique, whatever escaping surrounds it (regexes in JSON).
        let root = self.dir.path().display().to_string();
        let name = self.dir.path().file_name().unwrap().to_string_lossy().trim_start_matches('.').to_string();
        let parent = self.dir.path().parent().unwrap().display().to_string();
        let s = s.replace(&root, "[TMP]");
        let s = s.replace(&name, "[TMPNAME]");
        s.replace(&parent, "[TMPPARENT]")
    }
}

/// Every file the policy renders, in one text for a snapshot.
fn rendered(e: &Env) -> String {
    let mut out = String::new();
    for rel in
        [".claude/settings.json", ".gemini/policies/aiorch.toml", ".codex/rules/aiorch.rules", ".copilot/settings.json"]
    {
        let p: &Path = &e.home().join(rel);
        let body = std::fs::read_to_string(p).unwrap_or_else(|_| "(absent)\n".into());
        out.push_str(&format!("===== ~/{rel}\n{body}"));
    }
    e.filtered(&out)
}

/// A live agentsmd checkout whose policy uses every rule kind and the deny posture.
const EVERY_KIND: &str = r#"posture = "deny"
[allow]
commands = ["git status", "cargo test"]
read = ["src/**"]
write = ["/srv/out/*.txt"]
hosts = ["docs.rs"]
mcp = ["echo"]
[ask]
commands = ["git push"]
read = ["~/notes/*.md"]
write = ["Cargo.toml"]
hosts = ["*.example.com"]
mcp = ["github/create_issue"]
[deny]
commands = ["rm -rf", "curl"]
read = ["**/.env", "~/.ssh/**"]
write = ["**/.git/**", "/etc/**"]
hosts = ["evil.test", "*.tracker.test"]
mcp = ["echo/rm", "shell"]
"#;

fn every_kind_env() -> Env {
    let e = Env::new("");
    let src = e.dir.path().join("agentsmd");
    std::fs::create_dir_all(src.join("permissions")).unwrap();
    std::fs::write(src.join("AGENTS.md"), "# rules\n").unwrap();
    std::fs::write(src.join("permissions/policy.toml"), EVERY_KIND).unwrap();
    e.config(&format!("[agentsmd]\nsource = {:?}\nhome_agents_md = false\n", src.display().to_string()));
    e
}

#[test]
fn default_policy_rendered_per_client() {
    let e = Env::new("");
    e.ok(&["apply"]);
    insta::assert_snapshot!("default_policy", rendered(&e));
    // A second run changes nothing, and doctor finds the policy in place.
    assert!(e.ok(&["apply"]).contains("0 created, 0 updated, 0 removed"));
    let doc: Value = serde_json::from_str(&e.ok(&["doctor", "--json"])).unwrap();
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
    let text = e.read(".claude/settings.json").replace("      \"Bash(rm -rf:*)\",\n", "");
    e.write(".claude/settings.json", &text);
    let out = String::from_utf8(e.cmd(&["doctor"]).code(1).get_output().stdout.clone()).unwrap();
    assert!(
        out.contains("claude settings in place: ~/.claude/settings.json: `permissions.deny` lacks 1 of aiorch's"),
        "{out}"
    );
    e.ok(&["apply"]);
    assert!(e.read(".claude/settings.json").contains("\"Bash(rm -rf:*)\""));
    e.cmd(&["doctor"]).success();
}

#[test]
fn every_rule_kind_rendered_per_client() {
    let e = every_kind_env();
    e.ok(&["apply"]);
    insta::assert_snapshot!("every_kind_policy", rendered(&e));
    let show: Value = serde_json::from_str(&e.ok(&["policy", "show", "--json"])).unwrap();
    insta::assert_json_snapshot!(
        "every_kind_show",
        serde_json::from_str::<Value>(&e.filtered(&show.to_string())).unwrap()
    );
}

#[test]
fn check_says_what_each_client_does() {
    let e = Env::new("");
    let out = e.ok(&["policy", "check", "rm -rf /"]);
    insta::assert_snapshot!("check_rm_rf", out);
    let v: Value =
        serde_json::from_str(&e.ok(&["policy", "check", "--json", "git status && git push --force"])).unwrap();
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
            ("copilot".into(), "ask".into())
        ]
    );
    let v: Value = serde_json::from_str(&e.ok(&[
        "policy",
        "check",
        "--json",
        "--kind",
        "read",
        "~/.ssh/id_ed25519",
        "--client",
        "codex",
    ]))
    .unwrap();
    assert_eq!(v["clients"][0]["decision"], "allow", "Codex cannot enforce read rules and check must say so");
    assert!(v["clients"][0]["reason"].as_str().unwrap().contains("NOT enforced"));
    // Bad input: exit 2.
    e.cmd(&["policy", "check", "--kind", "nope", "x"]).code(2);
}

#[test]
fn user_permission_entries_are_kept_and_only_ours_retracted() {
    let e = Env::new("[policy]\nallow = { commands = [\"make test\"] }\ndeny = { hosts = [\"evil.test\"] }\n");
    let user_claude = "{\n  // my settings\n  \"permissions\": {\n    \"allow\": [\"Bash(npm run lint:*)\", \"Bash(git status:*)\"],\n    \"deny\": [\"Read(./secrets/**)\"]\n  },\n  \"model\": \"opus\"\n}\n";
    e.write(".claude/settings.json", user_claude);
    e.write(".copilot/settings.json", "{\"deniedUrls\": [\"https://mine.test\"], \"theme\": \"dark\"}\n");
    e.write(".codex/config.toml", "# mine\nmodel = \"o3\"\napproval_policy = \"on-request\"\n");
    e.ok(&["apply"]);

    let c = e.json(".claude/settings.json");
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
    assert!(e.read(".claude/settings.json").contains("// my settings"));
    assert_eq!(
        e.json(".copilot/settings.json")["deniedUrls"],
        json!(["https://mine.test", "https://evil.test", "http://evil.test"])
    );
    assert_eq!(
        e.read(".codex/config.toml"),
        "# mine\nmodel = \"o3\"\napproval_policy = \"on-request\"\n",
        "Codex's approval policy is the user's"
    );

    // Drop our extra rules: only aiorch's entries go.
    e.config("");
    e.ok(&["apply"]);
    let allow = e.json(".claude/settings.json")["permissions"]["allow"].as_array().unwrap().clone();
    assert!(!allow.contains(&json!("Bash(make test:*)")));
    assert!(allow.contains(&json!("Bash(npm run lint:*)")) && allow.contains(&json!("Bash(git status:*)")));
    assert_eq!(e.json(".copilot/settings.json")["deniedUrls"], json!(["https://mine.test"]));

    // Revert: the user's files are as they wrote them (their git status entry included).
    e.ok(&["revert"]);
    let c = e.json(".claude/settings.json");
    assert_eq!(c["permissions"]["allow"], json!(["Bash(npm run lint:*)", "Bash(git status:*)"]));
    assert_eq!(c["permissions"]["deny"], json!(["Read(./secrets/**)"]));
    assert_eq!(c["model"], "opus");
    assert_eq!(e.json(".copilot/settings.json"), json!({"deniedUrls": ["https://mine.test"], "theme": "dark"}));
    assert_eq!(e.read(".codex/config.toml"), "# mine\nmodel = \"o3\"\napproval_policy = \"on-request\"\n");
    assert!(!e.home().join(".gemini/policies/aiorch.toml").exists());
}

#[test]
fn opt_outs_and_bad_policy() {
    let e = Env::new("[policy.clients]\ncodex = false\n");
    e.ok(&["apply"]);
    assert!(!e.home().join(".codex/rules/aiorch.rules").exists());
    assert!(e.home().join(".gemini/policies/aiorch.toml").exists());
    e.config("[policy]\nenable = false\n");
    e.ok(&["apply"]);
    assert!(!e.home().join(".gemini/policies/aiorch.toml").exists(), "disabling retracts");

    e.config("[policy]\ndeny = { commands = [\"rm -rf *\"] }\n");
    let err = String::from_utf8(e.cmd(&["apply"]).code(2).get_output().stderr.clone()).unwrap();
    assert!(err.contains("deny.commands \"rm -rf *\""), "{err}");
    e.config("[policy]\nposture = \"allow\"\n");
    e.cmd(&["policy", "show"]).code(2);
}
