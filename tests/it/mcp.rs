//! MCP registry → the four clients' files: snapshots, merges over files full of user content,
//! retraction, plugins, and the secret canary. Hermetic: a scratch HOME and state dir, an empty
//! PATH (clients are managed by `clients.* = "always"`), a fixed clock and a fixed aiorch path.

use std::path::{Path, PathBuf};

use crate::common::{TestEnv, clients_always};

const SELF: &str = "/opt/aiorch/bin/aiorch";

/// Nothing on PATH (the clients are managed by `always`), aiorch registered as `SELF`.
fn env() -> TestEnv {
    TestEnv::empty().only_bin_on_path().var("AIORCH_SELF", SELF)
}

/// aiorch's own server (on by default) is left out unless a test names `serve_self`, so the
/// files show exactly the servers under test.
fn config(env: &TestEnv, toml: &str) {
    let toml =
        if toml.contains("serve_self") { toml.to_string() } else { format!("{toml}\n[mcp]\nserve_self = false\n") };
    env.write_config(&toml);
}

const CLIENTS: &str = concat!(clients_always!(), "[agentsmd]\nhome_agents_md = false\n[plugins]\ndefaults = false\n");

/// A registry with one of each: stdio with env, http with headers, secret-wrapped, cwd, sse.
const REGISTRY: &str = r#"
[mcp.servers.echo]
command = "/venv/bin/python"
args = ["/srv/echo_server.py"]
env = { ECHO_PREFIX = "echo: ", LANG = "${LANG}" }
timeout = 30
tools = ["echo"]

[mcp.servers.web]
url = "http://127.0.0.1:18765/mcp"
headers = { Authorization = "Bearer ${WEB_TOKEN}", X-Static = "v", X-Team = "${TEAM}", X-Mixed = "id-${TEAM}" }
secrets = ["WEB_TOKEN"]
startup_timeout = 20

[mcp.servers.github]
command = "~/bin/github-mcp-server"
args = ["stdio"]
secrets = ["GITHUB_TOKEN", "GITHUB_HOST"]

[mcp.servers.files]
command = "npx"
args = ["-y", "@modelcontextprotocol/server-filesystem", "."]
cwd = "~/projects"
clients = ["claude", "codex"]

[mcp.servers.legacy]
url = "http://127.0.0.1:9/sse"
transport = "sse"
"#;

const FILES: [&str; 4] =
    ["~/.claude.json", "~/.gemini/settings.json", "~/.codex/config.toml", "~/.copilot/mcp-config.json"];

#[test]
fn each_client_gets_its_own_format() {
    let env = env();
    config(&env, &format!("{CLIENTS}{REGISTRY}"));
    let notes = env.expect(["apply"], 0).stderr;
    for f in FILES {
        insta::assert_snapshot!(f.trim_start_matches("~/.").replace('/', "_"), env.filter(&env.read(f)));
    }
    insta::assert_snapshot!("apply_notes", env.filter(&notes));
    // A second run changes nothing.
    env.expect(["apply", "--check"], 0);
}

#[test]
fn merges_keep_every_user_byte_and_retraction_removes_only_ours() {
    let env = env();
    let claude = r#"{
  "numStartups": 12,
  "userID": "abc123",
  "mcpServers": {
    "mine": { "type": "stdio", "command": "/usr/bin/mine", "args": [] }
  },
  "projects": { "/work/x": { "mcpServers": { "proj": { "command": "p" } }, "allowedTools": [] } },
  "tipsHistory": { "a": 1 }
}
"#;
    let gemini = r#"{
  // my settings
  "theme": "GitHub",
  "mcpServers": {
    /* hand-added */
    "mine": { "command": "mine", "trust": true }
  },
  "security": { "auth": { "selectedType": "oauth-personal" } }
}
"#;
    let codex = r#"# my codex config
model = "o3" # favourite

[projects."/work/x"]
trust_level = "trusted"

# a server I added by hand
[mcp_servers.mine]
command = "mine" # keep me
args = ["--flag"]

