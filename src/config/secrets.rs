//! `[secrets]`: which backend holds the secrets and how it is reached.

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

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Keychain => "keychain",
            Backend::Command => "command",
            Backend::File => "file",
            Backend::Env => "env",
        }
    }
}

/// How the keychain backend reads an item.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum KeychainReader {
    /// Apple's `/usr/bin/security find-generic-password -w`: its code identity never changes, so a
    /// Nix rebuild of aiorch does not make the Keychain ask for access again.
    #[default]
    Security,
    /// The Security framework, in-process (macOS only). Faster, but every rebuild of aiorch is a
    /// new code identity for the Keychain's access list, so expect a prompt after each upgrade.
    Framework,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SecretsConfig {
    pub backend: Backend,
    /// Keychain name (macOS): `ai-secrets` means `~/Library/Keychains/ai-secrets.keychain-db`;
    /// a value with a `/` is a path.
    pub keychain: String,
    /// How the keychain backend reads items: `security` (default) or `framework`.
    pub reader: KeychainReader,
    /// Reader argv for the `command` backend; `{name}` is replaced by the secret's name and the
    /// value is read from its stdout (one trailing newline dropped).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// Writer argv for the `command` backend (`secrets set`); the value is given on its stdin.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command_set: Option<Vec<String>>,
    /// Remover argv for the `command` backend (`secrets rm`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command_rm: Option<Vec<String>>,
    /// Lister argv for the `command` backend (`secrets list`): prints one name per line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command_list: Option<Vec<String>>,
    /// Path of the `file` backend (default `~/.config/aiorch/secrets.env`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
}

impl Default for SecretsConfig {
    fn default() -> Self {
        SecretsConfig {
            backend: Backend::default(),
            keychain: "ai-secrets".into(),
            reader: KeychainReader::default(),
            command: None,
            command_set: None,
            command_rm: None,
            command_list: None,
            file: None,
        }
    }
}
