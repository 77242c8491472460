//! `[gateway]`: which gateway the clients and the runtime use (the local LiteLLM, or a shared
//! one on another machine), with which key, and which clients are routed through it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Client;

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct GatewayConfig {
    /// The gateway's base URL (`https://gateway.example.com`), for a shared gateway on another
    /// machine [default: the local `services.litellm` at its host and port].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Secret holding this user's key for the gateway [default: services.litellm.master_key_secret].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_secret: Option<String>,
    /// Clients whose model requests go through the gateway (`claude`, `codex`): each gets the
    /// gateway as its API base and the key through its own mechanism (never written in a file).
    pub route_clients: Vec<Client>,
}
