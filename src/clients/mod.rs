//! The four clients aiorch manages, one file each: where each one really reads instructions,
//! commands and settings (docs/clients.md has the verified facts), expressed as artifacts.

pub mod claude;
pub mod codex;
pub mod copilot;
pub mod gemini;

use crate::agentsmd::Tree;
use crate::apply::Artifact;
use crate::config::{Config, Manage};
use crate::mcp::registry::{Entry, Server};
use crate::paths::Paths;

/// What a client module needs to declare its artifacts.
pub struct Ctx<'a> {
    pub paths: &'a Paths,
    pub config: &'a Config,
    pub tree: &'a Tree,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Client {
    Claude,
    Gemini,
    Codex,
    Copilot,
}

impl Client {
    pub const ALL: [Client; 4] = [Client::Claude, Client::Gemini, Client::Codex, Client::Copilot];

    pub fn name(self) -> &'static str {
        match self {
            Client::Claude => "claude",
            Client::Gemini => "gemini",
            Client::Codex => "codex",
            Client::Copilot => "copilot",
        }
    }

    /// The executable on PATH.
    pub fn binary(self) -> &'static str {
        self.name()
    }

    pub fn manage(self, cfg: &Config) -> Manage {
        match self {
            Client::Claude => cfg.clients.claude,
            Client::Gemini => cfg.clients.gemini,
            Client::Codex => cfg.clients.codex,
            Client::Copilot => cfg.clients.copilot,
        }
    }

    pub fn installed(self) -> bool {
        which::which(self.binary()).is_ok()
    }

    /// Managed: enabled in config, or `auto` and installed.
    pub fn managed(self, cfg: &Config) -> bool {
        match self.manage(cfg) {
            Manage::Always => true,
            Manage::Never => false,
            Manage::Auto => self.installed(),
        }
    }

    /// This client's translation of one MCP server (the format lives in `clients/<client>.rs`).
    pub fn mcp_entry(self, ctx: &Ctx, s: &Server) -> Entry {
        match self {
            Client::Claude => claude::mcp_entry(ctx, s),
            Client::Gemini => gemini::mcp_entry(ctx, s),
            Client::Codex => codex::mcp_entry(ctx, s),
            Client::Copilot => copilot::mcp_entry(ctx, s),
        }
    }

    /// The merged keys that register `servers` (those this client wants) in its MCP file.
    pub fn mcp_artifacts(self, ctx: &Ctx, servers: &[Server]) -> Vec<Artifact> {
        match self {
            Client::Claude => claude::mcp_artifacts(ctx, servers),
            Client::Gemini => gemini::mcp_artifacts(ctx, servers),
            Client::Codex => codex::mcp_artifacts(ctx, servers),
            Client::Copilot => copilot::mcp_artifacts(ctx, servers),
        }
    }

    fn artifacts(self, ctx: &Ctx) -> anyhow::Result<Vec<Artifact>> {
        match self {
            Client::Claude => claude::artifacts(ctx),
            Client::Gemini => gemini::artifacts(ctx),
            Client::Codex => codex::artifacts(ctx),
            Client::Copilot => copilot::artifacts(ctx),
        }
    }
}

pub fn managed(cfg: &Config) -> Vec<Client> {
    Client::ALL.into_iter().filter(|c| c.managed(cfg)).collect()
}

/// Everything the managed clients (and `~/AGENTS.md`) should have.
pub fn artifacts(ctx: &Ctx) -> anyhow::Result<Vec<Artifact>> {
    let mut out = vec![];
    for c in managed(ctx.config) {
        out.extend(c.artifacts(ctx)?);
    }
    if ctx.config.agentsmd.home_agents_md {
        out.push(Artifact::link("agentsmd", ctx.paths.in_home("AGENTS.md"), ctx.tree.instructions_target(ctx.paths)));
    }
    Ok(out)
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

/// One merged key per server (`KEY_ROOT.NAME`), so a user's own servers in the same map are
/// never touched and removing a server retracts exactly that key.
pub(crate) fn mcp_keys(
    client: Client,
    ctx: &Ctx,
    servers: &[Server],
    file: std::path::PathBuf,
    format: crate::apply::DocFormat,
    root: &str,
) -> Vec<Artifact> {
    servers
        .iter()
        .filter(|s| s.wants(client))
        .filter_map(|s| {
            client.mcp_entry(ctx, s).value.map(|v| Artifact::key("mcp", file.clone(), format, &[root, &s.name], v))
        })
        .collect()
}
