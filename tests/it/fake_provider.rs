//! A fake LLM provider for the runtime tests: hand-written HTTP/1.1 on 127.0.0.1 (std threads,
//! no extra crates), speaking the OpenAI chat-completions, Anthropic Messages and Gemini
//! generateContent / streamGenerateContent?alt=sse shapes, each as JSON or SSE, with scripted
//! latency and faults per model name: 429 with Retry-After, 5xx, 401, context length, a hang,
//! a garbage body, a stream that stops halfway (and then hangs or hangs up), a slow stream, a
//! JSON answer to a streaming request, a gateway's own cost.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

/// What the fake does for one request.
#[derive(Debug, Clone)]
pub enum Act {
    /// Answer `text` after `delay_ms`, reporting usage `tokens_in`/`tokens_out`.
    Ok { text: String, delay_ms: u64, tokens_in: u64, tokens_out: u64 },
    /// HTTP status with a provider-shaped error body.
    Fail(u16, &'static str),
    /// Accept, then say nothing for `ms` (a timeout on the client side).
    Hang(u64),
    /// 200 with a body that is not JSON.
    Garbage,
    /// Stream `chunks` deltas `gap_ms` apart (needs `stream: true`, else plain JSON).
    SlowStream { chunks: usize, gap_ms: u64 },
    /// Stream the words of `text`, then stop without finishing: hang up at once (`hang_ms` 0)
    /// or say nothing more for `hang_ms`. Without `stream: true`: a JSON body cut short.
    Partial { text: &'static str, hang_ms: u64 },
    /// A plain JSON completion, even to a streaming request.
    PlainJson(&'static str),
    /// Answer like LiteLLM after its own fallback: the cost it computed and the group that served.
    Gateway { text: &'static str, cost: &'static str, group: &'static str },
}

impl Act {
    pub fn ok(text: &str) -> Act {
        Act::Ok { text: text.into(), delay_ms: 0, tokens_in: 100, tokens_out: 50 }
    }
    pub fn ok_after(text: &str, delay_ms: u64) -> Act {
        Act::Ok { text: text.into(), delay_ms, tokens_in: 100, tokens_out: 50 }
    }
}

#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub model: String,
    /// Which auth header carried a key: `bearer`, `x-api-key`, `x-goog-api-key` or `none`.
    pub auth: &'static str,
    /// The key itself, so tests can check the right secret reached the right provider.
    pub key: Option<String>,
    pub body: Value,
}

#[derive(Default)]
struct State {
    scripts: HashMap<String, Vec<Act>>,
    calls: HashMap<String, usize>,
    seen: Vec<Seen>,
    /// Stream deltas written so far (all models).
    streamed: usize,
}

pub struct FakeProvider {
    pub port: u16,
    state: Arc<Mutex<State>>,
    in_flight: Arc<AtomicUsize>,
    max_in_flight: Arc<AtomicUsize>,
}

impl FakeProvider {
    /// `scripts`: per model name, the acts for its 1st, 2nd, … request (the last one repeats).
    pub fn start(scripts: &[(&str, Vec<Act>)]) -> FakeProvider {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State {
            scripts: scripts.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
            ..Default::default()
        }));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let max_in_flight = Arc::new(AtomicUsize::new(0));
        let (st, inf, mx) = (state.clone(), in_flight.clone(), max_in_flight.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (st, inf, mx) = (st.clone(), inf.clone(), mx.clone());
                std::thread::spawn(move || serve(conn, st, inf, mx));
            }
        });
        FakeProvider { port, state, in_flight, max_in_flight }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }

    pub fn calls(&self, model: &str) -> usize {
        self.seen().iter().filter(|s| s.model == model).count()
    }

    /// Stream deltas written so far, over every request.
    pub fn streamed(&self) -> usize {
        self.state.lock().unwrap().streamed
    }

    /// Wait (bounded by the hang limit) until `cond` holds for this fake.
    pub fn wait_for(&self, what: &str, cond: impl Fn(&FakeProvider) -> bool) {
        let start = std::time::Instant::now();
        while !cond(self) {
            assert!(start.elapsed() < crate::common::HANG_LIMIT, "the fake provider never saw {what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The most requests that were in flight at the same time.
    pub fn max_concurrency(&self) -> usize {
        let _ = &self.in_flight;
        self.max_in_flight.load(Ordering::SeqCst)
    }
}

fn serve(conn: TcpStream, st: Arc<Mutex<State>>, inf: Arc<AtomicUsize>, mx: Arc<AtomicUsize>) {
    conn.set_nodelay(true).ok();
    let mut reader = BufReader::new(conn.try_clone().expect("clone"));
    let mut conn = conn;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let path = request_line.split_whitespace().nth(1).unwrap_or("/").to_string();
        let mut headers = HashMap::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            }
        }
        let len: usize = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let shape = if path.ends_with("/chat/completions") {
            Shape::OpenAi
        } else if path.ends_with("/v1/messages") {
            Shape::Anthropic
        } else if path.contains(":generateContent") || path.contains(":streamGenerateContent") {
            Shape::Gemini
        } else {
            let _ = respond(&mut conn, 404, "application/json", r#"{"error":{"message":"no such route"}}"#);
            continue;
        };
        let model = match shape {
            Shape::Gemini => path.split("/models/").nth(1).and_then(|r| r.split(':').next()).unwrap_or("").to_string(),
            _ => body.get("model").and_then(Value::as_str).unwrap_or("").to_string(),
        };
        let (auth, key) = if let Some(b) = headers.get("authorization") {
            ("bearer", b.strip_prefix("Bearer ").map(str::to_string))
        } else if let Some(k) = headers.get("x-api-key") {
            ("x-api-key", Some(k.clone()))
        } else if let Some(k) = headers.get("x-goog-api-key") {
            ("x-goog-api-key", Some(k.clone()))
        } else {
            ("none", None)
        };
        let act = {
            let mut s = st.lock().unwrap();
            s.seen.push(Seen { path: path.clone(), model: model.clone(), auth, key, body: body.clone() });
            let n = s.calls.entry(model.clone()).or_insert(0);
            *n += 1;
            let idx = *n - 1;
            s.scripts
                .get(&model)
                .map(|acts| acts[idx.min(acts.len() - 1)].clone())
                .unwrap_or(Act::Fail(404, "unknown model"))
        };
        let now = inf.fetch_add(1, Ordering::SeqCst) + 1;
        mx.fetch_max(now, Ordering::SeqCst);
        let stream =
            body.get("stream").and_then(Value::as_bool).unwrap_or(false) || path.contains(":streamGenerateContent");
        let out = Out { shape, model: &model, state: &st };
        let keep = act_respond(&mut conn, &out, act, stream);
        inf.fetch_sub(1, Ordering::SeqCst);
        if !keep {
            return;
        }
    }
}

