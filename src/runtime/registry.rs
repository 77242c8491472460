//! The model registry: the built-in `models.toml` (which models aiorch offers, their tiers and
//! role scores) merged with `[runtime.models.*]`, priced and sized from LiteLLM's model map
//! (`crate::modelmap`) where the config does not say.

use std::collections::BTreeMap;

use serde::Serialize;

use super::roles::Role;
use crate::config::Config;
use crate::config::runtime::ModelEntry;
pub use crate::config::runtime::Provider;
use crate::error::CliError;
use crate::modelmap::{Entry, ModelMap, Retirement};
use crate::services::litellm;

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
    /// Where price_in/price_out come from: the model map (`litellm 1.106.2 map of …`),
    /// `config`, `local`, or `unknown` (then they are a conservative stand-in, never 0).
    pub price_source: String,
    pub price_known: bool,
    /// The map's retirement date of the model (behind a gateway alias: of the model it serves).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retirement: Option<Retirement>,
    /// LiteLLM's provider of the model (behind a gateway alias: of the model it serves), for
    /// "same provider" suggestions and the unknown-price stand-in.
    #[serde(skip)]
    pub family: String,
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

    /// `map`, `config`, `local` or `unknown`: the short form of `price_source`.
    pub fn price_from(&self) -> &'static str {
        match self.price_source.as_str() {
            _ if !self.price_known => "unknown",
            "config" => "config",
            "local" => "local",
            _ => "map",
        }
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
    /// The model map the prices come from (`ModelMap::label`), and whether it is the embedded one.
    pub map_label: String,
    pub map_embedded: bool,
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
    pub fn load(cfg: &Config, map: &ModelMap) -> anyhow::Result<Registry> {
        let builtin: BTreeMap<String, ModelEntry> = if cfg.runtime.builtin_models {
            toml::from_str(BUILTIN).expect("built-in models.toml parses")
        } else {
            BTreeMap::new()
        };
        Self::build(cfg, map, builtin)
    }

    fn build(cfg: &Config, map: &ModelMap, mut entries: BTreeMap<String, ModelEntry>) -> anyhow::Result<Registry> {
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
            let local = e.local.unwrap_or(via == Via::Local);
            // What the map knows of it: a gateway alias is the model the gateway serves under it
            // (priced by the same function the rendered LiteLLM config uses).
            let alias = (via == Via::Gateway).then(|| litellm::alias_deployment(cfg, &id)).flatten();
            let (family, found): (String, Option<&Entry>) = match &alias {
                Some(d) => (litellm::provider_of(&d.model).to_string(), map.lookup(&d.model)),
                None => (provider.name().to_string(), map.lookup_direct(provider.name(), &upstream)),
            };
            let (price, price_source) = match &alias {
                Some(d) => match litellm::price(cfg, map, d) {
                    Some(p) if d.local => (Some((p.input, p.output)), "local".to_string()),
                    Some(p) if p.from_config => (Some((p.input, p.output)), "config".into()),
                    Some(p) => (Some((p.input, p.output)), map.label()),
                    None => (None, String::new()),
                },
                None => {
                    let mapped = found.and_then(|f| f.price());
                    match (e.price_in, e.price_out, mapped) {
                        (Some(i), Some(o), _) if local && i == 0.0 && o == 0.0 => (Some((i, o)), "local".into()),
                        (Some(i), Some(o), _) => (Some((i, o)), "config".into()),
                        (i, o, Some(m)) if i.is_some() || o.is_some() => {
                            (Some((i.unwrap_or(m.0), o.unwrap_or(m.1))), "config".into())
                        }
                        (None, None, Some(m)) => (Some(m), map.label()),
                        _ if local => (Some((0.0, 0.0)), "local".into()),
                        _ => (None, String::new()),
                    }
                }
            };
            models.push(Model {
                local,
                id,
                provider,
                via,
                base_url,
                upstream,
                key,
                context_window: e.context_window.or(found.and_then(|f| f.max_input_tokens)).unwrap_or(128_000),
                max_output: e.max_output.or(found.and_then(|f| f.max_output_tokens)).unwrap_or(8_192),
                price_in: price.map_or(f64::NAN, |p| p.0),
                price_out: price.map_or(f64::NAN, |p| p.1),
                tier,
                scores,
                price_known: price.is_some(),
                price_source,
                retirement: found.and_then(|f| Retirement::of(f, crate::modelmap::today())),
                family,
            });
        }
        price_unknown(&mut models, map);
        Ok(Registry {
            models,
            gateway_enabled: gw.enabled,
            map_label: map.label(),
            map_embedded: map.origin == crate::modelmap::Origin::Embedded,
        })
    }

    /// The model to move to from `m` when it retires: the best-scoring registry model of the same
    /// provider and tier that is priced by the map and not retiring itself.
    pub fn successor(&self, family: &str, tier: u8, not: &str) -> Option<&Model> {
        let avg = |m: &Model| Role::ALL.iter().map(|r| m.score(*r)).sum::<f64>() / 4.0;
        self.models
            .iter()
            .filter(|c| c.id != not && c.family == family && c.tier == tier && !c.local && c.price_known)
            .filter(|c| c.via != Via::Gateway && c.retirement.as_ref().is_none_or(|r| !r.is_due()))
            .max_by(|a, b| avg(a).total_cmp(&avg(b)).then(b.id.cmp(&a.id)))
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
    /// highest-tier cloud model with the best average score (and a price from the map or config).
    pub fn baseline<'a>(&'a self, cfg: &Config) -> Option<&'a Model> {
        if let Some(id) = &cfg.runtime.routing.baseline {
            return self.get(id);
        }
        let avg = |m: &Model| Role::ALL.iter().map(|r| m.score(*r)).sum::<f64>() / 4.0;
        self.models
            .iter()
            .filter(|m| !m.local && m.via != Via::Gateway && m.price_known)
            .max_by(|a, b| (a.tier, avg(a)).partial_cmp(&(b.tier, avg(b))).unwrap_or(std::cmp::Ordering::Equal))
    }
}

