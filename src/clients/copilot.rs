//! Copilot CLI 1.0. Reads `~/.copilot/copilot-instructions.md`; it has no commands directory:
//! skills (`~/.copilot/skills/NAME/SKILL.md`) are its slash commands. `config.json` is rewritten
//! on every run and never touched; `mcp-config.json` gets merged keys only.

use serde_json::{json, Map, Value};

use super::{Client, Ctx};
use crate::apply::{Artifact, DocFormat};
use crate::mcp::registry::{Effect, Entry, Server, Transport};

pub fn artifacts(ctx: &Ctx) -> anyhow::Result<Vec<Artifact>> {
    let dir = ctx.paths.in_home(".copilot");
    let mut out = vec![Artifact::link("copilot", dir.join("copilot-instructions.md"), ctx.tree.instructions_target(ctx.paths))];
    out.extend(super::skills("copilot", dir.join("skills"), ctx)?);
    Ok(out)
}

/// `~/.copilot/mcp-config.json` `mcpServers.NAME`, in the shape `copilot mcp add` writes:
/// `type: "local"` for stdio (`http`/`sse` remote), `cwd`, `timeout` in ms, and `tools` (the
/// allow-list; `["*"]` for all). Copilot expands `$VAR`/`${VAR}`.
pub fn mcp_entry(_ctx: &Ctx, s: &Server) -> Entry {
    let c = Client::Copilot;
    let mut e = Entry::default();
    let mut v = Map::new();
    v.insert("tools".into(), json!(s.tools.clone().unwrap_or_else(|| vec!["*".into()])));
    match &s.transport {
        Transport::Stdio { command, args } => {
            v.insert("type".into(), json!("local"));
            v.insert("command".into(), json!(command));
            v.insert("args".into(), json!(args));
            if !s.env.is_empty() {
                v.insert("env".into(), json!(s.env));
            }
            if let Some(cwd) = &s.cwd {
                v.insert("cwd".into(), json!(cwd));
            }
        }
        Transport::Http { url } | Transport::Sse { url } => {
            v.insert("type".into(), json!(if matches!(s.transport, Transport::Sse { .. }) { "sse" } else { "http" }));
            v.insert("url".into(), json!(url));
            if !s.headers.is_empty() {
                v.insert("headers".into(), json!(s.headers));
            }
        }
    }
    if let Some(t) = s.timeout_s {
        v.insert("timeout".into(), json!(t * 1000));
    }
    if s.startup_timeout_s.is_some() {
        e.gap(c, s, "startup_timeout", Effect::Lost, "Copilot has a single `timeout`; set `timeout` instead");
    }
    e.value = Some(Value::Object(v));
    e
}

pub fn mcp_artifacts(ctx: &Ctx, servers: &[Server]) -> Vec<Artifact> {
    super::mcp_keys(Client::Copilot, ctx, servers, ctx.paths.in_home(".copilot/mcp-config.json"), DocFormat::Json, "mcpServers")
}
