//! `aiorch import` on a messy home: servers in all four clients (one defined in three, one name
//! used for two different servers), tokens pasted into `env` and `headers`, a CLAUDE.md with
//! an `@import`, Codex TOML with comments. The config it writes (and its Nix form) are
//! snapshots; apply then takes the home over with every client listing the same servers,
//! commands and instructions, no token reaches the config, the tree or the output, and revert
//! gives the pre-import home back byte for byte.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;

use crate::common::{CLIENTS_ALWAYS, TestEnv, require_tool};

/// The tokens of the fixture: none may ever leave the user's own files (and the backups of
/// them that revert needs).
const CANARIES: [&str; 3] = ["ghp_CANARY0import0github0token0123", "CANARY-docs-bearer-7f3a", "CANARY-search-key-91c2"];
/// OpenCode's own: a key in an OpenCode-only server's environment, a bearer in a remote's headers.
const OC_CANARIES: [&str; 2] = ["CANARY-notes-key-5e1d", "CANARY-tracker-bearer-0b9c"];

fn base_config() -> String {
    let secrets = "[secrets]\nbackend = \"file\"\nfile = \"@ROOT@/secrets.env\"\n";
    format!("{CLIENTS_ALWAYS}opencode = \"always\"\naider = \"always\"\n\n{secrets}")
}

fn seed(sb: &TestEnv) {
    let [gh, docs, search] = CANARIES;
    sb.write(
        "home/.claude.json",
        format!(
            r#"{{
  "numStartups": 7,
  "userID": "u-1",
  "mcpServers": {{
    "github": {{ "type": "stdio", "command": "github-mcp-server", "args": ["stdio"],
                 "env": {{ "GITHUB_TOKEN": "{gh}", "GITHUB_TOOLSETS": "repos" }} }},
    "docs": {{ "type": "http", "url": "https://mcp.example.com/mcp",
               "headers": {{ "Authorization": "Bearer {docs}" }} }},
    "fs": {{ "type": "stdio", "command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"] }}
  }}
}}
"#
        ),
    );
    sb.write(
        "home/.gemini/settings.json",
        format!(
            r#"{{
  // the user's own comment
  "theme": "Dracula",
  "mcpServers": {{
    "github": {{ "command": "github-mcp-server", "args": ["stdio"],
                 "env": {{ "GITHUB_TOKEN": "{gh}", "GITHUB_TOOLSETS": "issues" }} }},
    "fs": {{ "command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/tmp", "/srv"] }}
  }}
}}
"#
        ),
    );
    sb.write(
        "home/.codex/config.toml",
        format!(
            r#"# my Codex setup
model = "gpt-5"  # the default model

# GitHub, as everywhere else
[mcp_servers.github]
command = "github-mcp-server"
args = ["stdio"]
env = {{ GITHUB_TOKEN = "{gh}", GITHUB_TOOLSETS = "repos" }}

[mcp_servers.search]
url = "https://search.example.com/mcp"
http_headers = {{ "X-Api-Key" = "{search}" }}
tool_timeout_sec = 30

[tui]
notifications = true
"#
        ),
    );
    sb.write(
        "home/.copilot/mcp-config.json",
        format!(
            r#"{{
  "mcpServers": {{
    "docs": {{ "type": "http", "url": "https://mcp.example.com/mcp",
               "headers": {{ "Authorization": "Bearer {docs}" }}, "tools": ["*"] }}
  }}
}}
"#
        ),
    );
    seed_opencode(sb);
    // Aider's conventions: the files `read:` adds to every chat (one per project, relative).
    sb.write(
        "home/.aider.conf.yml",
        "# my Aider settings\nmodel: gpt-4o\nread:\n  - ~/CONVENTIONS.md\n  - CONVENTIONS.local.md\n",
    );
    sb.write("home/CONVENTIONS.md", "Prefer pure functions.\n");
    // The clients keep these files to the user alone (Claude writes ~/.claude.json 0600).
    for f in [".claude.json", ".gemini/settings.json", ".codex/config.toml", ".copilot/mcp-config.json"] {
        std::fs::set_permissions(sb.path(&format!("home/{f}")), std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    sb.write("home/.claude/CLAUDE.md", "# How I work\n\nBe terse. Style: @style.md\n");
    sb.write("home/.claude/style.md", "Use British spelling.\n");
    sb.write("home/.codex/AGENTS.md", "# Codex\n\nRun the tests before saying done.\n");
    sb.write("home/.claude/commands/explain.md", "---\ndescription: Explain code\n---\nExplain $ARGUMENTS simply.\n");
    sb.write("home/.gemini/commands/summarise.toml", "description = \"Summarise\"\nprompt = \"Summarise {{args}}.\"\n");
    sb.write(
        "home/.claude/settings.json",
        r#"{
  "permissions": { "allow": ["Bash(git diff:*)", "WebSearch"], "deny": ["Read(./.env)"] },
  "enabledPlugins": { "hello@my-mkt": true },
  "extraKnownMarketplaces": { "my-mkt": { "source": { "source": "github", "repo": "me/my-mkt" } } }
}
"#,
    );
}

