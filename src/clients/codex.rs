//! Codex CLI 0.169. Everything lives in its home, `$CODEX_HOME` (default `~/.codex`;
//! home-manager's programs.codex sets it to `~/.config/codex` with `home.preferXdgDirectories`).
//! Reads `AGENTS.md` there; `prompts/` is no longer loaded, so commands become skills
//! (`skills/NAME/SKILL.md`). `config.toml` is written by the TUI too (trust entries, `[tui]`):
//! merged tables only, comments kept.

use std::path::PathBuf;

use serde_json::{Map, Value, json};

use super::{Client, Ctx};
use crate::apply::{Artifact, DocFormat};
use crate::mcp::registry::{Effect, Entry, Server, Transport, env_refs, whole_ref};
use crate::paths::Paths;

/// Codex's home: `$CODEX_HOME` when set (Codex reads only that directory then, and refuses to
/// start when it does not exist), else `~/.codex`. Every Codex path aiorch writes, checks or
/// imports comes from here.
pub fn home(paths: &Paths) -> PathBuf {
    match std::env::var_os("CODEX_HOME") {
        Some(v) if !v.is_empty() => crate::paths::absolute(std::path::Path::new(&v)),
        _ => paths.in_home(".codex"),
    }
}

/// `config.toml` in Codex's home.
pub fn config_file(paths: &Paths) -> PathBuf {
    home(paths).join("config.toml")
}

pub fn artifacts(ctx: &Ctx) -> anyhow::Result<Vec<Artifact>> {
    let dir = home(ctx.paths);
    let mut out = vec![Artifact::link("codex", dir.join("AGENTS.md"), ctx.tree.instructions_target(ctx.paths))];
    out.extend(super::skills("codex", dir.join("skills"), ctx)?);
    Ok(out)
}

/// `config.toml` `[mcp_servers.NAME]`. Codex expands no `${VAR}` anywhere and ignores
/// `headers`/`type`; it takes variables by name instead: `env_vars` (forwarded from its own
/// environment, which it otherwise filters down to a few defaults), `bearer_token_env_var` and
/// `env_http_headers`. Timeouts are seconds: `startup_timeout_sec`, `tool_timeout_sec`.
pub fn mcp_entry(ctx: &Ctx, s: &Server) -> Entry {
    let c = Client::Codex;
    let mut e = Entry::default();
    let mut v = Map::new();
    let literal = |e: &mut Entry, setting: &str, value: &str| {
        if !env_refs(value).is_empty() {
            e.gap(
                c,
                s,
                setting,
                Effect::Lost,
                format!("Codex does not expand ${{VAR}}: `{value}` is passed literally"),
            );
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
                    _ => e.gap(
                        c,
                        s,
                        format!("env.{k}"),
                        Effect::Lost,
                        format!(
                            "Codex cannot build `{val}` from its environment (only `{k} = \"${{{k}}}\"` forwards a \
                             variable): left out"
                        ),
                    ),
                }
            }
            // The env backend reads the secrets from the environment, which Codex only passes on by name.
            if ctx.config.secrets.backend == crate::config::secrets::Backend::Env {
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
            e.gap(
                c,
                s,
                "transport",
                Effect::Lost,
                "Codex only speaks streamable HTTP to remote servers: not registered in Codex",
            );
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
                    _ => e.gap(
                        c,
                        s,
                        format!("headers.{h}"),
                        Effect::Lost,
                        format!(
                            "Codex takes a header from one variable (`{h} = \"${{VAR}}\"`) or a bearer token, not \
                             `{val}`: left out"
                        ),
                    ),
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
    super::mcp_keys(Client::Codex, ctx, servers, config_file(ctx.paths), DocFormat::Toml, "mcp_servers")
}

// ---- Permission policy (src/policy) ----------------------------------------------------------
//
// Codex CLI 0.169 has execpolicy rule files, `$CODEX_HOME/rules/*.rules` (Starlark):
// `prefix_rule(pattern = [words…], decision = "allow"|"prompt"|"forbidden", justification,
// match = [examples])` — token prefixes, the strictest matching decision wins, and a
// `bash -lc` script is split into its commands first — and `network_rule(host, protocol,
// decision)` for the managed network proxy (exact hosts only). aiorch owns one whole file there
// (`codex execpolicy check --rules FILE CMD…` evaluates it offline). The posture cannot be
// expressed: 0.169 refuses `approval_policy = "untrusted"` ("no longer supported; remove this
// setting"), and `on-request` (its default) runs unlisted commands inside the sandbox without
// asking, so aiorch leaves approval_policy to the user and reports it. Codex has no per-path
// file rules or per-tool MCP rules in user config: those are reported too.

use crate::policy::{Decision, How, Kind, Policy, Translation, quoted};

/// aiorch's rules file, under Codex's home.
pub fn rules_file(paths: &Paths) -> PathBuf {
    home(paths).join("rules/aiorch.rules")
}

fn codex_decision(d: Decision) -> &'static str {
    match d {
        Decision::Allow => "allow",
        Decision::Ask => "prompt",
        Decision::Deny => "forbidden",
    }
}

