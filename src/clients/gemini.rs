//! Gemini CLI 0.61. Context files are the names in `context.fileName` (the v1 key
//! `contextFileName` is ignored now), loaded from `~/.gemini/` and from projects, so listing
//! AGENTS.md there also makes Gemini read project AGENTS.md files. Commands are TOML with
//! `{{args}}`. `settings.json` is the user's (and `gemini mcp add` rewrites it): merged keys only.

use serde_json::{json, Map, Value};

use super::{Client, Ctx};
use crate::apply::{Artifact, DocFormat};
use crate::mcp::registry::{Effect, Entry, Server, Transport};

pub fn artifacts(ctx: &Ctx) -> anyhow::Result<Vec<Artifact>> {
    let dir = ctx.paths.in_home(".gemini");
    let mut out = vec![
        Artifact::link("gemini", dir.join("AGENTS.md"), ctx.tree.instructions_target(ctx.paths)),
        Artifact::key("gemini", dir.join("settings.json"), DocFormat::Json, &["context", "fileName"], json!(["AGENTS.md", "GEMINI.md"])),
    ];
    for cmd in ctx.tree.commands()? {
        out.push(Artifact::file("gemini", dir.join("commands").join(format!("{}.toml", cmd.name)), cmd.to_gemini_toml()));
    }
    Ok(out)
}

/// `~/.gemini/settings.json` `mcpServers.NAME`. Gemini expands `$VAR`, `${VAR}` and
/// `${VAR:-d}` across the whole file, knows `cwd`, `includeTools` and one `timeout` (ms); a
/// stdio server has no `type`, a remote one `type: "http" | "sse"`.
pub fn mcp_entry(ctx: &Ctx, s: &Server) -> Entry {
    let c = Client::Gemini;
    let mut e = Entry::default();
    let mut v = Map::new();
    match &s.transport {
        Transport::Stdio { command, args } => {
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
    if let Some(tools) = &s.tools {
        v.insert("includeTools".into(), json!(tools));
    }
    if s.startup_timeout_s.is_some() {
        e.gap(c, s, "startup_timeout", Effect::Lost, "Gemini has a single `timeout` (tool calls; `gemini mcp list` waits for it too); set `timeout` instead");
    }
    // Gemini strips inherited variables with secret-looking names before it starts a stdio
    // server, so the env backend's values never reach `aiorch secrets exec`.
    if s.is_stdio() && ctx.config.secrets.backend == crate::secrets::Backend::Env {
        for name in s.secrets.iter().filter(|n| secret_looking(n)) {
            e.gap(c, s, format!("secrets.{name}"), Effect::Lost, format!("Gemini removes inherited variables named like {name} from a server's environment, so the `env` secrets backend cannot pass it; use the keychain, file or command backend"));
        }
    }
    e.value = Some(Value::Object(v));
    e
}

/// Gemini 0.61's sanitisation pattern for inherited variable names.
fn secret_looking(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    ["TOKEN", "SECRET", "PASSWORD", "KEY", "AUTH", "CREDENTIAL", "CREDS", "PRIVATE", "CERT"].iter().any(|p| n.contains(p))
}

pub fn mcp_artifacts(ctx: &Ctx, servers: &[Server]) -> Vec<Artifact> {
    super::mcp_keys(Client::Gemini, ctx, servers, ctx.paths.in_home(".gemini/settings.json"), DocFormat::Json, "mcpServers")
}
