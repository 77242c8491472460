//! MCP servers and Claude plugin marketplaces (filled in by the MCP issue; until then the
//! sections are accepted as free-form tables so configs written for later versions load).

pub mod server;
pub mod tools;

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct McpConfig {
    pub servers: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct PluginsConfig {
    pub marketplaces: BTreeMap<String, serde_json::Value>,
    pub enabled: Vec<String>,
}