pub fn policy(paths: &crate::paths::Paths, p: &Policy) -> Translation {
    let mut rules = vec![];
    let mut out = String::from(
        "# Managed by aiorch: the permission policy (agentsmd/permissions/policy.toml + [policy]).\n\
         # Edit the policy, not this file; `aiorch policy show --client codex` explains every rule.\n",
    );
    for r in &p.rules {
        let how = match r.kind {
            Kind::Command => {
                let words: Vec<String> = r.pattern.split(' ').map(quoted).collect();
                let line = format!(
                    "prefix_rule(pattern = [{}], decision = \"{}\", justification = {}, match = [{}])",
                    words.join(", "),
                    codex_decision(r.decision),
                    quoted(&format!("aiorch policy: {}", r.label())),
                    quoted(&r.pattern)
                );
                out.push_str(&line);
                out.push('\n');
                How::Native(format!(
                    "prefix_rule(pattern = [{}], decision = \"{}\")",
                    words.join(", "),
                    codex_decision(r.decision)
                ))
            }
            Kind::Host if r.pattern.starts_with("*.") => How::Unexpressed {
                fallback: if r.decision == Decision::Allow { Decision::Ask } else { Decision::Deny },
                why: "network_rule takes exact hosts only; Codex's default workspace-write sandbox gives commands no \
                      network at all (unless sandbox_workspace_write.network_access = true)"
                    .into(),
            },
            Kind::Host => {
                for proto in ["https", "http"] {
                    out.push_str(&format!(
                        "network_rule(host = {}, protocol = \"{proto}\", decision = \"{}\")\n",
                        quoted(&r.pattern),
                        codex_decision(r.decision)
                    ));
                }
                How::Partial {
                    native: format!(
                        "network_rule(host = {}, protocol = \"https\"|\"http\", decision = \"{}\")",
                        quoted(&r.pattern),
                        codex_decision(r.decision)
                    ),
                    caveat: "applies through Codex's managed network proxy; the default sandbox gives commands no \
                             network at all"
                        .into(),
                }
            }
            Kind::Read => How::Unexpressed {
                fallback: Decision::Allow,
                why: "Codex has no per-path read rules in user config and its sandbox lets commands read everywhere: \
                      NOT enforced"
                    .into(),
            },
            Kind::Write if r.pattern.starts_with('/') || r.pattern.starts_with('~') => How::Unexpressed {
                fallback: Decision::Ask,
                why: "Codex has no per-path write rules in user config; its workspace-write sandbox refuses writes \
                      outside the workspace unless you approve"
                    .into(),
            },
            Kind::Write => How::Unexpressed {
                fallback: Decision::Allow,
                why:
                    "Codex has no per-path write rules in user config and its sandbox lets edits inside the workspace \
                     through: NOT enforced there"
                        .into(),
            },
            Kind::Mcp => How::Unexpressed {
                fallback: Decision::Ask,
                why: "Codex has no per-tool MCP permission rules in user config (only enabled_tools/disabled_tools \
                      inside each server's own table); it decides MCP approvals from the tools' annotations"
                    .into(),
            },
        };
        rules.push((r.clone(), how));
    }
    let sandboxed = "Codex runs it inside its sandbox without asking (approval_policy on-request, its default: it asks \
                     only to leave the sandbox)";
    let posture_how = How::Unexpressed {
        fallback: Decision::Allow,
        why: format!(
            "Codex 0.169 has no ask-for-everything mode (approval_policy = \"untrusted\" is refused); unlisted \
             commands: {sandboxed}"
        ),
    };
    let defaults = vec![
        (Kind::Command, Decision::Allow, sandboxed.to_string()),
        (Kind::Read, Decision::Allow, "Codex's sandbox lets commands read everywhere".into()),
        (
            Kind::Write,
            Decision::Allow,
            "Codex's workspace-write sandbox lets edits inside the workspace through (outside it, it asks)".into(),
        ),
        (Kind::Host, Decision::Deny, "the default workspace-write sandbox gives commands no network".into()),
        (Kind::Mcp, Decision::Ask, "Codex decides MCP approvals from the tools' annotations".into()),
    ];
    let artifacts = vec![Artifact::file("policy", rules_file(paths), out)];
    Translation { client: super::Client::Codex, rules, defaults, posture: posture_how, notes: vec![], artifacts }
}

pub fn policy_artifacts(ctx: &Ctx, p: &Policy) -> Vec<Artifact> {
    policy(ctx.paths, p).artifacts
}

// ---- The gateway (`[gateway] route_clients`) --------------------------------------------------
//
// Codex's `config.toml`: a provider `model_providers.aiorch` at the gateway's `/v1` speaking the
// Responses API (Codex no longer takes `wire_api = "chat"`), made the default with
// `model_provider`, and `model = "coding-model"` (the gateway serves its aliases, not OpenAI's
// names). The key: `env_key` names the variable Codex reads it from, so `aiorch secrets exec
// --only KEY -- codex` supplies it and no file holds it.

pub const GATEWAY_PROVIDER: &str = "aiorch";

pub fn gateway_artifacts(ctx: &Ctx, route: &crate::services::gateway::Route) -> Vec<Artifact> {
    let file = config_file(ctx.paths);
    let mut provider = serde_json::Map::new();
    provider.insert("name".into(), json!("aiorch gateway"));
    provider.insert("base_url".into(), json!(format!("{}/v1", route.url)));
    provider.insert("wire_api".into(), json!("responses"));
    if let Some(secret) = &route.key_secret {
        provider.insert("env_key".into(), json!(secret));
        provider.insert(
            "env_key_instructions".into(),
            json!(format!("run Codex as `aiorch secrets exec --only {secret} -- codex`")),
        );
    }
    vec![
        Artifact::key(
            "gateway",
            file.clone(),
            DocFormat::Toml,
            &["model_providers", GATEWAY_PROVIDER],
            provider.into(),
        ),
        Artifact::key("gateway", file.clone(), DocFormat::Toml, &["model_provider"], json!(GATEWAY_PROVIDER)),
        Artifact::key("gateway", file, DocFormat::Toml, &["model"], json!("coding-model")),
    ]
}
