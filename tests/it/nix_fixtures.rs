//! The JSON the Nix modules render (fixtures kept equal to the modules' output by the flake's
//! `fixtures` check) must be a config `aiorch apply --config` accepts and converges on.

use crate::common::{Run, TestEnv, run_cmd};

fn run(env: &TestEnv, config: &str, cmd: &str) -> Run {
    let (home, state) = (env.home.to_str().unwrap(), env.state.to_str().unwrap());
    run_cmd(&mut env.bare_cmd(["--home", home, "--state-dir", state, "--config", config, "--json", cmd]))
}

fn applies(fixture: &str) {
    applies_with(fixture, |_, _| {});
}

/// `prepare` sets the home up as home-manager would have before the activation runs apply.
fn applies_with(fixture: &str, prepare: impl Fn(&TestEnv, &str)) {
    let env = TestEnv::empty();
    let path = env.path(&format!("config/{fixture}"));
    std::fs::copy(format!("{}/nix/tests/fixtures/{fixture}", env!("CARGO_MANIFEST_DIR")), &path).unwrap();
    let config = path.to_str().unwrap();
    prepare(&env, config);
    run(&env, config, "apply").assert_code(0);
    let again = run(&env, config, "apply");
    again.assert_code(0);
    let summary = &again.json()["summary"];
    assert_eq!(
        (&summary["created"], &summary["updated"], &summary["removed"]),
        (&0.into(), &0.into(), &0.into()),
        "second apply changed something{again}"
    );
    // The fixtures enable services that are not running here, so doctor as a whole fails;
    // what must hold is everything apply manages.
    let doctor = run(&env, config, "doctor").json();
    let managed: Vec<_> =
        doctor["checks"].as_array().unwrap().iter().filter(|c| c["group"] == "managed files").collect();
    assert!(!managed.is_empty() && managed.iter().all(|c| c["status"] == "ok"), "{doctor:#}");
}

#[test]
fn home_manager_module_config_applies() {
    applies("hm-config.json");
}

#[test]
fn darwin_module_config_applies() {
    applies("darwin-config.json");
}

/// What the home-manager module hands to programs.claude-code (nix/compose.nix, computed in
/// Nix) is exactly what `aiorch render --client claude` prints for the config that module
/// renders: the flake's `fixtures` check holds the Nix side to these two files, this test the
/// binary's.
#[test]
fn compose_fixture_is_what_the_binary_renders_for_claude() {
    let env = TestEnv::empty();
    let fixtures = format!("{}/nix/tests/fixtures", env!("CARGO_MANIFEST_DIR"));
    let config = env.path("config/compose-config.json");
    std::fs::copy(format!("{fixtures}/compose-config.json"), &config).unwrap();
    // the home the Linux evaluation used (its directory marketplace is expanded against it)
    let run = run_cmd(&mut env.bare_cmd([
        "--home",
        "/home/alice",
        "--state-dir",
        env.state.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
        "render",
        "--client",
        "claude",
    ]));
    run.assert_code(0);
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{fixtures}/compose-claude.json")).unwrap()).unwrap();
    assert_eq!(run.json(), expected, "nix/compose.nix and the binary disagree about ~/.claude/settings.json");
}

/// With programs.claude-code, ~/.claude/settings.json is a read-only link into the store that
/// carries aiorch's settings: apply leaves it alone and doctor finds it intact.
#[test]
fn compose_module_config_applies_beside_programs_claude_code() {
    use std::os::unix::fs::PermissionsExt;
    applies_with("compose-config.json", |env, config| {
        let (home, state) = (env.home.to_str().unwrap(), env.state.to_str().unwrap());
        let fragment = run_cmd(&mut env.bare_cmd([
            "--home",
            home,
            "--state-dir",
            state,
            "--config",
            config,
            "render",
            "--client",
            "claude",
        ]))
        .assert_code(0)
        .stdout
        .clone();
        env.write("store/claude-code-settings.json", &fragment);
        let store = env.path("store/claude-code-settings.json");
        std::fs::set_permissions(&store, std::fs::Permissions::from_mode(0o444)).unwrap();
        std::fs::create_dir_all(env.path("~/.claude")).unwrap();
        std::os::unix::fs::symlink(&store, env.path("~/.claude/settings.json")).unwrap();
    });
}
