//! The clients aiorch manages, one file each: where each one really reads instructions,
//! commands and settings (docs/clients.md has the verified facts), how it spells an MCP server,
//! and how it carries the permission policy. This file is the one place that dispatches to
//! them: every feature below (agentsmd, mcp, policy) is client-agnostic, and everything a
//! client gets is assembled here.

pub mod aider;
pub mod claude;
pub mod codex;
pub mod copilot;
pub mod gemini;
pub mod opencode;

use crate::agentsmd::Tree;
use crate::apply::{Artifact, DocFormat};
use crate::config::{Client, Config};
use crate::mcp::plugins;
use crate::mcp::registry::{self, Entry, Gap, Server};
use crate::paths::Paths;
use crate::policy::{self, How, Policy, Translation};

/// What a client module needs to declare its artifacts.
pub struct Ctx<'a> {
    pub paths: &'a Paths,
    pub config: &'a Config,
    pub tree: &'a Tree,
}

/// Every artifact the config declares: the agentsmd tree, each managed client's instructions,
/// commands, MCP servers and permission settings, and Claude's marketplaces and plugins. The
/// MCP registry and the plugin list are validated even when no client is managed, so a bad
/// entry is reported (exit 2) on every machine.
pub fn declared(ctx: &Ctx) -> anyhow::Result<Vec<Artifact>> {
    let mut out = ctx.tree.artifacts(ctx.paths);
    let servers = registry::resolve(&ctx.config.mcp, ctx.paths)?;
    let plugins = plugins::declared(&ctx.config.plugins, ctx.paths)?;
    let clients = ctx.config.managed_clients();
    for c in &clients {
        out.extend(instructions(*c, ctx)?);
    }
    if ctx.config.agentsmd.home_agents_md {
        out.push(Artifact::link("agentsmd", ctx.paths.in_home("AGENTS.md"), ctx.tree.instructions_target(ctx.paths)));
    }
    for c in &clients {
        out.extend(mcp_artifacts(*c, ctx, &servers));
    }
    if Client::Claude.managed(ctx.config) {
        out.extend(claude::plugin_artifacts(ctx, &plugins));
    }
    out.extend(policy_artifacts(ctx)?);
    out.extend(gateway_artifacts(ctx)?);
    Ok(out)
}

/// `[gateway] route_clients`: each routed (and managed) client's own API base and key setting.
fn gateway_artifacts(ctx: &Ctx) -> anyhow::Result<Vec<Artifact>> {
    let routed = crate::services::gateway::routed_clients(ctx.config)?;
    let route = crate::services::gateway::route(ctx.config);
    let mut out = vec![];
    for c in routed.into_iter().filter(|c| c.managed(ctx.config)) {
        match c {
            Client::Claude => out.extend(claude::gateway_artifacts(ctx, &route)?),
            Client::Codex => out.extend(codex::gateway_artifacts(ctx, &route)),
            // `routed_clients` refuses the others, each with its reason.
            Client::Gemini | Client::Copilot | Client::Opencode | Client::Aider => {}
        }
    }
    Ok(out)
}

/// The settings file a client's own home-manager module writes and aiorch merges keys into
/// (policy, plugins): what `[apply] nix_managed` names when Nix takes it over.
pub fn settings_file(client: Client, paths: &Paths) -> Option<std::path::PathBuf> {
    match client {
        Client::Claude => Some(paths.in_home(".claude/settings.json")),
        Client::Gemini => Some(paths.in_home(".gemini/settings.json")),
        Client::Codex => Some(codex::config_file(paths)),
        Client::Copilot => None,
        Client::Opencode => Some(opencode::config_file(paths)),
        Client::Aider => Some(aider::conf_file(paths)),
    }
}

/// A client's instructions and commands (or skills).
fn instructions(client: Client, ctx: &Ctx) -> anyhow::Result<Vec<Artifact>> {
    match client {
        Client::Claude => claude::artifacts(ctx),
        Client::Gemini => gemini::artifacts(ctx),
        Client::Codex => codex::artifacts(ctx),
        Client::Copilot => copilot::artifacts(ctx),
        Client::Opencode => opencode::artifacts(ctx),
        Client::Aider => aider::artifacts(ctx),
    }
}

/// This client's translation of one MCP server.
pub fn mcp_entry(client: Client, ctx: &Ctx, s: &Server) -> Entry {
    match client {
        Client::Claude => claude::mcp_entry(ctx, s),
        Client::Gemini => gemini::mcp_entry(ctx, s),
        Client::Codex => codex::mcp_entry(ctx, s),
        Client::Copilot => copilot::mcp_entry(ctx, s),
        Client::Opencode => opencode::mcp_entry(ctx, s),
        Client::Aider => aider::mcp_entry(ctx, s),
    }
}

