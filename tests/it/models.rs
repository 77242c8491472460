//! The model map end to end: `aiorch models update` from a file and from a 127.0.0.1 URL, and
//! what a newer map changes in `route --list` and `doctor` (a price change, a model retiring
//! soon with its successor, a model the map no longer knows, priced high rather than free).

use serde_json::Value;

use crate::common::TestEnv;

/// 2026-12-11: after the embedded snapshot (2026-12-05), so a map taken today is the newer one.
const LATER: &str = "1797000000";

/// LiteLLM's shape, trimmed to a few models: gpt-5 costs more, claude-sonnet-4-6 retires on
/// 2026-12-31 (20 days after LATER), claude-haiku-4-5 is gone, claude-sonnet-4-7 is new. The
/// embedding model, the other provider and `sample_spec` are dropped on import.
const FIXTURE: &str = r#"{
  "sample_spec": {"mode": "one of: chat, embedding", "max_input_tokens": "max input tokens"},
  "claude-opus-4-8": {"litellm_provider": "anthropic", "mode": "chat", "input_cost_per_token": 5e-06,
    "output_cost_per_token": 2.5e-05, "max_input_tokens": 1000000, "max_output_tokens": 128000,
    "supports_vision": true},
  "claude-sonnet-4-6": {"litellm_provider": "anthropic", "mode": "chat", "input_cost_per_token": 3e-06,
    "output_cost_per_token": 1.5e-05, "max_input_tokens": 1000000, "max_output_tokens": 128000,
    "deprecation_date": "2026-12-31"},
  "claude-sonnet-4-7": {"litellm_provider": "anthropic", "mode": "chat", "input_cost_per_token": 3e-06,
    "output_cost_per_token": 1.5e-05, "max_input_tokens": 1000000, "max_output_tokens": 128000},
  "gpt-5.6": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 4e-06,
    "output_cost_per_token": 2e-05, "max_input_tokens": 922000, "max_output_tokens": 128000},
  "gpt-5": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 1.5e-06,
    "output_cost_per_token": 1e-05, "max_input_tokens": 272000, "max_output_tokens": 128000},
  "gpt-5-mini": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 2.5e-07,
    "output_cost_per_token": 2e-06, "max_input_tokens": 272000, "max_output_tokens": 128000},
  "gemini/gemini-3.1-pro-preview": {"litellm_provider": "gemini", "mode": "chat", "input_cost_per_token": 2e-06,
    "output_cost_per_token": 1.2e-05, "max_input_tokens": 1048576, "max_output_tokens": 65536},
  "gemini/gemini-2.5-pro": {"litellm_provider": "gemini", "mode": "chat", "input_cost_per_token": 1.25e-06,
    "output_cost_per_token": 1e-05, "max_input_tokens": 1048576, "max_output_tokens": 65536},
  "gemini/gemini-2.5-flash": {"litellm_provider": "gemini", "mode": "chat", "input_cost_per_token": 3e-07,
    "output_cost_per_token": 2.5e-06, "max_input_tokens": 1048576, "max_output_tokens": 65536},
  "text-embedding-3-large": {"litellm_provider": "openai", "mode": "embedding", "input_cost_per_token": 1.3e-07},
  "mistral/mistral-large-latest": {"litellm_provider": "mistral", "mode": "chat", "input_cost_per_token": 2e-06}
}"#;

/// The successor the registry does not offer yet, added by config (priced by the map).
const SONNET_47: &str = "[runtime.models.claude-sonnet-4-7]\nprovider = \"anthropic\"\n\
                         endpoint = \"https://api.anthropic.com\"\nkey = \"ANTHROPIC_API_KEY\"\ntier = 2\n\
                         roles = { planning = 0.94, coding = 0.97, review = 0.94, search = 0.83 }\n";

fn model<'a>(list: &'a Value, id: &str) -> &'a Value {
    list.as_array().unwrap().iter().find(|m| m["id"] == id).unwrap_or_else(|| panic!("{id} not listed"))
}

