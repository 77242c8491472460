//! `aiorch mcp serve`: the runtime's tools over MCP stdio, with the official Rust SDK (rmcp,
//! pinned). This file is the only one that touches rmcp's server API; the tools themselves and
//! their schemas live in `tools.rs`, so SDK churn stays here.

use std::path::PathBuf;
use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation, ListToolsResult,
    PaginatedRequestParams, ProgressNotificationParam, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler, ServiceExt};

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
        Server { rt: Arc::new(rt), cwd, tools: Arc::new(tools) }
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
            let (ct, c) = (ctx.ct.clone(), cancel.clone());
            tokio::spawn(async move {
                ct.cancelled().await;
                c.cancel();
            })
        };
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

/// Serve on stdin/stdout until the client hangs up.
pub async fn serve(rt: Runtime, cwd: PathBuf) -> anyhow::Result<()> {
    let service = Server::new(rt, cwd).serve(rmcp::transport::stdio()).await?;
    service.waiting().await?;
    Ok(())
}
