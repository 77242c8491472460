//! `aiorch services …`, `service run`, `bench`, doctor's services group: hermetic (no real
//! service; tests/e2e/services.sh runs the real stack).

use predicates::prelude::*;

use crate::common::{TestEnv, free_port};

#[test]
fn render_writes_every_file_without_secret_values() {
    let env = TestEnv::with_env_secrets("[services.litellm]\nenable = true\n[services.open_webui]\nenable = true\n");
    env.cmd(["services", "render"])
        .env("LITELLM_MASTER_KEY", "sk-very-secret-master")
        .env("ANTHROPIC_API_KEY", "sk-ant-very-secret")
        .assert()
        .success()
        .stdout(predicate::str::contains("wrote").and(predicate::str::contains("litellm.yaml")));

    for f in ["litellm.yaml", "litellm.container.yaml", "open-webui.env", "compose.yaml"] {
        let text = env.read(&format!("state/services/{f}"));
        assert!(!text.contains("very-secret"), "{f} holds a secret value");
    }
    let yaml = env.read("state/services/litellm.yaml");
    assert!(yaml.contains("api_key: os.environ/ANTHROPIC_API_KEY"));
    assert!(yaml.contains("master_key: os.environ/LITELLM_MASTER_KEY"));
    // A second render changes nothing.
    env.cmd(["services", "render"]).assert().success().stdout(predicate::str::contains("wrote").not());
}

