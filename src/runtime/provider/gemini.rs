//! Gemini `POST {base}/v1beta/models/{model}:generateContent` (key in `x-goog-api-key`).

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
    let contents: Vec<Value> = req
        .messages
        .iter()
        .filter(|m| m.role != MsgRole::System)
        .map(|m| {
            let role = if m.role == MsgRole::Assistant { "model" } else { "user" };
            json!({"role": role, "parts": [{"text": m.content}]})
        })
        .collect();
    let mut generation = json!({"maxOutputTokens": req.max_tokens});
    if let Some(t) = req.temperature {
        generation["temperature"] = json!(t);
    }
    let mut body = json!({"contents": contents, "generationConfig": generation});
    if !system.is_empty() {
        body["systemInstruction"] = json!({"parts": [{"text": system.join("\n\n")}]});
    }
    let mut rb = http.post(format!("{}/v1beta/models/{}:generateContent", model.base_url, model.upstream)).json(&body);
    if let Some(k) = key {
        rb = rb.header("x-goog-api-key", k);
    }
    let v = json_body(rb.send().await.map_err(net_error)?).await?;
    parse(&v)
}

fn parse(v: &Value) -> Result<ChatResponse, ProviderError> {
    let cand = v.pointer("/candidates/0").ok_or_else(|| {
        let why = v.pointer("/promptFeedback/blockReason").and_then(Value::as_str).unwrap_or("no candidates");
        ProviderError::BadResponse(format!("{why}: {}", v.to_string().chars().take(160).collect::<String>()))
    })?;
    let text: String = cand
        .pointer("/content/parts")
        .and_then(Value::as_array)
        .map(|ps| ps.iter().filter_map(|p| p.get("text").and_then(Value::as_str)).collect())
        .unwrap_or_default();
    let tin = v.pointer("/usageMetadata/promptTokenCount").and_then(Value::as_u64);
    let tout = v.pointer("/usageMetadata/candidatesTokenCount").and_then(Value::as_u64);
    Ok(ChatResponse::parsed(text, tin, tout, cand.get("finishReason").and_then(Value::as_str)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_generate_content() {
        let v = serde_json::json!({
            "candidates": [{"content": {"role": "model", "parts": [{"text": "hi"}]}, "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 1},
        });
        let r = super::parse(&v).unwrap();
        assert_eq!((r.text.as_str(), r.tokens_in, r.tokens_out), ("hi", 4, 1));
        assert!(
            super::parse(&serde_json::json!({"promptFeedback":{"blockReason":"SAFETY"}}))
                .unwrap_err()
                .to_string()
                .contains("SAFETY")
        );
    }
}
