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

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use model::{Decision, Kind, Policy, PolicyFile, Posture, Rule, RuleSet};

use crate::agentsmd::{Origin, Tree};
use crate::apply::Artifact;
use crate::clients::{Client, Ctx};
use crate::config::Config;
use crate::error::CliError;
use crate::paths::Paths;

/// Where the policy lives in the agentsmd tree.
pub const SOURCE: &str = "permissions/policy.toml";

/// `[policy]` in aiorch.toml.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct PolicyConfig {
    /// Render the policy into the managed clients' settings. false: aiorch writes no
    /// permission settings (and retracts the ones it wrote).
    pub enable: bool,
    /// Replaces the source policy's posture: what happens to an unlisted action ("ask" or
    /// "deny").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub posture: Option<Posture>,
    /// Added to the source policy's allow lists.
    pub allow: RuleSet,
    /// Added to the source policy's ask lists.
    pub ask: RuleSet,
    /// Added to the source policy's deny lists.
    pub deny: RuleSet,
    /// Per client: false leaves that client's permission settings alone.
    pub clients: PolicyClients,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            enable: true,
            posture: None,
            allow: RuleSet::default(),
            ask: RuleSet::default(),
            deny: RuleSet::default(),
            clients: PolicyClients::default(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct PolicyClients {
    pub claude: bool,
    pub gemini: bool,
    pub codex: bool,
    pub copilot: bool,
}

impl Default for PolicyClients {
    fn default() -> Self {
        PolicyClients { claude: true, gemini: true, codex: true, copilot: true }
    }
}

impl PolicyClients {
    pub fn get(&self, c: Client) -> bool {
        match c {
            Client::Claude => self.claude,
            Client::Gemini => self.gemini,
            Client::Codex => self.codex,
            Client::Copilot => self.copilot,
        }
    }
}

/// The source file's name as a user would recognise it.
pub fn source_name(tree: &Tree) -> String {
    match &tree.origin {
        Origin::Embedded => format!("agentsmd/{SOURCE} (built in)"),
        Origin::Dir(root) => root.join(SOURCE).display().to_string(),
    }
}

/// The effective policy: the tree's policy.toml (none in a live checkout without one: only the
/// config's rules then) plus the config's `[policy]` lists.
pub fn load(cfg: &Config, tree: &Tree) -> anyhow::Result<Policy> {
    let origin = source_name(tree);
    let base = match tree.get(SOURCE) {
        None => PolicyFile::default(),
        Some(bytes) => {
            let text =
                std::str::from_utf8(bytes).map_err(|e| CliError::bad_input(format!("{origin}: not UTF-8 ({e})")))?;
            toml::from_str::<PolicyFile>(text).map_err(|e| {
                let (line, col) = e.span().map(|s| crate::config::load::line_col(text, s.start)).unwrap_or((1, 1));
                CliError::bad_input(format!("{origin}:{line}:{col}: {}", e.message().trim())).hint("the policy has `posture` and [allow] / [ask] / [deny] tables with commands, read, write, hosts and mcp lists (docs/permissions.md)")
            })?
        }
    };
    let p = &cfg.policy;
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

/// Translate the policy for one client (the translation lives in that client's module).
pub fn translate(client: Client, paths: &Paths, policy: &Policy) -> Translation {
    let mut t = match client {
        Client::Claude => crate::clients::claude::policy(paths, policy),
        Client::Gemini => crate::clients::gemini::policy(paths, policy),
        Client::Codex => crate::clients::codex::policy(paths, policy),
        Client::Copilot => crate::clients::copilot::policy(paths, policy),
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

/// The clients the policy is rendered for: managed, and not opted out.
pub fn rendered_clients(cfg: &Config) -> Vec<Client> {
    if !cfg.enable || !cfg.policy.enable {
        return vec![];
    }
    crate::clients::managed(cfg).into_iter().filter(|c| cfg.policy.clients.get(*c)).collect()
}

/// Everything the policy puts on disk, for every client it is rendered for.
pub fn artifacts(ctx: &Ctx) -> anyhow::Result<Vec<Artifact>> {
    let clients = rendered_clients(ctx.config);
    if clients.is_empty() {
        return Ok(vec![]);
    }
    let policy = load(ctx.config, ctx.tree)?;
    Ok(clients
        .into_iter()
        .flat_map(|c| match c {
            Client::Claude => crate::clients::claude::policy_artifacts(ctx, &policy),
            Client::Gemini => crate::clients::gemini::policy_artifacts(ctx, &policy),
            Client::Codex => crate::clients::codex::policy_artifacts(ctx, &policy),
            Client::Copilot => crate::clients::copilot::policy_artifacts(ctx, &policy),
        })
        .collect())
}

/// Render a string as a TOML / Starlark / JSON double-quoted string (JSON escapes are valid in
/// all three for the characters policy patterns may hold).
pub(crate) fn quoted(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialise")
}
