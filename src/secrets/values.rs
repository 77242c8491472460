//! The secret values `apply` recognises in the copies it keeps of the user's files, and fills
//! in again on revert (`apply::redact`): those of every secret the config declares, read from
//! the configured backend only when apply first needs them.

use std::cell::OnceCell;

use zeroize::Zeroizing;

use super::Store;
use crate::apply::SecretValues;
use crate::config::Config;
use crate::config::secrets::SecretsConfig;
use crate::paths::Paths;

pub struct BackendValues<'a> {
    cfg: SecretsConfig,
    paths: &'a Paths,
    names: Vec<String>,
    store: OnceCell<Box<dyn Store>>,
}

impl<'a> BackendValues<'a> {
    /// The secrets `config` declares, from its backend.
    pub fn of(config: &Config, paths: &'a Paths) -> BackendValues<'a> {
        BackendValues { cfg: config.secrets.clone(), paths, names: declared_names(config), store: OnceCell::new() }
    }

    /// No config to read (revert with one that no longer loads): the default backend, and
    /// only the names the copies themselves carry.
    pub fn without_config(paths: &'a Paths) -> BackendValues<'a> {
        BackendValues { cfg: SecretsConfig::default(), paths, names: vec![], store: OnceCell::new() }
    }

    fn store(&self) -> anyhow::Result<&dyn Store> {
        if self.store.get().is_none() {
            let _ = self.store.set(super::open(&self.cfg, self.paths)?);
        }
        Ok(self.store.get().expect("set above").as_ref())
    }
}

impl SecretValues for BackendValues<'_> {
    fn declared(&self) -> Vec<String> {
        self.names.clone()
    }
    fn get(&self, names: &[String]) -> anyhow::Result<Vec<Option<Zeroizing<String>>>> {
        // A name a copy carries is only ever one aiorch validated; anything else is not asked.
        let valid: Vec<String> = names.iter().filter(|n| super::validate_name(n).is_ok()).cloned().collect();
        let got = self.store()?.get_many(&valid)?;
        Ok(names.iter().map(|n| valid.iter().position(|v| v == n).and_then(|i| got[i].clone())).collect())
    }
    fn fix(&self, name: &str) -> String {
        format!("`aiorch secrets set {name}`")
    }
}

/// Every secret name the config declares: MCP servers' `secrets`, the gateway key, the
/// runtime's model keys, LiteLLM's master and provider keys.
pub fn declared_names(config: &Config) -> Vec<String> {
    let mut names: Vec<String> = super::required_by(config).into_keys().collect();
    names.extend(config.gateway.key_secret.clone());
    names.extend(config.runtime.models.values().filter_map(|m| m.key.clone()));
    names.extend(config.runtime.gateway.key.clone());
    let litellm = &config.services.litellm;
    names.extend(litellm.api_key_secrets.values().cloned());
    if !litellm.master_key_secret.is_empty() {
        names.push(litellm.master_key_secret.clone());
    }
    names.sort();
    names.dedup();
    names.retain(|n| super::validate_name(n).is_ok());
    names
}
