//! The task store, handoffs, memory, `go --queue` and `aiorch report`: the real binary against
//! the fake provider (tests/it/fake_provider.rs), one SQLite database shared by processes.

use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;

use crate::common::{HANG_LIMIT, TestEnv};
use crate::fake_provider::{Act, FakeProvider};
use crate::runtime::{isolated, model};

fn id(v: &Value) -> i64 {
    v["id"].as_i64().unwrap_or_else(|| panic!("no id in {v}"))
}

#[test]
fn tasks_come_out_of_next_in_dependency_and_priority_order() {
    let env = TestEnv::new();
    let a = id(&env.json(["task", "add", "write the parser"]));
    let b = id(&env.json(["task", "add", "document the parser", "--priority", "critical", "--after", &a.to_string()]));
    let c = id(&env.json(["task", "add", "tidy the README", "--priority", "low"]));
    env.write("body.md", "Use the new parser in `aiorch report`.\n");
    let d = id(&env.json(["task", "add", "wire it up", "--priority", "high", "--body", "body.md", "--role", "coding"]));
    env.cmd(["task", "after", &d.to_string(), &a.to_string()]).assert().success();

    let mut order = vec![];
    loop {
        let r = env.run(["--json", "task", "next"]);
        if r.code == Some(1) {
            assert_eq!(r.json(), Value::Null, "{r}");
            break;
        }
        let t = id(&r.assert_code(0).json());
        order.push(t);
        env.ok(["task", "done", &t.to_string(), "--note", "finished"]);
    }
    // a (normal) first: critical b and high d wait for it; then b, d, and low c last.
    assert_eq!(order, [a, b, d, c]);
    env.expect(["task", "next"], 1).assert_stderr_contains("no task is ready");

    let shown = env.json(["task", "show", &d.to_string()]);
    assert_eq!(shown["task"]["body"], "Use the new parser in `aiorch report`.\n");
    assert_eq!(shown["task"]["role"], "coding");
    assert_eq!(shown["task"]["after"], serde_json::json!([a]));
    assert_eq!(shown["notes"][0]["kind"], "done");
    assert_eq!(shown["notes"][0]["text"], "finished");
    // Each task owns a thread.
    let db = rusqlite::Connection::open(env.state.join("runtime.db")).unwrap();
    let title: String = db
        .query_row("SELECT title FROM threads WHERE id = ?1", [shown["task"]["thread_id"].as_str().unwrap()], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(title, "task: wire it up");
}

#[test]
fn status_transitions_and_bad_ids_and_cycles_exit_2() {
    let env = TestEnv::new();
    let a = id(&env.json(["task", "add", "a"])).to_string();
    let b = id(&env.json(["task", "add", "b", "--after", &a])).to_string();
    env.expect(["task", "after", &a, &b], 2).assert_stderr_contains("would make a cycle");
    env.expect(["task", "after", &a, &a], 2).assert_stderr_contains("would make a cycle");
    env.expect(["task", "show", "99"], 2).assert_stderr_contains("no task 99");
    env.expect(["task", "done", "99"], 2);
    env.expect(["task", "add", "c", "--after", "99"], 2).assert_stderr_contains("no task 99");
    env.expect(["task", "show", "x"], 2);
    assert_eq!(env.json(["task", "list"]).as_array().unwrap().len(), 2, "the refused add left nothing");
    // --after before the title takes ids only (repeated or comma-separated), never the title.
    let c = env.json(["task", "add", "--after", &format!("{a},{b}"), "c", "--after", &a]);
    assert_eq!((c["title"].as_str(), &c["after"]), (Some("c"), &serde_json::json!([1, 2])), "{c}");

    env.expect(["task", "reopen", &a], 2).assert_stderr_contains("task 1 is open: cannot reopen it");
    assert_eq!(env.json(["task", "block", &a, "--note", "needs the API key"])["status"], "blocked");
    env.expect(["task", "block", &a], 2);
    assert_eq!(env.json(["task", "reopen", &a])["status"], "open");
    assert_eq!(env.json(["task", "done", &a])["status"], "done");
    env.expect(["task", "done", &a], 2).assert_stderr_contains("is done");
    env.ok(["task", "note", &b, "halfway", "there"]);
    let listed = env.json(["task", "list", "--status", "done"]);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let notes = env.json(["task", "show", &a])["notes"].clone();
    let kinds: Vec<&str> = notes.as_array().unwrap().iter().map(|n| n["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["block", "reopen", "done"]);

    // Another project has its own queue and ids do not cross over.
    std::fs::create_dir_all(env.path("other")).unwrap();
    env.expect(["task", "show", &a, "--project", "other"], 2);
    assert_eq!(env.json(["task", "list", "--project", "other"]).as_array().unwrap().len(), 0);
}

#[test]
fn memory_stored_by_one_process_is_found_by_another() {
    let env = TestEnv::new();
    env.ok(["memory", "add", "The staging database listens on port 5433"]);
    env.ok(["memory", "add", "Deploys happen on Tuesdays"]);
    let hits = env.json(["memory", "search", "which", "port", "for", "staging?"]);
    assert_eq!(hits.as_array().unwrap().len(), 1, "{hits}");
    assert!(hits[0]["text"].as_str().unwrap().contains("5433"));
    let gone = id(&hits[0]).to_string();
    env.ok(["memory", "forget", &gone]);
    assert_eq!(env.json(["memory", "search", "staging"]).as_array().unwrap().len(), 0);
    env.expect(["memory", "forget", &gone], 2);
}

#[test]
fn handoffs_are_logged_and_rendered_as_markdown() {
    let env = TestEnv::new();
    let t = id(&env.json(["task", "add", "add --since"])).to_string();
    env.ok([
        "handoff",
        "add",
        "--from",
        "planner",
        "--to",
        "coder",
        "--task",
        &t,
        "--context",
        "stats needs a window",
        "--done",
        "wrote the plan",
        "--file",
        "src/cli/mod.rs",
        "--question",
        "UTC or local?",
        "--next",
        "add the flag",
    ]);
    env.expect(["handoff", "add", "--from", "a", "--to", "b"], 2).assert_stderr_contains("empty handoff");
    env.expect(["handoff", "add", "--from", "a", "--to", "b", "--done", "x", "--task", "42"], 2);
    let md = env.ok(["handoff", "show", "--markdown"]).stdout;
    for needle in ["## #1 planner → coder · task 1", "**Open questions**", "- UTC or local?", "- `src/cli/mod.rs`"] {
        assert!(md.contains(needle), "{needle} in\n{md}");
    }
    assert_eq!(env.json(["handoff", "list", "--task", &t]).as_array().unwrap().len(), 1);
}

/// One model at $1/M in and $2/M out that answers every stage.
fn queue_env(fake: &FakeProvider) -> TestEnv {
    let m = model("m", "openai", &fake.url(), "K", 2, [0.9; 4], (1.0, 2.0));
    TestEnv::with_env_secrets(&isolated(&m).replace("timeout_secs = 2", "timeout_secs = 120")).var("K", "k")
}

fn ledger_cost_by_thread(env: &TestEnv) -> std::collections::BTreeMap<String, f64> {
    let db = rusqlite::Connection::open(env.state.join("runtime.db")).unwrap();
    let mut st = db.prepare("SELECT thread_id, SUM(cost) FROM calls GROUP BY thread_id").unwrap();
    st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, f64>(1)?))).unwrap().map(Result::unwrap).collect()
}

