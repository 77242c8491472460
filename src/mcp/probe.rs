//! `aiorch doctor`'s MCP handshake: start (or reach) every server the way a client would, run
//! `initialize` + `tools/list` through rmcp with a time limit, all servers at once, and report
//! the tool count and what the tool schemas cost in context. The only user of rmcp's client.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rmcp::ServiceExt;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use serde::Serialize;
use tokio::io::AsyncReadExt;

use super::registry::{Server, Transport, expand_refs};

/// Used when a server sets no `startup_timeout`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Serialize)]
pub struct Probe {
    pub server: String,
    pub transport: &'static str,
    #[serde(flatten)]
    pub outcome: Outcome,
    pub millis: u64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum Outcome {
    Connected {
        /// `name version` from the server's initialize answer.
        server_info: String,
        tools: usize,
        /// Bytes of the tools/list JSON / 4: roughly what the schemas cost in every prompt.
        schema_tokens: usize,
    },
    Failed {
        reason: String,
    },
    /// Not checked (a legacy SSE server: rmcp 3 has no SSE client).
    Skipped {
        reason: String,
    },
}

/// Probe every server in parallel; `env` is what a client would inherit (doctor's own).
pub fn probe_all(servers: &[Server], env: &HashMap<String, String>) -> Vec<Probe> {
    if servers.is_empty() {
        return vec![];
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    // main() restores the default SIGPIPE (so `aiorch … | head` ends quietly); writing the
    // handshake to a server that already died must be an EPIPE error, not the end of doctor.
    let _sigpipe = IgnoreSigpipe::new();
    let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            return servers
                .iter()
                .map(|s| Probe {
                    server: s.name.clone(),
                    transport: kind(s),
                    outcome: Outcome::Failed { reason: format!("cannot start the async runtime: {e}") },
                    millis: 0,
                })
                .collect();
        }
    };
    let probes = rt.block_on(futures_util::future::join_all(servers.iter().map(|s| probe(s, env))));
    // Servers that ignore stdin EOF are killed on drop; do not wait for stragglers.
    rt.shutdown_timeout(Duration::from_millis(200));
    probes
}

/// SIGPIPE ignored while any guard lives (probes may overlap in tests), then put back as it was.
struct IgnoreSigpipe;

static SIGPIPE_GUARDS: Mutex<(usize, Option<nix::sys::signal::SigHandler>)> = Mutex::new((0, None));

impl IgnoreSigpipe {
    fn new() -> IgnoreSigpipe {
        use nix::sys::signal::{SigHandler, Signal, signal};
        let mut g = SIGPIPE_GUARDS.lock().unwrap_or_else(|e| e.into_inner());
        if g.0 == 0 {
            // SAFETY: SIG_IGN installs no handler code; it only turns the fatal signal into EPIPE.
            g.1 = unsafe { signal(Signal::SIGPIPE, SigHandler::SigIgn) }.ok();
        }
        g.0 += 1;
        IgnoreSigpipe
    }
}

impl Drop for IgnoreSigpipe {
    fn drop(&mut self) {
        let mut g = SIGPIPE_GUARDS.lock().unwrap_or_else(|e| e.into_inner());
        g.0 -= 1;
        if g.0 == 0
            && let Some(old) = g.1.take()
        {
            // SAFETY: puts back the disposition that was there before the first guard.
            let _ = unsafe { nix::sys::signal::signal(nix::sys::signal::Signal::SIGPIPE, old) };
        }
    }
}

fn kind(s: &Server) -> &'static str {
    match s.transport {
        Transport::Stdio { .. } => "stdio",
        Transport::Http { .. } => "http",
        Transport::Sse { .. } => "sse",
    }
}

async fn probe(s: &Server, env: &HashMap<String, String>) -> Probe {
    let limit = s.startup_timeout_s.map_or(DEFAULT_TIMEOUT, Duration::from_secs);
    let start = Instant::now();
    let stderr = Arc::new(Mutex::new(Vec::<u8>::new()));
    let (done_tx, mut done) = tokio::sync::watch::channel(false);
    let result = match tokio::time::timeout(limit, connect(s, env, stderr.clone(), done_tx)).await {
        Ok(r) => r,
        Err(_) => Err(format!("no answer to initialize + tools/list within {} s", limit.as_secs())),
    };
    let outcome = match result {
        Ok(o) => o,
        Err(reason) => {
            // The process is gone (or killed on drop): let its last stderr lines arrive.
            let _ = tokio::time::timeout(Duration::from_millis(500), done.wait_for(|d| *d)).await;
            Outcome::Failed { reason: with_stderr(s, reason, &stderr) }
        }
    };
    Probe { server: s.name.clone(), transport: kind(s), outcome, millis: start.elapsed().as_millis() as u64 }
}

