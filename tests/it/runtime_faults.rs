//! The runtime under a provider fault matrix (tests/it/fake_provider.rs): the real `aiorch`
//! binary, real signals, the fake answering in every shape with every fault. Each test pins one
//! promise: stdout carries only the answer that succeeded; SIGTERM, SIGHUP and SIGINT settle the
//! calls in flight as cancelled (with what streamed); the budget is a ceiling; failed members
//! are not asked again in the same run; streams in all three shapes, and JSON where a stream
//! was asked for.

use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;

use crate::common::{HANG_LIMIT, Run, Spawned, TestEnv};
use crate::fake_provider::{Act, FakeProvider};
use crate::runtime::{chain_env, isolated, model};

/// Threads in the sandbox's runtime ledger.
fn threads(env: &TestEnv) -> i64 {
    let db = rusqlite::Connection::open(env.state.join("runtime.db")).unwrap();
    db.query_row("SELECT COUNT(*) FROM threads", [], |r| r.get(0)).unwrap()
}

/// Wait for `child` to exit (bounded), returning its exit code.
fn wait_exit(child: &mut Spawned) -> Option<i32> {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        assert!(start.elapsed() < HANG_LIMIT, "aiorch did not exit after the signal");
        std::thread::sleep(Duration::from_millis(20));
    }
}

// --- 1. stdout carries exactly the answer that succeeded ----------------------------------------

#[test]
fn a_fallback_prints_one_answer_and_bills_what_streamed() {
    let fake = FakeProvider::start(&[
        ("c1", vec![Act::Partial { text: "PARTIAL-half-answer ", hang_ms: 0 }]),
        ("c2", vec![Act::ok("VERDICT: yes")]),
    ]);
    let env = chain_env(&fake);
    let Run { stdout, stderr, .. } = env.expect(["ask", "fix the typo"], 0);
    assert_eq!(stdout, "VERDICT: yes\n", "stdout carries only the answer that succeeded");
    assert!(stderr.contains("c1 failed (unusable response: stream ended"), "{stderr}");
    // The tokens that streamed before the failure are billed at c1's price.
    let s = env.json(["stats"]);
    let c1 = &s["by_model"]["c1"];
    assert_eq!((c1["ok"].as_u64(), c1["errors"]["bad_response"].as_u64()), (Some(0), Some(1)), "{s}");
    assert!(c1["tokens_out"].as_u64().unwrap() >= 2 && c1["cost"].as_f64().unwrap() > 0.0, "{s}");

    // The same contract for the pipeline (and `go`, which runs it): a stage that fails halfway
    // leaves nothing of its text in the report.
    let fake = FakeProvider::start(&[
        ("strong", vec![Act::Partial { text: "PARTIAL-half-answer ", hang_ms: 0 }]),
        ("c1", vec![Act::Partial { text: "PARTIAL-half-answer ", hang_ms: 0 }]),
        ("c2", vec![Act::ok("Stage answer.")]),
    ]);
    let env = chain_env(&fake);
    for args in [vec!["pipeline", "feature", "fix the typo"], vec!["go", "--agent", "builtin", "fix the typo"]] {
        let out = env.expect(args, 0).stdout;
        assert!(out.contains("Stage answer.") && !out.contains("PARTIAL"), "{out}");
    }
}

// --- 2. every signal cleans up like Ctrl-C --------------------------------------------------------