#[test]
fn update_from_a_file_reprices_warns_and_never_prices_unknown_as_free() {
    let env = TestEnv::with_env_secrets(SONNET_47).var("AIORCH_NOW", LATER);
    // Before: the built-in snapshot.
    let before = env.json(["route", "--list"]);
    assert_eq!(model(&before, "gpt-5")["price_in"], 1.25);
    assert_eq!(model(&before, "gpt-5")["price_source"], "litellm 1.106.2 map of 2026-12-05");
    assert_eq!(model(&before, "claude-sonnet-4-7")["price_in"], 3.0, "priced by the snapshot too");

    env.write("maps/model_prices_and_context_window.json", FIXTURE);
    let out = env
        .ok([
            "models",
            "update",
            "--from",
            &env.path("maps/model_prices_and_context_window.json").display().to_string(),
        ])
        .stdout;
    assert!(out.contains("(9 chat models from"), "{out}");
    assert!(out.contains("gpt-5: $/Mtok 1.25/10.00 → 1.50/10.00"), "{out}");
    assert!(out.contains("claude-haiku-4-5: $/Mtok 1.00/5.00 → unknown"), "{out}");
    assert!(out.contains("claude-sonnet-4-6: retires 2026-12-31 (in 20 days)"), "{out}");
    assert!(out.contains("coding-model: retires 2026-12-31 (in 20 days)"), "{out}");
    let saved: Value = serde_json::from_str(&env.read("state/model_map.json")).unwrap();
    assert!(saved.get("text-embedding-3-large").is_none() && saved.get("mistral/mistral-large-latest").is_none());
    assert!(saved["gpt-5"].get("supports_vision").is_none());

    let after = env.json(["route", "--list"]);
    let gpt5 = model(&after, "gpt-5");
    assert_eq!((gpt5["price_in"].as_f64(), gpt5["price_known"].as_bool()), (Some(1.5), Some(true)));
    assert_eq!(gpt5["price_source"], "LiteLLM map of 2026-12-11");
    // Gone from the map: a stand-in price (anthropic's highest known), never 0.
    let haiku = model(&after, "claude-haiku-4-5");
    assert_eq!(haiku["price_known"], false);
    assert_eq!((haiku["price_in"].as_f64(), haiku["price_out"].as_f64()), (Some(5.0), Some(25.0)));
    assert_eq!(haiku["price_source"], "unknown: priced at the highest known anthropic price");
    assert_eq!(model(&after, "claude-sonnet-4-6")["retirement"]["days_left"], 20);

    let text = env.ok(["route", "--list"]).stdout;
    assert!(text.contains("price from: map = LiteLLM map of 2026-12-11 (from `aiorch models update`)"), "{text}");
    assert!(text.contains("claude-haiku-4-5: unknown: priced at the highest known anthropic price"), "{text}");
    let sonnet = text.lines().find(|l| l.starts_with("claude-sonnet-4-6 ")).unwrap();
    assert!(sonnet.contains("map") && sonnet.contains("! retires 2026-12-31 (in 20 days)"), "{sonnet}");
    let haiku = text.lines().find(|l| l.starts_with("claude-haiku-4-5 ")).unwrap();
    assert!(haiku.contains(" unknown "), "{haiku}");

    // A routing explanation says the same per candidate.
    let route = env.ok(["route", "fix the typo in README"]).stdout;
    assert!(route.contains("price unknown (budgeted high)"), "{route}");

    // Doctor: the retiring default and registry model, each with the successor of the same
    // provider and tier; the unknown model with what the budget counts for it.
    let doc = env.run(["doctor", "--no-connect"]).stdout;
    assert!(
        doc.contains("models.default_coding: anthropic/claude-sonnet-4-6 retires 2026-12-31 (in 20 days)"),
        "{doc}"
    );
    assert!(doc.contains("aiorch config set models.default_coding anthropic/claude-sonnet-4-7"), "{doc}");
    assert!(doc.contains("claude-sonnet-4-6: retires 2026-12-31 (in 20 days)"), "{doc}");
    assert!(doc.contains("route to claude-sonnet-4-7 instead (same provider, tier 2)"), "{doc}");
    assert!(doc.contains("claude-haiku-4-5: claude-haiku-4-5 is not in the model map"), "{doc}");
    assert!(doc.contains("$5.00/$25.00 per Mtok"), "{doc}");
    assert!(doc.contains("model map: LiteLLM map of 2026-12-11 (from `aiorch models update`)"), "{doc}");
}

