//! `aiorch mcp serve` over real stdio JSON-RPC (newline-delimited), as any MCP client speaks it:
//! handshake, tools/list, tool calls with progress notifications, errors.

use std::io::{BufRead, BufReader, Write};
use std::process::{ChildStdin, ChildStdout};

use serde_json::{Value, json};

use crate::common::{Spawned, TestEnv};
use crate::fake_provider::{Act, FakeProvider};

struct Client {
    /// Killed and reaped when the client drops.
    _child: Spawned,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    next: u64,
}

impl Client {
    fn start(env: &TestEnv) -> Client {
        let mut child = env.spawn(["mcp", "serve"]);
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut me = Client { _child: child, stdin, stdout, next: 1 };
        let init = me.request(
            "initialize",
            json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "it", "version": "0"}}),
            &mut vec![],
        );
        assert_eq!(init["result"]["serverInfo"]["name"], "aiorch", "{init}");
        me.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        me
    }

    fn send(&mut self, v: Value) {
        writeln!(self.stdin, "{v}").unwrap();
        self.stdin.flush().unwrap();
    }

    /// Send a request; collect notifications until its response arrives.
    fn request(&mut self, method: &str, params: Value, notes: &mut Vec<Value>) -> Value {
        let id = self.next;
        self.next += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let mut line = String::new();
            assert!(self.stdout.read_line(&mut line).unwrap() > 0, "server closed stdout");
            let v: Value =
                serde_json::from_str(&line).unwrap_or_else(|e| panic!("stdout is not JSON-RPC ({e}): {line}"));
            if v.get("id") == Some(&json!(id)) {
                return v;
            }
            notes.push(v);
        }
    }

    fn call(&mut self, tool: &str, args: Value, notes: &mut Vec<Value>) -> Value {
        let r = self.request(
            "tools/call",
            json!({"name": tool, "arguments": args, "_meta": {"progressToken": "p1"}}),
            notes,
        );
        r.get("result").cloned().unwrap_or(r)
    }
}

#[test]
fn mcp_serve_lists_and_calls_tools_with_progress() {
    let fake = FakeProvider::start(&[
        ("m1", vec![Act::ok("VERDICT: yes\nCONFIDENCE: 0.9\nok")]),
        ("m2", vec![Act::ok("VERDICT: yes\nfine")]),
        ("m3", vec![Act::ok("VERDICT: no\nrisky")]),
    ]);
    let models: String = [("m1", 3), ("m2", 2), ("m3", 1)]
        .iter()
        .map(|(id, tier)| {
            format!(
                "[runtime.models.{id}]\nprovider = \"openai\"\nendpoint = \"{}/v1\"\nkey = \"K\"\ntier = {tier}\n\
                 price_in = 1.0\nprice_out = 2.0\n\
                 roles = {{ planning = 0.9, coding = 0.9, review = 0.9, search = 0.9 }}\n\n",
                fake.url()
            )
        })
        .collect();
    let env = TestEnv::with_env_secrets(&format!("[runtime]\nbuiltin_models = false\ntimeout_secs = 5\n{models}"))
        .var("K", "k");
    let mut c = Client::start(&env);
    let mut notes = vec![];
    let list = c.request("tools/list", json!({}), &mut notes);
    let names: Vec<&str> =
        list["result"]["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "chat",
            "consensus",
            "codereview",
            "precommit",
            "planner",
            "clink",
            "route",
            "listmodels",
            "stats",
            "orchestrate",
            "handoff",
            "memory_store",
            "memory_search"
        ]
    );

    let chat = c.call("chat", json!({"prompt": "hello", "model": "m2"}), &mut notes);
    assert_eq!(chat["isError"], false, "{chat}");
    let cid = chat["structuredContent"]["continuation_id"].as_str().unwrap().to_string();
    assert!(chat["content"][0]["text"].as_str().unwrap().contains("continuation_id"));

    // Another tool, another model, same thread.
    let plan = c.call("planner", json!({"task": "plan it", "continuation_id": cid}), &mut notes);
    assert_eq!(plan["structuredContent"]["continuation_id"], cid.as_str(), "{plan}");
    let last = fake.seen().last().unwrap().body.clone();
    assert!(last["messages"].to_string().contains("hello"), "the planner saw the chat turn: {last}");

    notes.clear();
    let cons = c.call(
        "consensus",
        json!({"question": "ship?", "models": ["m1", "m2", "m3"], "synthesize": false}),
        &mut notes,
    );
    assert_eq!(cons["structuredContent"]["recommendation"], "proceed_with_caution", "{cons}");
    let progress: Vec<&Value> = notes.iter().filter(|n| n["method"] == "notifications/progress").collect();
    assert_eq!(progress.len(), 3, "one progress notification per model: {notes:?}");
    assert_eq!(progress[2]["params"]["progress"], 3.0);
    assert_eq!(progress[2]["params"]["total"], 3.0);

    let route = c.call("route", json!({"task": "review the diff", "role": "oracle"}), &mut notes);
    assert!(route["content"][0]["text"].as_str().unwrap().contains("review (oracle)"), "{route}");
    let stats = c.call("stats", json!({}), &mut notes);
    assert_eq!(stats["structuredContent"]["total"]["calls"], 5, "{stats}");
    let models = c.call("listmodels", json!({}), &mut notes);
    assert_eq!(models["structuredContent"]["models"].as_array().unwrap().len(), 3);

    // orchestrate: one routed call at normal priority, a consensus of every model at critical;
    // each leaves a handoff in the project's log.
    let calls = fake.seen().len();
    let single = c.call("orchestrate", json!({"task": "rename a variable"}), &mut notes);
    assert_eq!(single["structuredContent"]["mode"], "single", "{single}");
    assert_eq!(fake.seen().len(), calls + 1);
    let critical = c.call("orchestrate", json!({"task": "drop the users table?", "priority": "critical"}), &mut notes);
    assert_eq!(critical["structuredContent"]["mode"], "consensus", "{critical}");
    assert_eq!(critical["structuredContent"]["votes"].as_array().unwrap().len(), 3, "{critical}");
    let log = env.json(["handoff", "list"]);
    let stages: Vec<&str> = log.as_array().unwrap().iter().map(|h| h["stage"].as_str().unwrap()).collect();
    assert_eq!(stages, ["orchestrate (normal)", "orchestrate (critical)"], "{log}");
    assert!(log[1]["from"].as_str().unwrap().starts_with("consensus of "), "{log}");

    // Tool-level failures are isError results, not protocol errors.
    let bad = c.call("chat", json!({"prompt": "x", "model": "nope"}), &mut notes);
    assert_eq!(bad["isError"], true);
    assert!(bad["content"][0]["text"].as_str().unwrap().contains("unknown model `nope`"), "{bad}");
    let clink = c.call("clink", json!({"cli": "claude", "prompt": "x"}), &mut notes);
    assert_eq!(clink["isError"], true);
    assert!(clink["content"][0]["text"].as_str().unwrap().contains("not installed"), "{clink}");
    let unknown = c.request("tools/call", json!({"name": "nope", "arguments": {}}), &mut notes);
    assert!(unknown.get("error").is_some(), "{unknown}");
}