/// The merged keys that register `servers` (those this client wants) in its MCP file.
fn mcp_artifacts(client: Client, ctx: &Ctx, servers: &[Server]) -> Vec<Artifact> {
    match client {
        Client::Claude => claude::mcp_artifacts(ctx, servers),
        Client::Gemini => gemini::mcp_artifacts(ctx, servers),
        Client::Codex => codex::mcp_artifacts(ctx, servers),
        Client::Copilot => copilot::mcp_artifacts(ctx, servers),
        Client::Opencode => opencode::mcp_artifacts(ctx, servers),
        Client::Aider => aider::mcp_artifacts(ctx, servers),
    }
}

/// Servers each managed client gets, with their translation: the one list apply, doctor and
/// the notes are made from.
pub fn mcp_translated(ctx: &Ctx) -> anyhow::Result<Vec<(Client, Server, Entry)>> {
    Ok(translate_all(ctx, &registry::resolve(&ctx.config.mcp, ctx.paths)?))
}

fn translate_all(ctx: &Ctx, servers: &[Server]) -> Vec<(Client, Server, Entry)> {
    let mut out = vec![];
    for client in ctx.config.managed_clients() {
        for s in servers.iter().filter(|s| s.wants(client)) {
            out.push((client, s.clone(), mcp_entry(client, ctx, s)));
        }
    }
    out
}

/// What `apply` should tell the user about the registry: every setting a managed client cannot
/// express, and remote servers whose secrets the client must have in its own environment.
pub fn mcp_notes(ctx: &Ctx) -> anyhow::Result<Vec<String>> {
    let servers = registry::resolve(&ctx.config.mcp, ctx.paths)?;
    let gaps: Vec<Gap> = translate_all(ctx, &servers).into_iter().flat_map(|(_, _, e)| e.gaps).collect();
    let mut out: Vec<String> = gaps.iter().map(ToString::to_string).collect();
    out.extend(servers.iter().filter_map(crate::mcp::remote_secrets_note));
    Ok(out)
}

/// One merged key per server (`KEY_ROOT.NAME`), so a user's own servers in the same map are
/// never touched and removing a server retracts exactly that key.
pub(crate) fn mcp_keys(
    client: Client,
    ctx: &Ctx,
    servers: &[Server],
    file: std::path::PathBuf,
    format: DocFormat,
    root: &str,
) -> Vec<Artifact> {
    servers
        .iter()
        .filter(|s| s.wants(client))
        .filter_map(|s| {
            let declared_at = if s.builtin {
                format!("aiorch's own server, `mcp.serve_self` in {}", ctx.paths.display(&ctx.paths.config_file))
            } else {
                format!("`[mcp.servers.{}]` in {}", s.name, ctx.paths.display(&ctx.paths.config_file))
            };
            let v = mcp_entry(client, ctx, s).value?;
            Some(Artifact::key("mcp", file.clone(), format, &[root, &s.name], v).entry(declared_at))
        })
        .collect()
}

/// `skills/NAME/SKILL.md` for every command, under `dir` (Codex and Copilot read skills).
pub(crate) fn skills(owner: &'static str, dir: std::path::PathBuf, ctx: &Ctx) -> anyhow::Result<Vec<Artifact>> {
    Ok(ctx
        .tree
        .commands()?
        .iter()
        .map(|cmd| Artifact::file(owner, dir.join(cmd.skill_name()).join("SKILL.md"), cmd.to_skill()))
        .collect())
}

/// Translate the policy for one client (the translation lives in that client's module).
pub fn policy_translation(client: Client, paths: &Paths, policy: &Policy) -> Translation {
    let mut t = match client {
        Client::Claude => claude::policy(paths, policy),
        Client::Gemini => gemini::policy(paths, policy),
        Client::Codex => codex::policy(paths, policy),
        Client::Copilot => copilot::policy(paths, policy),
        Client::Opencode => opencode::policy(paths, policy),
        Client::Aider => aider::policy(paths, policy),
    };
    // A rule the client cannot write down but already does by default is not a gap.
    for (rule, how) in &mut t.rules {
        if let How::Unexpressed { fallback, why } = how
            && *fallback == rule.decision
        {
            *how = How::Default(std::mem::take(why));
        }
    }
    t
}

/// Everything the policy puts on disk, for every client it is rendered for.
fn policy_artifacts(ctx: &Ctx) -> anyhow::Result<Vec<Artifact>> {
    let clients = policy::rendered_clients(ctx.config);
    if clients.is_empty() {
        return Ok(vec![]);
    }
    let policy = policy::load(&ctx.config.policy, ctx.tree)?;
    Ok(clients
        .into_iter()
        .flat_map(|c| match c {
            Client::Claude => claude::policy_artifacts(ctx, &policy),
            Client::Gemini => gemini::policy_artifacts(ctx, &policy),
            Client::Codex => codex::policy_artifacts(ctx, &policy),
            Client::Copilot => copilot::policy_artifacts(ctx, &policy),
            Client::Opencode => opencode::policy_artifacts(ctx, &policy),
            Client::Aider => aider::policy_artifacts(ctx, &policy),
        })
        .collect())
}