#[test]
fn a_map_older_than_the_built_in_one_is_kept_but_not_used() {
    // The test clock (2026-11-21) predates the snapshot: the import is the older map.
    let env = TestEnv::with_env_secrets("");
    env.write("m.json", FIXTURE);
    let run = env.ok(["models", "update", "--from", &env.path("m.json").display().to_string()]);
    assert!(run.stderr.contains("older than the built-in litellm 1.106.2 map of 2026-12-05"), "{}", run.stderr);
    let list = env.json(["route", "--list"]);
    assert_eq!(model(&list, "gpt-5")["price_in"], 1.25);
    assert_eq!(model(&list, "claude-haiku-4-5")["price_known"], true);
}

#[test]
fn the_built_in_defaults_are_current_under_the_test_clock() {
    // claude-sonnet-4-5, the old default, retires on 2026-11-30: 9 days after the test clock.
    let env = TestEnv::with_env_secrets("[models]\ndefault_coding = \"anthropic/claude-sonnet-4-5\"\n");
    let doc = env.run(["doctor", "--no-connect"]).stdout;
    assert!(doc.contains("models.default_coding: anthropic/claude-sonnet-4-5 retires 2026-11-30 (in 9 days)"), "{doc}");
    assert!(doc.contains("aiorch config set models.default_coding anthropic/claude-sonnet-4-6"), "{doc}");
    let fresh = TestEnv::with_env_secrets("").run(["doctor", "--no-connect"]).stdout;
    assert!(!fresh.contains("retire") && !fresh.contains("not in the model map"), "{fresh}");
}

/// A stand-in model-map server: every request gets `status` and `body`.
fn serve(status: &'static str, body: &'static str) -> u16 {
    crate::common::http_stub(move |_, _| (status, "content-type: application/json\r\n".into(), body.into()))
}

#[test]
fn update_from_a_url_and_its_failures() {
    let env = TestEnv::with_env_secrets("").var("AIORCH_NOW", LATER);
    let port = serve("200 OK", FIXTURE);
    let url = format!("http://127.0.0.1:{port}/model_prices_and_context_window.json");
    let v = env.json(["models", "update", "--from", &url]);
    assert_eq!((v["models"].as_u64(), v["in_use"].as_bool()), (Some(9), Some(true)));
    assert_eq!(v["from"], url.as_str());
    assert!(v["changes"].as_array().unwrap().iter().any(|c| c == "gpt-5: $/Mtok 1.25/10.00 → 1.50/10.00"), "{v}");
    assert_eq!(model(&env.json(["route", "--list"]), "gpt-5")["price_in"], 1.5);

    // A server error and a file that is not a model map change nothing.
    let port = serve("404 Not Found", "{}");
    let err = env.expect(["models", "update", "--from", &format!("http://127.0.0.1:{port}/x.json")], 1).stderr;
    assert!(err.contains("HTTP 404"), "{err}");
    env.write("not-a-map.json", "{\"a\": {\"mode\": \"embedding\"}}");
    let err = env.expect(["models", "update", "--from", &env.path("not-a-map.json").display().to_string()], 2).stderr;
    assert!(err.contains("no chat model of anthropic, openai, gemini"), "{err}");
    assert_eq!(model(&env.json(["route", "--list"]), "gpt-5")["price_in"], 1.5);
}

