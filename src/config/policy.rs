//! `[policy]`: additions to the permission policy, and the value types the policy file and
//! the config share (decisions, posture, rule lists).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Client;

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
    pub opencode: bool,
    pub aider: bool,
}

impl Default for PolicyClients {
    fn default() -> Self {
        PolicyClients { claude: true, gemini: true, codex: true, copilot: true, opencode: true, aider: true }
    }
}

impl PolicyClients {
    pub fn get(&self, c: Client) -> bool {
        match c {
            Client::Claude => self.claude,
            Client::Gemini => self.gemini,
            Client::Codex => self.codex,
            Client::Copilot => self.copilot,
            Client::Opencode => self.opencode,
            Client::Aider => self.aider,
        }
    }
}

/// What happens to an action. Ordered by precedence: when several rules match, the strictest
/// wins (deny over ask over allow) — the order every client applies too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Allow,
    Ask,
    Deny,
}

impl Decision {
    pub fn name(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Ask => "ask",
            Decision::Deny => "deny",
        }
    }
}

/// What happens to an action no rule lists. There is no "allow": an allow-everything posture
/// is the thing this policy exists to prevent (list what may run instead).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Posture {
    /// Ask the user (every client's own default).
    #[default]
    Ask,
    /// Refuse unless a rule allows it (or asks).
    Deny,
}

impl Posture {
    pub fn decision(self) -> Decision {
        match self {
            Posture::Ask => Decision::Ask,
            Posture::Deny => Decision::Deny,
        }
    }
}

/// One list of patterns per kind of action.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RuleSet {
    /// Shell command prefixes, word by word: "git diff" matches `git diff` and
    /// `git diff --stat`, not `git difftool`. Compound commands (`a && b`, `a | b`, `a; b`) are
    /// judged part by part and the strictest part wins.
    pub commands: Vec<String>,
    /// Files the agent's file tools may read: globs (`**/.env`, `~/.ssh/**`, `/etc/shadow`).
    /// A relative glob is relative to the working directory.
    pub read: Vec<String>,
    /// Files the agent's file tools may create or edit: globs, as for `read`.
    pub write: Vec<String>,
    /// Hosts for web fetches: `example.com` (that host), `*.example.com` (its subdomains).
    pub hosts: Vec<String>,
    /// MCP tools: `server` (all its tools) or `server/tool`.
    pub mcp: Vec<String>,
}
