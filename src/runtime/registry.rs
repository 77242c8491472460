//! The model registry: the built-in `models.toml` merged with `[runtime.models.*]`.

use std::collections::BTreeMap;

use serde::Serialize;

use super::roles::Role;
use crate::config::Config;
use crate::config::runtime::ModelEntry;
pub use crate::config::runtime::Provider;
use crate::error::CliError;

const BUILTIN: &str = include_str!("models.toml");

/// Where a model is reached.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Via {
    Direct,
    Gateway,
    Local,
}

/// A fully resolved model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Model {
    pub id: String,
    pub provider: Provider,
    pub via: Via,
    /// Base URL, resolved (`gateway` and `local` replaced by their configured URLs).
    pub base_url: String,
    /// Name sent to the endpoint.
    pub upstream: String,
    /// Secret name of the API key, if the endpoint needs one.
    pub key: Option<String>,
    pub context_window: u64,
    pub max_output: u64,
    pub price_in: f64,
    pub price_out: f64,
    pub local: bool,
    pub tier: u8,
    pub scores: BTreeMap<Role, f64>,
}

impl Model {
    pub fn score(&self, role: Role) -> f64 {
        self.scores.get(&role).copied().unwrap_or(0.0)
    }

    /// USD for a call with these token counts.
    pub fn cost(&self, tokens_in: u64, tokens_out: u64) -> f64 {
        (tokens_in as f64 * self.price_in + tokens_out as f64 * self.price_out) / 1_000_000.0
    }

    /// A single price figure for "cheapest" comparisons (3:1 input:output, a typical mix).
    pub fn blended_price(&self) -> f64 {
        (3.0 * self.price_in + self.price_out) / 4.0
    }

    /// Consensus vote weight for a role: tier × role score.
    pub fn weight(&self, role: Role) -> f64 {
        f64::from(self.tier.max(1)) * self.score(role)
    }
}

#[derive(Debug, Clone)]
pub struct Registry {
    pub models: Vec<Model>,
    pub gateway_enabled: bool,
}

/// The gateway the runtime sends `endpoint = "gateway"` models to.
#[derive(Debug, Clone, PartialEq)]
pub struct Gateway {
    pub enabled: bool,
    /// OpenAI-compatible base (`…/v1`).
    pub url: String,
    pub key: Option<String>,
}

/// `runtime.gateway.*` where set; otherwise the gateway the config runs or names (`[gateway]
/// url`, else the local `services.litellm`), used automatically whenever there is one.
pub fn gateway(cfg: &Config) -> Gateway {
    let g = &cfg.runtime.gateway;
    let route = crate::services::gateway::route(cfg);
    Gateway {
        enabled: g.enabled.unwrap_or(cfg.services.litellm.enable || cfg.gateway.url.is_some()),
        url: g.url.clone().unwrap_or_else(|| format!("{}/v1", route.url)),
        key: g.key.clone().or(route.key_secret),
    }
}

impl Registry {
    pub fn load(cfg: &Config) -> anyhow::Result<Registry> {
        let builtin: BTreeMap<String, ModelEntry> = if cfg.runtime.builtin_models {
            toml::from_str(BUILTIN).expect("built-in models.toml parses")
        } else {
            BTreeMap::new()
        };
        Self::build(cfg, builtin)
    }

