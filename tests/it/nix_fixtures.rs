//! The JSON the Nix modules render (fixtures kept equal to the modules' output by the flake's
//! `fixtures` check) must be a config `aiorch apply --config` accepts and converges on.

use crate::common::{run_cmd, Run, TestEnv};

fn run(env: &TestEnv, config: &str, cmd: &str) -> Run {
    let (home, state) = (env.home.to_str().unwrap(), env.state.to_str().unwrap());
    let r = run_cmd(&mut env.bare_cmd(["--home", home, "--state-dir", state, "--config", config, cmd]));
    r.assert_code(0);
    r
}

fn applies(fixture: &str) {
    let env = TestEnv::empty();
    let path = env.path(&format!("config/{fixture}"));
    std::fs::copy(format!("{}/nix/tests/fixtures/{fixture}", env!("CARGO_MANIFEST_DIR")), &path).unwrap();
    let config = path.to_str().unwrap();
    run(&env, config, "apply");
    let again = run(&env, config, "apply");
    let (created, updated, removed, _) = again.summary();
    assert_eq!((created, updated, removed), (0, 0, 0), "second apply changed something{again}");
    run(&env, config, "doctor");
}

#[test]
fn home_manager_module_config_applies() {
    applies("hm-config.json");
}

#[test]
fn darwin_module_config_applies() {
    applies("darwin-config.json");
}
