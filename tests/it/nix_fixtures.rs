//! The JSON the Nix modules render (fixtures kept equal to the modules' output by the flake's
//! `fixtures` check) must be a config `aiorch apply --config` accepts and converges on.

use crate::common::{Run, TestEnv, run_cmd};

fn run(env: &TestEnv, config: &str, cmd: &str) -> Run {
    let (home, state) = (env.home.to_str().unwrap(), env.state.to_str().unwrap());
    run_cmd(&mut env.bare_cmd(["--home", home, "--state-dir", state, "--config", config, "--json", cmd]))
}

fn applies(fixture: &str) {
    let env = TestEnv::empty();
    let path = env.path(&format!("config/{fixture}"));
    std::fs::copy(format!("{}/nix/tests/fixtures/{fixture}", env!("CARGO_MANIFEST_DIR")), &path).unwrap();
    let config = path.to_str().unwrap();
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
