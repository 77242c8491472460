//! Secrets: where API keys come from, injected into a child process at exec time only.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// The macOS Keychain (`secrets.keychain`, read through /usr/bin/security).
    Keychain,
    /// Any reader given as an argv template with `{name}`, e.g. `pass show ai/{name}`.
    Command,
    /// A dotenv-style file, mode 0600, owned by the user.
    File,
    /// The caller's environment (tests, containers).
    Env,
}

impl Default for Backend {
    fn default() -> Self {
        if cfg!(target_os = "macos") { Backend::Keychain } else { Backend::File }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SecretsConfig {
    pub backend: Backend,
    /// Keychain name (macOS).
    pub keychain: String,
    /// Reader argv for the `command` backend; `{name}` is replaced by the secret's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// Path of the `file` backend (default `~/.config/aiorch/secrets.env`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
}

impl Default for SecretsConfig {
    fn default() -> Self {
        SecretsConfig { backend: Backend::default(), keychain: "ai-secrets".into(), command: None, file: None }
    }
}

/// Fetch the named secrets, in order, from the configured backend.
///
/// Minimal version for the runtime branch: only the `env` backend is served here; the Secrets
/// issue replaces this with the real multi-backend implementation (same signature). A missing
/// name is an error naming it (never a value).
pub fn resolve(cfg: &SecretsConfig, _paths: &crate::paths::Paths, names: &[String]) -> anyhow::Result<Vec<(String, zeroize::Zeroizing<String>)>> {
    match cfg.backend {
        Backend::Env => names
            .iter()
            .map(|n| match std::env::var(n) {
                Ok(v) if !v.is_empty() => Ok((n.clone(), zeroize::Zeroizing::new(v))),
                _ => Err(anyhow::anyhow!("secret {n} is not set in the environment (secrets.backend = \"env\")")),
            })
            .collect(),
        other => anyhow::bail!("secrets backend {other:?} is not available in this build; set secrets.backend = \"env\""),
    }
}