/// OpenCode: `github` as Claude runs it (merged), `notes` only here with a key in its
/// environment and `{env:…}` in its argv, `tracker` (remote) with a bearer token, a disabled
/// server, its AGENTS.md and an `instructions` file, two commands (one with an OpenCode-only
/// `agent` key), and a `permission` that says what Claude's lists say.
fn seed_opencode(sb: &TestEnv) {
    let [gh, _, _] = CANARIES;
    let [notes, tracker] = OC_CANARIES;
    sb.write(
        "home/.config/opencode/opencode.json",
        format!(
            r#"{{
  "$schema": "https://opencode.ai/config.json",
  "theme": "tokyonight",
  "instructions": ["~/notes/team.md", "docs/*.md"],
  "mcp": {{
    "github": {{ "type": "local", "command": ["github-mcp-server", "stdio"],
                "environment": {{ "GITHUB_TOKEN": "{gh}", "GITHUB_TOOLSETS": "repos" }} }},
    "notes": {{ "type": "local", "command": ["notes-mcp", "--db", "{{env:HOME}}/notes.db"],
               "environment": {{ "NOTES_API_KEY": "{notes}" }}, "timeout": 5000 }},
    "tracker": {{ "type": "remote", "url": "https://tracker.example.com/mcp",
                 "headers": {{ "Authorization": "Bearer {tracker}" }}, "enabled": true }},
    "old": {{ "type": "local", "command": ["old-mcp"], "enabled": false }}
  }},
  "permission": {{
    "bash": {{ "*": "ask", "git diff *": "allow" }},
    "edit": "ask",
    "read": {{ "*": "allow", "./.env": "deny" }},
    "webfetch": "ask"
  }}
}}
"#
        ),
    );
    std::fs::set_permissions(sb.path("home/.config/opencode/opencode.json"), std::fs::Permissions::from_mode(0o600))
        .unwrap();
    sb.write("home/.config/opencode/AGENTS.md", "# OpenCode\n\nPrefer small diffs.\n");
    sb.write("home/notes/team.md", "Team rule: no force pushes.\n");
    sb.write(
        "home/.config/opencode/commands/standup.md",
        "---\ndescription: Daily standup\n---\nSummarise yesterday's commits for $ARGUMENTS.\n",
    );
    sb.write(
        "home/.config/opencode/command/deploy.md",
        "---\ndescription: Deploy\nagent: build\n---\nDeploy $ARGUMENTS.\n",
    );
}

/// OpenCode's servers as it lists them: name and whether it is enabled.
fn opencode_servers(sb: &TestEnv) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(&sb.read("home/.config/opencode/opencode.json")).unwrap();
    v["mcp"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, s)| format!("{k} {}", if s["enabled"] == false { "disabled" } else { "enabled" }))
        .collect()
}