#[test]
fn mcp_memory_and_handoffs_are_shared_with_the_cli() {
    let env = TestEnv::new();
    env.ok(["memory", "add", "The release branch is cut on Fridays"]);
    let mut c = Client::start(&env);
    let mut notes = vec![];
    let found = c.call("memory_search", json!({"query": "when is the release branch cut"}), &mut notes);
    assert_eq!(found["isError"], false, "{found}");
    assert!(found["content"][0]["text"].as_str().unwrap().contains("Fridays"), "{found}");
    let stored = c.call("memory_store", json!({"text": "CI runs on two cores"}), &mut notes);
    assert_eq!(stored["isError"], false, "{stored}");
    let hits = env.json(["memory", "search", "cores"]);
    assert_eq!(hits[0]["text"], "CI runs on two cores", "another process finds it: {hits}");
    assert_eq!(hits[0]["source"], "mcp");

    let h = c.call(
        "handoff",
        json!({"to": "reviewer", "done": "patched the parser", "files": ["src/parse.rs"], "next": ["review it"]}),
        &mut notes,
    );
    assert_eq!(h["isError"], false, "{h}");
    let log = env.ok(["handoff", "show", "--markdown"]).stdout;
    assert!(log.contains("mcp → reviewer") && log.contains("`src/parse.rs`"), "{log}");
    let bad = c.call("handoff", json!({"to": "x", "done": "y", "task": 7}), &mut notes);
    assert_eq!(bad["isError"], true, "an unknown task is refused: {bad}");
    let empty = c.call("memory_search", json!({"query": "?!"}), &mut notes);
    assert_eq!(empty["isError"], true);
    // consensus takes a role (checked before any model is asked).
    let bad_role = c.call("consensus", json!({"question": "ship?", "role": "chef"}), &mut notes);
    assert!(bad_role["content"][0]["text"].as_str().unwrap().contains("chef"), "{bad_role}");
}

