//! Provider clients over plain reqwest with our own small types: any OpenAI-compatible API
//! (OpenAI, LiteLLM, llama-server, Ollama /v1, OpenRouter), Anthropic Messages, Gemini
//! generateContent. Every failure is a typed `ProviderError` the fallback logic can act on.

mod anthropic;
mod gemini;
mod openai;

use std::sync::OnceLock;
use std::time::Duration;

use serde::Serialize;

use super::registry::{Model, Provider};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MsgRole {
    System,
    User,
    Assistant,
}

impl MsgRole {
    pub fn name(self) -> &'static str {
        match self {
            MsgRole::System => "system",
            MsgRole::User => "user",
            MsgRole::Assistant => "assistant",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Message {
    pub role: MsgRole,
    pub content: String,
}

impl Message {
    pub fn system(c: impl Into<String>) -> Message {
        Message { role: MsgRole::System, content: c.into() }
    }
    pub fn user(c: impl Into<String>) -> Message {
        Message { role: MsgRole::User, content: c.into() }
    }
    pub fn assistant(c: impl Into<String>) -> Message {
        Message { role: MsgRole::Assistant, content: c.into() }
    }
}

/// Streamed text arrives here as it comes (every provider streams when it is set).
pub type OnText<'a> = Option<&'a (dyn Fn(&str) + Send + Sync)>;

#[derive(Debug, Clone)]
pub struct ChatRequest {
    pub messages: Vec<Message>,
    pub max_tokens: u64,
    pub temperature: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChatResponse {
    pub text: String,
    pub tokens_in: u64,
    pub tokens_out: u64,
    /// False when the provider sent no usage and the counts are estimates.
    pub usage_reported: bool,
    pub finish_reason: Option<String>,
    /// The gateway's own cost for the call (LiteLLM's `x-litellm-response-cost`).
    pub reported_cost: Option<f64>,
    /// The deployment group that answered behind a gateway alias (`x-litellm-model-group`).
    pub served_by: Option<String>,
}

impl ChatResponse {
    /// A parsed answer: token counts as the provider reported them (missing ones count as 0 and
    /// mark the usage as not reported); gateway fields are filled in by the caller.
    pub fn parsed(
        text: String,
        tokens_in: Option<u64>,
        tokens_out: Option<u64>,
        finish_reason: Option<&str>,
    ) -> ChatResponse {
        ChatResponse {
            text,
            tokens_in: tokens_in.unwrap_or(0),
            tokens_out: tokens_out.unwrap_or(0),
            usage_reported: tokens_in.is_some() && tokens_out.is_some(),
            finish_reason: finish_reason.map(str::to_string),
            reported_cost: None,
            served_by: None,
        }
    }
}

#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum ProviderError {
    #[error(
        "rate limited (HTTP {status}){}: {message}",
        retry_after.map(|s| format!(", retry after {s}s")).unwrap_or_default()
    )]
    RateLimited { status: u16, retry_after: Option<u64>, message: String },
    #[error("server error (HTTP {status}): {message}")]
    Server { status: u16, message: String },
    #[error("timed out after {after_ms} ms")]
    Timeout { after_ms: u64 },
    #[error("prompt exceeds the model's context window: {message}")]
    ContextWindow { message: String },
    #[error("authentication failed (HTTP {status}): {message}")]
    Auth { status: u16, message: String },
    #[error("no API key: {0}")]
    NoKey(String),
    #[error("request rejected (HTTP {status}): {message}")]
    BadRequest { status: u16, message: String },
    #[error("unusable response: {0}")]
    BadResponse(String),
    #[error("connection failed: {0}")]
    Network(String),
    #[error("cancelled")]
    Cancelled,
}

impl ProviderError {
    /// A stable name for the ledger and stats.
    pub fn kind(&self) -> &'static str {
        match self {
            ProviderError::RateLimited { .. } => "rate_limit",
            ProviderError::Server { .. } => "server",
            ProviderError::Timeout { .. } => "timeout",
            ProviderError::ContextWindow { .. } => "context_window",
            ProviderError::Auth { .. } => "auth",
            ProviderError::NoKey(_) => "no_key",
            ProviderError::BadRequest { .. } => "bad_request",
            ProviderError::BadResponse(_) => "bad_response",
            ProviderError::Network(_) => "network",
            ProviderError::Cancelled => "cancelled",
        }
    }

    /// Whether moving to the next model in the chain can help.
    pub fn falls_back(&self) -> bool {
        !matches!(self, ProviderError::BadRequest { .. } | ProviderError::Cancelled)
    }

    /// Credentials are bad: never try them again, on any model that shares them.
    pub fn is_credential(&self) -> bool {
        matches!(self, ProviderError::Auth { .. } | ProviderError::NoKey(_))
    }
}

