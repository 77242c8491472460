//! One permission policy for every client: which shell commands run without asking, which
//! need a prompt, which never run, which files and hosts are off limits, which MCP tools may be
//! used. The source is `agentsmd/permissions/policy.toml` (embedded, or the live checkout),
//! with the `[policy]` config section added on top. Each client module translates it
//! (`clients::<client>::policy`): the native rules it can express, and — for what it cannot —
//! the safer thing that client does instead, which `aiorch doctor` and `aiorch policy show`
//! report. docs/permissions.md has the evidence for every client key used.

pub mod doctor;
pub mod eval;
pub mod model;

use serde::Serialize;

pub use crate::config::policy::{Decision, Posture};
pub use model::{Kind, Policy, PolicyFile, Rule};

use crate::agentsmd::{Origin, Tree};
use crate::apply::Artifact;
use crate::config::policy::PolicyConfig;
use crate::config::{Client, Config};
use crate::error::CliError;

/// Where the policy lives in the agentsmd tree.
pub const SOURCE: &str = "permissions/policy.toml";

/// The source file's name as a user would recognise it.
pub fn source_name(tree: &Tree) -> String {
    match &tree.origin {
        Origin::Embedded => format!("agentsmd/{SOURCE} (built in)"),
        Origin::Dir(root) => root.join(SOURCE).display().to_string(),
    }
}

/// The effective policy: the tree's policy.toml (none in a live checkout without one: only the
/// config's rules then) plus the config's `[policy]` lists.
pub fn load(p: &PolicyConfig, tree: &Tree) -> anyhow::Result<Policy> {
    let origin = source_name(tree);
    let base = match tree.get(SOURCE) {
        None => PolicyFile::default(),
        Some(bytes) => {
            let text =
                std::str::from_utf8(bytes).map_err(|e| CliError::bad_input(format!("{origin}: not UTF-8 ({e})")))?;
            toml::from_str::<PolicyFile>(text).map_err(|e| {
                let (line, col) = e.span().map(|s| crate::config::load::line_col(text, s.start)).unwrap_or((1, 1));
                CliError::bad_input(format!("{origin}:{line}:{col}: {}", e.message().trim())).hint(
                    "the policy has `posture` and [allow] / [ask] / [deny] tables with commands, read, write, hosts \
                     and mcp lists (docs/permissions.md)",
                )
            })?
        }
    };
    Ok(Policy::build(&base, p.posture, [&p.allow, &p.ask, &p.deny], &origin)?)
}

/// How one client carries one rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum How {
    /// The client enforces it as written; its native spelling.
    Native(String),
    /// Enforced, with a limit worth knowing.
    Partial { native: String, caveat: String },
    /// The client's own default already does exactly this (nothing to write).
    Default(String),
    /// The client cannot express it; `fallback` is what it does instead. aiorch picks the
    /// safer side wherever the client offers one, and says so where it does not.
    Unexpressed { fallback: Decision, why: String },
}

/// A client's rendering of the policy: per rule how it is carried, what the client does with
/// unlisted actions, and the artifacts that put it in place.
#[derive(Debug, Clone)]
pub struct Translation {
    pub client: Client,
    pub rules: Vec<(Rule, How)>,
    /// Per kind, what the client does when no rule matches (with the posture applied).
    pub defaults: Vec<(Kind, Decision, String)>,
    /// How the posture is expressed (or why it is not).
    pub posture: How,
    /// Anything else a user should know (e.g. Copilot's command-line flags).
    pub notes: Vec<String>,
    pub artifacts: Vec<Artifact>,
}

impl Translation {
    pub fn how(&self, rule: &Rule) -> &How {
        self.rules.iter().find(|(r, _)| r == rule).map(|(_, h)| h).expect("every rule is translated")
    }

    pub fn default(&self, kind: Kind) -> (Decision, String) {
        self.defaults
            .iter()
            .find(|(k, ..)| *k == kind)
            .map(|(_, d, w)| (*d, w.clone()))
            .unwrap_or((Decision::Ask, "the client asks".into()))
    }

    /// Rules the client does not carry as written: (rule, what it does instead, why).
    pub fn unexpressed(&self) -> impl Iterator<Item = (&Rule, Decision, &str)> {
        self.rules.iter().filter_map(|(r, h)| match h {
            How::Unexpressed { fallback, why } => Some((r, *fallback, why.as_str())),
            _ => None,
        })
    }
}

/// The clients the policy is rendered for: managed, and not opted out.
pub fn rendered_clients(cfg: &Config) -> Vec<Client> {
    if !cfg.enable || !cfg.policy.enable {
        return vec![];
    }
    cfg.managed_clients().into_iter().filter(|c| cfg.policy.clients.get(*c)).collect()
}

/// Render a string as a TOML / Starlark / JSON double-quoted string (JSON escapes are valid in
/// all three for the characters policy patterns may hold).
pub(crate) fn quoted(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialise")
}