/// A zero budget is never rendered as `max_budget: 0` (LiteLLM: no limit): the alias is served by
/// its local fallback, a zero provider budget closes every deployment of that provider, and a
/// split that would round to 0 is refused. Explicit models keep the snapshot independent of the
/// default model names.
#[test]
fn zero_budgets_leave_the_deployment_out() {
    let env = TestEnv::with_env_secrets(
        "[models]\ndefault_research = \"openai/gpt-5\"\ndefault_coding = \"openai/gpt-5-mini\"\n\
         default_fast = \"anthropic/claude-haiku-4-5\"\nlocal_research = \"ollama/qwen3:8b\"\n\
         local_coding = \"ollama/qwen2.5-coder:7b\"\n\
         [services.litellm]\nenable = true\ndaily_budget = 10.0\n\
         [services.litellm.alias_budgets]\nresearch-model = 0\n\
         [services.litellm.provider_budgets]\nanthropic = 0\n",
    );
    env.cmd(["services", "render"]).assert().success();
    let yaml = env.read("state/services/litellm.yaml");
    env.insta().bind(|| insta::assert_snapshot!("litellm_zero_budgets", yaml));
    assert!(!yaml.contains("max_budget: 0"), "{yaml}");

    let env = TestEnv::with_env_secrets("[services.litellm]\ndaily_budget = 0.02\n");
    env.cmd(["services", "render"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("less than a cent each").and(predicate::str::contains("alias_budgets")));
    assert!(!env.exists("state/services/litellm.yaml"));
}

/// `services.litellm.redis = true` keeps budget state in `[services.redis]`; the password is an
/// `os.environ/` reference, the response cache needs Redis.
#[test]
fn redis_state_is_rendered_by_reference_and_cache_needs_redis() {
    let env = TestEnv::with_env_secrets(
        "[services.litellm]\nenable = true\nredis = true\n[services.redis]\nenable = true\nport = 6400\n",
    );
    env.cmd(["services", "render"]).env("REDIS_PASSWORD", "very-secret-redis").assert().success();
    let yaml = env.read("state/services/litellm.yaml");
    assert!(
        yaml.contains("redis_host: \"127.0.0.1\"\n  redis_port: 6400\n  redis_password: os.environ/REDIS_PASSWORD\n")
    );
    assert!(!yaml.contains("cache_params") && !yaml.contains("very-secret"), "{yaml}");
    let env = TestEnv::with_env_secrets("[services.litellm]\ncache = true\n");
    env.cmd(["services", "render"]).assert().code(2).stderr(predicate::str::contains("needs services.litellm.redis"));
}

#[test]
fn bad_services_config_is_bad_input_with_a_hint() {
    let env = TestEnv::with_env_secrets("[services.litellm]\ndaily_budgt = 10\n");
    env.cmd(["services", "render"]).assert().code(2).stderr(predicate::str::contains("did you mean `daily_budget`?"));
    let env = TestEnv::with_env_secrets(
        "[services.litellm]\ndaily_budget = 10.0\n[services.litellm.alias_budgets]\ncoding-model = 11.0\n",
    );
    env.cmd(["services", "render"]).assert().code(2).stderr(predicate::str::contains("more than daily_budget"));
    let env = TestEnv::with_env_secrets("[services.litellm.fallbacks]\nfast-modle = [\"local-coding\"]\n");
    env.cmd(["services", "render"]).assert().code(2).stderr(predicate::str::contains("did you mean `fast-model`?"));
}

#[test]
fn status_reports_a_stopped_enabled_service_with_exit_1() {
    let env = TestEnv::with_env_secrets(&format!("[services.litellm]\nenable = true\nport = {}\n", free_port()));
    env.cmd(["services", "status"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("litellm").and(predicate::str::contains("stopped")));
    let out = env.cmd(["--json", "services", "status"]).assert().code(1).get_output().stdout.clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v[0]["service"], "litellm");
    assert_eq!(v[0]["state"], "stopped");
    // Nothing enabled: nothing to be unhealthy.
    TestEnv::with_env_secrets("").cmd(["services", "status"]).assert().success();
}

#[test]
fn up_names_a_missing_command_and_a_dying_process() {
    let port = free_port();
    let env = TestEnv::with_env_secrets(&format!(
        "[services.litellm]\nenable = true\nport = {port}\nmaster_key_secret = \"\"\n\
         command = [\"no-such-litellm-binary\"]\n"
    ));
    env.cmd(["services", "up"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("command `no-such-litellm-binary` not found"));
    // A command that exits at once: reported, pid file cleaned up, exit 1.
    let env = TestEnv::with_env_secrets(&format!(
        "[services.litellm]\nenable = true\nport = {port}\nmaster_key_secret = \"\"\n\
         command = [\"sh\", \"-c\", \"echo starting; exit 7\", \"sh\"]\n"
    ));
    env.cmd(["-q", "services", "up"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("exited").and(predicate::str::contains("starting")));
    assert!(!env.exists("state/services/run/litellm.json"));
    env.cmd(["services", "logs", "litellm"]).assert().success().stdout(predicate::str::contains("starting"));
}

#[test]
fn service_run_puts_secrets_in_the_environment_never_on_argv() {
    let port = free_port();
    // The "server" reports whether the key reached its environment, and its own argv.
    let env = TestEnv::with_env_secrets(&format!(
        "[services.litellm]\nenable = true\nport = {port}\n\
         command = [\"sh\", \"-c\", 'test \"$LITELLM_MASTER_KEY\" = sk-e2e-master && echo key-in-env; echo \"argv: \
         $*\"; echo \"cost-map: $LITELLM_LOCAL_MODEL_COST_MAP\"', \"sh\"]\n"
    ));
    let out = env
        .cmd(["service", "run", "litellm"])
        .env("LITELLM_MASTER_KEY", "sk-e2e-master")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("key-in-env"), "{out}");
    assert!(out.contains("--config") && out.contains(&format!("--port {port}")), "{out}");
    let argv_line = out.lines().find(|l| l.starts_with("argv:")).unwrap();
    assert!(!argv_line.contains("sk-e2e-master"), "{argv_line}");
    assert!(out.contains("cost-map: True"), "{out}");
    // Without the master key it refuses, naming the secret and not a value.
    env.cmd(["service", "run", "litellm"]).assert().code(1).stderr(predicate::str::contains("LITELLM_MASTER_KEY"));
}

#[test]
fn bench_needs_the_gateway_and_known_aliases() {
    let env = TestEnv::with_env_secrets(&format!("[services.litellm]\nenable = true\nport = {}\n", free_port()));
    env.cmd(["bench", "--aliases", "coding-modle"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("did you mean `coding-model`?"));
    env.cmd(["bench"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("does not answer").and(predicate::str::contains("aiorch services up")));
}

#[test]
fn doctor_reports_budget_enforcement_and_health() {
    let env = TestEnv::with_env_secrets(&format!(
        "[services.litellm]\nenable = true\nport = {}\ndaily_budget = 30.0\n",
        free_port()
    ));
    env.cmd(["services", "render"]).assert().success();
    let out = env.cmd(["--json", "doctor"]).env("LITELLM_MASTER_KEY", "x").assert().code(1).get_output().stdout.clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let checks: Vec<&serde_json::Value> =
        v["checks"].as_array().unwrap().iter().filter(|c| c["group"] == "services").collect();
    let find = |n: &str| checks.iter().find(|c| c["name"] == n).unwrap_or_else(|| panic!("no check {n}: {checks:?}"));
    assert_eq!(find("budget enforced")["status"], "ok");
    assert!(find("budget enforced")["detail"].as_str().unwrap().contains("coding-model $10.00/1d"));
    assert_eq!(find("rendered config current")["status"], "ok");
    assert_eq!(find("litellm healthy")["status"], "fail");
    assert_eq!(find("secret LITELLM_MASTER_KEY")["status"], "ok");
    assert_eq!(find("secret ANTHROPIC_API_KEY")["status"], "warn");
    let state = find("budget state");
    assert!(state["status"] == "ok" && state["detail"].as_str().unwrap().contains("starts again at $0"), "{state}");
    // A hand-added proxy-wide budget (ignored without a database) is called out.
    let text = env
        .read("state/services/litellm.yaml")
        .replace("litellm_settings:\n", "litellm_settings:\n  max_budget: 30.0\n");
    env.write("state/services/litellm.yaml", text);
    let out = env.cmd(["--json", "doctor"]).assert().code(1).get_output().stdout.clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let c = v["checks"].as_array().unwrap().iter().find(|c| c["name"] == "budget enforced").unwrap().clone();
    assert_eq!(c["status"], "fail");
    assert!(c["detail"].as_str().unwrap().contains("fail-open"));
}

/// With its state in Redis and no Redis answering, doctor fails and says what that means for
/// the budget; the Redis service has its own health row.
#[test]
fn doctor_reports_a_redis_that_does_not_answer() {
    let env = TestEnv::with_env_secrets(&format!(
        "[services.litellm]\nenable = true\nport = {}\nredis = true\n[services.redis]\nenable = true\nport = {}\n",
        free_port(),
        free_port()
    ));
    env.cmd(["services", "render"]).assert().success();
    let out = env
        .cmd(["--json", "doctor"])
        .env("LITELLM_MASTER_KEY", "x")
        .env("REDIS_PASSWORD", "y")
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let find = |n: &str| v["checks"].as_array().unwrap().iter().find(|c| c["name"] == n).unwrap().clone();
    let state = find("budget state");
    assert_eq!(state["status"], "fail", "{state}");
    assert!(state["detail"].as_str().unwrap().contains("does not answer (connection refused)"), "{state}");
    assert_eq!(find("redis healthy")["status"], "fail");
    assert_eq!(find("secret REDIS_PASSWORD")["status"], "ok");
    let out = env.cmd(["--json", "doctor"]).env("LITELLM_MASTER_KEY", "x").assert().code(1).get_output().stdout.clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let pw = v["checks"].as_array().unwrap().iter().find(|c| c["name"] == "secret REDIS_PASSWORD").unwrap().clone();
    assert_eq!(pw["status"], "fail", "{pw}");
}

/// A stand-in gateway (fault injection, not a model): liveliness, a streamed answer for
/// `local-coding` (3 tokens and usage), HTTP 429 for everything else.
fn fake_gateway() -> u16 {
    crate::common::http_stub(|head, body| {
        if head.starts_with("get /health/liveliness") {
            ("200 OK", String::new(), "\"I'm alive!\"".into())
        } else if String::from_utf8_lossy(body).contains("\"local-coding\"") {
            let mut sse = String::new();
            for t in ["Hel", "lo", "!"] {
                sse.push_str(&format!("data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{t}\"}}}}]}}\n\n"));
            }
            sse.push_str("data: {\"choices\":[],\"usage\":{\"completion_tokens\":3}}\n\ndata: [DONE]\n\n");
            ("200 OK", "content-type: text/event-stream\r\nx-litellm-model-group: local-coding\r\n".into(), sse)
        } else {
            let b = r#"{"error":{"message":"No deployments available - crossed budget","code":"429"}}"#;
            ("429 Too Many Requests", "content-type: application/json\r\n".into(), b.into())
        }
    })
}

#[test]
fn bench_measures_streams_counts_errors_and_draws_a_chart() {
    let port = fake_gateway();
    let env = TestEnv::with_env_secrets(&format!("[services.litellm]\nenable = true\nport = {port}\n"));
    let out_dir = env.path("bench");
    let out = env
        .cmd(["bench", "--aliases", "local-coding,coding-model", "-n", "2", "--out", out_dir.to_str().unwrap()])
        .env("LITELLM_MASTER_KEY", "k")
        .assert()
        .code(1) // a request failed
        .get_output()
        .stdout
        .clone();
    let table = String::from_utf8(out).unwrap();
    let row = |a: &str| {
        table.lines().find(|l| l.starts_with(a)).unwrap_or_else(|| panic!("{a} missing:\n{table}")).to_string()
    };
    assert!(row("local-coding").contains("0/2") && row("local-coding").ends_with("local-coding"), "{table}");
    assert!(row("coding-model").contains("2/2") && row("coding-model").contains("HTTP 429 ×2"), "{table}");
    let json = std::fs::read_dir(&out_dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "json"))
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let lc = &v["results"][0];
    assert_eq!(lc["alias"], "local-coding");
    assert_eq!(lc["samples"][0]["completion_tokens"], 3);
    assert!(lc["ttft_ms_median"].as_f64().unwrap() > 0.0);
    assert_eq!(v["results"][1]["error_kinds"]["HTTP 429"], 2);
    let svg = std::fs::read_to_string(json.with_extension("svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("Time to first token") && svg.contains("2 errors"), "{svg}");
}

/// The Nix modules run each service from its package in the store: doctor checks the unit's
/// program exists, and says what to do when the store no longer has it.
#[test]
fn doctor_checks_a_store_path_command_exists() {
    let env = TestEnv::with_env_secrets(
        "[services.litellm]\nenable = true\nmaster_key_secret = \"\"\n\
         command = [\"/nix/store/00000000000000000000000000000000-litellm-1.0/bin/litellm\"]\n",
    );
    let out = env.cmd(["--json", "doctor", "--no-connect"]).assert().code(1).get_output().stdout.clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let check = v["checks"].as_array().unwrap().iter().find(|c| c["name"] == "litellm command").expect("check");
    assert_eq!(check["status"], "fail", "{check:#}");
    assert!(check["detail"].as_str().unwrap().contains("-litellm-1.0/bin/litellm` not found"), "{check:#}");
    assert!(check["fix"].as_str().unwrap().contains("services.litellm.package"), "{check:#}");

    // A store path that exists (a stand-in here) passes.
    let prog = env.install_script("litellm", "#!/bin/sh\nexit 0\n");
    env.write_config(&format!(
        "[secrets]\nbackend = \"env\"\n[services.litellm]\nenable = true\nmaster_key_secret = \"\"\n\
         command = [\"{}\"]\n",
        prog.display()
    ));
    let out = env.cmd(["--json", "doctor", "--no-connect"]).output().unwrap().stdout;
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let check = v["checks"].as_array().unwrap().iter().find(|c| c["name"] == "litellm command").expect("check");
    assert_eq!(check["status"], "ok", "{check:#}");
}
