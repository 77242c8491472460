//! Aider as a managed client: the `read:` member and, with the gateway, `openai-api-base` and
//! `alias:` merged into the user's `~/.aider.conf.yml` line by line (comments kept), retraction,
//! a byte-exact revert, a file that does not parse (exit 2, nothing changed), and what Aider
//! cannot take (MCP, permissions) in `policy show` and `doctor`.

use crate::common::TestEnv;

const ONLY_AIDER: &str = "[clients]\nclaude = \"never\"\ngemini = \"never\"\ncodex = \"never\"\ncopilot = \"never\"\n\
                          aider = \"always\"\n[plugins]\ndefaults = false\n[agentsmd]\nhome_agents_md = false\n";

const GATEWAY: &str = "[runtime]\nbuiltin_models = false\n[runtime.gateway]\nenabled = true\n\
                       [runtime.models.gw-coder]\nprovider = \"openai\"\nendpoint = \"gateway\"\n\
                       model = \"qwen-coder\"\nroles = { coding = 0.8 }\n";

const CONF: &str = "~/.aider.conf.yml";

const USER: &str = "# my aider settings\nmodel: sonnet  # favourite\nread:\n  # conventions\n  - CONVENTIONS.md\n\n\
                    # colours\ndark-mode: true\n";

fn env(extra: &str) -> TestEnv {
    let e = TestEnv::empty().only_bin_on_path();
    e.write_config(&format!("{ONLY_AIDER}{extra}"));
    e
}

#[test]
fn aider_conf_gets_the_instructions_and_gateway_aliases_with_every_comment_kept() {
    let e = env(GATEWAY);
    e.write(CONF, USER);
    let notes = e.expect(["apply"], 0).stderr;
    let now = e.read(CONF);
    insta::assert_snapshot!("aider_merged_conf", e.filter(&now));
    assert!(now.starts_with("# my aider settings\nmodel: sonnet  # favourite\nread:\n  # conventions\n"), "{now}");
    assert!(notes.contains("Aider has no MCP client"), "{notes}");
    e.expect(["apply", "--check"], 0);
    // The gateway off: its two keys are retracted, the instructions stay.
    e.write_config(ONLY_AIDER);
    e.expect(["apply"], 0);
    let now = e.read(CONF);
    assert!(
        !now.contains("openai-api-base") && !now.contains("alias:") && now.contains("instructions/AGENTS.md"),
        "{now}"
    );
    e.expect(["revert"], 0);
    assert_eq!(e.read(CONF), USER);
}

#[test]
fn an_aider_conf_that_does_not_parse_is_named_and_left_alone() {
    let e = env("");
    let bad = "model: sonnet\nread: [unclosed\n";
    e.write(CONF, bad);
    let err = e.expect(["apply"], 2).stderr;
    assert!(err.contains(".aider.conf.yml:") && err.contains("nothing was changed"), "{err}");
    let at = err.split(".aider.conf.yml:").nth(1).unwrap();
    assert!(at.split(':').take(2).all(|n| n.parse::<usize>().is_ok()), "no line:col in {err}");
    assert_eq!(e.read(CONF), bad);
    assert!(!e.exists("~/.local/state/aiorch/generated"), "something was written");
}

#[test]
fn what_aider_cannot_take_is_shown() {
    let e = env("");
    e.ok(["apply"]);
    let show = e.expect(["policy", "show", "--client", "aider"], 0).stdout;
    assert!(show.contains("Aider has no path rules") && show.contains("not expressible"), "{show}");
    let doctor = e.run(["doctor"]).stdout;
    assert!(doctor.contains("aider cannot express") && doctor.contains("Aider has no MCP client"), "{doctor}");
}

#[test]
fn a_users_own_api_base_is_a_decision_not_a_replacement() {
    let e = env(GATEWAY);
    let mine = "openai-api-base: http://10.0.0.5:8000/v1  # my vLLM\n";
    e.write(CONF, mine);
    let err = e.expect(["apply"], 2).stderr;
    assert!(err.contains("`openai-api-base` is the user's own") && err.contains("--adopt openai-api-base"), "{err}");
    assert_eq!(e.read(CONF), mine);
    e.expect(["apply", "--adopt", "openai-api-base"], 0);
    assert!(e.read(CONF).contains("openai-api-base: \"http://127.0.0.1:4000/v1\""));
    e.expect(["revert"], 0);
    assert_eq!(e.read(CONF), mine);
}