/// Start `aiorch ARGS` against models that stream a few words and then hang; once `deltas`
/// words are out, send `sig`; the process must exit by itself, leaving no reservation and each
/// call recorded as cancelled, billed for what streamed.
fn signal_settles(args: &[&str], models: &[&str], sig: Signal) {
    let scripts: Vec<(&str, Vec<Act>)> =
        models.iter().map(|m| (*m, vec![Act::Partial { text: "one two three four ", hang_ms: 60_000 }])).collect();
    let fake = FakeProvider::start(&scripts);
    let cfg: String = models.iter().map(|m| model(m, "openai", &fake.url(), "K", 2, [0.9; 4], (1.0, 2.0))).collect();
    let env =
        TestEnv::with_env_secrets(&isolated(&cfg).replace("timeout_secs = 2", "timeout_secs = 120")).var("K", "k");
    let mut child = env.spawn(args);
    fake.wait_for("every model stream four words", |f| f.streamed() >= 4 * models.len());
    let before = env.json(["stats"]);
    assert!(before["reserved_today"].as_f64().unwrap() > 0.0, "{before}");
    kill(Pid::from_raw(child.id() as i32), sig).unwrap();
    let code = wait_exit(&mut child);
    assert_ne!(code, Some(0), "{args:?} after {sig}");
    let s = env.json(["stats"]);
    assert_eq!(s["reserved_today"], 0.0, "{args:?} after {sig}: {s}");
    assert_eq!(s["total"]["errors"]["cancelled"], models.len(), "{args:?} after {sig}: {s}");
    assert!(s["spent_today"].as_f64().unwrap() > 0.0, "streamed tokens are billed: {s}");
    assert_eq!(fake.seen().len(), models.len(), "nothing new started after {sig}");
}

#[test]
fn sigterm_sighup_and_sigint_settle_ask_consensus_pipeline_and_go() {
    signal_settles(&["ask", "--model", "m1", "hi"], &["m1"], Signal::SIGTERM);
    signal_settles(&["ask", "--model", "m1", "hi"], &["m1"], Signal::SIGHUP);
    signal_settles(&["ask", "--model", "m1", "hi"], &["m1"], Signal::SIGINT);
    signal_settles(&["consensus", "--models", "m1,m2", "--no-synthesis", "ship?"], &["m1", "m2"], Signal::SIGTERM);
    signal_settles(&["pipeline", "feature", "add a flag"], &["m1"], Signal::SIGHUP);
    signal_settles(&["go", "--agent", "builtin", "add a flag"], &["m1"], Signal::SIGTERM);
}

// --- 3. the budget is a ceiling -------------------------------------------------------------------

/// One model at $1000/M input tokens and free output, so the cost is the input tokens.
fn priced(fake: &FakeProvider, budget: f64) -> TestEnv {
    let m = model("m", "openai", &fake.url(), "K", 2, [0.9; 4], (1000.0, 0.0));
    TestEnv::with_env_secrets(&isolated(&format!("budget = {{ daily_usd = {budget} }}\n{m}"))).var("K", "k")
}

#[test]
fn a_prompt_can_never_settle_above_its_reservation() {
    // 2,800 CJK characters are 8,400 bytes: a tokenizer may bill 6,000 tokens ($6), which a
    // chars/4 estimate (~$2.7) let through a $5 budget. Reserving every byte refuses it first.
    let fake =
        FakeProvider::start(&[("m", vec![Act::Ok { text: "ok".into(), delay_ms: 0, tokens_in: 6000, tokens_out: 0 }])]);
    let env = priced(&fake, 5.0);
    let prompt = "\u{4e2d}".repeat(2800);
    let err = env.expect(["ask", "--model", "m", &prompt], 1).stderr;
    assert!(err.contains("daily budget exhausted"), "{err}");
    assert_eq!(fake.calls("m"), 0);
    assert!(env.json(["stats"])["spent_today"].as_f64().unwrap() <= 5.0);
}