[tui]
screen_reader_detection_done = true
"#;
    let copilot = "{\n  \"mcpServers\": {\
                   \n    \"mine\": { \"tools\": [\"*\"], \"type\": \"local\", \"command\": \"mine\", \"args\": [] }\
                   \n  },\n  \"extra\": true\n}\n";
    for (f, t) in FILES.iter().zip([claude, gemini, codex, copilot]) {
        env.write(f, t);
    }
    config(&env, &format!("{CLIENTS}{REGISTRY}"));
    env.expect(["apply"], 0);
    for (f, original) in FILES.iter().zip([claude, gemini, codex, copilot]) {
        let now = env.read(f);
        insta::assert_snapshot!(format!("merged_{}", f.trim_start_matches("~/.").replace('/', "_")), env.filter(&now));
        // Every user line is still there, in order (ours are added around them).
        let mut rest = now.as_str();
        for line in original.lines().filter(|l| !l.trim().is_empty() && !matches!(l.trim(), "}" | "}," | "{")) {
            match rest.find(line.trim()) {
                Some(i) => rest = &rest[i..],
                None => panic!("{f}: lost or reordered user line {line:?}\n{now}"),
            }
        }
    }

    // Drop two servers: exactly their keys go, the user's and the other ours stay.
    let fewer = REGISTRY.split("[mcp.servers.github]").next().unwrap();
    config(&env, &format!("{CLIENTS}{fewer}"));
    let out = env.expect(["apply"], 0).stdout;
    assert!(out.contains("-mcpServers.github") && out.contains("-mcp_servers.files"), "{out}");
    let claude_now: serde_json::Value = serde_json::from_str(&env.read("~/.claude.json")).unwrap();
    let names: Vec<&String> = claude_now["mcpServers"].as_object().unwrap().keys().collect();
    assert_eq!(names, ["mine", "echo", "web"]);
    assert_eq!(claude_now["projects"]["/work/x"]["mcpServers"]["proj"]["command"], "p");

    // No servers at all: every MCP file is byte-for-byte what the user had (Gemini's keeps
    // aiorch's `context.fileName`, which is not MCP's) ...
    config(&env, CLIENTS);
    env.expect(["apply"], 0);
    for (f, original) in FILES.iter().zip([claude, gemini, codex, copilot]) {
        if *f != "~/.gemini/settings.json" {
            assert_eq!(env.read(f), original, "{f}");
        }
    }
    // ... and after revert, all of them.
    env.expect(["revert"], 0);
    for (f, original) in FILES.iter().zip([claude, gemini, codex, copilot]) {
        assert_eq!(env.read(f), original, "{f}");
    }
}

#[test]
fn a_user_edit_to_our_server_is_kept_and_reported() {
    let env = env();
    config(&env, &format!("{CLIENTS}[mcp.servers.echo]\ncommand = \"echo-server\"\n"));
    env.expect(["apply"], 0);
    let edited = env.read("~/.copilot/mcp-config.json").replace("echo-server", "my-echo");
    env.write("~/.copilot/mcp-config.json", &edited);
    // doctor sees the drift; apply sets aiorch's value again and says so.
    let out = env.expect(["doctor"], 1).stdout;
    assert!(out.contains("`mcpServers.echo` was changed by hand"), "{out}");
    let err = env.expect(["apply"], 0).stderr;
    assert!(err.contains("had been changed by hand"), "{err}");
    // Removed from config while the user's edit stands: left alone, no longer managed.
    env.write("~/.copilot/mcp-config.json", &edited);
    config(&env, CLIENTS);
    let err = env.expect(["apply"], 0).stderr;
    assert!(err.contains("`mcpServers.echo` was changed by hand; left as it is"), "{err}");
    assert!(env.read("~/.copilot/mcp-config.json").contains("my-echo"));
}