#[test]
fn an_unknown_model_is_budgeted_and_billed_at_a_known_price_not_for_free() {
    use crate::fake_provider::{Act, FakeProvider};
    let fake = FakeProvider::start(&[("fu", vec![Act::ok("from fu")])]);
    let entry = |id: &str, price: &str| {
        format!(
            "[runtime.models.{id}]\nprovider = \"openai\"\nendpoint = \"{}/v1\"\nkey = \"K\"\ntier = 2\n{price}\
             roles = {{ planning = 0.8, coding = 0.8, review = 0.8, search = 0.8 }}\n",
            fake.url()
        )
    };
    // fk is priced by the config; fu by nobody: it stands in at fk's price (same provider, tier).
    let models = format!("{}{}", entry("fk", "price_in = 1.0\nprice_out = 2.0\n"), entry("fu", ""));
    let cfg = |budget: &str| format!("[runtime]\nbuiltin_models = false\nmax_tokens = 1000\n{budget}{models}");
    let env = TestEnv::with_env_secrets(&cfg("")).var("K", "k");
    let fu = model(&env.json(["route", "--list"]), "fu").clone();
    assert_eq!((fu["price_in"].as_f64(), fu["price_known"].as_bool()), (Some(1.0), Some(false)));
    let v = env.json(["ask", "--model", "fu", "say hello"]);
    // 100 in × $1/M + 50 out × $2/M: billed, not free.
    assert!((v["cost"].as_f64().unwrap() - 0.0002).abs() < 1e-12, "{v}");
    // Its worst case (1000 output tokens at $2/M) does not fit a $0.001 day: refused before the call.
    let tight = TestEnv::with_env_secrets(&cfg("[runtime.budget]\ndaily_usd = 0.001\n")).var("K", "k");
    let out = tight.run(["ask", "--model", "fu", "say hello"]);
    assert!(out.code != Some(0) && out.stderr.contains("the next call may cost up to $0.0021"), "{out}");
    let why: Value = serde_json::from_str(&tight.expect(["--json", "route", "say hello"], 1).stdout).unwrap();
    let why = why["candidates"].as_array().unwrap().clone();
    let fu = why.iter().find(|c| c["id"] == "fu").unwrap();
    assert!(fu["skipped"].as_str().unwrap().starts_with("may cost $0.0021"), "{fu}");
    assert_eq!(fu["price_known"], false);
    assert_eq!(fake.seen().len(), 1, "the refused call never reached the provider");
}

#[test]
fn a_damaged_copy_falls_back_to_the_built_in_map_and_doctor_says_so() {
    let env = TestEnv::with_env_secrets("");
    env.write("state/model_map.json", "{ not json");
    assert_eq!(model(&env.json(["route", "--list"]), "gpt-5")["price_source"], "litellm 1.106.2 map of 2026-12-05");
    let doc = env.run(["doctor", "--no-connect"]).stdout;
    assert!(doc.contains("model_map.json: not a model map"), "{doc}");
    assert!(doc.contains("delete the file to use the built-in map"), "{doc}");
}

#[test]
fn go_warns_when_a_roles_first_choice_is_retiring() {
    // claude-sonnet-4-5, pinned for planning, retires 9 days after the test clock; the preflight
    // still goes on (a warning), naming the successor of its provider and tier.
    let cfg = "[runtime.models.claude-sonnet-4-5]\nprovider = \"anthropic\"\nendpoint = \"https://api.anthropic.com\"\n\
               key = \"ANTHROPIC_API_KEY\"\ntier = 2\nroles = { planning = 0.9 }\n\
               [runtime.roles.planning]\nmodel = \"claude-sonnet-4-5\"\n";
    let env = TestEnv::with_env_secrets(cfg).var("ANTHROPIC_API_KEY", "sk-ant-test");
    let err = env.expect(["go", "--dry-run", "--agent", "builtin", "plan the release"], 0).stderr;
    assert!(err.contains("planning model: claude-sonnet-4-5 retires 2026-11-30 (in 9 days)"), "{err}");
    assert!(err.contains("its successor is claude-sonnet-4-6"), "{err}");
    assert!(err.contains("would run the builtin feature pipeline"), "{err}");
}
