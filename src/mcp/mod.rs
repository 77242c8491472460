//! MCP servers and Claude plugin marketplaces: the registry model (`registry`), the plugin
//! model (`plugins`), installing plugins now through `claude plugin` (`sync`), and the doctor's
//! handshake with every server (`probe`, the only place that uses the rmcp crate).
//!
//! The per-client file formats are not here: each lives in `clients/<client>.rs`.

pub mod doctor;
pub mod plugins;
pub mod probe;
pub mod registry;
pub mod server;
pub mod sync;
pub mod tools;

pub use plugins::PluginsConfig;
pub use registry::McpConfig;

use crate::apply::Artifact;
use crate::clients::{self, Client, Ctx};

/// The merged keys for every managed client's MCP servers, and Claude's marketplaces and
/// plugins. The registry and the plugin list are validated even when no client is managed, so
/// a bad entry is reported (exit 2) on every machine.
pub fn artifacts(ctx: &Ctx) -> anyhow::Result<Vec<Artifact>> {
    let servers = registry::resolve(ctx.config, ctx.paths)?;
    let plugins = plugins::declared(&ctx.config.plugins, ctx.paths)?;
    let mut out = vec![];
    for c in clients::managed(ctx.config) {
        out.extend(c.mcp_artifacts(ctx, &servers));
    }
    if Client::Claude.managed(ctx.config) {
        out.extend(clients::claude::plugin_artifacts(ctx, &plugins));
    }
    Ok(out)
}

/// What `apply` should tell the user about the registry: every setting a managed client cannot
/// express, and remote servers whose secrets the client must have in its own environment.
pub fn notes(ctx: &Ctx) -> anyhow::Result<Vec<String>> {
    let mut out: Vec<String> = registry::gaps(ctx)?.iter().map(ToString::to_string).collect();
    out.extend(registry::resolve(ctx.config, ctx.paths)?.iter().filter_map(remote_secrets_note));
    Ok(out)
}

/// A remote server cannot be wrapped by `aiorch secrets exec`: its `${NAME}` header references
/// are expanded by the client from the client's own environment.
pub fn remote_secrets_note(s: &registry::Server) -> Option<String> {
    (!s.is_stdio() && !s.secrets.is_empty()).then(|| {
        let names = s.secrets.join(",");
        format!(
            "MCP server `{}` is remote: its secrets ({names}) are read from each client's own environment (start the client with `aiorch secrets exec --only {names} -- claude`, …)",
            s.name
        )
    })
}
