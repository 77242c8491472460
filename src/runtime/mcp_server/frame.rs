//! Newline-delimited JSON-RPC framing between stdio and rmcp. Lines rmcp would drop or answer
//! vaguely are answered here (JSON-RPC 2.0 §5.1): a line that is not JSON gets -32700 (id
//! null), a `tools/call` whose params are not an object with a string `name` and object
//! `arguments` gets -32602 with its id. Everything else passes through untouched, and every
//! line written to stdout is whole (rmcp's output and these answers never interleave).

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, DuplexStream};
use tokio::sync::{mpsc, oneshot};

/// The pipes rmcp is served on, and the end of stdin.
pub struct Framed {
    /// rmcp reads the client's lines from here.
    pub to_rmcp: DuplexStream,
    /// rmcp writes its lines here.
    pub from_rmcp: DuplexStream,
    /// Fires when stdin closes, with the pipe into rmcp kept open: the server shuts down on
    /// its own terms (cancel and settle the calls in flight) rather than rmcp's.
    pub eof: oneshot::Receiver<DuplexStream>,
}

impl Framed {
    pub fn start<R, W>(stdin: R, stdout: W) -> Framed
    where
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        const PIPE: usize = 1 << 16;
        let (to_rmcp, mut into_rmcp) = tokio::io::duplex(PIPE);
        let (from_rmcp, out_of_rmcp) = tokio::io::duplex(PIPE);
        let (reply_tx, reply_rx) = mpsc::unbounded_channel::<Value>();
        let (eof_tx, eof) = oneshot::channel();
        tokio::spawn(async move {
            let mut input = BufReader::new(stdin);
            let mut line = Vec::new();
            loop {
                line.clear();
                match input.read_until(b'\n', &mut line).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                match check(&line) {
                    Some(reply) => {
                        let _ = reply_tx.send(reply);
                    }
                    None => {
                        if !line.ends_with(b"\n") {
                            line.push(b'\n');
                        }
                        if into_rmcp.write_all(&line).await.is_err() {
                            break;
                        }
                    }
                }
            }
            let _ = eof_tx.send(into_rmcp);
        });
        tokio::spawn(write_out(out_of_rmcp, reply_rx, stdout));
        Framed { to_rmcp, from_rmcp, eof }
    }
}

/// Copy rmcp's lines and our own answers to stdout, one whole line at a time.
async fn write_out<W: AsyncWrite + Unpin>(rmcp: DuplexStream, mut replies: mpsc::UnboundedReceiver<Value>, mut out: W) {
    let mut lines = BufReader::new(rmcp);
    let mut line = Vec::new();
    let (mut rmcp_open, mut replies_open) = (true, true);
    while rmcp_open || replies_open {
        // `read_until` keeps what it read in `line` when the other branch wins the select: the
        // buffer is cleared only once a whole line went out.
        tokio::select! {
            r = lines.read_until(b'\n', &mut line), if rmcp_open => match r {
                Ok(0) | Err(_) => rmcp_open = false,
                Ok(_) => {
                    if out.write_all(&line).await.is_err() || out.flush().await.is_err() {
                        return;
                    }
                    line.clear();
                }
            },
            r = replies.recv(), if replies_open => match r {
                None => replies_open = false,
                Some(v) => {
                    let text = format!("{v}\n");
                    if out.write_all(text.as_bytes()).await.is_err() || out.flush().await.is_err() {
                        return;
                    }
                }
            },
        }
    }
}

/// The answer to a line that must not reach rmcp, or None to pass it on.
fn check(line: &[u8]) -> Option<Value> {
    let text = line.trim_ascii();
    if text.is_empty() {
        return None;
    }
    let v: Value = match serde_json::from_slice(text) {
        Ok(v) => v,
        Err(e) => return Some(error(Value::Null, -32700, format!("Parse error: {e}"))),
    };
    let id = v.get("id").filter(|_| v.get("method").and_then(Value::as_str) == Some("tools/call"))?;
    let params = v.get("params");
    let why = match params {
        Some(Value::Object(p)) => match (p.get("name"), p.get("arguments")) {
            (Some(Value::String(_)), None | Some(Value::Object(_)) | Some(Value::Null)) => None,
            (Some(Value::String(_)), Some(other)) => {
                Some(format!("`arguments` must be an object of named arguments, not {}", kind(other)))
            }
            (None, _) => Some("`name` is missing: say which tool to call".to_string()),
            (Some(other), _) => Some(format!("`name` must be a string, not {}", kind(other))),
        },
        None => Some("params are missing: give `name` and `arguments`".to_string()),
        Some(other) => Some(format!("params must be an object, not {}", kind(other))),
    }?;
    Some(error(id.clone(), -32602, format!("Invalid params: {why}")))
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn error(id: Value, code: i64, message: String) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn answers_what_rmcp_would_drop() {
        let code = |l: &str| check(l.as_bytes()).map(|v| (v["error"]["code"].as_i64().unwrap(), v["id"].clone()));
        assert_eq!(code("{not json\n"), Some((-32700, serde_json::Value::Null)));
        let call = |params: &str| format!(r#"{{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{params}}}"#);
        assert_eq!(code(&call(r#"{"name":"chat","arguments":["x"]}"#)), Some((-32602, 7.into())));
        assert_eq!(code(&call(r#"{"arguments":{}}"#)), Some((-32602, 7.into())));
        assert_eq!(code(&call(r#"[1]"#)), Some((-32602, 7.into())));
        assert_eq!(code(&call(r#"{"name":"chat","arguments":{"prompt":"x"}}"#)), None);
        assert_eq!(code(&call(r#"{"name":"stats"}"#)), None);
        assert_eq!(code(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#), None);
        assert_eq!(code("\n"), None);
    }
}
