//! Aider 0.86 (`aider-chat`). It reads `~/.aider.conf.yml` (then the git root's and the
//! working directory's, later ones winning per key): `read:` lists files added to every chat
//! read-only — the conventions file — so the composed instructions (AGENTS.md and the rules)
//! are one member there, next to the user's own. With the gateway enabled, `openai-api-base`
//! points at it and `alias:` names each gateway model (`ID:openai/MODEL`). The file is the
//! user's: aiorch owns one member and two keys, edited line by line (src/apply/yaml.rs), every
//! comment kept. Aider has no MCP client, no commands directory and no permission settings:
//! what it cannot take is reported (`aiorch doctor`, `aiorch policy show`).

use serde_json::json;

use super::{Client, Ctx};
use crate::apply::{Artifact, DocFormat};
use crate::mcp::registry::{Effect, Entry, Server};
use crate::paths::Paths;

pub const CONF: &str = ".aider.conf.yml";

pub fn conf_file(paths: &Paths) -> std::path::PathBuf {
    paths.in_home(CONF)
}

pub fn artifacts(ctx: &Ctx) -> anyhow::Result<Vec<Artifact>> {
    let file = conf_file(ctx.paths);
    let instructions = ctx.tree.instructions_target(ctx.paths).display().to_string();
    let mut out = vec![Artifact::members("aider", file.clone(), DocFormat::Yaml, &["read"], vec![json!(instructions)])];
    let gw = crate::runtime::registry::gateway(ctx.config);
    if gw.enabled {
        out.push(
            Artifact::key("aider", file.clone(), DocFormat::Yaml, &["openai-api-base"], json!(gw.url))
                .entry("the gateway, `runtime.gateway.enabled`".into()),
        );
        let reg = crate::runtime::registry::Registry::load(
            ctx.config,
            &crate::modelmap::ModelMap::load(&ctx.paths.state_dir),
        )?;
        let aliases: Vec<serde_json::Value> = reg
            .models
            .iter()
            .filter(|m| m.via == crate::runtime::registry::Via::Gateway)
            .map(|m| json!(format!("{}:openai/{}", m.id, m.upstream)))
            .collect();
        if !aliases.is_empty() {
            out.push(Artifact::members("aider", file, DocFormat::Yaml, &["alias"], aliases));
        }
    }
    Ok(out)
}

/// Aider has no MCP client: no server reaches it.
pub fn mcp_entry(_ctx: &Ctx, s: &Server) -> Entry {
    let mut e = Entry::default();
    e.gap(
        Client::Aider,
        s,
        "server",
        Effect::Lost,
        "Aider has no MCP client: not registered (use `clients = [...]` on the server to say so)",
    );
    e
}

pub fn mcp_artifacts(_ctx: &Ctx, _servers: &[Server]) -> Vec<Artifact> {
    vec![]
}

// ---- Permission policy (src/policy) ----------------------------------------------------------
//
// Aider has no permission settings. It asks before it runs a shell command it suggests and
// before it adds a URL it sees to the chat; it edits files in the chat without asking (and
// commits them, unless `auto-commits: false`). Nothing is written; every rule is reported.

use crate::policy::{Decision, How, Kind, Policy, Translation};

pub fn policy(_paths: &Paths, p: &Policy) -> Translation {
    let rules = p
        .rules
        .iter()
        .map(|r| {
            let how = match r.kind {
                Kind::Command => How::Unexpressed {
                    fallback: Decision::Ask,
                    why: "Aider has no command rules; it asks before running any shell command it suggests".into(),
                },
                Kind::Host => How::Unexpressed {
                    fallback: Decision::Ask,
                    why: "Aider has no URL rules; it asks before adding a URL's contents to the chat".into(),
                },
                Kind::Read | Kind::Write => How::Unexpressed {
                    fallback: Decision::Allow,
                    why: "Aider has no path rules: it reads and edits every file added to the chat without asking \
                          (only `/add` decides what is in the chat)"
                        .into(),
                },
                Kind::Mcp => How::Default("Aider has no MCP client: no MCP tool ever runs".into()),
            };
            (r.clone(), how)
        })
        .collect();
    let defaults = vec![
        (Kind::Command, Decision::Ask, "Aider asks before running a suggested shell command".into()),
        (Kind::Read, Decision::Allow, "files in the chat are read without asking".into()),
        (Kind::Write, Decision::Allow, "files in the chat are edited without asking".into()),
        (Kind::Host, Decision::Ask, "Aider asks before adding a URL to the chat".into()),
        (Kind::Mcp, Decision::Deny, "Aider has no MCP client".into()),
    ];
    Translation {
        client: Client::Aider,
        rules,
        defaults,
        posture: How::Unexpressed {
            fallback: Decision::Ask,
            why: "Aider has no permission settings: it asks before commands and URLs, never before edits".into(),
        },
        notes: vec![],
        artifacts: vec![],
    }
}

pub fn policy_artifacts(_ctx: &Ctx, _p: &Policy) -> Vec<Artifact> {
    vec![]
}
