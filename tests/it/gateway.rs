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