#[test]
fn mcp_cancellation_stops_the_fan_out_and_frees_the_budget() {
    let fake = FakeProvider::start(&[("s1", vec![Act::Hang(15_000)]), ("s2", vec![Act::Hang(15_000)])]);
    let models: String = ["s1", "s2"]
        .iter()
        .map(|id| {
            format!(
                "[runtime.models.{id}]\nprovider = \"openai\"\nendpoint = \"{}/v1\"\nkey = \"K\"\ntier = 2\n\
                 price_in = 1.0\nprice_out = 2.0\nroles = {{ review = 0.9 }}\n\n",
                fake.url()
            )
        })
        .collect();
    let env = TestEnv::with_env_secrets(&format!("[runtime]\nbuiltin_models = false\ntimeout_secs = 60\n{models}"))
        .var("K", "k");
    let mut c = Client::start(&env);
    let id = c.next;
    c.next += 1;
    c.send(json!({
        "jsonrpc": "2.0",
        "id": id,
        "method": "tools/call",
        "params": {"name": "consensus", "arguments": {"question": "q", "models": ["s1", "s2"], "synthesize": false}},
    }));
    // Both requests are in flight (and their worst case reserved) before we cancel.
    let mut notes = vec![];
    for _ in 0..100 {
        if fake.seen().len() == 2 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let before = c.call("stats", json!({}), &mut notes);
    assert!(before["structuredContent"]["reserved_today"].as_f64().unwrap() > 0.0, "{before}");
    c.send(
        json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": id, "reason": "test"}}),
    );
    // Well before the models would answer, the calls are settled as cancelled and nothing is held.
    let mut last = Value::Null;
    for _ in 0..100 {
        last = c.call("stats", json!({}), &mut notes);
        let s = &last["structuredContent"];
        if s["reserved_today"] == 0.0 && s["total"]["errors"]["cancelled"] == 2 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(last["structuredContent"]["total"]["errors"]["cancelled"], 2, "{last}");
    assert_eq!(last["structuredContent"]["reserved_today"], 0.0);
    assert_eq!(last["structuredContent"]["spent_today"], 0.0);
}

/// A server whose one model streams four words and then hangs, with a chat call in flight
/// (its worst case reserved, the words streamed). Returns the client and the fake.
fn mid_call() -> (TestEnv, Client, FakeProvider) {
    let fake = FakeProvider::start(&[("h", vec![Act::Partial { text: "one two three four ", hang_ms: 60_000 }])]);
    let env = TestEnv::with_env_secrets(&format!(
        "[runtime]\nbuiltin_models = false\ntimeout_secs = 120\n[runtime.models.h]\nprovider = \"openai\"\n\
         endpoint = \"{}/v1\"\nkey = \"K\"\ntier = 2\nprice_in = 1.0\nprice_out = 2.0\nroles = {{ coding = 0.9 }}\n",
        fake.url()
    ))
    .var("K", "k");
    let mut c = Client::start(&env);
    let id = c.next;
    c.next += 1;
    c.send(json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": "chat", "arguments": {"prompt": "hi", "model": "h"}}}));
    fake.wait_for("the chat stream four words", |f| f.streamed() >= 4);
    (env, c, fake)
}

/// After the server went away: nothing reserved, the call recorded as cancelled and billed for
/// the words that streamed.
fn settled(env: &TestEnv) {
    let s = env.json(["stats"]);
    assert_eq!(s["reserved_today"], 0.0, "{s}");
    assert_eq!(s["total"]["errors"]["cancelled"], 1, "{s}");
    assert!(s["spent_today"].as_f64().unwrap() > 0.0, "{s}");
}

fn exits(child: &mut crate::common::Spawned) {
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        assert!(start.elapsed() < crate::common::HANG_LIMIT, "mcp serve did not exit");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn mcp_serve_settles_calls_on_sigterm_sighup_and_stdin_eof() {
    for sig in [nix::sys::signal::Signal::SIGTERM, nix::sys::signal::Signal::SIGHUP] {
        let (env, mut c, _fake) = mid_call();
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(c._child.id() as i32), sig).unwrap();
        exits(&mut c._child);
        settled(&env);
    }
    // The client hangs up (closes our stdin) mid-call.
    let (env, c, _fake) = mid_call();
    let Client { _child: mut child, stdin, .. } = c;
    drop(stdin);
    exits(&mut child);
    settled(&env);
}

#[test]
fn mcp_framing_errors_get_json_rpc_answers() {
    let env = TestEnv::with_env_secrets("[runtime]\nbuiltin_models = false\n");
    let mut c = Client::start(&env);
    let read = |c: &mut Client| -> Value {
        let mut line = String::new();
        assert!(c.stdout.read_line(&mut line).unwrap() > 0, "server closed stdout");
        serde_json::from_str(&line).unwrap()
    };
    writeln!(c.stdin, "{{\"jsonrpc\": \"2.0\", \"id\": 5, \"method\": ").unwrap();
    // A valid request right behind it: a server that ignores the bad line answers this one
    // first (and the test fails) instead of leaving the test waiting.
    c.send(json!({"jsonrpc": "2.0", "id": 99, "method": "ping"}));
    let v = read(&mut c);
    assert_eq!((v["id"].clone(), v["error"]["code"].as_i64()), (Value::Null, Some(-32700)), "{v}");
    assert_eq!(read(&mut c)["id"], 99);
    for (id, params) in [(6, json!({"name": "stats", "arguments": [1, 2]})), (7, json!({"arguments": {}}))] {
        c.send(json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params}));
        let v = read(&mut c);
        assert_eq!((v["id"].as_i64(), v["error"]["code"].as_i64()), (Some(id), Some(-32602)), "{v}");
    }
    // The connection still works.
    let ok = c.call("stats", json!({}), &mut vec![]);
    assert_eq!(ok["isError"], false, "{ok}");
}

#[test]
fn mcp_serve_exits_when_the_client_hangs_up_before_the_handshake() {
    let env = TestEnv::with_env_secrets("[runtime]\nbuiltin_models = false\n");
    let mut child = env.spawn(["mcp", "serve"]);
    drop(child.stdin.take());
    exits(&mut child);
}