#[test]
fn servers_go_only_to_the_clients_named() {
    let env = env();
    config(&env, &format!("{CLIENTS}[mcp.servers.only-codex]\ncommand = \"x\"\nclients = [\"codex\"]\n"));
    env.expect(["apply"], 0);
    assert!(env.read("~/.codex/config.toml").contains("[mcp_servers.only-codex]"));
    assert!(!env.exists("~/.claude.json"));
    assert!(!env.exists("~/.copilot/mcp-config.json"));
}

#[test]
fn unmanaged_clients_get_nothing_but_the_registry_is_still_checked() {
    let env = env();
    config(
        &env,
        "[clients]\nclaude = \"never\"\ngemini = \"never\"\ncodex = \"never\"\ncopilot = \"never\"\n[mcp.servers.x]\n\
         command = \"a\"\n",
    );
    env.expect(["apply"], 0);
    assert!(!env.exists("~/.claude.json") && !env.exists("~/.codex"));
    config(&env, "[clients]\nclaude = \"never\"\n[mcp.servers.x]\nurl = \"http://h\"\ncwd = \"/\"\n");
    let err = env.expect(["apply"], 2).stderr;
    assert!(err.contains("mcp.servers.x.cwd: only applies to stdio servers"), "{err}");
}

#[test]
fn aiorch_itself_is_an_entry_like_any_other() {
    let env = env();
    config(&env, &format!("{CLIENTS}[mcp]\nserve_self = true\n"));
    env.expect(["apply"], 0);
    let claude: serde_json::Value = serde_json::from_str(&env.read("~/.claude.json")).unwrap();
    let cfg = env.config.display().to_string();
    assert_eq!(
        claude["mcpServers"]["aiorch"],
        serde_json::json!({"type": "stdio", "command": SELF, "args": ["--config", cfg, "mcp", "serve"]})
    );
    assert!(env.read("~/.codex/config.toml").contains("[mcp_servers.aiorch]\ncommand = \"/opt/aiorch/bin/aiorch\""));
}

#[test]
fn plugins_merge_into_claude_settings() {
    let env = env();
    env.write(
        "~/.claude/settings.json",
        "{\n  \"model\": \"opus\",\n  \"enabledPlugins\": { \"mine@elsewhere\": true }\n}\n",
    );
    config(
        &env,
        "[clients]\nclaude = \"always\"\ngemini = \"never\"\ncodex = \"never\"\ncopilot = \"never\"\n[policy]\n\
         enable = false\n[plugins]\nenabled = [\"hello@demo-mkt\"]\n[plugins.marketplaces.demo-mkt]\n\
         source = { source = \"directory\", path = \"~/mkt\" }\n[plugins.marketplaces.gitmkt.source]\n\
         source = \"git\"\nurl = \"https://example.invalid/m.git\"\nref = \"v1\"\n",
    );
    env.expect(["apply"], 0);
    insta::assert_snapshot!("claude_settings_plugins", env.filter(&env.read("~/.claude/settings.json")));
    // Plugins off: the user's settings come back exactly.
    config(
        &env,
        "[clients]\nclaude = \"always\"\ngemini = \"never\"\ncodex = \"never\"\ncopilot = \"never\"\n[policy]\n\
         enable = false\n[plugins]\ndefaults = false\n",
    );
    env.expect(["apply"], 0);
    assert_eq!(
        env.read("~/.claude/settings.json"),
        "{\n  \"model\": \"opus\",\n  \"enabledPlugins\": { \"mine@elsewhere\": true }\n}\n"
    );
}