/// One reqwest client for the process (connection pooling across fan-out calls).
pub fn http() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
        reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .pool_idle_timeout(Duration::from_secs(60))
            .user_agent(concat!("aiorch/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("http client builds")
    })
}

/// Send one chat request to `model`, with the given key (None for keyless local servers).
pub async fn chat(
    model: &Model,
    key: Option<&str>,
    req: &ChatRequest,
    on_text: OnText<'_>,
) -> Result<ChatResponse, ProviderError> {
    let mut resp = match model.provider {
        Provider::Openai => openai::chat(http(), model, key, req, on_text).await?,
        Provider::Anthropic => anthropic::chat(http(), model, key, req, on_text).await?,
        Provider::Gemini => gemini::chat(http(), model, key, req, on_text).await?,
    };
    if !resp.usage_reported {
        resp.tokens_in = estimate_tokens(req.messages.iter().map(|m| m.content.as_str()));
        resp.tokens_out = estimate_tokens([resp.text.as_str()]);
    }
    Ok(resp)
}

/// ~4 characters per token, plus a few per message: good enough for budgets and routing.
pub fn estimate_tokens<'a>(texts: impl IntoIterator<Item = &'a str>) -> u64 {
    texts.into_iter().map(|t| t.len() as u64 / 4 + 4).sum()
}

/// Tokens a prompt can possibly take: every byte (a byte-level BPE token is at least one byte;
/// SentencePiece with byte fallback too) plus the chat template's tokens per message and for
/// priming the reply. An upper bound for budget reservations, never an estimate.
pub fn ceiling_tokens(messages: &[Message]) -> u64 {
    const PER_MESSAGE: u64 = 8;
    const PRIMING: u64 = 8;
    messages.iter().map(|m| m.content.len() as u64 + PER_MESSAGE).sum::<u64>() + PRIMING
}

/// Read an SSE response: a typed error for non-2xx; each event's data to `on_event`. A server
/// that answers a streaming request with plain JSON (some proxies and local servers ignore
/// `stream: true`) gets its whole body passed to `on_json` instead.
pub(crate) async fn read_events(
    resp: reqwest::Response,
    mut on_event: impl FnMut(String) -> Result<(), ProviderError>,
) -> Result<Option<serde_json::Value>, ProviderError> {
    use futures_util::StreamExt;
    let status = resp.status().as_u16();
    if !(200..300).contains(&status) {
        let headers = resp.headers().clone();
        let body = resp.text().await.map_err(net_error)?;
        return Err(classify_status(status, &headers, &body));
    }
    let is_json = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("json"));
    if is_json {
        return json_body(resp).await.map(Some);
    }
    let mut parser = crate::sse::Parser::default();
    let mut bytes = resp.bytes_stream();
    while let Some(chunk) = bytes.next().await {
        let chunk = chunk.map_err(net_error)?;
        for data in parser.push(&chunk) {
            on_event(data)?;
        }
    }
    if let Some(data) = parser.finish() {
        on_event(data)?;
    }
    Ok(None)
}

/// Parse one stream event as JSON.
pub(crate) fn event_json(data: &str) -> Result<serde_json::Value, ProviderError> {
    serde_json::from_str(data).map_err(|e| {
        ProviderError::BadResponse(format!("bad stream event ({e}): {}", data.chars().take(120).collect::<String>()))
    })
}

/// Map a non-2xx status and body to a typed error.
pub(crate) fn classify_status(status: u16, headers: &reqwest::header::HeaderMap, body: &str) -> ProviderError {
    let message = error_message(body);
    let lower = body.to_ascii_lowercase();
    let context = [
        "context_length_exceeded",
        "maximum context length",
        "prompt is too long",
        "exceed_context_size",
        "exceeds the available context",
        "context window",
        "too many tokens",
        "input token count",
    ]
    .iter()
    .any(|p| lower.contains(p));
    match status {
        401 | 403 => ProviderError::Auth { status, message },
        429 => ProviderError::RateLimited {
            status,
            retry_after: headers.get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse().ok()),
            message,
        },
        400 | 413 | 422 if context => ProviderError::ContextWindow { message },
        408 => ProviderError::Timeout { after_ms: 0 },
        500..=599 => ProviderError::Server { status, message },
        _ => ProviderError::BadRequest { status, message },
    }
}

/// The provider's error message when the body has one (OpenAI/Anthropic/Gemini all nest it in
/// `error.message`), else the start of the body. Never longer than 300 characters.
fn error_message(body: &str) -> String {
    let from_json = serde_json::from_str::<serde_json::Value>(body).ok().and_then(|v| {
        v.pointer("/error/message")
            .or_else(|| v.get("message"))
            .or_else(|| v.get("error"))
            .and_then(|m| m.as_str().map(str::to_string))
    });
    let msg = from_json.unwrap_or_else(|| body.trim().to_string());
    let msg: String = msg.chars().take(300).collect();
    if msg.is_empty() { "(empty body)".into() } else { msg }
}

