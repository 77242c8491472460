//! Anthropic Messages API (`POST {base}/v1/messages`): system prompt apart, alternating turns.

use serde_json::{Value, json};

use super::{ChatRequest, ChatResponse, MsgRole, ProviderError, json_body, net_error};
use crate::runtime::registry::Model;

pub async fn chat(
    http: &reqwest::Client,
    model: &Model,
    key: Option<&str>,
    req: &ChatRequest,
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
    let mut rb =
        http.post(format!("{}/v1/messages", model.base_url)).header("anthropic-version", "2023-06-01").json(&body);
    if let Some(k) = key {
        rb = rb.header("x-api-key", k);
    }
    let v = json_body(rb.send().await.map_err(net_error)?).await?;
    parse(&v)
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