    fn build(cfg: &Config, mut entries: BTreeMap<String, ModelEntry>) -> anyhow::Result<Registry> {
        let rt = &cfg.runtime;
        for (id, user) in &rt.models {
            let merged = match entries.remove(id) {
                Some(base) => patch(base, user.clone()),
                None => user.clone(),
            };
            entries.insert(id.clone(), merged);
        }
        let local_url = local_url(cfg);
        let gw = gateway(cfg);
        let local_model = rt.local.model.clone().unwrap_or_else(|| {
            if managed_llama_server(cfg).is_some() {
                // The name `aiorch services` makes llama-server serve its GGUF under.
                return cfg.services.local_model.served_name();
            }
            let m = &cfg.models.local_coding;
            m.strip_prefix("ollama/").or_else(|| m.strip_prefix("ollama_chat/")).unwrap_or(m).to_string()
        });
        let mut models = vec![];
        for (id, e) in entries {
            if e.enabled == Some(false) {
                continue;
            }
            let bad = |what: &str| {
                CliError::bad_input(format!("runtime.models.{id}: {what}")).hint(
                    "a new model needs provider, endpoint and (unless it is the id) model; see `aiorch config schema`",
                )
            };
            let provider = e.provider.ok_or_else(|| bad("missing `provider` (openai, anthropic or gemini)"))?;
            let endpoint =
                e.endpoint.clone().ok_or_else(|| bad("missing `endpoint` (a base URL, `gateway` or `local`)"))?;
            let (via, base_url, key) = match endpoint.as_str() {
                "gateway" => (Via::Gateway, gw.url.clone(), e.key.clone().or_else(|| gw.key.clone())),
                "local" => (Via::Local, local_url.clone(), e.key.clone()),
                url if url.starts_with("http://") || url.starts_with("https://") => {
                    (Via::Direct, url.trim_end_matches('/').to_string(), e.key.clone())
                }
                other => return Err(bad(&format!("endpoint `{other}` is not a URL, `gateway` or `local`")).into()),
            };
            let upstream = match (&e.model, &via) {
                (Some(m), _) => m.clone(),
                (None, Via::Local) => local_model.clone(),
                (None, _) => id.clone(),
            };
            let mut scores = BTreeMap::new();
            for (name, s) in &e.roles {
                let role: Role = name.parse().map_err(|m: String| bad(&m))?;
                if !(0.0..=1.0).contains(s) {
                    return Err(bad(&format!("role score {name} = {s} is outside 0..1")).into());
                }
                scores.insert(role, *s);
            }
            let tier = e.tier.unwrap_or(2);
            if !(1..=3).contains(&tier) {
                return Err(bad(&format!("tier {tier} is not 1, 2 or 3")).into());
            }
            models.push(Model {
                local: e.local.unwrap_or(via == Via::Local),
                id,
                provider,
                via,
                base_url,
                upstream,
                key,
                context_window: e.context_window.unwrap_or(128_000),
                max_output: e.max_output.unwrap_or(8_192),
                price_in: e.price_in.unwrap_or(0.0),
                price_out: e.price_out.unwrap_or(0.0),
                tier,
                scores,
            });
        }
        Ok(Registry { models, gateway_enabled: gw.enabled })
    }

    pub fn get(&self, id: &str) -> Option<&Model> {
        self.models.iter().find(|m| m.id == id)
    }

    /// `get`, or a bad-input error with a "did you mean".
    pub fn require(&self, id: &str) -> Result<&Model, CliError> {
        self.get(id).ok_or_else(|| {
            let mut e = CliError::bad_input(format!("unknown model `{id}`"));
            if let Some(m) = crate::error::did_you_mean(id, self.models.iter().map(|m| m.id.as_str())) {
                e = e.hint(format!("did you mean `{m}`?"));
            }
            e.hint("`aiorch route --list` (or the MCP tool listmodels) shows the registry")
        })
    }

    /// The model "send everything to the strongest" would use: configured, else the
    /// highest-tier cloud model with the best average score.
    pub fn baseline<'a>(&'a self, cfg: &Config) -> Option<&'a Model> {
        if let Some(id) = &cfg.runtime.routing.baseline {
            return self.get(id);
        }
        let avg = |m: &Model| Role::ALL.iter().map(|r| m.score(*r)).sum::<f64>() / 4.0;
        self.models
            .iter()
            .filter(|m| !m.local && m.via != Via::Gateway)
            .max_by(|a, b| (a.tier, avg(a)).partial_cmp(&(b.tier, avg(b))).unwrap_or(std::cmp::Ordering::Equal))
    }
}

/// The llama-server `aiorch services` runs, when that is the configured local model.
fn managed_llama_server(cfg: &Config) -> Option<&crate::config::services::LocalModelConfig> {
    let lm = &cfg.services.local_model;
    (lm.enable && lm.kind == crate::config::services::LocalKind::LlamaServer).then_some(lm)
}

/// The local server's OpenAI-compatible base URL: `runtime.local.url`, else the llama-server
/// `aiorch services` runs, else Ollama's `/v1` (`$OLLAMA_HOST`, then `ollama_host`).
pub fn local_url(cfg: &Config) -> String {
    if let Some(u) = &cfg.runtime.local.url {
        return u.trim_end_matches('/').to_string();
    }
    if let Some(lm) = managed_llama_server(cfg) {
        return format!("http://{}:{}/v1", lm.host, lm.port);
    }
    let host = std::env::var("OLLAMA_HOST").ok().filter(|h| !h.is_empty()).unwrap_or_else(|| cfg.ollama_host.clone());
    let host = if host.contains("://") { host } else { format!("http://{host}") };
    format!("{}/v1", host.trim_end_matches('/'))
}

