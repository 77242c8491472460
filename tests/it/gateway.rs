//! `[gateway] route_clients`: Claude Code and Codex pointed at the gateway through their own
//! settings (the key by reference, never its value), merged around the user's settings and
//! retracted byte for byte.

use crate::common::TestEnv;

const SELF: &str = "/opt/aiorch/bin/aiorch";

const CLIENTS: &str = "[clients]\nclaude = \"always\"\ngemini = \"never\"\ncodex = \"always\"\ncopilot = \"never\"\n\
                       [agentsmd]\nhome_agents_md = false\n[plugins]\ndefaults = false\n[mcp]\nserve_self = false\n\
                       [policy]\nenable = false\n";

const CLAUDE: &str = "{\n  \"env\": { \"MY_VAR\": \"1\" },\n  \"theme\": \"dark\"\n}\n";
const CODEX: &str = "# mine\nmodel = \"o3\" # favourite\n\n[tui]\nscreen_reader_detection_done = true\n";

#[test]
fn routed_clients_get_the_gateway_by_reference_and_lose_it_cleanly() {
    let env = TestEnv::empty().var("AIORCH_SELF", SELF).var("TEAM_GW_KEY", "sk-team-canary-123");
    env.write("~/.claude/settings.json", CLAUDE);
    env.write("~/.codex/config.toml", CODEX);
    let routed = format!(
        "{CLIENTS}[secrets]\nbackend = \"env\"\n[gateway]\nurl = \"https://gw.example.test\"\n\
         key_secret = \"TEAM_GW_KEY\"\nroute_clients = [\"claude\", \"codex\"]\n"
    );
    env.write_config(&routed);
    env.expect(["apply"], 0);
    let claude = env.read("~/.claude/settings.json");
    let codex = env.read("~/.codex/config.toml");
    env.insta().bind(|| {
        insta::assert_snapshot!("claude_settings_routed", env.filter(&claude));
        insta::assert_snapshot!("codex_config_routed", env.filter(&codex));
    });
    for text in [&claude, &codex] {
        assert!(!text.contains("canary"), "the key's value was written:\n{text}");
    }
    let v: serde_json::Value = serde_json::from_str(&claude).unwrap();
    assert_eq!(v["env"]["ANTHROPIC_BASE_URL"], "https://gw.example.test");
    assert_eq!(v["env"]["MY_VAR"], "1");
    // The helper really prints the key (what Claude runs with a shell).
    let helper = v["apiKeyHelper"].as_str().unwrap().replacen(SELF, crate::common::AIORCH, 1);
    let out = std::process::Command::new("/bin/sh")
        .env_clear()
        .envs(env.vars())
        .args(["-c", helper.as_str()])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "sk-team-canary-123", "{helper}");

    // Not routed any more: both files are the user's again, byte for byte.
    env.write_config(&format!("{CLIENTS}[secrets]\nbackend = \"env\"\n"));
    env.expect(["apply"], 0);
    assert_eq!(env.read("~/.claude/settings.json"), CLAUDE);
    assert_eq!(env.read("~/.codex/config.toml"), CODEX);
}

#[test]
fn a_client_without_a_setting_for_it_is_refused() {
    let env = TestEnv::empty().only_bin_on_path().var("AIORCH_SELF", SELF);
    env.write_config(&format!("{CLIENTS}[gateway]\nroute_clients = [\"copilot\"]\n"));
    let r = env.run(["apply"]);
    r.assert_code(2);
    assert!(r.stderr.contains("copilot cannot be routed"), "{}", r.stderr);
}

/// A shared gateway on "another machine": alive without a key, `/v1/models` only with
/// `Bearer sk-user-good`.
fn shared_gateway() -> u16 {
    crate::common::http_stub(|head, _| {
        let (status, body) = if head.starts_with("get /health/liveliness") {
            ("200 OK", "\"I'm alive!\"")
        } else if head.starts_with("get /v1/models") && head.contains("authorization: bearer sk-user-good") {
            ("200 OK", "{\"data\":[{\"id\":\"coding-model\"}]}")
        } else {
            ("401 Unauthorized", "{\"error\":\"bad key\"}")
        };
        (status, String::new(), body.to_string())
    })
}

#[test]
fn status_and_doctor_check_a_shared_gateway_with_this_users_key() {
    let port = shared_gateway();
    let cfg = format!(
        "[secrets]\nbackend = \"env\"\n[gateway]\nurl = \"http://127.0.0.1:{port}\"\nkey_secret = \"TEAM_GW_KEY\"\n"
    );
    let env = TestEnv::with_config(&cfg).var("TEAM_GW_KEY", "sk-user-good");
    let r = env.expect(["services", "status"], 0);
    assert!(r.stdout.contains("gateway") && r.stdout.contains("key accepted"), "{}", r.stdout);
    let d: serde_json::Value = serde_json::from_str(&env.run(["--json", "doctor"]).stdout).unwrap();
    let g = d["checks"].as_array().unwrap().iter().find(|c| c["name"] == "gateway").unwrap().clone();
    assert_eq!(g["status"], "ok", "{g}");
    assert!(g["detail"].as_str().unwrap().contains("shared gateway"), "{g}");

    let env = TestEnv::with_config(&cfg).var("TEAM_GW_KEY", "sk-user-bad");
    let r = env.expect(["services", "status"], 1);
    assert!(r.stdout.contains("key is refused: HTTP 401"), "{}", r.stdout);
    assert!(!r.all().contains("sk-user-bad"));

    let closed = crate::common::free_port();
    let env =
        TestEnv::with_config(&cfg.replace(&port.to_string(), &closed.to_string())).var("TEAM_GW_KEY", "sk-user-good");
    let r = env.expect(["--json", "services", "status"], 1);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v[0]["service"], "gateway");
    assert!(v[0]["detail"].as_str().unwrap().contains("does not answer"), "{v}");
}