#[derive(Clone, Copy)]
enum Shape {
    OpenAi,
    Anthropic,
    Gemini,
}

/// Who is answering: the wire shape, the model, and the shared state (to count deltas).
struct Out<'a> {
    shape: Shape,
    model: &'a str,
    state: &'a Mutex<State>,
}

fn json_answer(shape: Shape, model: &str, text: &str, tokens_in: u64, tokens_out: u64) -> Value {
    match shape {
        Shape::OpenAi => json!({
            "id":"x",
            "object":"chat.completion",
            "model":model,
            "choices":[{"index":0,"message":{"role":"assistant","content":text},"finish_reason":"stop"}],
            "usage":{"prompt_tokens":tokens_in,"completion_tokens":tokens_out,"total_tokens":tokens_in+tokens_out},
        }),
        Shape::Anthropic => json!({
            "id":"x",
            "type":"message",
            "role":"assistant",
            "model":model,
            "content":[{"type":"text","text":text}],
            "stop_reason":"end_turn",
            "usage":{"input_tokens":tokens_in,"output_tokens":tokens_out},
        }),
        Shape::Gemini => json!({
            "candidates":[{"content":{"role":"model","parts":[{"text":text}]},"finishReason":"STOP"}],
            "usageMetadata":{"promptTokenCount":tokens_in,"candidatesTokenCount":tokens_out},
        }),
    }
}

