//! The MCP servers and Claude plugin marketplaces clients get: the registry resolved from
//! `[mcp]` (`registry`), the plugin set from `[plugins]` (`plugins`), installing plugins now
//! through `claude plugin` (`sync`), and the doctor's handshake with every server (`probe`,
//! rmcp's client side).
//!
//! The per-client file formats are not here: each lives in `clients/<client>.rs`. aiorch's own
//! MCP server is part of the runtime (`runtime/mcp_server`).

pub mod doctor;
pub mod plugins;
pub mod probe;
pub mod registry;
pub mod sync;

/// A remote server cannot be wrapped by `aiorch secrets exec`: its `${NAME}` header references
/// are expanded by the client from the client's own environment.
pub fn remote_secrets_note(s: &registry::Server) -> Option<String> {
    (!s.is_stdio() && !s.secrets.is_empty()).then(|| {
        let names = s.secrets.join(",");
        format!(
            "MCP server `{}` is remote: its secrets ({names}) are read from each client's own environment (start the \
             client with `aiorch secrets exec --only {names} -- claude`, …)",
            s.name
        )
    })
}
