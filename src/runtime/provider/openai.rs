//! OpenAI-compatible chat completions (`POST {base}/chat/completions`), JSON or SSE stream.

use serde_json::{Value, json};

use super::{ChatRequest, ChatResponse, OnText, ProviderError, event_json, json_body, read_events, send};
use crate::runtime::registry::Model;

pub async fn chat(
    http: &reqwest::Client,
    model: &Model,
    key: Option<&str>,
    req: &ChatRequest,
    on_delta: OnText<'_>,
) -> Result<ChatResponse, ProviderError> {
    let messages: Vec<Value> =
        req.messages.iter().map(|m| json!({"role": m.role.name(), "content": m.content})).collect();
    let mut body = json!({"model": model.upstream, "messages": messages, "max_tokens": req.max_tokens});
    if let Some(t) = req.temperature {
        body["temperature"] = json!(t);
    }
    let stream = on_delta.is_some();
    if stream {
        body["stream"] = json!(true);
        body["stream_options"] = json!({"include_usage": true});
    }
    let mut rb = http.post(format!("{}/chat/completions", model.base_url)).json(&body);
    if let Some(k) = key {
        rb = rb.bearer_auth(k);
    }
    let resp = send(rb).await?;
    let header = |name: &str| resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let (cost, group) =
        (header("x-litellm-response-cost").and_then(|v| v.parse::<f64>().ok()), header("x-litellm-model-group"));
    let mut out = if stream {
        read_stream(resp, on_delta.expect("stream has a sink")).await?
    } else {
        parse_json(&json_body(resp).await?)?
    };
    out.reported_cost = cost.filter(|c| c.is_finite() && *c >= 0.0);
    out.served_by = group.filter(|g| *g != model.upstream);
    Ok(out)
}

fn parse_json(v: &Value) -> Result<ChatResponse, ProviderError> {
    let choice =
        v.pointer("/choices/0").ok_or_else(|| ProviderError::BadResponse(format!("no choices in {}", short(v))))?;
    let text = match choice.pointer("/message/content") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => return Err(ProviderError::BadResponse(format!("content is not text: {}", short(other)))),
    };
    let usage = v.get("usage");
    let tin = usage.and_then(|u| u.get("prompt_tokens")).and_then(Value::as_u64);
    let tout = usage.and_then(|u| u.get("completion_tokens")).and_then(Value::as_u64);
    Ok(ChatResponse::parsed(text, tin, tout, choice.get("finish_reason").and_then(Value::as_str)))
}

async fn read_stream(
    resp: reqwest::Response,
    sink: &(dyn Fn(&str) + Send + Sync),
) -> Result<ChatResponse, ProviderError> {
    let mut out = ChatResponse::parsed(String::new(), None, None, None);
    let mut done = false;
    let whole = read_events(resp, |data| {
        if data.trim() == "[DONE]" {
            done = true;
            return Ok(());
        }
        let v = event_json(&data)?;
        if let Some(err) = v.get("error") {
            return Err(ProviderError::Server { status: 200, message: short(err) });
        }
        if let Some(delta) = v.pointer("/choices/0/delta/content").and_then(Value::as_str) {
            out.text.push_str(delta);
            sink(delta);
        }
        if let Some(f) = v.pointer("/choices/0/finish_reason").and_then(Value::as_str) {
            out.finish_reason = Some(f.to_string());
        }
        if let Some(u) = v.get("usage").filter(|u| u.is_object())
            && let (Some(i), Some(o)) =
                (u.get("prompt_tokens").and_then(Value::as_u64), u.get("completion_tokens").and_then(Value::as_u64))
        {
            out.tokens_in = i;
            out.tokens_out = o;
            out.usage_reported = true;
        }
        Ok(())
    })
    .await?;
    if let Some(v) = whole {
        // The server ignored `stream: true` and answered with a plain completion.
        let r = parse_json(&v)?;
        sink(&r.text);
        return Ok(r);
    }
    if !done && out.finish_reason.is_none() {
        return Err(ProviderError::BadResponse("stream ended before it finished".into()));
    }
    Ok(out)
}

fn short(v: &Value) -> String {
    v.to_string().chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_completion_json() {
        let v = serde_json::json!({
            "choices": [{"message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 1},
        });
        let r = super::parse_json(&v).unwrap();
        assert_eq!((r.text.as_str(), r.tokens_in, r.tokens_out, r.usage_reported), ("hi", 3, 1, true));
        assert!(super::parse_json(&serde_json::json!({"oops": 1})).is_err());
    }
}
