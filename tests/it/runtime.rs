//! The orchestration runtime end to end: the real `aiorch` binary against the fake provider
//! (routing, fallback on typed errors, budget, consensus, threads, provider shapes, pipelines).

use serde_json::Value;

use crate::common::{Run, TestEnv};
use crate::fake_provider::{Act, FakeProvider};

/// A registry entry for a fake model. `scores` = planning, coding, review, search.
pub(crate) fn model(
    id: &str,
    provider: &str,
    url: &str,
    key: &str,
    tier: u8,
    scores: [f64; 4],
    price: (f64, f64),
) -> String {
    let endpoint = if provider == "openai" { format!("{url}/v1") } else { url.to_string() };
    format!(
        "[runtime.models.{id}]\nprovider = \"{provider}\"\nendpoint = \"{endpoint}\"\nkey = \"{key}\"\ntier = {tier}\n\
         price_in = {}\nprice_out = {}\ncontext_window = 100000\nmax_output = 1000\n\
         roles = {{ planning = {}, coding = {}, review = {}, search = {} }}\n\n",
        price.0, price.1, scores[0], scores[1], scores[2], scores[3]
    )
}

pub(crate) fn isolated(extra: &str) -> String {
    format!("[runtime]\nbuiltin_models = false\ntimeout_secs = 2\nmax_tokens = 1000\n{extra}\n")
}

// --- routing -----------------------------------------------------------------------------------

fn routing_env() -> TestEnv {
    TestEnv::with_env_secrets("")
        .var("ANTHROPIC_API_KEY", "sk-ant-test")
        .var("OPENAI_API_KEY", "sk-oai-test")
        .var("GEMINI_API_KEY", "g-test")
}

#[test]
fn route_explanations() {
    let env = routing_env();
    for (name, args) in [
        ("route_simple", vec!["route", "fix the typo in README"]),
        ("route_complex", vec!["route", "design the distributed cache invalidation protocol"]),
        ("route_review", vec!["route", "review this diff for security regressions"]),
        ("route_search_seed_role", vec!["route", "--role", "librarian", "what does the retry helper do?"]),
        ("route_local", vec!["route", "--local", "implement the parser"]),
    ] {
        let out = env.expect(args, 0).stdout;
        insta::assert_snapshot!(name, out);
    }
    // Without keys, only the local model is usable; the explanation says why.
    let bare = TestEnv::with_env_secrets("");
    let out = bare.expect(["route", "implement the parser"], 0).stdout;
    insta::assert_snapshot!("route_no_keys", out);
}

#[test]
fn route_json_and_bad_role() {
    let env = routing_env();
    let v = env.json(["route", "review the auth change"]);
    assert_eq!(v["role"], "review");
    assert_eq!(v["seed_name"], "oracle");
    assert!(v["chain"].as_array().unwrap().len() >= 2);
    let err = env.expect(["route", "--role", "reviw", "x"], 2).stderr;
    assert!(err.contains("did you mean `review`"), "{err}");
}

// --- calls, ledger, stats ----------------------------------------------------------------------

#[test]
fn ask_records_tokens_cost_and_key_at_call_time() {
    let fake = FakeProvider::start(&[("fa", vec![Act::ok("hello from fa")])]);
    let env =
        TestEnv::with_env_secrets(&isolated(&model("fa", "openai", &fake.url(), "FA_KEY", 2, [0.8; 4], (1.0, 2.0))))
            .var("FA_KEY", "sk-fa-secret");
    let v = env.json(["ask", "--model", "fa", "say hello"]);
    assert_eq!(v["text"], "hello from fa");
    assert_eq!(v["model"], "fa");
    // 100 in × $1/M + 50 out × $2/M
    assert!((v["cost"].as_f64().unwrap() - 0.0002).abs() < 1e-12, "{v}");
    assert!(v["continuation_id"].as_str().unwrap().len() == 36);
    let seen = fake.seen();
    assert_eq!(
        (seen[0].path.as_str(), seen[0].auth, seen[0].key.as_deref()),
        ("/v1/chat/completions", "bearer", Some("sk-fa-secret"))
    );
    // The secret is in no state file.
    let hits = env.files_holding(&["state"], b"sk-fa-secret", &[]);
    assert!(hits.is_empty(), "{hits:?} hold the key");
    let s = env.json(["stats"]);
    assert_eq!(s["by_model"]["fa"]["calls"], 1);
    assert_eq!(s["by_model"]["fa"]["success_rate"], 1.0);
    assert_eq!(s["total"]["tokens_in"], 100);
    assert_eq!(s["spent_today"], 0.0002);
    let text = env.expect(["stats"], 0).stdout;
    assert!(text.contains("routing saved"), "{text}");
}

