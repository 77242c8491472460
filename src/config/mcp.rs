//! `[mcp]`: the MCP servers every managed client gets.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Client;

/// `[mcp]`: the servers every managed client gets.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct McpConfig {
    /// Register aiorch's own MCP server (`aiorch mcp serve`: chat, consensus, codereview, …) as
    /// `aiorch` in every managed client.
    pub serve_self: bool,
    /// `[mcp.servers.NAME]`: stdio (`command`) or remote (`url`) servers.
    pub servers: BTreeMap<String, McpServer>,
}

impl Default for McpConfig {
    fn default() -> Self {
        McpConfig { serve_self: true, servers: BTreeMap::new() }
    }
}

/// One server. Either `command` (stdio) or `url` (remote); values may reference environment
/// variables as `${VAR}` or `${VAR:-default}` (expanded by the client when it can: see
/// docs/mcp.md for what each client supports).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct McpServer {
    /// stdio: the executable (`~/` is the home).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Environment of the server (literal values or `${VAR}` references, never secret values:
    /// name those in `secrets`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Working directory of a stdio server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// Remote: the server's URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Remote transport: `http` (streamable HTTP, the default) or `sse`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transport: Option<RemoteTransport>,
    /// HTTP headers of a remote server (`Authorization = "Bearer ${TOKEN}"`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Names of secrets the server needs. A stdio server is started through
    /// `aiorch secrets exec --only NAMES -- command args`, which puts their values in its
    /// environment at exec time; no file holds a value.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<String>,
    /// Tool-call timeout in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u64>,
    /// Startup (spawn + initialize) timeout in seconds (Codex and `aiorch doctor`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub startup_timeout: Option<u64>,
    /// Allow-list: only these tools are offered to the model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<String>>,
    /// Which clients get the server (default: every managed client).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clients: Option<Vec<Client>>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RemoteTransport {
    Http,
    Sse,
}