fn words(text: &str) -> Vec<String> {
    text.split_inclusive(' ').map(str::to_string).collect()
}

/// Returns whether the connection can be kept alive.
fn act_respond(conn: &mut TcpStream, out: &Out, act: Act, stream: bool) -> bool {
    let (shape, model) = (out.shape, out.model);
    match act {
        Act::Ok { text, delay_ms, tokens_in, tokens_out } => {
            std::thread::sleep(Duration::from_millis(delay_ms));
            if stream {
                let s = Stream { words: words(&text), usage: Some((tokens_in, tokens_out)), ..Stream::default() };
                return sse(conn, out, &s);
            }
            respond(conn, 200, "application/json", &json_answer(shape, model, &text, tokens_in, tokens_out).to_string())
        }
        Act::PlainJson(text) => {
            respond(conn, 200, "application/json", &json_answer(shape, model, text, 100, 50).to_string())
        }
        Act::Partial { text, hang_ms } => {
            if stream {
                let s = Stream { words: words(text), finish: false, ..Stream::default() };
                sse(conn, out, &s);
            } else {
                let body = json_answer(shape, model, text, 100, 50).to_string();
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                    body.len()
                );
                let _ = conn.write_all(head.as_bytes());
                let _ = conn.write_all(&body.as_bytes()[..body.len() / 2]);
                let _ = conn.flush();
            }
            std::thread::sleep(Duration::from_millis(hang_ms));
            false
        }
        Act::Fail(status, msg) => {
            let body = match (shape, status) {
                (Shape::Anthropic, _) => json!({"type":"error","error":{"type":"api_error","message":msg}}),
                (_, 400) if msg.contains("context") => {
                    json!({"error":{"message":msg,"type":"invalid_request_error","code":"context_length_exceeded"}})
                }
                _ => json!({"error":{"message":msg,"code":status}}),
            };
            let mut extra = String::new();
            if status == 429 {
                extra.push_str("retry-after: 7\r\n");
            }
            respond_with(conn, status, "application/json", &body.to_string(), &extra)
        }
        Act::Hang(ms) => {
            std::thread::sleep(Duration::from_millis(ms));
            false
        }
        Act::Garbage => respond(conn, 200, "application/json", "<html>502 Bad Gateway (not really)</html>"),
        Act::Gateway { text, cost, group } => {
            let extra = format!("x-litellm-response-cost: {cost}\r\nx-litellm-model-group: {group}\r\n");
            if stream {
                let s = Stream { words: vec![text.to_string()], usage: Some((100, 50)), extra, ..Stream::default() };
                return sse(conn, &Out { model: group, ..*out }, &s);
            }
            let body = json_answer(Shape::OpenAi, group, text, 100, 50);
            respond_with(conn, 200, "application/json", &body.to_string(), &extra)
        }
        Act::SlowStream { chunks, gap_ms } => {
            let s = Stream { words: (0..chunks).map(|i| format!("w{i} ")).collect(), gap_ms, ..Stream::default() };
            sse(conn, out, &s)
        }
    }
}

impl Clone for Out<'_> {
    fn clone(&self) -> Self {
        *self
    }
}
impl Copy for Out<'_> {}

/// One SSE answer: the text pieces, their pace, the usage at the end, whether it finishes.
struct Stream {
    words: Vec<String>,
    gap_ms: u64,
    usage: Option<(u64, u64)>,
    finish: bool,
    extra: String,
}

impl Default for Stream {
    fn default() -> Stream {
        Stream { words: vec![], gap_ms: 0, usage: None, finish: true, extra: String::new() }
    }
}

