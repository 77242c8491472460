//! `[plugins]`: Claude Code plugin marketplaces and the plugins to enable.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct PluginsConfig {
    /// Also declare Anthropic's marketplaces (`anthropic-agent-skills` from anthropics/skills,
    /// `claude-plugins-official` from anthropics/claude-plugins-official) and enable
    /// `document-skills` and `example-skills`.
    pub defaults: bool,
    /// `[plugins.marketplaces.NAME]`: NAME must be the `name` in the marketplace's
    /// `.claude-plugin/marketplace.json`.
    pub marketplaces: BTreeMap<String, Marketplace>,
    /// Plugins to enable, as `plugin@marketplace`.
    pub enabled: Vec<String>,
}

impl Default for PluginsConfig {
    fn default() -> Self {
        PluginsConfig { defaults: true, marketplaces: BTreeMap::new(), enabled: vec![] }
    }
}

/// One marketplace, in the shape of Claude's `extraKnownMarketplaces.NAME` (so an entry can be
/// copied from Claude's settings or docs): `source = { source = "github", repo = "o/r" }`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Marketplace {
    pub source: Source,
}

/// Where a marketplace comes from (the `source` kinds Claude accepts that aiorch supports).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(tag = "source", rename_all = "lowercase", deny_unknown_fields)]
pub enum Source {
    /// A GitHub repository `owner/repo`.
    Github {
        repo: String,
        #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
        git_ref: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        path: Option<String>,
    },
    /// Any git URL (https://…, git@…, file://…).
    Git {
        url: String,
        #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
        git_ref: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        path: Option<String>,
    },
    /// A local directory holding `.claude-plugin/marketplace.json` (`~/` is the home).
    Directory { path: String },
}