/// A secret's value, present in aiorch's environment with the env backend, is in no file under
/// HOME or the state dir after apply (and doctor does not print it).
#[test]
fn canary_secret_value_is_never_written() {
    let env = env();
    let canary = "CANARY-5f0c1e0b-d00d-4bad-a11c-0123456789ab";
    config(&env, &format!("{CLIENTS}[secrets]\nbackend = \"env\"\n{REGISTRY}\n[mcp]\nserve_self = true\n"));
    for args in [&["apply"][..], &["apply", "--dry-run"], &["doctor", "--json"]] {
        let out =
            env.cmd(args).env("GITHUB_TOKEN", canary).env("WEB_TOKEN", canary).env("TEAM", canary).output().unwrap();
        let all = [out.stdout, out.stderr].concat();
        assert!(!String::from_utf8_lossy(&all).contains(canary), "aiorch {args:?} printed the secret");
    }
    let written = env.files_under("home").len() + env.files_under("state").len();
    assert!(written > 5, "apply wrote only {written} files");
    let hits = env.files_holding(&["home", "state"], canary.as_bytes(), &[]);
    assert!(hits.is_empty(), "{hits:?} hold the secret");
    // The names are there, so the wrapper can fetch them at exec time.
    assert!(env.read("~/.claude.json").contains("\"--only\",\n        \"GITHUB_TOKEN,GITHUB_HOST\""));
}

/// The rmcp echo server built from examples/mcp-echo.rs (`cargo test` builds examples).
fn echo_server() -> PathBuf {
    let p = Path::new(env!("CARGO_BIN_EXE_aiorch")).parent().unwrap().join("examples/mcp-echo");
    assert!(
        p.exists(),
        "{} is missing: run `cargo test` (it builds the examples) or `cargo build --example mcp-echo`",
        p.display()
    );
    p
}

/// doctor starts every server like a client (env, cwd), in parallel, with a time limit, and
/// names the reason of each failure.
#[test]
fn doctor_handshakes_with_every_server() {
    let env = env();
    let echo = echo_server();
    let dir = env.path("work dir");
    std::fs::create_dir_all(&dir).unwrap();
    config(
        &env,
        &format!(
            "{CLIENTS}[mcp.servers.echo]\ncommand = \"{e}\"\nenv = {{ ECHO_PREFIX = \"x\" }}\n\
         [mcp.servers.in-dir]\ncommand = \"{e}\"\ncwd = \"{d}\"\nenv = {{ MCP_ECHO_REQUIRE_CWD = \"{d}\" }}\n\
         [mcp.servers.wrong-dir]\ncommand = \"{e}\"\nenv = {{ MCP_ECHO_REQUIRE_CWD = \"{d}\" }}\n\
         [mcp.servers.missing]\ncommand = \"/nonexistent/mcp-server\"\n\
         [mcp.servers.hangs]\ncommand = \"/bin/sleep\"\nargs = [\"60\"]\nstartup_timeout = 1\n",
            e = echo.display(),
            d = dir.display()
        ),
    );
    env.expect(["apply"], 0);
    let out = env.expect(["doctor", "--json"], 1).stdout;
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let check = |name: &str| -> (String, String) {
        let c = v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["group"] == "mcp servers" && c["name"].as_str().unwrap().starts_with(&format!("{name} (")))
            .unwrap_or_else(|| panic!("no check for {name}: {out}"));
        (c["status"].as_str().unwrap().to_string(), c["detail"].as_str().unwrap().to_string())
    };
    let (s, d) = check("echo");
    assert_eq!(s, "ok", "{d}");
    assert!(
        d.starts_with("connected to rmcp ") && d.contains(": 1 tool, ~") && d.ends_with(" tokens of tool schemas"),
        "{d}"
    );
    assert_eq!(check("in-dir").0, "ok", "{}", check("in-dir").1);
    let (s, d) = check("wrong-dir");
    assert_eq!(s, "fail");
    assert!(d.contains("initialize failed") && d.contains("instead of"), "{d}");
    let (s, d) = check("missing");
    assert_eq!(
        (s.as_str(), d.as_str()),
        ("fail", "cannot start /nonexistent/mcp-server: No such file or directory (os error 2)")
    );
    assert_eq!(check("hangs"), ("fail".to_string(), "no answer to initialize + tools/list within 1 s".to_string()));
    // Claude has no cwd: doctor says how it is emulated.
    assert!(out.contains("\"in-dir in claude: cwd\""), "{out}");
    // --no-connect starts nothing.
    let out = env.expect(["doctor", "--no-connect"], 0).stdout;
    assert!(out.contains("handshakes: skipped for 5 server(s) (--no-connect)"), "{out}");
}
