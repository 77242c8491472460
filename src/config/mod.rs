//! The config model: `aiorch.toml`, or the same schema as JSON (what the Nix modules write).
//!
//! The bottom of the feature stack, as starship's `configs/`: every section type lives in this
//! tree (one file per section) and imports no feature; features take their section from here.
//! This file assembles the sections; `load` turns serde's errors into `file:line:col` + "did
//! you mean".

pub mod apply;
pub mod clients;
mod edit;
pub mod gateway;
pub mod load;
pub mod mcp;
pub mod plugins;
pub mod policy;
pub mod runtime;
pub mod secrets;
pub mod services;

pub use clients::{Client, Clients};
pub use edit::set_key;
pub use load::{Format, load, parse_str};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub const DEFAULT_TEMPLATE: &str = include_str!("template.toml");

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Master switch: when false, `apply` changes nothing (revert still works).
    pub enable: bool,
    /// Route every model alias and runtime call to local models only.
    pub local_only: bool,
    /// Where Ollama listens.
    pub ollama_host: String,
    pub models: Models,
    pub agentsmd: Agentsmd,
    pub clients: Clients,
    pub secrets: secrets::SecretsConfig,
    /// MCP servers registered in every managed client (`[mcp.servers.NAME]`).
    pub mcp: mcp::McpConfig,
    /// Claude plugin marketplaces and enabled plugins.
    pub plugins: plugins::PluginsConfig,
    /// LiteLLM gateway, local model server, Open WebUI.
    pub services: services::ServicesConfig,
    /// Which gateway the clients use, and which clients are routed through it.
    pub gateway: gateway::GatewayConfig,
    /// The orchestration runtime: model registry, routing, budgets.
    pub runtime: runtime::RuntimeConfig,
    /// One permission policy for every client.
    pub policy: policy::PolicyConfig,
    /// How `aiorch apply` shares the home with other tools (files Nix manages).
    pub apply: apply::ApplyConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            enable: true,
            local_only: false,
            ollama_host: "http://localhost:11434".into(),
            models: Models::default(),
            agentsmd: Agentsmd::default(),
            clients: Clients::default(),
            secrets: Default::default(),
            mcp: Default::default(),
            plugins: Default::default(),
            services: Default::default(),
            gateway: Default::default(),
            runtime: Default::default(),
            policy: Default::default(),
            apply: Default::default(),
        }
    }
}

/// Default models per role, as provider/model ids the gateway understands.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Models {
    pub default_research: String,
    pub default_coding: String,
    pub default_fast: String,
    pub local_research: String,
    pub local_coding: String,
}

impl Default for Models {
    fn default() -> Self {
        Models {
            default_research: "gemini/gemini-3.1-pro-preview".into(),
            default_coding: "anthropic/claude-sonnet-4-6".into(),
            default_fast: "openai/gpt-5-mini".into(),
            local_research: "ollama/qwen3:8b".into(),
            local_coding: "ollama/qwen2.5-coder:7b".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Agentsmd {
    /// A live agentsmd/ checkout to link from. Absent: the tree embedded in the binary.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Also link `~/AGENTS.md`.
    pub home_agents_md: bool,
}

impl Default for Agentsmd {
    fn default() -> Self {
        Agentsmd { source: None, home_agents_md: true }
    }
}

impl Config {
    pub fn schema() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(Config)).expect("schema serialises")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_parses_to_the_defaults() {
        let cfg = parse_str(DEFAULT_TEMPLATE, Format::Toml, "template.toml").unwrap();
        assert_eq!(cfg, Config::default());
    }

    #[test]
    fn json_and_toml_share_one_schema() {
        let t = parse_str("local_only = true\n[clients]\ncodex = false\n", Format::Toml, "a.toml").unwrap();
        let j = parse_str(r#"{"local_only": true, "clients": {"codex": "never"}}"#, Format::Json, "a.json").unwrap();
        assert_eq!(t, j);
        assert_eq!(t.clients.codex, clients::Manage::Never);
    }
}
