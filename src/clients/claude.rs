//! Claude Code. Reads `~/.claude/CLAUDE.md` (never `~/.claude/AGENTS.md` by itself, so CLAUDE.md
//! imports it: `@AGENTS.md` works in every version) and `~/.claude/commands/**/*.md` in the
//! source format, so commands are links. `~/.claude.json` is rewritten by Claude on every run:
//! it only ever gets merged keys, never a link or a replacement.

use serde_json::{Map, Value, json};

use super::{Client, Ctx};
use crate::apply::{Artifact, DocFormat};
use crate::mcp::registry::{Effect, Entry, Server, Transport, cwd_wrapper};

pub const CLAUDE_MD: &str = "<!-- Managed by aiorch: the instructions live in AGENTS.md (agentsmd/). Edit those, not \
                             this file. -->\n@AGENTS.md\n";

pub fn artifacts(ctx: &Ctx) -> anyhow::Result<Vec<Artifact>> {
    let dir = ctx.paths.in_home(".claude");
    let mut out = vec![
        Artifact::link("claude", dir.join("AGENTS.md"), ctx.tree.instructions_target(ctx.paths)),
        Artifact::file("claude", dir.join("CLAUDE.md"), CLAUDE_MD),
    ];
    for cmd in ctx.tree.commands()? {
        out.push(Artifact::link(
            "claude",
            dir.join("commands").join(format!("{}.md", cmd.name)),
            ctx.tree.link_target(&cmd.rel, ctx.paths),
        ));
    }
    Ok(out)
}