/// Send a request; once more if it failed before an answer began and was not a timeout. A
/// kept-alive connection the server closes just as the pool hands it out (llama-server and
/// uvicorn close idle ones after 5 s) fails at once; a fresh connection then works.
pub(crate) async fn send(rb: reqwest::RequestBuilder) -> Result<reqwest::Response, ProviderError> {
    let again = rb.try_clone();
    match (rb.send().await, again) {
        (Err(e), Some(again)) if e.is_request() && !e.is_timeout() => again.send().await.map_err(net_error),
        (r, _) => r.map_err(net_error),
    }
}

pub(crate) fn net_error(e: reqwest::Error) -> ProviderError {
    if e.is_timeout() {
        ProviderError::Timeout { after_ms: 0 }
    } else if e.is_decode() || e.is_body() {
        ProviderError::BadResponse(e.to_string())
    } else {
        // reqwest's Display includes the URL, never headers: no key leaks here.
        ProviderError::Network(format!("{e}"))
    }
}

/// Read a non-streaming response: typed error for non-2xx, JSON value otherwise.
pub(crate) async fn json_body(resp: reqwest::Response) -> Result<serde_json::Value, ProviderError> {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.text().await.map_err(net_error)?;
    if !(200..300).contains(&status) {
        return Err(classify_status(status, &headers, &body));
    }
    serde_json::from_str(&body).map_err(|e| {
        ProviderError::BadResponse(format!("not JSON ({e}): {}", body.chars().take(120).collect::<String>()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ceiling_counts_every_byte() {
        // 2,800 bytes of CJK (3 bytes a character) is 2,800 tokens at most, not 700.
        let cjk = "\u{4e2d}".repeat(933);
        let msgs = [Message::system("s"), Message::user(cjk.clone())];
        assert_eq!(ceiling_tokens(&msgs), 1 + 8 + cjk.len() as u64 + 8 + 8);
        assert!(ceiling_tokens(&msgs) > estimate_tokens(msgs.iter().map(|m| m.content.as_str())) * 3);
    }

    #[test]
    fn statuses_map_to_typed_errors() {
        let h = reqwest::header::HeaderMap::new();
        assert!(matches!(classify_status(429, &h, "{}"), ProviderError::RateLimited { .. }));
        assert!(matches!(classify_status(529, &h, "{}"), ProviderError::Server { status: 529, .. }));
        assert!(matches!(classify_status(401, &h, r#"{"error":{"message":"bad key"}}"#), ProviderError::Auth { .. }));
        assert!(matches!(
            classify_status(400, &h, r#"{"error":{"code":"context_length_exceeded","message":"x"}}"#),
            ProviderError::ContextWindow { .. }
        ));
        assert!(matches!(
            classify_status(
                400,
                &h,
                concat!(
                    r#"{"type":"error","error":{"type":"invalid_request_error","#,
                    r#""message":"prompt is too long: 250000 tokens > 200000 maximum"}}"#
                )
            ),
            ProviderError::ContextWindow { .. }
        ));
        assert!(matches!(classify_status(400, &h, "{}"), ProviderError::BadRequest { .. }));
        assert_eq!(error_message(r#"{"error":{"message":"slow down"}}"#), "slow down");
        assert!(ProviderError::Auth { status: 401, message: String::new() }.falls_back());
        assert!(ProviderError::Auth { status: 401, message: String::new() }.is_credential());
        assert!(!ProviderError::BadRequest { status: 400, message: String::new() }.falls_back());
    }

    /// A server that drops its kept-alive connection when the next request arrives on it (a
    /// stale pooled connection): the request goes out again on a fresh connection and succeeds.
    #[tokio::test]
    async fn a_request_on_a_connection_the_server_dropped_is_sent_again() {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/v1/x", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for (n, stream) in listener.incoming().enumerate() {
                let mut reader = BufReader::new(stream.unwrap());
                // The first connection answers one request, then drops the second unanswered.
                for request in 0.. {
                    let mut len = 0;
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            len = v.trim().parse().unwrap();
                        }
                        if line == "\r\n" {
                            break;
                        }
                    }
                    std::io::Read::read_exact(&mut reader, &mut vec![0; len]).unwrap();
                    if n == 0 && request == 1 {
                        break;
                    }
                    let ok = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}";
                    reader.get_mut().write_all(ok.as_bytes()).unwrap();
                }
            }
        });
        for _ in 0..2 {
            let resp = send(http().post(&url).json(&serde_json::json!({}))).await.expect("sent");
            assert_eq!(resp.text().await.unwrap(), "{}");
        }
    }
}
