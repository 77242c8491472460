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

/// Read the named secrets from the configured backend, for a child process's environment only.
///
/// Minimal version for the services branch: only the `env` backend (the caller's environment).
/// The Secrets issue replaces this with every backend behind the same signature.
pub fn resolve(
    cfg: &SecretsConfig,
    _paths: &crate::paths::Paths,
    names: &[String],
) -> anyhow::Result<Vec<(String, zeroize::Zeroizing<String>)>> {
    if cfg.backend != Backend::Env {
        return Err(crate::error::CliError::failed(format!(
            "the {:?} secrets backend is not available in this build",
            cfg.backend
        ))
        .hint("set `[secrets] backend = \"env\"` and export the secrets in the environment")
        .into());
    }
    let mut out = Vec::with_capacity(names.len());
    let mut missing = vec![];
    for name in names {
        match std::env::var(name) {
            Ok(v) if !v.is_empty() => out.push((name.clone(), zeroize::Zeroizing::new(v))),
            _ => missing.push(name.as_str()),
        }
    }
    if !missing.is_empty() {
        return Err(crate::error::CliError::failed(format!("secret not set: {}", missing.join(", ")))
            .hint("export it in the environment (backend \"env\"), or `aiorch secrets set NAME`")
            .into());
    }
    Ok(out)
}