/// Write `s` as the shape's event stream (OpenAI chunks and `[DONE]`; Anthropic's typed
/// events; Gemini's whole responses, one per piece). Never keeps the connection.
fn sse(conn: &mut TcpStream, out: &Out, s: &Stream) -> bool {
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n{}connection: close\r\n\r\n",
        s.extra
    );
    if conn.write_all(head.as_bytes()).is_err() {
        return false;
    }
    let model = out.model;
    // A JSON string is sent as its raw text (`[DONE]`).
    let mut send = |event: Option<&str>, v: Value| -> bool {
        let data = match &v {
            Value::String(raw) => raw.clone(),
            other => other.to_string(),
        };
        let line = match event {
            Some(e) => format!("event: {e}\ndata: {data}\n\n"),
            None => format!("data: {data}\n\n"),
        };
        conn.write_all(line.as_bytes()).is_ok() && conn.flush().is_ok()
    };
    let (tin, tout) = s.usage.unwrap_or((0, 0));
    if let Shape::Anthropic = out.shape {
        let mut usage = json!({"output_tokens": 1});
        if s.usage.is_some() {
            usage["input_tokens"] = json!(tin);
        }
        send(
            Some("message_start"),
            json!({"type":"message_start","message":{"id":"x","type":"message","role":"assistant","model":model,
                "content":[],"stop_reason":null,"usage":usage}}),
        );
        send(
            Some("content_block_start"),
            json!({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}),
        );
        send(Some("ping"), json!({"type":"ping"}));
    }
    for w in &s.words {
        std::thread::sleep(Duration::from_millis(s.gap_ms));
        let ok = match out.shape {
            Shape::OpenAi => send(
                None,
                json!({"id":"x","object":"chat.completion.chunk","model":model,
                    "choices":[{"index":0,"delta":{"content":w},"finish_reason":null}]}),
            ),
            Shape::Anthropic => send(
                Some("content_block_delta"),
                json!({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":w}}),
            ),
            Shape::Gemini => send(None, json!({"candidates":[{"content":{"role":"model","parts":[{"text":w}]}}]})),
        };
        if !ok {
            return false;
        }
        out.state.lock().unwrap().streamed += 1;
    }
    if !s.finish {
        return false;
    }
    match out.shape {
        Shape::OpenAi => {
            send(
                None,
                json!({"id":"x","object":"chat.completion.chunk","model":model,
                    "choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}),
            );
            if s.usage.is_some() {
                send(
                    None,
                    json!({"id":"x","object":"chat.completion.chunk","model":model,"choices":[],
                        "usage":{"prompt_tokens":tin,"completion_tokens":tout}}),
                );
            }
            send(None, json!("[DONE]"));
        }
        Shape::Anthropic => {
            send(Some("content_block_stop"), json!({"type":"content_block_stop","index":0}));
            let mut usage = json!({});
            if s.usage.is_some() {
                usage["output_tokens"] = json!(tout);
            }
            send(
                Some("message_delta"),
                json!({"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":usage}),
            );
            send(Some("message_stop"), json!({"type":"message_stop"}));
        }
        Shape::Gemini => {
            let mut last =
                json!({"candidates":[{"content":{"role":"model","parts":[{"text":""}]},"finishReason":"STOP"}]});
            if s.usage.is_some() {
                last["usageMetadata"] = json!({"promptTokenCount":tin,"candidatesTokenCount":tout});
            }
            send(None, last);
        }
    }
    false
}

fn respond(conn: &mut TcpStream, status: u16, ctype: &str, body: &str) -> bool {
    respond_with(conn, status, ctype, body, "")
}

fn respond_with(conn: &mut TcpStream, status: u16, ctype: &str, body: &str, extra: &str) -> bool {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        _ => "Status",
    };
    let msg = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\n{extra}connection: keep-alive\r\n\
         \r\n{body}",
        body.len()
    );
    conn.write_all(msg.as_bytes()).is_ok() && conn.flush().is_ok()
}