async fn connect(
    s: &Server,
    env: &HashMap<String, String>,
    stderr: Arc<Mutex<Vec<u8>>>,
    done: tokio::sync::watch::Sender<bool>,
) -> Result<Outcome, String> {
    let ex = |v: &str| expand_refs(v, |n| env.get(n).cloned());
    let client = match &s.transport {
        Transport::Stdio { command, args } => {
            let program = ex(command);
            let mut cmd = tokio::process::Command::new(&program);
            cmd.args(args.iter().map(|a| ex(a)))
                .env_clear()
                .envs(env)
                .envs(s.env.iter().map(|(k, v)| (k, ex(v))))
                .kill_on_drop(true);
            if let Some(dir) = &s.cwd {
                cmd.current_dir(ex(dir));
            }
            let (transport, err) = TokioChildProcess::builder(cmd)
                .stderr(std::process::Stdio::piped())
                .spawn()
                .map_err(|e| format!("cannot start {program}: {e}"))?;
            if let Some(mut err) = err {
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    while let Ok(n @ 1..) = err.read(&mut buf).await {
                        let mut all = stderr.lock().expect("stderr buffer");
                        all.extend_from_slice(&buf[..n]);
                        let over = all.len().saturating_sub(16 * 1024);
                        all.drain(..over);
                    }
                    let _ = done.send(true);
                });
            }
            ().serve(transport).await.map_err(|e| format!("initialize failed: {e}"))?
        }
        Transport::Http { url } => {
            let mut headers = HashMap::new();
            for (k, v) in &s.headers {
                let name =
                    reqwest::header::HeaderName::from_bytes(k.as_bytes()).map_err(|e| format!("header {k}: {e}"))?;
                // The value may hold a secret: never put it in a message.
                let value = reqwest::header::HeaderValue::from_str(&ex(v))
                    .map_err(|_| format!("header {k}: not a valid header value after expansion"))?;
                headers.insert(name, value);
            }
            let mut cfg = StreamableHttpClientTransportConfig::with_uri(ex(url));
            cfg.custom_headers = headers;
            ().serve(StreamableHttpClientTransport::from_config(cfg))
                .await
                .map_err(|e| format!("initialize failed: {e}"))?
        }
        Transport::Sse { .. } => {
            return Ok(Outcome::Skipped {
                reason: "legacy SSE transport: not checked (the clients connect to it themselves)".into(),
            });
        }
    };
    let info = client
        .peer_info()
        .and_then(|i| i.server_info.as_ref().map(|s| format!("{} {}", s.name, s.version).trim().to_string()))
        .unwrap_or_default();
    let tools = client.list_all_tools().await.map_err(|e| format!("tools/list failed: {e}"));
    let _ = client.cancel().await;
    let tools = tools?;
    let bytes = serde_json::to_vec(&tools).map(|v| v.len()).unwrap_or(0);
    Ok(Outcome::Connected { server_info: info, tools: tools.len(), schema_tokens: bytes.div_ceil(4) })
}

/// Add the end of the server's stderr to a failure. A server that was given secrets may print
/// them, so for those only aiorch's own wrapper errors (`error: …`, never a value) are shown.
fn with_stderr(s: &Server, reason: String, stderr: &Mutex<Vec<u8>>) -> String {
    let text = String::from_utf8_lossy(&stderr.lock().expect("stderr buffer")).into_owned();
    let lines: Vec<&str> = text.lines().map(str::trim_end).filter(|l| !l.trim().is_empty()).collect();
    let shown: Vec<&str> = if s.secrets.is_empty() {
        lines.iter().rev().take(3).rev().copied().collect()
    } else {
        lines.iter().filter(|l| l.starts_with("error:") || l.starts_with("  hint:")).copied().collect()
    };
    match (shown.is_empty(), s.secrets.is_empty() || lines.is_empty()) {
        (true, true) => reason,
        (true, false) => {
            format!("{reason} (its stderr is not shown because it was given secrets; run it by hand to see it)")
        }
        (false, _) => format!("{reason}; stderr: {}", shown.join(" | ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stdio(name: &str, command: &str, args: &[&str]) -> Server {
        Server {
            name: name.into(),
            builtin: false,
            transport: Transport::Stdio { command: command.into(), args: args.iter().map(|a| a.to_string()).collect() },
            env: Default::default(),
            cwd: None,
            headers: Default::default(),
            secrets: vec![],
            timeout_s: None,
            startup_timeout_s: Some(5),
            tools: None,
            clients: None,
        }
    }

    #[test]
    fn failures_name_the_reason() {
        let env: HashMap<String, String> = [("PATH".to_string(), std::env::var("PATH").unwrap_or_default())].into();
        let mut hang = stdio("hang", "/bin/sleep", &["30"]);
        hang.startup_timeout_s = Some(1);
        let p = probe_all(
            &[
                stdio("missing", "/nonexistent/server", &[]),
                stdio("noisy", "/bin/sh", &["-c", "echo boom >&2; exit 3"]),
                hang,
            ],
            &env,
        );
        let reasons: Vec<String> = p
            .iter()
            .map(|p| match &p.outcome {
                Outcome::Failed { reason } => reason.clone(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert!(reasons[0].starts_with("cannot start /nonexistent/server: No such file"), "{}", reasons[0]);
        assert!(reasons[1].starts_with("initialize failed") && reasons[1].ends_with("stderr: boom"), "{}", reasons[1]);
        assert_eq!(reasons[2], "no answer to initialize + tools/list within 1 s");
    }

    /// With the default SIGPIPE (what main() sets), a server that is gone before the
    /// handshake is written must give a failure, not kill the process.
    #[test]
    fn a_server_that_exits_at_once_is_a_failure_not_a_signal() {
        use nix::sys::signal::{SigHandler, Signal, signal};
        // SAFETY: the default disposition, as main() sets it.
        unsafe { signal(Signal::SIGPIPE, SigHandler::SigDfl) }.unwrap();
        let env: HashMap<String, String> = HashMap::new();
        let servers: Vec<Server> = (0..8).map(|i| stdio(&format!("gone{i}"), "/bin/true", &[])).collect();
        for p in probe_all(&servers, &env) {
            assert!(matches!(p.outcome, Outcome::Failed { .. }), "{p:?}");
        }
    }
}