/// An OpenCode command as OpenCode reads it: the frontmatter's description, and the body (the
/// prompt template).
fn opencode_command(text: &str) -> (String, String) {
    let rest = text.strip_prefix("---\n").unwrap();
    let (front, body) = rest.split_once("\n---\n").unwrap();
    let desc = front.lines().find_map(|l| l.strip_prefix("description: ")).unwrap().trim_matches('"').to_string();
    (desc, body.to_string())
}

/// The MCP server names each client file lists.
fn listed(sb: &TestEnv) -> BTreeMap<&'static str, Vec<String>> {
    let json = |rel: &str| -> Vec<String> {
        let text = sb.read(rel);
        let plain: String = text.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n");
        let v: serde_json::Value = serde_json::from_str(&plain).unwrap();
        v["mcpServers"].as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default()
    };
    let codex: toml::Table = toml::from_str(&sb.read("home/.codex/config.toml")).unwrap();
    BTreeMap::from([
        ("claude", json("home/.claude.json")),
        ("gemini", json("home/.gemini/settings.json")),
        ("codex", codex["mcp_servers"].as_table().unwrap().keys().cloned().collect()),
        ("copilot", json("home/.copilot/mcp-config.json")),
        ("opencode", opencode_servers(sb)),
    ])
}

#[track_caller]
fn no_canary(what: &str, text: &str) {
    for c in CANARIES.iter().chain(&OC_CANARIES) {
        assert!(!text.contains(c), "a token reached {what}:\n{text}");
    }
}

#[test]
fn dry_run_prints_the_config_and_changes_nothing() {
    let sb = TestEnv::with_config(&base_config());
    seed(&sb);
    let before = sb.fingerprint();
    let r = sb.ok(["import", "--dry-run"]);
    assert_eq!(sb.fingerprint(), before, "a dry run wrote something{r}");
    no_canary("the dry run's output", &r.all());
    sb.insta().bind(|| insta::assert_snapshot!("imported_toml", sb.filter(&r.stdout)));
    // Every token is named, with where it was, and how to store it.
    for name in ["GITHUB_TOKEN", "DOCS_TOKEN", "SEARCH_X_API_KEY"] {
        assert!(r.stderr.contains(&format!("aiorch secrets set {name}")), "{r}");
    }
    assert!(r.stderr.contains("not imported: `fs` from gemini"), "the conflict is listed{r}");
}

