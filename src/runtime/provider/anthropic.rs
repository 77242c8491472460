//! Anthropic Messages API (`POST {base}/v1/messages`): system prompt apart, alternating turns;
//! JSON, or SSE with `stream: true` (`message_start` with the input usage, `content_block_delta`
//! events carrying `text_delta`s, `message_delta` with the stop reason and output usage,
//! `message_stop`; `ping` and unknown events are skipped, an `error` event fails the call).

use serde_json::{Value, json};

use super::{ChatRequest, ChatResponse, MsgRole, OnText, ProviderError, event_json, json_body, read_events, send};
use crate::runtime::registry::Model;

pub async fn chat(
    http: &reqwest::Client,
    model: &Model,
    key: Option<&str>,
    req: &ChatRequest,
    on_text: OnText<'_>,
) -> Result<ChatResponse, ProviderError> {
    let system: Vec<&str> =
        req.messages.iter().filter(|m| m.role == MsgRole::System).map(|m| m.content.as_str()).collect();
    // The API wants user/assistant alternation starting with user: merge neighbours.
    let mut turns: Vec<(MsgRole, String)> = vec![];
    for m in req.messages.iter().filter(|m| m.role != MsgRole::System) {
        match turns.last_mut() {
            Some((r, text)) if *r == m.role => {
                text.push_str("\n\n");
                text.push_str(&m.content);
            }
            _ => turns.push((m.role, m.content.clone())),
        }
    }
    if turns.first().is_some_and(|(r, _)| *r == MsgRole::Assistant) {
        turns.insert(0, (MsgRole::User, "(conversation so far)".into()));
    }
    let messages: Vec<Value> = turns.iter().map(|(r, c)| json!({"role": r.name(), "content": c})).collect();
    let mut body = json!({"model": model.upstream, "max_tokens": req.max_tokens, "messages": messages});
    if !system.is_empty() {
        body["system"] = json!(system.join("\n\n"));
    }
    if let Some(t) = req.temperature {
        body["temperature"] = json!(t);
    }
    if on_text.is_some() {
        body["stream"] = json!(true);
    }
    let mut rb =
        http.post(format!("{}/v1/messages", model.base_url)).header("anthropic-version", "2023-06-01").json(&body);
    if let Some(k) = key {
        rb = rb.header("x-api-key", k);
    }
    let resp = send(rb).await?;
    match on_text {
        Some(sink) => read_stream(resp, sink).await,
        None => parse(&json_body(resp).await?),
    }
}

async fn read_stream(
    resp: reqwest::Response,
    sink: &(dyn Fn(&str) + Send + Sync),
) -> Result<ChatResponse, ProviderError> {
    let mut out = ChatResponse::parsed(String::new(), None, None, None);
    let (mut tin, mut tout, mut stopped) = (None, None, false);
    let whole = read_events(resp, |data| {
        let v = event_json(&data)?;
        match v.get("type").and_then(Value::as_str).unwrap_or("") {
            "message_start" => {
                tin = v.pointer("/message/usage/input_tokens").and_then(Value::as_u64).or(tin);
                tout = v.pointer("/message/usage/output_tokens").and_then(Value::as_u64).or(tout);
            }
            "content_block_delta" if v.pointer("/delta/type").and_then(Value::as_str) == Some("text_delta") => {
                if let Some(t) = v.pointer("/delta/text").and_then(Value::as_str) {
                    out.text.push_str(t);
                    sink(t);
                }
            }
            "message_delta" => {
                if let Some(r) = v.pointer("/delta/stop_reason").and_then(Value::as_str) {
                    out.finish_reason = Some(r.to_string());
                }
                // Cumulative counts: the last one wins.
                tin = v.pointer("/usage/input_tokens").and_then(Value::as_u64).or(tin);
                tout = v.pointer("/usage/output_tokens").and_then(Value::as_u64).or(tout);
            }
            "message_stop" => stopped = true,
            "error" => {
                let message = v.pointer("/error/message").and_then(Value::as_str).unwrap_or("stream error");
                let kind = v.pointer("/error/type").and_then(Value::as_str).unwrap_or("");
                return Err(match kind {
                    "rate_limit_error" => {
                        ProviderError::RateLimited { status: 429, retry_after: None, message: message.into() }
                    }
                    "overloaded_error" => ProviderError::Server { status: 529, message: message.into() },
                    _ => ProviderError::Server { status: 200, message: message.into() },
                });
            }
            _ => {}
        }
        Ok(())
    })
    .await?;
    if let Some(v) = whole {
        let r = parse(&v)?;
        sink(&r.text);
        return Ok(r);
    }
    if !stopped {
        return Err(ProviderError::BadResponse("stream ended before message_stop".into()));
    }
    if let (Some(i), Some(o)) = (tin, tout) {
        (out.tokens_in, out.tokens_out, out.usage_reported) = (i, o, true);
    }
    Ok(out)
}

fn parse(v: &Value) -> Result<ChatResponse, ProviderError> {
    let blocks = v.get("content").and_then(Value::as_array).ok_or_else(|| {
        ProviderError::BadResponse(format!("no content in {}", v.to_string().chars().take(200).collect::<String>()))
    })?;
    let text: String = blocks
        .iter()
        .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
        .filter_map(|b| b.get("text").and_then(Value::as_str))
        .collect();
    let tin = v.pointer("/usage/input_tokens").and_then(Value::as_u64);
    let tout = v.pointer("/usage/output_tokens").and_then(Value::as_u64);
    Ok(ChatResponse::parsed(text, tin, tout, v.get("stop_reason").and_then(Value::as_str)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_messages_response() {
        let v = serde_json::json!({
            "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": 5, "output_tokens": 2},
        });
        let r = super::parse(&v).unwrap();
        assert_eq!((r.text.as_str(), r.tokens_in, r.tokens_out), ("ab", 5, 2));
    }
}