/// `~/.claude.json` top-level `mcpServers.NAME` (user scope). Claude has no `cwd` (it strips
/// the key), expands `${VAR}`/`${VAR:-d}` itself, and its per-server `timeout` (ms) is the
/// tool-call timeout; startup is governed by the global `MCP_TIMEOUT`.
pub fn mcp_entry(_ctx: &Ctx, s: &Server) -> Entry {
    let c = Client::Claude;
    let mut e = Entry::default();
    let mut v = Map::new();
    match &s.transport {
        Transport::Stdio { command, args } => {
            v.insert("type".into(), json!("stdio"));
            let (command, args) = match &s.cwd {
                Some(dir) => {
                    e.gap(
                        c,
                        s,
                        "cwd",
                        Effect::Emulated,
                        "Claude has no `cwd`: the server is started through `/bin/sh -c 'cd -- DIR && exec …'`",
                    );
                    cwd_wrapper(dir, command, args)
                }
                None => (command.clone(), args.clone()),
            };
            v.insert("command".into(), json!(command));
            v.insert("args".into(), json!(args));
            if !s.env.is_empty() {
                v.insert("env".into(), json!(s.env));
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
        e.gap(
            c,
            s,
            "startup_timeout",
            Effect::Lost,
            "Claude has no per-server startup timeout (it is global: the MCP_TIMEOUT environment variable, in ms)",
        );
    }
    if s.tools.is_some() {
        e.gap(
            c,
            s,
            "tools",
            Effect::Lost,
            "Claude has no per-server tool allow-list: every tool of the server is offered (deny tools with \
             `permissions.deny` in ~/.claude/settings.json)",
        );
    }
    e.value = Some(Value::Object(v));
    e
}

pub fn mcp_artifacts(ctx: &Ctx, servers: &[Server]) -> Vec<Artifact> {
    super::mcp_keys(Client::Claude, ctx, servers, ctx.paths.in_home(".claude.json"), DocFormat::Json, "mcpServers")
}

/// `~/.claude/settings.json`: `extraKnownMarketplaces.NAME = {source: …}` and
/// `enabledPlugins."plugin@mkt" = true`, one key each. Claude installs them over its next
/// sessions (or at once with `aiorch plugins sync`); `~/.claude/plugins/` stays Claude's.
pub fn plugin_artifacts(ctx: &Ctx, declared: &crate::mcp::plugins::Declared) -> Vec<Artifact> {
    let file = ctx.paths.in_home(".claude/settings.json");
    let mut out: Vec<Artifact> = declared
        .marketplaces
        .iter()
        .map(|(name, m)| {
            Artifact::key("plugins", file.clone(), DocFormat::Json, &["extraKnownMarketplaces", name], m.to_claude())
        })
        .collect();
    out.extend(declared.enabled.iter().map(|id| {
        Artifact::key("plugins", file.clone(), DocFormat::Json, &["enabledPlugins", &id.to_string()], json!(true))
    }));
    out
}

// ---- Permission policy (src/policy) ----------------------------------------------------------
//
// `~/.claude/settings.json` `permissions.allow|ask|deny` (arrays of rule strings, validated by
// the zod schema in the 2.1.329 binary: `Bash(prefix:*)`, `Read(glob)`, `Edit(glob)` — Write is
// matched by Edit rules —, `WebFetch(domain:host)`, `mcp__server[__tool]`). The user edits these
// arrays too, so aiorch owns only its own members. The posture `deny` is `defaultMode:
// "dontAsk"` (refuse whatever no rule pre-approves). Claude applies deny, then ask, then allow,
// and splits compound Bash commands before matching — the semantics of src/policy/eval.rs.

use crate::policy::{Decision, How, Kind, Policy, Posture, Translation};

const SETTINGS: &str = ".claude/settings.json";

pub fn policy(paths: &crate::paths::Paths, p: &Policy) -> Translation {
    let mut rules = vec![];
    let mut lists: std::collections::BTreeMap<Decision, Vec<serde_json::Value>> = Default::default();
    for r in &p.rules {
        let native = match r.kind {
            Kind::Command => format!("Bash({}:*)", r.pattern),
            Kind::Read => format!("Read({})", claude_path(&r.pattern)),
            Kind::Write => format!("Edit({})", claude_path(&r.pattern)),
            Kind::Host => format!("WebFetch(domain:{})", r.pattern),
            Kind::Mcp => match crate::policy::model::mcp_parts(&r.pattern) {
                (s, Some(t)) => format!("mcp__{s}__{t}"),
                (s, None) => format!("mcp__{s}"),
            },
        };
        lists.entry(r.decision).or_default().push(serde_json::Value::String(native.clone()));
        let how = match r.kind {
            Kind::Host => How::Partial {
                native,
                caveat: "Claude's WebFetch tool; a shell command such as curl is judged by the command rules".into(),
            },
            _ => How::Native(native),
        };
        rules.push((r.clone(), how));
    }
    let file = paths.in_home(SETTINGS);
    let mut artifacts: Vec<Artifact> = lists
        .into_iter()
        .map(|(d, values)| {
            Artifact::members("policy", file.clone(), crate::apply::DocFormat::Json, &["permissions", d.name()], values)
        })
        .collect();
    let (posture, unlisted) = match p.posture {
        Posture::Ask => {
            (How::Default("defaultMode \"default\": Claude asks before anything no rule allows".into()), Decision::Ask)
        }
        Posture::Deny => {
            artifacts.push(Artifact::key(
                "policy",
                file,
                crate::apply::DocFormat::Json,
                &["permissions", "defaultMode"],
                serde_json::json!("dontAsk"),
            ));
            (How::Native("permissions.defaultMode = \"dontAsk\"".into()), Decision::Deny)
        }
    };
    let mode = if unlisted == Decision::Deny { "defaultMode dontAsk: Claude refuses" } else { "Claude asks" };
    let defaults = vec![
        (Kind::Command, unlisted, format!("{mode} (shell commands)")),
        (Kind::Read, Decision::Allow, "Claude's file tools read inside the working directories without asking".into()),
        (Kind::Write, unlisted, format!("{mode} (file edits)")),
        (Kind::Host, unlisted, format!("{mode} (web fetches)")),
        (Kind::Mcp, unlisted, format!("{mode} (MCP tools)")),
    ];
    Translation { client: super::Client::Claude, rules, defaults, posture, notes: vec![], artifacts }
}

/// Claude's path rules: `//abs` is absolute, `~/` is home, anything else is relative to the
/// working directory (a single leading `/` would mean "relative to the settings file").
fn claude_path(glob: &str) -> String {
    if glob.starts_with('/') { format!("/{glob}") } else { glob.to_string() }
}

pub fn policy_artifacts(ctx: &Ctx, p: &Policy) -> Vec<Artifact> {
    policy(ctx.paths, p).artifacts
}

// ---- The gateway (`[gateway] route_clients`) --------------------------------------------------
//
// `~/.claude/settings.json`: `env.ANTHROPIC_BASE_URL` (Claude Code then sends `/v1/messages` to
// the gateway, which LiteLLM serves for every alias), the session's model and the names the
// gateway knows for its sonnet/opus/haiku slots, and `apiKeyHelper`: a shell command Claude
// runs for its key (sent as `x-api-key` and `Authorization: Bearer`), here `aiorch secrets exec`
// printing the secret, so the key is never written in a file. One key each, so retraction removes exactly these.

/// The shell command Claude runs to get the gateway key.
pub fn key_helper(ctx: &Ctx, secret: &str) -> anyhow::Result<String> {
    let mut argv = vec![crate::mcp::registry::self_exe()?.display().to_string()];
    argv.extend(crate::mcp::registry::self_argv_prefix(ctx.paths));
    argv.extend(["secrets", "exec", "--only", secret, "--", "printenv", secret].map(String::from));
    Ok(argv.iter().map(|a| sh_quote(a)).collect::<Vec<_>>().join(" "))
}

/// POSIX shell single quotes (Claude runs the helper with a shell); plain words stay bare.
fn sh_quote(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:@+,".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

pub fn gateway_artifacts(ctx: &Ctx, route: &crate::services::gateway::Route) -> anyhow::Result<Vec<Artifact>> {
    let file = ctx.paths.in_home(".claude/settings.json");
    let env = |var: &str, v: &str| Artifact::key("gateway", file.clone(), DocFormat::Json, &["env", var], json!(v));
    let mut out = vec![
        env("ANTHROPIC_BASE_URL", &route.url),
        // The session's model: without it Claude picks its default (e.g. `opus[1m]`, which
        // becomes `research-model[1m]`, a name the gateway does not serve).
        env("ANTHROPIC_MODEL", "coding-model"),
        env("ANTHROPIC_DEFAULT_SONNET_MODEL", "coding-model"),
        env("ANTHROPIC_DEFAULT_OPUS_MODEL", "research-model"),
        env("ANTHROPIC_DEFAULT_HAIKU_MODEL", "fast-model"),
    ];
    if let Some(secret) = &route.key_secret {
        out.push(Artifact::key(
            "gateway",
            file.clone(),
            DocFormat::Json,
            &["apiKeyHelper"],
            json!(key_helper(ctx, secret)?),
        ));
    }
    Ok(out)
}