/// A model the map does not price (and the config does not either) is never free: it is priced
/// at the highest known price of its provider and tier in the registry, else of its provider,
/// else of its tier, else of its provider in the map, else of the whole map, so the budget
/// reserves enough for it (and settles at that price: a bill too high, never too low).
fn price_unknown(models: &mut [Model], map: &ModelMap) {
    let known: Vec<(String, u8, f64, f64)> = models
        .iter()
        .filter(|m| m.price_known && !m.local)
        .map(|m| (m.family.clone(), m.tier, m.price_in, m.price_out))
        .collect();
    let highest = |it: &mut dyn Iterator<Item = (f64, f64)>| -> Option<(f64, f64)> {
        it.fold(None, |acc: Option<(f64, f64)>, (i, o)| Some(acc.map_or((i, o), |(a, b)| (a.max(i), b.max(o)))))
    };
    for m in models.iter_mut().filter(|m| !m.price_known) {
        let same = highest(&mut known.iter().filter(|k| k.0 == m.family && k.1 == m.tier).map(|k| (k.2, k.3)))
            .map(|p| (p, format!("the highest known {} tier-{} price", m.family, m.tier)));
        let family = || {
            highest(&mut known.iter().filter(|k| k.0 == m.family).map(|k| (k.2, k.3)))
                .map(|p| (p, format!("the highest known {} price", m.family)))
        };
        let tier = || {
            highest(&mut known.iter().filter(|k| k.1 == m.tier).map(|k| (k.2, k.3)))
                .map(|p| (p, format!("the highest known tier-{} price", m.tier)))
        };
        let mapped = |family: Option<&str>| {
            highest(
                &mut map
                    .entries
                    .values()
                    .filter(|e| family.is_none_or(|f| e.litellm_provider == f))
                    .filter_map(Entry::price),
            )
        };
        let provider = || mapped(Some(&m.family)).map(|p| (p, format!("the highest {} price in the map", m.family)));
        let any = || mapped(None).map(|p| (p, "the highest price in the map".to_string()));
        let ((i, o), why) =
            same.or_else(family).or_else(tier).or_else(provider).or_else(any).unwrap_or(((0.0, 0.0), String::new()));
        m.price_in = i;
        m.price_out = o;
        m.price_source = format!("unknown: priced at {why}");
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
        assert!(!Registry::load(&no, &ModelMap::embedded()).unwrap().gateway_enabled);
    }

    #[test]
    fn builtin_registry_loads_and_is_complete() {
        let reg = Registry::load(&Config::default(), &ModelMap::embedded()).unwrap();
        assert!(reg.models.len() >= 10);
        for m in &reg.models {
            for r in Role::ALL {
                assert!(m.score(r) > 0.0, "{} has no {r} score", m.id);
            }
        }
        let local = reg.get("local").unwrap();
        assert_eq!(local.base_url, local_url(&Config::default()));
        assert!(local.local);
        assert_eq!(reg.baseline(&Config::default()).unwrap().id, "claude-opus-4-8");
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
        let reg = Registry::load(&cfg, &ModelMap::embedded()).unwrap();
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
        let err = Registry::load(&cfg, &ModelMap::embedded()).unwrap_err();
        assert!(err.to_string().contains("runtime.models.x: missing `endpoint`"), "{err}");
    }

    /// A small map: gpt-5's price changed, claude-sonnet-4-6 retires in 9 days (the test clock
    /// is 2026-11-21), claude-haiku-4-5 is gone, claude-sonnet-4-7 replaces sonnet-4-6.
    const FIXTURE: &str = r#"{
      "_aiorch": {"litellm_version": "9.0.0", "date": "2026-11-20"},
      "claude-opus-4-8": {"litellm_provider": "anthropic", "mode": "chat", "input_cost_per_token": 5e-6,
        "output_cost_per_token": 2.5e-5, "max_input_tokens": 1000000, "max_output_tokens": 128000},
      "claude-sonnet-4-6": {"litellm_provider": "anthropic", "mode": "chat", "input_cost_per_token": 3e-6,
        "output_cost_per_token": 1.5e-5, "max_input_tokens": 1000000, "max_output_tokens": 128000,
        "deprecation_date": "2026-11-30"},
      "gpt-5": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 1.5e-6,
        "output_cost_per_token": 1.2e-5, "max_input_tokens": 272000, "max_output_tokens": 128000},
      "gpt-5-mini": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 2.5e-7,
        "output_cost_per_token": 2e-6, "max_input_tokens": 272000, "max_output_tokens": 128000}
    }"#;

    fn fixture() -> ModelMap {
        ModelMap::import(FIXTURE, "fixture.json", None, "2026-11-20").unwrap()
    }

    #[test]
    fn prices_windows_and_retirements_come_from_the_map() {
        let mut cfg = Config::default();
        cfg.runtime.models.insert(
            "claude-sonnet-4-7".into(),
            ModelEntry {
                provider: Some(Provider::Anthropic),
                endpoint: Some("https://api.anthropic.com".into()),
                tier: Some(2),
                roles: [("coding".to_string(), 0.97)].into(),
                price_in: Some(2.0),
                price_out: Some(10.0),
                ..Default::default()
            },
        );
        let reg = Registry::load(&cfg, &fixture()).unwrap();
        let gpt5 = reg.get("gpt-5").unwrap();
        assert_eq!((gpt5.price_in, gpt5.price_out, gpt5.context_window), (1.5, 12.0, 272_000));
        assert_eq!(gpt5.price_source, "litellm 9.0.0 map of 2026-11-20");
        assert_eq!(gpt5.price_from(), "map");
        // Config wins over the map, and says so.
        let s47 = reg.get("claude-sonnet-4-7").unwrap();
        assert_eq!((s47.price_in, s47.price_from()), (2.0, "config"));
        // Gone from the map: never free; priced at the highest known anthropic tier-1 price
        // (none), then anthropic's highest (opus).
        let haiku = reg.get("claude-haiku-4-5").unwrap();
        assert!(!haiku.price_known);
        assert_eq!((haiku.price_in, haiku.price_out), (5.0, 25.0));
        assert_eq!(haiku.price_source, "unknown: priced at the highest known anthropic price");
        assert_eq!(haiku.price_from(), "unknown");
        assert!(haiku.cost(1000, 1000) > 0.0);
        let sonnet = reg.get("claude-sonnet-4-6").unwrap();
        assert_eq!(sonnet.retirement.as_ref().map(|r| r.date.as_str()), Some("2026-11-30"));
        assert_eq!(reg.successor("anthropic", 2, "claude-sonnet-4-6").unwrap().id, "claude-sonnet-4-7");
        // The gateway's coding-model is the retiring sonnet: it carries the retirement along.
        assert_eq!(reg.get("coding-model").unwrap().retirement, sonnet.retirement);
    }

    /// The snapshot in the repository: every model aiorch offers or defaults to is in it,
    /// priced, and not retiring within 30 days of the snapshot's own date.
    #[test]
    fn no_default_model_retires_on_the_snapshot() {
        let map = ModelMap::embedded();
        let day = crate::modelmap::parse_day(&map.meta.date).unwrap();
        let cfg = Config::default();
        let reg = Registry::load(&cfg, &map).unwrap();
        let mut checked = vec![];
        for m in reg.models.iter().filter(|m| !m.local) {
            assert!(m.price_known, "{} is not priced by the snapshot", m.id);
            checked.push(m.id.clone());
        }
        let defaults = [&cfg.models.default_research, &cfg.models.default_coding, &cfg.models.default_fast];
        for id in defaults {
            let e = map.lookup(id).unwrap_or_else(|| panic!("{id} is not in the snapshot"));
            let r = crate::modelmap::Retirement::of(e, day);
            assert!(r.as_ref().is_none_or(|r| !r.is_due()), "{id}: {r:?}");
        }
        for id in &checked {
            let m = reg.get(id).unwrap();
            let e = match m.via {
                Via::Gateway => map.lookup(&crate::services::litellm::alias_deployment(&cfg, id).unwrap().model),
                _ => map.lookup_direct(m.provider.name(), &m.upstream),
            };
            let r = crate::modelmap::Retirement::of(e.unwrap(), day);
            assert!(r.as_ref().is_none_or(|r| !r.is_due()), "{id}: {r:?}");
        }
        let base = reg.baseline(&cfg).unwrap();
        assert!(map.lookup_direct(base.provider.name(), &base.upstream).unwrap().deprecation_date.is_none());
    }

    /// One source: the gateway's rendered config prices each cloud alias with the numbers the
    /// runtime uses for it, config patches included.
    #[test]
    fn the_gateway_config_prices_like_the_runtime() {
        let mut cfg = Config::default();
        cfg.runtime.models.insert("claude-sonnet-4-6".into(), ModelEntry { price_in: Some(2.5), ..Default::default() });
        for map in [ModelMap::embedded(), fixture()] {
            let reg = Registry::load(&cfg, &map).unwrap();
            let gw = crate::services::litellm::plan(&cfg).unwrap().price(&cfg, &map);
            let v = crate::services::render::litellm_value(&gw, false);
            let mut seen = 0;
            for entry in v["model_list"].as_array().unwrap() {
                let m = reg.get(entry["model_name"].as_str().unwrap()).unwrap();
                if m.local {
                    continue;
                }
                seen += 1;
                if !m.price_known {
                    // Unknown to aiorch: LiteLLM prices it itself; the runtime budgets it high.
                    assert!(entry.get("model_info").is_none(), "{entry}");
                    continue;
                }
                let info = &entry["model_info"];
                let per_m = |k: &str| info[k].as_f64().unwrap() * 1e6;
                assert!((per_m("input_cost_per_token") - m.price_in).abs() < 1e-9, "{}: {info}", m.id);
                assert!((per_m("output_cost_per_token") - m.price_out).abs() < 1e-9, "{}: {info}", m.id);
            }
            assert_eq!(seen, 3);
            assert_eq!(reg.get("coding-model").unwrap().price_in, 2.5);
        }
    }
}