#[test]
fn go_queue_works_three_tasks_is_killed_in_the_fourth_and_resumes_it() {
    // The feature pipeline has 4 stages: 3 tasks = 12 calls; the 13th (task 4's plan) hangs
    // until the queue is killed; after that every call answers.
    let mut acts = vec![Act::ok("Stage done.\nFiles: src/lib.rs"); 12];
    acts.push(Act::Partial { text: "one two three ", hang_ms: 60_000 });
    acts.push(Act::ok("Stage done after resuming."));
    let fake = FakeProvider::start(&[("m", acts)]);
    let env = queue_env(&fake);
    let ids: Vec<String> =
        (1..=5).map(|i| id(&env.json(["task", "add", &format!("task number {i}")])).to_string()).collect();
    // Task 5 waits for a task that will be blocked: the queue never takes it.
    env.ok(["task", "block", &ids[4], "--note", "waiting for a decision"]);

    let out = env.json(["go", "--queue", "--agent", "builtin", "--max-tasks", "3"]);
    assert_eq!(out["stopped"], "max-tasks", "{out}");
    let done: Vec<i64> = out["tasks"].as_array().unwrap().iter().map(id).collect();
    assert_eq!(done, [1, 2, 3]);
    assert_eq!(fake.calls("m"), 12);

    let streamed = fake.streamed();
    let mut child = env.spawn(["go", "--queue", "--agent", "builtin"]);
    fake.wait_for("task 4's first stage to stream", |f| f.calls("m") == 13 && f.streamed() >= streamed + 3);
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    let start = Instant::now();
    let code = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s.code();
        }
        assert!(start.elapsed() < HANG_LIMIT, "go --queue did not stop after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(code, Some(1), "interrupted");
    assert_eq!(env.json(["task", "show", &ids[3]])["task"]["status"], "running", "left to resume");
    assert_eq!(env.json(["stats"])["reserved_today"], 0.0, "the call in flight was settled");

    let out = env.json(["go", "--queue", "--agent", "builtin"]);
    assert_eq!(out["stopped"], "empty", "{out}");
    assert_eq!(out["tasks"][0]["id"], 4);
    assert_eq!(out["tasks"][0]["resumed"], true, "{out}");
    assert_eq!(out["tasks"].as_array().unwrap().len(), 1, "the blocked task is not taken: {out}");
    assert_eq!(env.json(["task", "show", &ids[3]])["task"]["status"], "done");
    // The resumed stages ran on the task's thread: they saw the interrupted attempt's turns.
    assert!(fake.seen().last().unwrap().body["messages"].to_string().contains("task number 4"));

    // Handoffs: one per stage change, per task.
    let hs = env.json(["handoff", "list", "--task", &ids[0]]);
    let pairs: Vec<String> =
        hs.as_array().unwrap().iter().map(|h| format!("{}>{}", h["stage"].as_str().unwrap(), h["to"])).collect();
    assert_eq!(pairs, ["plan>\"implement\"", "implement>\"review\"", "review>\"document\"", "document>\"queue\""]);

    // The report: costs per task equal the ledger's calls on each task's thread.
    let report = env.json(["report", "--since", "1d"]);
    let ledger = ledger_cost_by_thread(&env);
    assert_eq!(report["done"].as_array().unwrap().len(), 4, "{report}");
    for e in report["done"].as_array().unwrap() {
        let thread = e["task"]["thread_id"].as_str().unwrap();
        let want = ledger[thread];
        assert!(want > 0.0);
        assert!((e["total"].as_f64().unwrap() - want).abs() < 1e-12, "{e} vs ledger {want}");
        assert_eq!(e["cost"][0]["model"], "m");
    }
    assert_eq!(report["blocked"][0]["why"], "waiting for a decision");
    let md = env.ok(["report", "--out", "report.md"]);
    drop(md);
    let text = env.read("report.md");
    assert!(text.contains("## Done (4)") && text.contains("why: waiting for a decision"), "{text}");
}

