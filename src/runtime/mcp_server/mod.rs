//! `aiorch mcp serve`: the runtime's tools over MCP stdio, with the official Rust SDK (rmcp,
//! pinned). This file is the only one that touches rmcp's server API; the tools themselves and
//! their schemas live in `tools.rs`, so SDK churn stays here.
//!
//! A thin framing layer sits between stdio and rmcp (`frame.rs`): rmcp ignores a line that is
//! not JSON (the client would wait forever) and answers a `tools/call` whose params do not fit
//! with a generic error, so those lines are answered here, per JSON-RPC 2.0, with -32700 and
//! -32602. The same layer sees stdin close: with SIGTERM, SIGHUP and SIGINT, that shuts the
//! server down like a cancel — calls in flight stop and are settled and recorded as cancelled
//! before the process exits.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation, ListToolsResult,
    PaginatedRequestParams, ProgressNotificationParam, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler, ServiceExt};

mod frame;
mod tools;

use crate::runtime::consensus::{OnProgress, Progress};
use crate::runtime::engine::{Cancel, Runtime};
pub use tools::listing_json;

const INSTRUCTIONS: &str = "aiorch routes work by role (planning, coding, review, search) across models within a daily \
                            budget. Keep the continuation_id from the first call and pass it to later calls. Use \
                            consensus for risky decisions; a budget error means stop.";

#[derive(Clone)]
pub struct Server {
    rt: Arc<Runtime>,
    cwd: PathBuf,
    tools: Arc<Vec<Tool>>,
    /// Fired when the server shuts down (a signal, stdin closed): every call in flight stops.
    shutdown: Cancel,
    /// Tool calls in flight, waited for (settled) before the process exits.
    in_flight: Arc<(AtomicUsize, tokio::sync::Notify)>,
}

/// Counts a tool call as in flight until it is dropped, however it ends.
struct InFlight(Arc<(AtomicUsize, tokio::sync::Notify)>);

impl InFlight {
    fn enter(c: &Arc<(AtomicUsize, tokio::sync::Notify)>) -> InFlight {
        c.0.fetch_add(1, Ordering::SeqCst);
        InFlight(c.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.0.fetch_sub(1, Ordering::SeqCst);
        self.0.1.notify_waiters();
    }
}

impl Server {
    pub fn new(rt: Runtime, cwd: PathBuf) -> Server {
        let tools = tools::defs()
            .into_iter()
            .map(|d| {
                let schema = match d.schema {
                    serde_json::Value::Object(m) => m,
                    _ => unreachable!("tool schemas are objects"),
                };
                Tool::new(d.name, d.description, Arc::new(schema))
            })
            .collect();
        Server {
            rt: Arc::new(rt),
            cwd,
            tools: Arc::new(tools),
            shutdown: Cancel::default(),
            in_flight: Arc::new((AtomicUsize::new(0), tokio::sync::Notify::new())),
        }
    }

    /// Stop every call in flight and wait (at most `limit`) until each has settled.
    async fn drain(&self, limit: std::time::Duration) {
        self.shutdown.cancel();
        let wait = async {
            loop {
                let n = self.in_flight.1.notified();
                tokio::pin!(n);
                n.as_mut().enable();
                if self.in_flight.0.load(Ordering::SeqCst) == 0 {
                    return;
                }
                n.await;
            }
        };
        let _ = tokio::time::timeout(limit, wait).await;
    }
}

impl ServerHandler for Server {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("aiorch", env!("CARGO_PKG_VERSION")))
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _req: Option<PaginatedRequestParams>,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(self.tools.as_ref().clone()))
    }

    async fn call_tool(
        &self,
        req: CallToolRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let _in_flight = InFlight::enter(&self.in_flight);
        let args = req.arguments.map_or(serde_json::Value::Null, serde_json::Value::Object);
        // Progress notifications, in order, when the client asked for them with a token. The
        // forwarder ends when the tool drops its sender; it is awaited before the result is
        // sent so every notification precedes the response.
        let mut forwarder = None;
        let progress: Option<OnProgress> = ctx.meta.get_progress_token().map(|token| {
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Progress>();
            let peer = ctx.peer.clone();
            forwarder = Some(tokio::spawn(async move {
                while let Some(p) = rx.recv().await {
                    let n = ProgressNotificationParam::new(token.clone(), p.done as f64)
                        .with_total(p.total as f64)
                        .with_message(p.message);
                    let _ = peer.notify_progress(n).await;
                }
            }));
            Arc::new(move |p: Progress| {
                let _ = tx.send(p);
            }) as OnProgress
        });
        // A client's notifications/cancelled fires ctx.ct; the runtime stops every call of the
        // request at its next await and settles or releases its budget reservations.
        let cancel = Cancel::default();
        let watcher = {
            let (ct, c, down) = (ctx.ct.clone(), cancel.clone(), self.shutdown.clone());
            tokio::spawn(async move {
                tokio::select! {
                    _ = ct.cancelled() => {}
                    _ = down.cancelled() => {}
                }
                c.cancel();
            })
        };
        if self.shutdown.is_cancelled() {
            cancel.cancel();
        }
        let name = req.name.to_string();
        let out = tools::call(&self.rt, &self.cwd, &name, args, progress, &cancel).await;
        watcher.abort();
        if let Some(f) = forwarder {
            let _ = f.await;
        }
        let Some(out) = out else {
            return Err(McpError::invalid_params(format!("unknown tool `{name}`"), None));
        };
        let mut result = if out.is_error {
            CallToolResult::error(vec![ContentBlock::text(out.text)])
        } else {
            CallToolResult::success(vec![ContentBlock::text(out.text)])
        };
        result.structured_content = out.structured;
        Ok(result.into())
    }
}

/// Serve on stdin/stdout until the client hangs up (stdin closes) or a signal (SIGTERM,
/// SIGHUP, SIGINT) arrives; either way, calls in flight are cancelled and settled first.
pub async fn serve(rt: Runtime, cwd: PathBuf) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let server = Server::new(rt, cwd);
    let (stdin, stdout) = rmcp::transport::stdio_pipes();
    let framed = frame::Framed::start(stdin, stdout);
    let mut term = signal(SignalKind::terminate())?;
    let mut hup = signal(SignalKind::hangup())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut eof = framed.eof;
    // A client that hangs up (or a signal) before the handshake ends the server too: the framing
    // keeps rmcp's input open after stdin closes, so rmcp alone would wait forever.
    let service = tokio::select! {
        s = server.clone().serve((framed.to_rmcp, framed.from_rmcp)) => s?,
        _ = term.recv() => return Ok(()),
        _ = hup.recv() => return Ok(()),
        _ = int.recv() => return Ok(()),
        _ = &mut eof => return Ok(()),
    };
    let why = tokio::select! {
        r = service.waiting() => {
            r?;
            return Ok(());
        }
        _ = term.recv() => "SIGTERM",
        _ = hup.recv() => "SIGHUP",
        _ = int.recv() => "SIGINT",
        _ = &mut eof => "stdin closed",
    };
    tracing::info!("{why}: cancelling the calls in flight and shutting down");
    server.drain(std::time::Duration::from_secs(10)).await;
    Ok(())
}