#[test]
fn nix_output_is_a_programs_aiorch_attribute_set() {
    let sb = TestEnv::with_config(&base_config());
    seed(&sb);
    let r = sb.ok(["import", "--nix"]);
    no_canary("the Nix output", &r.all());
    // Printed, not written; the tree the attribute set names is written.
    assert_eq!(sb.read("config/aiorch.toml"), base_config().replace("@ROOT@", &sb.root.display().to_string()));
    assert!(sb.exists("config/agentsmd/commands/explain.md"));
    sb.insta().bind(|| insta::assert_snapshot!("imported_nix", sb.filter(&r.stdout)));
    if let Some(nix) = require_tool("nix-instantiate", "install Nix") {
        sb.write("out.nix", &r.stdout);
        let out = std::process::Command::new(nix).arg("--parse").arg(sb.path("out.nix")).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
}

#[test]
fn apply_takes_over_with_no_visible_change_and_revert_is_byte_exact() {
    let sb = TestEnv::with_config(&base_config());
    seed(&sb);
    let home_before = sb.fingerprint_of(&["home"], false);
    let lists_before = listed(&sb);
    let claude_md = sb.read("home/.claude/CLAUDE.md");
    let explain = sb.read("home/.claude/commands/explain.md");
    let oc_file = "home/.config/opencode/opencode.json";
    let oc_before: serde_json::Value = serde_json::from_str(&sb.read(oc_file)).unwrap();
    let standup = sb.read("home/.config/opencode/commands/standup.md");
    let deploy = sb.read("home/.config/opencode/command/deploy.md");

    let r = sb.ok(["import", "--force", "--store-secrets"]);
    no_canary("import's output", &r.all());
    assert_eq!(sb.fingerprint_of(&["home"], false), home_before, "import touches no client file{r}");
    let config = sb.read("config/aiorch.toml");
    no_canary("aiorch.toml", &config);
    for (rel, bytes) in sb.files_under("config") {
        no_canary(&rel, &String::from_utf8_lossy(&bytes));
    }
    // The user's text, unchanged, in the tree.
    assert_eq!(sb.read("config/agentsmd/AGENTS.md"), claude_md);
    assert_eq!(sb.read("config/agentsmd/style.md"), "Use British spelling.\n");
    assert_eq!(sb.read("config/agentsmd/rules/10-codex-AGENTS.md"), sb.read("home/.codex/AGENTS.md"));
    assert_eq!(sb.read("config/agentsmd/commands/explain.md"), explain);
    assert_eq!(sb.read("config/agentsmd/rules/20-opencode-AGENTS.md"), sb.read("home/.config/opencode/AGENTS.md"));
    assert_eq!(sb.read("config/agentsmd/rules/30-aider-CONVENTIONS.md"), "Prefer pure functions.\n");
    assert_eq!(sb.read("config/agentsmd/rules/40-opencode-team.md"), "Team rule: no force pushes.\n");
    assert!(r.stderr.contains("`CONVENTIONS.local.md`: a path relative to where Aider runs, not imported"), "{r}");
    assert_eq!(sb.read("config/agentsmd/commands/standup.md"), standup);
    assert!(!sb.exists("config/agentsmd/commands/deploy.md"), "OpenCode's `agent` key has no agentsmd key");
    assert!(r.stderr.contains("not imported: ~/.config/opencode/command/deploy.md: `agent`"), "{r}");
    assert!(r.stderr.contains("`docs/*.md`: a glob, not imported"), "{r}");
    // The tokens went to the secrets backend, by name.
    let names = sb.ok(["secrets", "list"]);
    assert_eq!(names.stdout, "DOCS_TOKEN\nGITHUB_TOKEN\nNOTES_API_KEY\nSEARCH_X_API_KEY\nTRACKER_TOKEN\n", "{names}");
    let got = sb.ok(["secrets", "exec", "--only", "GITHUB_TOKEN", "--", "sh", "-c", "printf %s \"$GITHUB_TOKEN\""]);
    assert_eq!(got.stdout, CANARIES[0]);

    let plan: serde_json::Value = sb.json(["import", "--dry-run"]);
    no_canary("import --json", &plan.to_string());
    let adopt: Vec<String> =
        plan["adopt"].as_array().unwrap().iter().map(|v| format!("--adopt={}", v.as_str().unwrap())).collect();
    assert_eq!(
        adopt,
        ["--adopt=docs", "--adopt=github", "--adopt=notes", "--adopt=permission", "--adopt=search", "--adopt=tracker"]
    );
    let mut args = vec!["apply".to_string()];
    args.extend(adopt);
    let r = sb.ok(&args);
    no_canary("apply's output", &r.all());
    sb.ok(["apply", "--check"]);
    // Every secret the config names resolves (doctor), and nothing aiorch manages drifted.
    let doctor = sb.json(["doctor", "--no-connect"]);
    let bad: Vec<&serde_json::Value> = doctor["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail" && c["group"] != "clients")
        .collect();
    assert!(bad.is_empty(), "{bad:#?}");
    assert!(doctor["checks"].as_array().unwrap().iter().any(|c| c.to_string().contains("GITHUB_TOKEN")), "{doctor:#}");
    no_canary("doctor", &doctor.to_string());

    assert_eq!(listed(&sb), lists_before, "every client lists the servers it listed before");
    // OpenCode: what it does not take from aiorch is the user's, unchanged; the servers it
    // shares are aiorch's now, the tokens out of them; the permission decides as before (its
    // `git diff *` already matched `git diff` alone: aiorch writes both spellings).
    let oc: serde_json::Value = serde_json::from_str(&sb.read(oc_file)).unwrap();
    for k in ["$schema", "theme", "instructions"] {
        assert_eq!(oc[k], oc_before[k], "{k}");
    }
    assert_eq!(oc["mcp"]["old"], oc_before["mcp"]["old"], "a disabled server stays as it was");
    let notes = &oc["mcp"]["notes"];
    let argv: Vec<&str> = notes["command"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert!(argv.ends_with(&["--", "notes-mcp", "--db", "{env:HOME}/notes.db"]), "{argv:?}");
    assert!(argv.contains(&"NOTES_API_KEY") && notes["environment"].get("NOTES_API_KEY").is_none(), "{notes}");
    assert_eq!(notes["timeout"], 5000);
    assert_eq!(oc["mcp"]["tracker"]["headers"]["Authorization"], "Bearer {env:TRACKER_TOKEN}");
    let mut perm = oc_before["permission"].clone();
    perm["bash"] = serde_json::json!({"*": "ask", "git diff": "allow", "git diff *": "allow"});
    perm["edit"] = serde_json::json!({"*": "ask"});
    assert_eq!(oc["permission"], perm);
    let agents = sb.read("home/.config/opencode/AGENTS.md");
    assert!(agents.contains("Prefer small diffs.") && agents.contains("Team rule: no force pushes."), "{agents}");
    let commands = |f: &str| opencode_command(&sb.read(&format!("home/.config/opencode/commands/{f}")));
    assert_eq!(commands("standup.md"), opencode_command(&standup), "the same description and prompt");
    assert_eq!(commands("explain.md"), opencode_command(&explain), "Claude's command reaches OpenCode too");
    assert_eq!(sb.read("home/.config/opencode/command/deploy.md"), deploy);
    // Aider: its settings and its own `read:` files kept, the shared instructions one more member.
    let aider = sb.read("home/.aider.conf.yml");
    for want in ["# my Aider settings", "model: gpt-4o", "  - ~/CONVENTIONS.md", "  - CONVENTIONS.local.md"] {
        assert!(aider.contains(want), "{want}:\n{aider}");
    }
    let shared = aider.lines().last().unwrap().trim_start_matches([' ', '-']).trim_matches('"').to_string();
    let text = std::fs::read_to_string(&shared).unwrap_or_else(|e| panic!("{shared}: {e}\n{aider}"));
    assert!(text.contains("Prefer pure functions."), "{aider}");
    // Claude reads CLAUDE.md → @AGENTS.md → the user's text (with the Codex file after it).
    assert!(sb.read("home/.claude/CLAUDE.md").contains("@AGENTS.md"));
    assert!(sb.read("home/.claude/AGENTS.md").starts_with(&claude_md));
    assert!(sb.read("home/.codex/AGENTS.md").contains("Run the tests before saying done."));
    assert_eq!(sb.read("home/.claude/commands/explain.md"), explain);
    assert!(sb.read("home/.gemini/commands/summarise.toml").contains("Summarise {{args}}."));
    // The user's comments and the Codex TUI table are kept.
    let codex = sb.read("home/.codex/config.toml");
    assert!(codex.contains("# my Codex setup") && codex.contains("[tui]"), "{codex}");
    // The lifted tokens are gone from everything aiorch wrote: the client files, the config, and
    // the whole state dir (backups and ledger hold placeholders that revert fills in again).
    // OpenCode's tokens too, now that it is a managed client.
    for c in CANARIES.iter().chain(&OC_CANARIES) {
        let left = sb.files_holding(&["home", "config", "state"], c.as_bytes(), &[]);
        assert!(left.is_empty(), "{c} is still in {left:?}");
    }

    // Importing again reads aiorch's entries back as the config entries they came from.
    let again = sb.json(["import", "--dry-run"]);
    no_canary("a second import", &again.to_string());
    let servers: Vec<(&str, &str)> = again["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap(), s["server"]["command"].as_str().unwrap_or("-")))
        .collect();
    assert_eq!(
        servers,
        [
            ("github", "github-mcp-server"),
            ("docs", "-"),
            ("fs", "npx"),
            ("search", "-"),
            ("notes", "notes-mcp"),
            ("tracker", "-")
        ]
    );
    assert_eq!(again["not_imported"].as_array().unwrap().len(), 1, "only deploy: the permission reads back{again}");
    assert_eq!(again["servers"][0]["server"]["secrets"], serde_json::json!(["GITHUB_TOKEN"]));
    // A remote server's secret is only `${NAME}` in the client: the current config still names it.
    assert_eq!(again["servers"][1]["server"]["secrets"], serde_json::json!(["DOCS_TOKEN"]));
    assert_eq!(again["conflicts"].as_array().unwrap().len(), 1, "{again}");

    sb.ok(["revert"]);
    assert_eq!(sb.fingerprint_of(&["home"], false), home_before, "revert gives back the pre-import home");
}

#[test]
fn an_existing_config_is_kept_and_a_broken_client_file_is_exit_2() {
    let sb = TestEnv::with_config(&base_config());
    seed(&sb);
    let before = sb.fingerprint();
    let r = sb.expect(["import"], 2);
    assert!(r.stderr.contains("already exists") && r.stderr.contains("--force"), "{r}");
    sb.write("home/.gemini/settings.json", "{\n  \"mcpServers\": {\n    \"x\": ,\n  }\n}\n");
    let before_broken = sb.fingerprint();
    let r = sb.expect(["import", "--force"], 2);
    assert!(r.stderr.contains("~/.gemini/settings.json:3:10"), "names the file, line and column{r}");
    assert_eq!(sb.fingerprint(), before_broken, "nothing was written{r}");
    // --from leaves the broken client out.
    sb.ok(["import", "--force", "--from", "claude,codex,copilot"]);
    assert_ne!(sb.fingerprint(), before);
    // Aider's YAML too.
    sb.write("home/.aider.conf.yml", "read: [unclosed\n");
    let r = sb.expect(["import", "--force", "--from", "aider"], 2);
    assert!(r.stderr.contains("~/.aider.conf.yml:1:7: unclosed bracket"), "{r}");
}

#[test]
fn an_empty_home_imports_to_a_config_that_adds_nothing() {
    let sb = TestEnv::with_config(&base_config());
    let r = sb.ok(["import", "--force"]);
    assert!(r.stdout.contains("imported 0 MCP server(s)"), "{r}");
    // An empty AGENTS.md, not aiorch's built-in instructions; no server, not even aiorch's own.
    assert_eq!(sb.read("config/agentsmd/AGENTS.md"), "");
    sb.ok(["apply"]);
    assert_eq!(std::fs::read_to_string(sb.path("home/.claude/AGENTS.md")).unwrap(), "");
    assert!(!sb.exists("home/.claude.json") || !sb.read("home/.claude.json").contains("mcpServers"));
}

/// OpenCode alone: its `permission` (unlisted actions refused, one MCP tool allowed) becomes the
/// policy, rendered into OpenCode only; apply writes the same rules back, a second import reads
/// them as the same policy, revert is byte-exact. A `permission` the policy cannot say stays
/// the user's: listed as not imported, and apply leaves it alone.
#[test]
fn opencode_permission_becomes_the_policy_or_stays_the_users() {
    let sb = TestEnv::with_config(&base_config());
    let oc = "home/.config/opencode/opencode.json";
    sb.write(
        oc,
        r#"{
  "mcp": { "github": { "type": "local", "command": ["github-mcp-server", "stdio"] } },
  "permission": {
    "bash": { "*": "deny", "git status *": "allow", "rm *": "deny" },
    "edit": { "*": "deny", "src/*": "allow" },
    "webfetch": "deny",
    "*_*": "deny",
    "github_get_me": "allow"
  }
}
"#,
    );
    let home_before = sb.fingerprint_of(&["home"], false);
    let r = sb.ok(["import", "--force", "--from", "opencode"]);
    assert!(!r.stderr.contains("not imported"), "{r}");
    let cfg = sb.read("config/aiorch.toml");
    for want in [
        "posture = \"deny\"",
        "allow = { commands = [\"git status\"], write = [\"src/*\"], mcp = [\"github/get_me\"] }",
        "deny = { commands = [\"rm\"] }",
        "claude = false",
        "opencode = true",
    ] {
        assert!(cfg.contains(want), "{want}:\n{cfg}");
    }
    let plan = sb.json(["import", "--dry-run", "--from", "opencode"]);
    assert_eq!(plan["adopt"], serde_json::json!(["github", "permission"]), "{plan}");
    sb.ok(["apply", "--adopt", "github", "--adopt", "permission"]);
    let after: serde_json::Value = serde_json::from_str(&sb.read(oc)).unwrap();
    let p = &after["permission"];
    assert_eq!(
        (&p["bash"]["*"], &p["bash"]["git status *"], &p["bash"]["rm *"]),
        (&"deny".into(), &"allow".into(), &"deny".into())
    );
    assert_eq!(
        (&p["edit"]["src/*"], &p["webfetch"], &p["*_*"], &p["github_get_me"]),
        (&"allow".into(), &"deny".into(), &"deny".into(), &"allow".into())
    );
    let again = sb.json(["import", "--dry-run", "--from", "opencode"]);
    assert_eq!(again["not_imported"], serde_json::json!([]), "what apply wrote reads back as the same policy{again}");
    sb.ok(["revert"]);
    assert_eq!(sb.fingerprint_of(&["home"], false), home_before, "revert gives back the pre-import home");

    // `task` (OpenCode's subagents) has no policy rule: the whole value stays OpenCode's.
    let own = r#"{ "permission": { "bash": { "*": "ask" }, "edit": "ask", "webfetch": "ask", "task": "deny" } }
"#;
    sb.write(oc, own);
    let r = sb.ok(["import", "--force", "--from", "opencode"]);
    assert!(r.stderr.contains("not imported: OpenCode's `permission`") && r.stderr.contains("`task`"), "{r}");
    assert!(sb.read("config/aiorch.toml").contains("enable = false"));
    sb.ok(["apply"]);
    assert_eq!(sb.read(oc), own, "apply leaves a permission it cannot say alone");
}

/// OpenCode merges `config.json` (what home-manager's `programs.opencode` writes), then
/// `opencode.json`: a server only the first defines is imported (and named as from there); a
/// `permission` set there is not aiorch's to replace in `opencode.json`, so it stays.
#[test]
fn opencode_config_json_is_read_as_opencode_merges_it() {
    let sb = TestEnv::with_config(&base_config());
    sb.write(
        "home/.config/opencode/config.json",
        r#"{ "mcp": { "hm": { "type": "local", "command": ["hm-mcp"] } },
  "instructions": ["~/hm.md"],
  "permission": { "bash": { "*": "ask" }, "edit": "ask", "webfetch": "ask" } }
"#,
    );
    sb.write(
        "home/.config/opencode/opencode.json",
        r#"{ "mcp": { "own": { "type": "local", "command": ["own-mcp"] } } }"#,
    );
    sb.write("home/hm.md", "From home-manager.\n");
    let home_before = sb.fingerprint_of(&["home"], false);
    let r = sb.ok(["import", "--force", "--from", "opencode"]);
    let cfg = sb.read("config/aiorch.toml");
    assert!(cfg.contains("[mcp.servers.hm]") && cfg.contains("[mcp.servers.own]"), "{cfg}");
    assert!(cfg.contains("# from opencode (~/.config/opencode/config.json)"), "{cfg}");
    assert!(r.stderr.contains("not imported: OpenCode's `permission` (~/.config/opencode/config.json)"), "{r}");
    assert!(cfg.contains("enable = false"), "{cfg}");
    assert_eq!(sb.read("config/agentsmd/AGENTS.md"), "From home-manager.\n");
    sb.ok(["apply", "--adopt", "own"]);
    let oc: serde_json::Value = serde_json::from_str(&sb.read("home/.config/opencode/opencode.json")).unwrap();
    assert_eq!(oc["mcp"]["hm"]["command"], serde_json::json!(["hm-mcp"]));
    assert!(oc.get("permission").is_none(), "the user's permission stays in config.json alone");
    sb.ok(["revert"]);
    assert_eq!(sb.fingerprint_of(&["home"], false), home_before);
}