#[test]
fn go_queue_stops_on_its_budget_between_tasks() {
    let fake = FakeProvider::start(&[("m", vec![Act::ok("Stage done.")])]);
    let env = queue_env(&fake);
    for i in 1..=3 {
        env.ok(["task", "add", &format!("t{i}")]);
    }
    // One task costs 4 × (100 × $1 + 50 × $2) / 1M = $0.0008: a $0.0001 budget allows one.
    env.expect(["go", "--agent", "builtin", "--budget", "1", "a task"], 2).assert_stderr_contains("only applies");
    env.expect(["go", "--queue", "a task"], 2);
    assert_eq!(fake.calls("m"), 0, "refused before anything ran");
    let out = env.json(["go", "--queue", "--agent", "builtin", "--budget", "0.0001"]);
    assert_eq!(out["stopped"], "budget", "{out}");
    assert_eq!(out["tasks"].as_array().unwrap().len(), 1, "{out}");
    assert!((out["spent"].as_f64().unwrap() - 0.0008).abs() < 1e-9, "{out}");
    assert_eq!(env.json(["task", "list", "--status", "open"]).as_array().unwrap().len(), 2);
}

#[test]
fn a_long_thread_is_summarised_into_memory_not_cut() {
    let fake = FakeProvider::start(&[("m", vec![Act::ok("The deploy key lives at vault path secret/deploy.")])]);
    let m = model("m", "openai", &fake.url(), "K", 2, [0.9; 4], (1.0, 2.0));
    let env =
        TestEnv::with_env_secrets(&isolated(&format!("{m}\n[runtime.threads]\nhistory_tokens = 60\n"))).var("K", "k");
    let first = format!("question one: where does the deploy key live? {}", "context ".repeat(7));
    let cid = env.json(["ask", &first])["continuation_id"].as_str().unwrap().to_string();
    assert_eq!(fake.calls("m"), 1, "one short turn pair fits: nothing to summarise");
    env.ok(["ask", "--continuation-id", &cid, &format!("question two: and the staging one? {}", "more ".repeat(12))]);
    // The window overflowed: the oldest turns were summarised, on the same thread.
    let seen = fake.seen();
    assert_eq!(seen.len(), 3, "the answer, then one summary call");
    let summary_req = seen[2].body["messages"].to_string();
    assert!(
        summary_req.contains("Summarise the conversation") && summary_req.contains("question one"),
        "{summary_req}"
    );
    env.ok(["ask", "--continuation-id", &cid, "question three"]);
    let last = fake.seen().last().unwrap().body["messages"].to_string();
    assert!(last.contains("[Summary of the earlier turns"), "the summary stands in for the cut turns: {last}");
    assert!(!last.contains("question one"), "the summarised turn itself is not sent: {last}");
    assert!(last.contains("[m via ask]"), "turns that still fit are sent as they are: {last}");

    let hits = env.json(["memory", "search", "vault", "deploy"]);
    assert!(hits[0]["source"].as_str().unwrap().starts_with("summary:"), "{hits}");
    let db = rusqlite::Connection::open(env.state.join("runtime.db")).unwrap();
    let booked: i64 = db
        .query_row("SELECT COUNT(*) FROM calls WHERE tool = 'summary' AND thread_id = ?1", [&cid], |r| r.get(0))
        .unwrap();
    assert_eq!(booked, 1, "the summary's cost is the thread's");
}