fn patch(mut base: ModelEntry, user: ModelEntry) -> ModelEntry {
    macro_rules! take {
        ($($f:ident),*) => { $( if user.$f.is_some() { base.$f = user.$f; } )* };
    }
    take!(provider, endpoint, model, key, context_window, max_output, price_in, price_out, local, tier, enabled);
    base.roles.extend(user.roles);
    base
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_local_model_follows_the_llama_server_aiorch_runs() {
        let cfg: Config = toml::from_str(
            "[services.local_model]\nenable = true\nkind = \"llama-server\"\nport = 8088\n\
             model = \"~/m/gemma-3-270m-q4_k_m.gguf\"\n",
        )
        .unwrap();
        assert_eq!(local_url(&cfg), "http://127.0.0.1:8088/v1");
        assert_eq!(cfg.services.local_model.served_name(), "gemma-3-270m-q4_k_m");
        let explicit: Config = toml::from_str(
            "[runtime.local]\nurl = \"http://127.0.0.1:9/v1/\"\n[services.local_model]\nenable = true\n\
             kind = \"llama-server\"\n",
        )
        .unwrap();
        assert_eq!(local_url(&explicit), "http://127.0.0.1:9/v1");
    }

    #[test]
    fn the_gateway_is_used_when_the_config_runs_or_names_one() {
        let off = gateway(&Config::default());
        assert!(!off.enabled);
        let local: Config = toml::from_str("[services.litellm]\nenable = true\nport = 4100\n").unwrap();
        let gw = gateway(&local);
        assert_eq!(
            (gw.enabled, gw.url.as_str(), gw.key.as_deref()),
            (true, "http://127.0.0.1:4100/v1", Some("LITELLM_MASTER_KEY"))
        );
        let shared: Config =
            toml::from_str("[gateway]\nurl = \"https://gw.example.test\"\nkey_secret = \"MY_GW_KEY\"\n").unwrap();
        let gw = gateway(&shared);
        assert_eq!(
            (gw.enabled, gw.url.as_str(), gw.key.as_deref()),
            (true, "https://gw.example.test/v1", Some("MY_GW_KEY"))
        );
        // Configured otherwise: runtime.gateway wins.
        let no: Config =
            toml::from_str("[services.litellm]\nenable = true\n[runtime.gateway]\nenabled = false\n").unwrap();
        assert!(!gateway(&no).enabled);
        assert!(!Registry::load(&no).unwrap().gateway_enabled);
    }

    #[test]
    fn builtin_registry_loads_and_is_complete() {
        let reg = Registry::load(&Config::default()).unwrap();
        assert!(reg.models.len() >= 10);
        for m in &reg.models {
            for r in Role::ALL {
                assert!(m.score(r) > 0.0, "{} has no {r} score", m.id);
            }
        }
        let local = reg.get("local").unwrap();
        assert_eq!(local.base_url, local_url(&Config::default()));
        assert!(local.local);
        assert_eq!(reg.baseline(&Config::default()).unwrap().id, "claude-opus-4-1");
    }

    #[test]
    fn user_entries_patch_and_extend() {
        let mut cfg = Config::default();
        cfg.runtime.models.insert("gpt-5".into(), ModelEntry { price_in: Some(9.0), ..Default::default() });
        cfg.runtime.models.insert(
            "or-llama".into(),
            ModelEntry {
                provider: Some(Provider::Openai),
                endpoint: Some("https://openrouter.ai/api/v1/".into()),
                model: Some("meta-llama/llama-3.3-70b".into()),
                key: Some("OPENROUTER_API_KEY".into()),
                roles: [("hephaestus".to_string(), 0.7)].into(),
                ..Default::default()
            },
        );
        cfg.runtime.models.insert("gemini-2.5-flash".into(), ModelEntry { enabled: Some(false), ..Default::default() });
        let reg = Registry::load(&cfg).unwrap();
        assert_eq!(reg.get("gpt-5").unwrap().price_in, 9.0);
        assert_eq!(reg.get("gpt-5").unwrap().price_out, 10.0);
        let or = reg.get("or-llama").unwrap();
        assert_eq!(or.base_url, "https://openrouter.ai/api/v1");
        assert_eq!(or.score(Role::Coding), 0.7);
        assert!(reg.get("gemini-2.5-flash").is_none());
    }

    #[test]
    fn incomplete_user_entry_is_bad_input() {
        let mut cfg = Config::default();
        cfg.runtime.models.insert("x".into(), ModelEntry { provider: Some(Provider::Openai), ..Default::default() });
        let err = Registry::load(&cfg).unwrap_err();
        assert!(err.to_string().contains("runtime.models.x: missing `endpoint`"), "{err}");
    }
}
