//! Gemini `POST {base}/v1beta/models/{model}:generateContent` (key in `x-goog-api-key`), or
//! `:streamGenerateContent?alt=sse` when streaming: each event is a whole
//! `GenerateContentResponse` holding the next piece of text; the last one has the
//! `finishReason` and the full `usageMetadata`. There is no `[DONE]`: the stream ends.

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
    let url = match on_text {
        Some(_) => format!("{}/v1beta/models/{}:streamGenerateContent?alt=sse", model.base_url, model.upstream),
        None => format!("{}/v1beta/models/{}:generateContent", model.base_url, model.upstream),
    };
    let mut rb = http.post(url).json(&body);
    if let Some(k) = key {
        rb = rb.header("x-goog-api-key", k);
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
    let whole = read_events(resp, |data| {
        let v = event_json(&data)?;
        if let Some(err) = v.get("error") {
            let message = err.get("message").and_then(Value::as_str).unwrap_or("stream error");
            return Err(ProviderError::Server { status: 200, message: message.into() });
        }
        // A blocked prompt has no candidates; `parse` says why.
        let piece = parse(&v)?;
        if !piece.text.is_empty() {
            out.text.push_str(&piece.text);
            sink(&piece.text);
        }
        if piece.finish_reason.is_some() {
            out.finish_reason = piece.finish_reason;
        }
        if piece.usage_reported {
            (out.tokens_in, out.tokens_out, out.usage_reported) = (piece.tokens_in, piece.tokens_out, true);
        }
        Ok(())
    })
    .await?;
    if let Some(v) = whole {
        // JSON-array framing (no `alt=sse`) or a plain answer: the pieces are the elements.
        let pieces = match v {
            Value::Array(items) => items,
            one => vec![one],
        };
        let mut all = ChatResponse::parsed(String::new(), None, None, None);
        for p in pieces.iter().map(parse) {
            let p = p?;
            all.text.push_str(&p.text);
            all.finish_reason = p.finish_reason.or(all.finish_reason);
            if p.usage_reported {
                (all.tokens_in, all.tokens_out, all.usage_reported) = (p.tokens_in, p.tokens_out, true);
            }
        }
        sink(&all.text);
        return Ok(all);
    }
    if out.finish_reason.is_none() {
        return Err(ProviderError::BadResponse("stream ended before a finishReason".into()));
    }
    Ok(out)
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