#[test]
fn a_provider_reporting_more_than_possible_is_flagged_and_stops_spending() {
    // "hi" cannot take 100,000 tokens: the call is booked at what the provider billed ($100 of
    // a $10 budget), flagged, and no paid call starts again today.
    let fake = FakeProvider::start(&[(
        "m",
        vec![Act::Ok { text: "ok".into(), delay_ms: 0, tokens_in: 100_000, tokens_out: 0 }],
    )]);
    let env = priced(&fake, 10.0);
    env.ok(["ask", "--model", "m", "hi"]);
    let s = env.json(["stats"]);
    assert_eq!((s["spent_today"].as_f64(), s["left_today"].as_f64()), (Some(100.0), Some(0.0)), "{s}");
    assert_eq!(s["total"]["over_ceiling"], 1, "{s}");
    assert!(env.ok(["stats"]).stdout.contains("1 call reported more than its reservation"));
    let err = env.expect(["ask", "--model", "m", "hi"], 1).stderr;
    assert!(err.contains("daily budget exhausted: $100.0000 spent"), "{err}");
    assert_eq!(fake.calls("m"), 1);
    // Doctor shows spent, reserved and left.
    let doc = env.run(["doctor"]).stdout;
    assert!(doc.contains("$100.0000 spent, $0.0000 reserved, $0.0000 left today of $10.00"), "{doc}");
}

// --- 4. failed members are not asked again in the same run -------------------------------------

#[test]
fn synthesis_and_later_stages_skip_models_that_failed_in_the_run() {
    let fake = FakeProvider::start(&[
        ("judge", vec![Act::Hang(30_000)]),
        ("mid", vec![Act::Fail(500, "down")]),
        ("cheap", vec![Act::ok("VERDICT: yes")]),
    ]);
    let cfg = isolated(&format!(
        "{}{}{}",
        model("judge", "openai", &fake.url(), "K", 3, [0.95; 4], (1.0, 1.0)),
        model("mid", "openai", &fake.url(), "K", 2, [0.9; 4], (1.0, 1.0)),
        model("cheap", "openai", &fake.url(), "K", 1, [0.8; 4], (1.0, 1.0)),
    ));
    let env = TestEnv::with_env_secrets(&cfg).var("K", "k");
    let v = env.json(["consensus", "--models", "judge,mid,cheap", "Ship it?"]);
    assert_eq!(v["synthesis_model"], "cheap", "{v}");
    assert_eq!((fake.calls("judge"), fake.calls("mid")), (1, 1), "the synthesis went back to a failed member");

    // A pipeline's later stages do not start on a model that failed in an earlier one.
    let fake = FakeProvider::start(&[
        ("c1", vec![Act::Fail(500, "down"), Act::ok("c1 is back")]),
        ("c2", vec![Act::ok("c2 answer")]),
    ]);
    let env = chain_env(&fake);
    env.ok(["pipeline", "feature", "fix the typo"]);
    assert_eq!(fake.calls("c1"), 1, "{:?}", fake.seen().iter().map(|s| &s.model).collect::<Vec<_>>());
    assert_eq!(fake.calls("c2"), 4);
}

// --- 7. a JSON answer to a streaming request; no empty thread -------------------------------------

#[test]
fn streaming_accepts_a_json_answer_and_a_failed_ask_leaves_no_thread() {
    let fake = FakeProvider::start(&[("fa", vec![Act::PlainJson("plain answer"), Act::Garbage])]);
    let env = TestEnv::with_env_secrets(&isolated(&model("fa", "openai", &fake.url(), "K", 2, [0.8; 4], (1.0, 2.0))))
        .var("K", "k");
    assert_eq!(env.expect(["ask", "--model", "fa", "hi"], 0).stdout, "plain answer\n");
    assert_eq!(fake.seen()[0].body["stream"], true);
    assert_eq!(threads(&env), 1);
    let err = env.expect(["ask", "--model", "fa", "hi"], 1).stderr;
    assert!(err.contains("not JSON"), "{err}");
    assert_eq!(threads(&env), 1, "a failed ask leaves no empty thread");
}

// --- 8. Anthropic and Gemini stream ----------------------------------------------------------------