#[test]
fn gateway_reported_cost_and_serving_deployment_win_over_the_price_table() {
    // gw's cloud deployment failed inside LiteLLM, which fell back to local-coding (free, in the
    // registry): the ledger records local-coding's price, not gw's list price nor LiteLLM's
    // figure (which prices the fallback as the alias). An unknown group: LiteLLM's figure.
    let fake = FakeProvider::start(&[
        ("gw", vec![Act::Gateway { text: "from local", cost: "0.000354", group: "local-coding" }]),
        ("gw2", vec![Act::Gateway { text: "from elsewhere", cost: "0.00042", group: "some-deployment" }]),
    ]);
    let local =
        "[runtime.models.local-coding]\nprovider = \"openai\"\nendpoint = \"local\"\nroles = { coding = 0.1 }\n";
    let cfg = isolated(&format!(
        "{}{}{local}",
        model("gw", "openai", &fake.url(), "K", 2, [0.8; 4], (3.0, 15.0)),
        model("gw2", "openai", &fake.url(), "K", 2, [0.8; 4], (3.0, 15.0))
    ));
    let env = TestEnv::with_env_secrets(&cfg).var("K", "k");
    assert_eq!(env.json(["ask", "--model", "gw2", "hi"])["cost"], 0.00042);
    let v = env.json(["ask", "--model", "gw", "hi"]);
    assert_eq!((v["cost"].as_f64(), v["served_by"].as_str()), (Some(0.0), Some("local-coding")), "{v}");
    let err = env.expect(["ask", "--model", "gw", "hi"], 0).stderr;
    assert!(err.contains("gw → local-coding"), "{err}");
    assert_eq!(env.json(["stats"])["spent_today"], 0.00042);
}

#[test]
fn streaming_ask_prints_deltas() {
    let fake = FakeProvider::start(&[("fa", vec![Act::ok("one two three")])]);
    let env =
        TestEnv::with_env_secrets(&isolated(&model("fa", "openai", &fake.url(), "FA_KEY", 2, [0.8; 4], (1.0, 2.0))))
            .var("FA_KEY", "k");
    let Run { stdout: out, stderr: err, .. } = env.expect(["ask", "--model", "fa", "count"], 0);
    assert_eq!(out, "one two three\n");
    assert!(err.contains("fa (coding)") && err.contains("continuation_id"), "{err}");
    assert_eq!(fake.seen()[0].body["stream"], true);
}

// --- fallback ----------------------------------------------------------------------------------

pub(crate) fn chain_env(fake: &FakeProvider) -> TestEnv {
    // c1 is the cheap pick for a simple task; c2 the same tier; strong the escalation.
    let cfg = isolated(&format!(
        "{}{}{}",
        model("c1", "openai", &fake.url(), "K1", 1, [0.8; 4], (0.1, 0.2)),
        model("c2", "openai", &fake.url(), "K2", 1, [0.8; 4], (0.2, 0.4)),
        model("strong", "openai", &fake.url(), "K3", 3, [0.95; 4], (5.0, 10.0)),
    ));
    TestEnv::with_env_secrets(&cfg).var("K1", "k1").var("K2", "k2").var("K3", "k3")
}

