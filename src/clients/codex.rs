//! Codex CLI 0.169. Reads `~/.codex/AGENTS.md`; `~/.codex/prompts/` is no longer loaded, so
//! commands become skills (`~/.codex/skills/NAME/SKILL.md`). `config.toml` is written by the TUI
//! too (trust entries, `[tui]`): merged tables only, comments kept.

use serde_json::{json, Map, Value};

use super::{Client, Ctx};
use crate::apply::{Artifact, DocFormat};
use crate::mcp::registry::{env_refs, whole_ref, Effect, Entry, Server, Transport};

pub fn artifacts(ctx: &Ctx) -> anyhow::Result<Vec<Artifact>> {
    let dir = ctx.paths.in_home(".codex");
    let mut out = vec![Artifact::link("codex", dir.join("AGENTS.md"), ctx.tree.instructions_target(ctx.paths))];
    out.extend(super::skills("codex", dir.join("skills"), ctx)?);
    Ok(out)
}

/// `~/.codex/config.toml` `[mcp_servers.NAME]`. Codex expands no `${VAR}` anywhere and ignores
/// `headers`/`type`; it takes variables by name instead: `env_vars` (forwarded from its own
/// environment, which it otherwise filters down to a few defaults), `bearer_token_env_var` and
/// `env_http_headers`. Timeouts are seconds: `startup_timeout_sec`, `tool_timeout_sec`.
pub fn mcp_entry(ctx: &Ctx, s: &Server) -> Entry {
    let c = Client::Codex;
    let mut e = Entry::default();
    let mut v = Map::new();
    let literal = |e: &mut Entry, setting: &str, value: &str| {
        if !env_refs(value).is_empty() {
            e.gap(c, s, setting, Effect::Lost, format!("Codex does not expand ${{VAR}}: `{value}` is passed literally"));
        }
    };
    match &s.transport {
        Transport::Stdio { command, args } => {
            literal(&mut e, "command", command);
            v.insert("command".into(), json!(command));
            for a in args {
                literal(&mut e, "args", a);
            }
            v.insert("args".into(), json!(args));
            let mut env = Map::new();
            let mut env_vars: Vec<String> = vec![];
            for (k, val) in &s.env {
                match whole_ref(val) {
                    Some(name) if name == k => env_vars.push(k.clone()),
                    _ if env_refs(val).is_empty() => {
                        env.insert(k.clone(), json!(val));
                    }
                    _ => e.gap(c, s, format!("env.{k}"), Effect::Lost, format!("Codex cannot build `{val}` from its environment (only `{k} = \"${{{k}}}\"` forwards a variable): left out")),
                }
            }
            // The env backend reads the secrets from the environment, which Codex only passes on by name.
            if ctx.config.secrets.backend == crate::secrets::Backend::Env {
                env_vars.extend(s.secrets.iter().filter(|n| !env_vars.contains(n)).cloned().collect::<Vec<_>>());
            }
            if !env.is_empty() {
                v.insert("env".into(), Value::Object(env));
            }
            if !env_vars.is_empty() {
                v.insert("env_vars".into(), json!(env_vars));
            }
            if let Some(cwd) = &s.cwd {
                literal(&mut e, "cwd", cwd);
                v.insert("cwd".into(), json!(cwd));
            }
        }
        Transport::Sse { .. } => {
            e.gap(c, s, "transport", Effect::Lost, "Codex only speaks streamable HTTP to remote servers: not registered in Codex");
            return e;
        }
        Transport::Http { url } => {
            literal(&mut e, "url", url);
            v.insert("url".into(), json!(url));
            let mut http = Map::new();
            let mut from_env = Map::new();
            for (h, val) in &s.headers {
                let bearer = val.strip_prefix("Bearer ").and_then(whole_ref);
                match (whole_ref(val), bearer) {
                    (_, Some(name)) if h.eq_ignore_ascii_case("authorization") => {
                        v.insert("bearer_token_env_var".into(), json!(name));
                    }
                    (Some(name), _) => {
                        from_env.insert(h.clone(), json!(name));
                    }
                    _ if env_refs(val).is_empty() => {
                        http.insert(h.clone(), json!(val));
                    }
                    _ => e.gap(c, s, format!("headers.{h}"), Effect::Lost, format!("Codex takes a header from one variable (`{h} = \"${{VAR}}\"`) or a bearer token, not `{val}`: left out")),
                }
            }
            if !http.is_empty() {
                v.insert("http_headers".into(), Value::Object(http));
            }
            if !from_env.is_empty() {
                v.insert("env_http_headers".into(), Value::Object(from_env));
            }
        }
    }
    if let Some(t) = s.startup_timeout_s {
        v.insert("startup_timeout_sec".into(), json!(t));
    }
    if let Some(t) = s.timeout_s {
        v.insert("tool_timeout_sec".into(), json!(t));
    }
    if let Some(tools) = &s.tools {
        v.insert("enabled_tools".into(), json!(tools));
    }
    e.value = Some(Value::Object(v));
    e
}

pub fn mcp_artifacts(ctx: &Ctx, servers: &[Server]) -> Vec<Artifact> {
    super::mcp_keys(Client::Codex, ctx, servers, ctx.paths.in_home(".codex/config.toml"), DocFormat::Toml, "mcp_servers")
}