#[test]
fn anthropic_and_gemini_stream_with_usage_and_fall_back_cleanly() {
    let fake = FakeProvider::start(&[
        ("an", vec![Act::Ok { text: "hello from claude".into(), delay_ms: 0, tokens_in: 11, tokens_out: 3 }]),
        ("ge", vec![Act::Ok { text: "hello from gemini".into(), delay_ms: 0, tokens_in: 13, tokens_out: 4 }]),
        ("an-cut", vec![Act::Partial { text: "HALF ", hang_ms: 0 }]),
        ("ge-cut", vec![Act::Partial { text: "HALF ", hang_ms: 0 }]),
    ]);
    let cfg = isolated(&format!(
        "{}{}{}{}",
        model("an", "anthropic", &fake.url(), "K", 2, [0.8; 4], (1.0, 2.0)),
        model("ge", "gemini", &fake.url(), "K", 2, [0.8; 4], (1.0, 2.0)),
        model("an-cut", "anthropic", &fake.url(), "K", 1, [0.8; 4], (0.1, 0.2)),
        model("ge-cut", "gemini", &fake.url(), "K", 1, [0.8; 4], (0.1, 0.2)),
    ));
    let env = TestEnv::with_env_secrets(&cfg).var("K", "k");
    assert_eq!(env.expect(["ask", "--model", "an", "hi"], 0).stdout, "hello from claude\n");
    assert_eq!(env.expect(["ask", "--model", "ge", "hi"], 0).stdout, "hello from gemini\n");
    let seen = fake.seen();
    assert_eq!((seen[0].path.as_str(), &seen[0].body["stream"]), ("/v1/messages", &Value::Bool(true)));
    assert_eq!(seen[1].path, "/v1beta/models/ge:streamGenerateContent?alt=sse");
    let s = env.json(["stats"]);
    assert_eq!(
        (s["by_model"]["an"]["tokens_in"].as_u64(), s["by_model"]["an"]["tokens_out"].as_u64()),
        (Some(11), Some(3))
    );
    assert_eq!(
        (s["by_model"]["ge"]["tokens_in"].as_u64(), s["by_model"]["ge"]["tokens_out"].as_u64()),
        (Some(13), Some(4))
    );
    // Streams that stop halfway fall back, and only the answer that succeeded is printed.
    let Run { stdout, stderr, .. } = env.expect(["ask", "fix the typo"], 0);
    assert!(stdout == "hello from claude\n" || stdout == "hello from gemini\n", "{stdout}");
    assert!(stderr.contains("an-cut failed") && stderr.contains("ge-cut failed"), "{stderr}");
}

#[test]
fn go_passes_sigterm_on_to_the_agent_and_waits_for_it() {
    let fake = FakeProvider::start(&[("fa", vec![Act::ok("x")])]);
    let env = TestEnv::with_env_secrets(&isolated(&model("fa", "openai", &fake.url(), "K", 2, [0.8; 4], (1.0, 1.0))))
        .var("K", "k")
        .var("OLLAMA_HOST", "http://127.0.0.1:9");
    let (started, stopped) = (env.path("agent-started"), env.path("agent-stopped"));
    // A stand-in for Claude Code that runs until it is told to stop.
    env.install_script(
        "claude",
        &format!(
            "#!/bin/sh\n[ \"$1\" = --version ] && {{ echo 2.0.0; exit 0; }}\n\
             trap 'echo term > {}; exit 0' TERM\necho $$ > {}\nwhile :; do sleep 0.05; done\n",
            stopped.display(),
            started.display()
        ),
    );
    let mut child = env.spawn(["go", "add a flag"]);
    let start = Instant::now();
    while std::fs::read_to_string(&started).map_or(true, |s| s.trim().is_empty()) {
        assert!(start.elapsed() < HANG_LIMIT, "the agent never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let agent: i32 = std::fs::read_to_string(&started).unwrap().trim().parse().unwrap();
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    let code = wait_exit(&mut child);
    let got = std::fs::read_to_string(&stopped).unwrap_or_default();
    // Whatever happened, leave no agent behind.
    let _ = kill(Pid::from_raw(agent), Signal::SIGKILL);
    assert_eq!(got.trim(), "term", "the agent was not told to stop (exit {code:?})");
    assert_eq!(code, Some(0), "go exits with the agent's status");
}