#[test]
fn falls_back_on_rate_limit_and_server_errors_cheap_to_strong() {
    let fake = FakeProvider::start(&[
        ("c1", vec![Act::Fail(429, "slow down")]),
        ("c2", vec![Act::Fail(500, "boom")]),
        ("strong", vec![Act::ok("strong answer")]),
    ]);
    let env = chain_env(&fake);
    let v = env.json(["ask", "fix the typo"]);
    assert_eq!(v["model"], "strong");
    let kinds: Vec<&str> = v["fallbacks"].as_array().unwrap().iter().map(|a| a["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["rate_limit", "server"]);
    assert!(v["fallbacks"][0]["error"].as_str().unwrap().contains("retry after 7s"));
    let s = env.json(["stats"]);
    assert_eq!(s["by_model"]["c1"]["errors"]["rate_limit"], 1);
    assert_eq!(s["by_model"]["c1"]["success_rate"], 0.0);
    assert_eq!(s["total"]["calls"], 3);
}

#[test]
fn falls_back_on_timeout_garbage_and_stalled_stream() {
    let fake = FakeProvider::start(&[
        ("c1", vec![Act::Hang(5000)]),
        ("c2", vec![Act::Garbage]),
        ("strong", vec![Act::ok("ok")]),
    ]);
    let env = chain_env(&fake);
    let v = env.json(["ask", "fix the typo"]);
    let kinds: Vec<&str> = v["fallbacks"].as_array().unwrap().iter().map(|a| a["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["timeout", "bad_response"]);
    assert_eq!(v["model"], "strong");

    // A stream that trickles past the per-call timeout is cut and the next model answers.
    let fake = FakeProvider::start(&[
        ("c1", vec![Act::SlowStream { chunks: 40, gap_ms: 100 }]),
        ("c2", vec![Act::ok("rescued")]),
    ]);
    let env = chain_env(&fake);
    let Run { stdout: out, stderr: err, .. } = env.expect(["ask", "fix the typo"], 0);
    assert_eq!(out, "rescued\n", "stdout carries only the answer that succeeded");
    assert!(err.contains("c1 failed (timed out"), "{err}");
}

#[test]
fn auth_errors_are_never_retried_with_the_same_credentials() {
    let fake = FakeProvider::start(&[
        ("c1", vec![Act::Fail(401, "invalid key")]),
        ("c1b", vec![Act::ok("same key")]),
        ("strong", vec![Act::ok("other key")]),
    ]);
    let cfg = isolated(&format!(
        "{}{}{}",
        model("c1", "openai", &fake.url(), "K1", 1, [0.8; 4], (0.1, 0.2)),
        model("c1b", "openai", &fake.url(), "K1", 1, [0.8; 4], (0.2, 0.3)),
        model("strong", "openai", &fake.url(), "K3", 3, [0.95; 4], (5.0, 10.0)),
    ));
    let env = TestEnv::with_env_secrets(&cfg).var("K1", "bad").var("K3", "good");
    let v = env.json(["ask", "fix the typo"]);
    assert_eq!(v["model"], "strong");
    assert_eq!(fake.calls("c1b"), 0, "a model sharing the failed key must not be called");
    assert_eq!(v["fallbacks"][1]["kind"], "auth");
}

#[test]
fn context_window_errors_skip_to_a_larger_window_and_bad_requests_stop() {
    let fake = FakeProvider::start(&[
        ("c1", vec![Act::Fail(400, "maximum context length exceeded")]),
        ("c2", vec![Act::ok("small")]),
        ("strong", vec![Act::ok("big")]),
    ]);
    // c2 has the same 100k window as c1 (skipped); strong has 400k.
    let strong = model("strong", "openai", &fake.url(), "K3", 3, [0.95; 4], (5.0, 10.0))
        .replace("context_window = 100000", "context_window = 400000");
    let cfg = isolated(&format!(
        "{}{}{strong}",
        model("c1", "openai", &fake.url(), "K1", 1, [0.8; 4], (0.1, 0.2)),
        model("c2", "openai", &fake.url(), "K2", 1, [0.8; 4], (0.2, 0.4))
    ));
    let env = TestEnv::with_env_secrets(&cfg).var("K1", "k1").var("K2", "k2").var("K3", "k3");
    let v = env.json(["ask", "fix the typo"]);
    assert_eq!(v["model"], "strong");
    assert_eq!(fake.calls("c2"), 0);

    let fake =
        FakeProvider::start(&[("c1", vec![Act::Fail(400, "unsupported parameter")]), ("c2", vec![Act::ok("x")])]);
    let env = chain_env(&fake);
    let err = env.expect(["ask", "fix the typo"], 1).stderr;
    assert!(err.contains("request rejected (HTTP 400)"), "{err}");
    assert_eq!(fake.calls("c2"), 0);
}

// --- budget ------------------------------------------------------------------------------------

#[test]
fn budget_fails_closed_before_sending() {
    let fake =
        FakeProvider::start(&[("p1", vec![Act::ok("x")]), ("p2", vec![Act::ok("x")]), ("p3", vec![Act::ok("x")])]);
    let models: String =
        ["p1", "p2", "p3"].iter().map(|id| model(id, "openai", &fake.url(), "K", 2, [0.9; 4], (10.0, 10.0))).collect();
    // Worst case per call ≈ 1000 out × $10/M = $0.01; the budget allows one, not three.
    let env =
        TestEnv::with_env_secrets(&isolated(&format!("budget = {{ daily_usd = 0.015 }}\n{models}"))).var("K", "k");
    let err = env.expect(["consensus", "--models", "p1,p2,p3", "--no-synthesis", "ship it?"], 1).stderr;
    assert!(err.contains("daily budget exhausted") && err.contains("nothing was sent"), "{err}");
    assert!(fake.seen().is_empty());
    // One call fits; its reservation is settled to the real (smaller) cost.
    env.json(["ask", "--model", "p1", "hi"]);
    let s = env.json(["stats"]);
    assert_eq!(s["spent_today"], 0.0015);
    assert_eq!(s["reserved_today"], 0.0);
    // With $0 a cloud model is refused before any request, with its own error: what was spent of
    // what, when the budget resets, which key raises it (not "no usable model", not API keys).
    let zero = TestEnv::with_env_secrets(&isolated(&format!("budget = {{ daily_usd = 0.0 }}\n{models}"))).var("K", "k");
    for args in [["ask", "--model", "p2", "hi"], ["ask", "fix", "the", "typo"]] {
        let err = zero.expect(args, 1).stderr;
        assert!(
            err.contains("daily budget exhausted: $0.0000 spent and $0.0000 reserved of $0.0000 on 2026-11-21")
                && err.contains("resets at 00:00 UTC (in 13 h 35 min)")
                && err.contains("raise `runtime.budget.daily_usd`"),
            "{err}"
        );
        assert!(!err.contains("no usable model") && !err.contains("secrets set") && !err.contains("below"), "{err}");
    }
    assert_eq!(fake.calls("p2"), 0);
}

// --- consensus ---------------------------------------------------------------------------------

fn panel(fake: &FakeProvider) -> TestEnv {
    let cfg = isolated(&format!(
        "{}{}{}",
        model("judge", "openai", &fake.url(), "K", 3, [0.9; 4], (1.0, 1.0)),
        model("mid", "anthropic", &fake.url(), "K", 2, [0.9; 4], (1.0, 1.0)),
        model("cheap", "gemini", &fake.url(), "K", 1, [0.9; 4], (1.0, 1.0)),
    ));
    TestEnv::with_env_secrets(&cfg).var("K", "k")
}

#[test]
fn consensus_weighs_votes_names_dissenters_and_synthesises() {
    let fake = FakeProvider::start(&[
        (
            "judge",
            vec![
                Act::ok_after("VERDICT: yes\nCONFIDENCE: 0.9\nSafe.", 300),
                Act::ok("Synthesis: go, but watch the migration."),
            ],
        ),
        ("mid", vec![Act::ok_after("VERDICT: approve\nCONFIDENCE: 0.7\nFine.", 300)]),
        ("cheap", vec![Act::ok_after("**Verdict:** no\nRisky.", 300)]),
    ]);
    let env = panel(&fake);
    let v = env.json(["consensus", "--models", "judge,mid,cheap", "Ship the migration?"]);
    // weights 2.7, 1.8, 0.9: yes = 4.5 / 5.4
    assert_eq!(v["agreement"], 0.833);
    assert_eq!(v["threshold"], 0.7);
    assert_eq!(v["majority"], "yes");
    assert_eq!(v["recommendation"], "proceed_with_caution");
    assert_eq!(v["dissenters"], serde_json::json!(["cheap"]));
    assert_eq!(v["synthesis_model"], "judge");
    assert!(v["synthesis"].as_str().unwrap().starts_with("Synthesis"));
    assert_eq!(fake.max_concurrency(), 3, "the panel must be asked in parallel");
    // The three provider shapes were all used.
    let paths: Vec<String> = fake.seen().iter().map(|s| s.path.clone()).collect();
    assert!(
        paths.contains(&"/v1/messages".to_string())
            && paths.contains(&"/v1beta/models/cheap:streamGenerateContent?alt=sse".to_string()),
        "{paths:?}"
    );

    let fake = FakeProvider::start(&[
        ("judge", vec![Act::ok("VERDICT: yes")]),
        ("mid", vec![Act::ok("VERDICT: yes")]),
        ("cheap", vec![Act::ok("VERDICT: no")]),
    ]);
    let env = panel(&fake);
    let v = env.json([
        "consensus",
        "--priority",
        "critical",
        "--no-synthesis",
        "--models",
        "judge,mid,cheap",
        "Drop the table?",
    ]);
    assert_eq!((v["threshold"].as_f64(), v["recommendation"].as_str()), (Some(0.9), Some("review_required")));
    let Run { stdout: text, stderr: err, .. } = env.expect(
        ["consensus", "--priority", "critical", "--no-synthesis", "--models", "judge,mid,cheap", "Drop the table?"],
        0,
    );
    assert!(text.contains("recommendation: review required") && text.contains("dissenters:     cheap"), "{text}");
    assert!(err.contains("[3/3]"), "progress on stderr: {err}");
}

#[test]
fn consensus_detects_conflict_and_survives_a_failed_member() {
    let fake = FakeProvider::start(&[
        ("judge", vec![Act::ok("VERDICT: Postgres")]),
        ("mid", vec![Act::ok("VERDICT: SQLite")]),
        ("cheap", vec![Act::Fail(500, "down")]),
    ]);
    let cfg = isolated(&format!(
        "{}{}{}",
        model("judge", "openai", &fake.url(), "K", 2, [0.9; 4], (1.0, 1.0)),
        model("mid", "openai", &fake.url(), "K", 2, [0.9; 4], (1.0, 1.0)),
        model("cheap", "openai", &fake.url(), "K", 1, [0.9; 4], (1.0, 1.0)),
    ));
    let env = TestEnv::with_env_secrets(&cfg).var("K", "k");
    let v = env.json(["consensus", "--no-synthesis", "--models", "judge,mid,cheap", "Which database?"]);
    assert_eq!(v["recommendation"], "conflict");
    assert_eq!(v["conflict"], true);
    assert!(v["votes"][2]["error"].as_str().unwrap().contains("HTTP 500"));
    assert_eq!(v["abstained"], serde_json::json!(["cheap"]));
}

// --- threads -----------------------------------------------------------------------------------

#[test]
fn threads_continue_across_models_and_processes() {
    let fake =
        FakeProvider::start(&[("fa", vec![Act::ok("Noted: the number is 42.")]), ("fb", vec![Act::ok("It was 42.")])]);
    let cfg = isolated(&format!(
        "{}{}",
        model("fa", "openai", &fake.url(), "K", 2, [0.8; 4], (1.0, 1.0)),
        model("fb", "anthropic", &fake.url(), "K", 2, [0.8; 4], (1.0, 1.0))
    ));
    let env = TestEnv::with_env_secrets(&cfg).var("K", "k");
    let first = env.json(["ask", "--model", "fa", "remember the number 42"]);
    let id = first["continuation_id"].as_str().unwrap();
    let second = env.json(["ask", "--model", "fb", "--continuation-id", id, "which number?"]);
    assert_eq!(second["continuation_id"], id);
    let body = &fake.seen()[1].body;
    let msgs = body["messages"].as_array().unwrap();
    let texts: Vec<&str> = msgs.iter().map(|m| m["content"].as_str().unwrap()).collect();
    assert_eq!(texts.len(), 3, "{body}");
    assert!(
        texts[0] == "remember the number 42" && texts[1].contains("[fa via ask] Noted") && texts[2] == "which number?",
        "{texts:?}"
    );
    assert!(body["system"].as_str().is_some(), "Anthropic gets the system prompt apart");
    let err = env.expect(["ask", "--continuation-id", "nope", "x"], 2).stderr;
    assert!(err.contains("unknown continuation_id"), "{err}");
}

// --- local-only and pipelines ------------------------------------------------------------------

#[test]
fn local_only_refuses_cloud_models() {
    let fake = FakeProvider::start(&[("cloud", vec![Act::ok("x")]), ("loc", vec![Act::ok("local answer")])]);
    let cfg = isolated(&format!(
        "{}[runtime.models.loc]\nprovider = \"openai\"\nendpoint = \"local\"\nroles = {{ coding = 0.3 }}\n\
         [runtime.local]\nurl = \"{}/v1\"\nmodel = \"loc\"\n",
        model("cloud", "openai", &fake.url(), "K", 3, [0.9; 4], (1.0, 1.0)),
        fake.url()
    ));
    let env = TestEnv::with_env_secrets(&cfg).var("K", "k");
    let err = env.expect(["ask", "--local", "--model", "cloud", "x"], 1).stderr;
    assert!(err.contains("no usable model"), "{err}");
    let v = env.json(["ask", "--local", "implement it"]);
    assert_eq!(v["model"], "loc");
    assert_eq!(fake.seen().last().unwrap().auth, "none");
    let err = env.expect(["consensus", "--local", "--models", "cloud,loc", "x"], 2).stderr;
    assert!(err.contains("cloud model and local-only mode"), "{err}");
}

#[test]
fn feature_pipeline_writes_a_report() {
    let fake = FakeProvider::start(&[("fa", vec![Act::ok("Step 1: do it.")])]);
    let env = TestEnv::with_env_secrets(&isolated(&model("fa", "openai", &fake.url(), "K", 2, [0.8; 4], (1.0, 1.0))))
        .var("K", "k");
    let out = env.path("report.md");
    env.ok(["pipeline", "feature", "--out", out.to_str().unwrap(), "add a --since flag"]);
    let md = std::fs::read_to_string(&out).unwrap();
    for h in [
        "# aiorch pipeline: feature",
        "## 1. Plan — planning (sisyphus) · fa",
        "## 2. Implement — coding",
        "## 3. Review — review",
        "## 4. Document — search",
        "Total cost: $0.0006",
    ] {
        assert!(md.contains(h), "missing {h:?} in\n{md}");
    }
    // Each stage saw the earlier ones (one thread).
    assert_eq!(fake.seen()[3].body["messages"].as_array().unwrap().len(), 8);
}

// --- aiorch go ---------------------------------------------------------------------------------

#[test]
fn go_hands_the_task_to_an_agent_cli_with_the_prompt_and_mcp_server() {
    let fake = FakeProvider::start(&[("fa", vec![Act::ok("x")])]);
    let env = TestEnv::with_env_secrets(&isolated(&model("fa", "openai", &fake.url(), "K", 2, [0.8; 4], (1.0, 1.0))))
        .var("K", "k")
        .var("OLLAMA_HOST", "http://127.0.0.1:9");
    let record = env.path("claude-run.txt");
    // A stand-in for Claude Code (the real one needs a cloud account): records argv and env.
    let stub = format!(
        "#!/bin/sh\n[ \"$1\" = --version ] && {{ echo '2.1.329 (Claude Code)'; exit 0; }}\n\
         {{ for a in \"$@\"; do printf '%s\\n--\\n' \"$a\"; done; echo \"MODE=$AIORCH_MODE OLLAMA_HOST=$OLLAMA_HOST \
         GO=$AIORCH_GO\"; }} > {}\nexit 3\n",
        record.display()
    );
    env.install_script("claude", &stub);
    let err = env.expect(["go", "add a --since flag to stats"], 1).stderr;
    assert!(err.contains("agent claude (auto: first installed") && err.contains("claude exited with"), "{err}");
    let seen = std::fs::read_to_string(&record).unwrap();
    let args: Vec<&str> = seen.split("\n--\n").collect();
    assert_eq!(args[0], "-p");
    assert!(
        args[1].starts_with("# aiorch go: orchestrator instructions")
            && args[1].contains("Mode: cloud")
            && args[1].contains("add a --since flag to stats"),
        "{}",
        args[1]
    );
    assert_eq!((args[2], args[4], args[5]), ("--mcp-config", "--allowedTools", "mcp__aiorch"));
    let mcp: Value = serde_json::from_str(&std::fs::read_to_string(args[3]).unwrap()).unwrap();
    let server = &mcp["mcpServers"]["aiorch"];
    assert!(server["command"].as_str().unwrap().ends_with("aiorch"));
    let sargs: Vec<&str> = server["args"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
    assert!(sargs.ends_with(&["mcp", "serve"]) && sargs.contains(&"--config"), "{sargs:?}");
    assert!(seen.contains("MODE=cloud OLLAMA_HOST=http://127.0.0.1:9 GO=1"), "{seen}");
}

#[test]
fn go_local_runs_the_builtin_pipeline_on_the_local_model() {
    let fake = FakeProvider::start(&[("loc", vec![Act::ok("Local step.")])]);
    let cfg = isolated(&format!(
        "[runtime.models.loc]\nprovider = \"openai\"\nendpoint = \"local\"\n\
         roles = {{ planning = 0.4, coding = 0.5, review = 0.4, search = 0.5 }}\n[runtime.local]\nurl = \"{}/v1\"\n\
         model = \"loc\"\n",
        fake.url()
    ));
    let env = TestEnv::with_env_secrets(&cfg);
    let Run { stdout: out, stderr: err, .. } = env.expect(["go", "--local", "--agent", "builtin", "write a haiku"], 0);
    assert!(err.contains("mode local, agent builtin"), "{err}");
    assert!(out.contains("# aiorch pipeline: feature") && out.contains("Mode: local"), "{out}");
    assert_eq!(fake.calls("loc"), 4);
    // No usable model: the preflight stops before anything runs.
    let empty = TestEnv::with_env_secrets(&isolated(""));
    let err = empty.expect(["go", "--agent", "builtin", "x"], 1).stderr;
    assert!(err.contains("preflight failed") && err.contains("planning model"), "{err}");
}

#[test]
fn go_preflight_probes_the_local_server_and_names_the_fixes() {
    // A new user: no keys, nothing listening on the local port, no agent CLI on PATH.
    let port = crate::common::free_port();
    let env = TestEnv::with_env_secrets("").var("OLLAMA_HOST", &format!("http://127.0.0.1:{port}")).only_bin_on_path();
    let Run { stdout, stderr: err, .. } = env.expect(["go", "add a README section"], 1);
    assert!(stdout.is_empty(), "{stdout}");
    let local = format!("nothing answers at http://127.0.0.1:{port}/v1");
    assert!(err.contains("agent builtin") && err.contains(&local), "{err}");
    assert!(!err.contains("✓ planning model"), "a model nothing serves was promised:\n{err}");
    for fix in ["aiorch secrets set ANTHROPIC_API_KEY", "aiorch services up local_model", "install an agent CLI"] {
        assert!(err.contains(fix), "missing fix {fix:?} in\n{err}");
    }
    assert!(err.contains("nothing usable for planning, coding, review"), "{err}");
    assert!(err.contains("preflight failed (planning model, coding model, review model, what to set up)"), "{err}");
    assert!(!err.contains("Plan (planning)"), "a stage started:\n{err}");
    // The same machine with the local server answering: the preflight says who answers.
    let fake = FakeProvider::start(&[("x", vec![Act::ok("x")])]);
    let env = TestEnv::with_env_secrets("").var("OLLAMA_HOST", &fake.url()).only_bin_on_path();
    let err = env.expect(["go", "--dry-run", "add a README section"], 0).stderr;
    assert!(err.contains(&format!("planning model: local ({}/v1 answers)", fake.url())), "{err}");
}

#[test]
fn go_preflight_starts_the_agent_cli_before_handing_it_the_task() {
    let fake = FakeProvider::start(&[("fa", vec![Act::ok("x")])]);
    let env = TestEnv::with_env_secrets(&isolated(&model("fa", "openai", &fake.url(), "K", 2, [0.8; 4], (1.0, 1.0))))
        .var("K", "k");
    let ran = env.path("ran");
    // An OpenCode install whose binary is broken: `--version` fails, so the task never reaches it.
    env.install_script(
        "opencode",
        &format!(
            "#!/bin/sh\n[ \"$1\" = --version ] && {{ echo 'bad interpreter' >&2; exit 127; }}\ntouch {}\n",
            ran.display()
        ),
    );
    let err = env.expect(["go", "--agent", "opencode", "fix it"], 1).stderr;
    assert!(err.contains("opencode (") && err.contains("does not start: `--version` exited with"), "{err}");
    assert!(err.contains("bad interpreter") && err.contains("npm install -g opencode-ai"), "{err}");
    assert!(err.contains("preflight failed (agent)") && !ran.exists(), "{err}");
}

#[test]
fn go_hands_opencode_the_mcp_server_through_its_config_content() {
    let fake = FakeProvider::start(&[("fa", vec![Act::ok("x")])]);
    let env = TestEnv::with_env_secrets(&isolated(&model("fa", "openai", &fake.url(), "K", 2, [0.8; 4], (1.0, 1.0))))
        .var("K", "k");
    let record = env.path("opencode-run.txt");
    env.install_script(
        "opencode",
        &format!(
            "#!/bin/sh\n[ \"$1\" = --version ] && {{ echo 1.18.33; exit 0; }}\n\
             {{ printf '%s\\n' \"$1\"; printf '%s\\n' \"$OPENCODE_CONFIG_CONTENT\"; }} > {}\n",
            record.display()
        ),
    );
    let err = env.expect(["go", "--agent", "opencode", "fix it"], 0).stderr;
    assert!(err.contains("agent: opencode 1.18.33"), "{err}");
    let seen = std::fs::read_to_string(&record).unwrap();
    let mut lines = seen.lines();
    assert_eq!(lines.next(), Some("run"));
    let cfg: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    let cmd: Vec<&str> =
        cfg["mcp"]["aiorch"]["command"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
    assert_eq!(cfg["mcp"]["aiorch"]["type"], "local");
    assert!(cmd[0].ends_with("aiorch") && cmd.ends_with(&["mcp", "serve"]), "{cmd:?}");
    // The run is in the ledger.
    let stats = env.json(["stats"]);
    assert!(stats.to_string().contains("agent:opencode"), "{stats}");
}

#[test]
fn a_pipeline_with_a_failed_stage_exits_1_and_names_the_stage() {
    // The plan is written, then every call fails: the Implement stage stops the run.
    let fake = FakeProvider::start(&[("fa", vec![Act::ok("Step 1."), Act::Fail(400, "bad request")])]);
    let env = TestEnv::with_env_secrets(&isolated(&model("fa", "openai", &fake.url(), "K", 2, [0.8; 4], (1.0, 1.0))))
        .var("K", "k");
    let Run { stdout, stderr, .. } = env.expect(["pipeline", "feature", "add a flag"], 1);
    assert!(stdout.contains("stopped early") && stdout.contains("**Failed:**"), "{stdout}");
    assert!(stderr.contains("pipeline feature stopped at stage Implement (coding)"), "{stderr}");
}

#[test]
fn go_local_points_opencode_at_the_local_server() {
    let fake = FakeProvider::start(&[("loc", vec![Act::ok("x")])]);
    let cfg = isolated(&format!(
        "[runtime.models.loc]\nprovider = \"openai\"\nendpoint = \"local\"\nmodel = \"qwen-local\"\n\
         roles = {{ planning = 0.4, coding = 0.5, review = 0.4, search = 0.5 }}\n[runtime.local]\nurl = \"{}/v1\"\n",
        fake.url()
    ));
    let env = TestEnv::with_env_secrets(&cfg);
    let record = env.path("opencode-env.txt");
    env.install_script(
        "opencode",
        &format!(
            "#!/bin/sh\n[ \"$1\" = --version ] && {{ echo 1.18.33; exit 0; }}\n\
             printf '%s' \"$OPENCODE_CONFIG_CONTENT\" > {}\n",
            record.display()
        ),
    );
    let err = env.expect(["go", "--local", "--agent", "opencode", "fix it"], 0).stderr;
    assert!(err.contains("OpenCode runs on the local model qwen-local") && err.contains("calling tools"), "{err}");
    let cfg: Value = serde_json::from_str(&std::fs::read_to_string(&record).unwrap()).unwrap();
    assert_eq!(cfg["model"], "aiorch-local/qwen-local");
    assert_eq!(cfg["provider"]["aiorch-local"]["options"]["baseURL"], format!("{}/v1", fake.url()));
    assert_eq!(cfg["provider"]["aiorch-local"]["models"]["qwen-local"]["tool_call"], true);
    assert!(cfg["mcp"]["aiorch"]["command"].is_array(), "{cfg}");

    // In a git repository: a run that changed nothing is called out, one that edited a file is not.
    env.write(".gitignore", "*\n!.gitignore\n!calc.txt\n");
    env.write("calc.txt", "a - b\n");
    let git = |args: &[&str]| {
        let ok = std::process::Command::new("git").args(args).current_dir(&env.root).output().unwrap().status.success();
        assert!(ok, "git {args:?}");
    };
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "init"]);
    let err = env.expect(["go", "--local", "--agent", "opencode", "fix it"], 0).stderr;
    assert!(err.contains("opencode finished without changing a file") && err.contains("too small"), "{err}");
    env.install_script(
        "opencode",
        &format!(
            "#!/bin/sh\n[ \"$1\" = --version ] && {{ echo 1.18.33; exit 0; }}\necho 'a + b' > {}\n",
            env.path("calc.txt").display()
        ),
    );
    let err = env.expect(["go", "--local", "--agent", "opencode", "fix it"], 0).stderr;
    assert!(!err.contains("too small"), "{err}");
}

#[test]
fn go_gives_copilot_the_policy_as_tool_flags() {
    let fake = FakeProvider::start(&[("fa", vec![Act::ok("x")])]);
    let env = TestEnv::with_env_secrets(&isolated(&model("fa", "openai", &fake.url(), "K", 2, [0.8; 4], (1.0, 1.0))))
        .var("K", "k");
    let record = env.path("copilot-args.txt");
    env.install_script(
        "copilot",
        &format!(
            "#!/bin/sh\n[ \"$1\" = --version ] && {{ echo 'GitHub Copilot CLI 1.0.102.'; exit 0; }}\n\
             for a in \"$@\"; do printf '%s\\n' \"$a\"; done > {}\n",
            record.display()
        ),
    );
    env.expect(["go", "--agent", "copilot", "fix it"], 0);
    let args = std::fs::read_to_string(&record).unwrap();
    let args: Vec<&str> = args.lines().collect();
    assert_eq!(args[0], "-p");
    for flag in ["--deny-tool=shell(rm)", "--deny-tool=shell(sudo)", "--allow-tool=shell(git status)"] {
        assert!(args.contains(&flag), "missing {flag} in {args:?}");
    }
    // With the policy off for Copilot, no flags.
    env.write_config(&format!(
        "{}[policy.clients]\ncopilot = false\n",
        isolated(&model("fa", "openai", &fake.url(), "K", 2, [0.8; 4], (1.0, 1.0)))
    ));
    env.expect(["go", "--agent", "copilot", "fix it"], 0);
    let args = std::fs::read_to_string(&record).unwrap();
    assert!(!args.contains("--deny-tool"), "{args}");
}

#[test]
fn the_consensus_panel_grows_with_priority() {
    let fake = FakeProvider::start(&[
        ("judge", vec![Act::ok("VERDICT: yes")]),
        ("mid", vec![Act::ok("VERDICT: yes")]),
        ("cheap", vec![Act::ok("VERDICT: yes")]),
    ]);
    let env = panel(&fake);
    env.write_config(&format!("{}\n[runtime.consensus]\nsize = 1\n", env.read("config/aiorch.toml")));
    let members = |p: &str| {
        let v = env.json(["consensus", "--priority", p, "--no-synthesis", "Ship it?"]);
        v["votes"].as_array().unwrap().len()
    };
    assert_eq!(members("low"), 1);
    assert_eq!(members("normal"), 1);
    assert_eq!(members("high"), 2);
    assert_eq!(members("critical"), 3, "every usable model");
}
