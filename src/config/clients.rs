//! `[clients]`: which clients aiorch writes config for, and the `Client` enum every layer names
//! them by.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Config;

/// Which clients aiorch writes config for.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Clients {
    pub claude: Manage,
    pub gemini: Manage,
    pub codex: Manage,
    pub copilot: Manage,
    pub opencode: Manage,
    pub aider: Manage,
}

impl Default for Clients {
    fn default() -> Self {
        Clients {
            claude: Manage::Auto,
            gemini: Manage::Auto,
            codex: Manage::Auto,
            copilot: Manage::Auto,
            opencode: Manage::Auto,
            aider: Manage::Auto,
        }
    }
}

/// `auto`: manage the client when its CLI is on PATH. `always` / `never` (or true / false).
#[derive(Debug, Clone, Copy, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Manage {
    Auto,
    Always,
    Never,
}

impl<'de> Deserialize<'de> for Manage {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Manage;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(r#""auto", "always", "never", true or false"#)
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Manage, E> {
                Ok(if v { Manage::Always } else { Manage::Never })
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Manage, E> {
                match v {
                    "auto" => Ok(Manage::Auto),
                    "always" => Ok(Manage::Always),
                    "never" => Ok(Manage::Never),
                    other => Err(E::unknown_variant(other, &["auto", "always", "never"])),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// A client aiorch writes config for. How each one spells its files is in `clients/`.
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
    Opencode,
    Aider,
}

impl Client {
    pub const ALL: [Client; 6] =
        [Client::Claude, Client::Gemini, Client::Codex, Client::Copilot, Client::Opencode, Client::Aider];

    pub fn name(self) -> &'static str {
        match self {
            Client::Claude => "claude",
            Client::Gemini => "gemini",
            Client::Codex => "codex",
            Client::Copilot => "copilot",
            Client::Opencode => "opencode",
            Client::Aider => "aider",
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
            Client::Opencode => cfg.clients.opencode,
            Client::Aider => cfg.clients.aider,
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
}

impl Config {
    /// The clients aiorch writes config for on this machine, in `Client::ALL` order.
    pub fn managed_clients(&self) -> Vec<Client> {
        Client::ALL.into_iter().filter(|c| c.managed(self)).collect()
    }
}
