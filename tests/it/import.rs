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

fn base_config() -> String {
    format!("{CLIENTS_ALWAYS}\n[secrets]\nbackend = \"file\"\nfile = \"@ROOT@/secrets.env\"\n")
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
    ])
}

#[track_caller]
fn no_canary(what: &str, text: &str) {
    for c in CANARIES {
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
    // The tokens went to the secrets backend, by name.
    let names = sb.ok(["secrets", "list"]);
    assert_eq!(names.stdout, "DOCS_TOKEN\nGITHUB_TOKEN\nSEARCH_X_API_KEY\n", "{names}");
    let got = sb.ok(["secrets", "exec", "--only", "GITHUB_TOKEN", "--", "sh", "-c", "printf %s \"$GITHUB_TOKEN\""]);
    assert_eq!(got.stdout, CANARIES[0]);

    let plan: serde_json::Value = sb.json(["import", "--dry-run"]);
    no_canary("import --json", &plan.to_string());
    let adopt: Vec<String> =
        plan["adopt"].as_array().unwrap().iter().map(|v| format!("--adopt={}", v.as_str().unwrap())).collect();
    assert_eq!(adopt, ["--adopt=docs", "--adopt=github", "--adopt=search"]);
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
    for c in CANARIES {
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
    assert_eq!(servers, [("github", "github-mcp-server"), ("docs", "-"), ("fs", "npx"), ("search", "-")]);
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
