//! What the gateway serves: the five aliases, their deployments, fallbacks and budgets, and how
//! the LiteLLM proxy is started. Only keys LiteLLM really reads are produced (docs/services.md).

use std::collections::BTreeMap;

use crate::config::Config;
use crate::config::services::LocalKind;
use crate::error::{CliError, did_you_mean};
use crate::modelmap::ModelMap;

pub const ALIASES: [&str; 5] = ["research-model", "coding-model", "fast-model", "local-research", "local-coding"];

/// llama-server runs without `--api-key`; LiteLLM's OpenAI client still wants a non-empty key.
/// Not a secret: the local server ignores it.
pub const LOCAL_KEY_PLACEHOLDER: &str = "sk-local-no-key";

/// Budget window of every deployment and provider budget.
pub const BUDGET_WINDOW: &str = "1d";

#[derive(Debug, Clone, PartialEq)]
pub enum ApiKey {
    /// `os.environ/NAME`: LiteLLM reads it from its environment, where aiorch injected it.
    Secret(String),
    /// The fixed placeholder for a keyless local server.
    Placeholder,
    /// The provider needs none (Ollama).
    None,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Deployment {
    pub alias: String,
    /// LiteLLM's `provider/model`.
    pub model: String,
    pub provider: String,
    pub api_base: Option<String>,
    pub api_key: ApiKey,
    /// Served by the local model server: free, no budget.
    pub local: bool,
    /// Daily USD (cloud deployments only).
    pub budget: Option<f64>,
    /// Extra provider parameters (Ollama's context size).
    pub extra: BTreeMap<String, serde_json::Value>,
    /// USD per million tokens (in, out) as aiorch prices it (see [`price`]); None: unknown to
    /// aiorch, LiteLLM prices it from its own map. Set by [`Gateway::price`].
    pub price: Option<Price>,
}

/// A deployment's price and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Price {
    pub input: f64,
    pub output: f64,
    pub from_config: bool,
}

/// A cloud alias whose budget is 0: it may spend nothing, so its deployment is left out.
/// LiteLLM reads `max_budget: 0` (and a provider `budget_limit: 0`) as "no limit", so a zero
/// budget cannot be rendered as a budget at all.
#[derive(Debug, Clone, PartialEq)]
pub struct Closed {
    pub alias: String,
    /// What set the zero: `alias_budgets.fast-model`, `provider_budgets.anthropic`, `daily_budget`.
    pub why: String,
    /// The local alias that now serves it (its fallback), or none: requests to it are refused.
    pub served_by: Option<String>,
}

/// Where LiteLLM keeps its budget spend and rate-limit counters (and its response cache) when
/// `services.litellm.redis` is on.
#[derive(Debug, Clone, PartialEq)]
pub struct RedisLink {
    pub host: String,
    pub port: u16,
    /// `os.environ/NAME` in the config; the value is put in the proxy's environment.
    pub password_secret: Option<String>,
    pub cache: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Gateway {
    pub deployments: Vec<Deployment>,
    pub closed: Vec<Closed>,
    pub redis: Option<RedisLink>,
    pub fallbacks: Vec<(String, Vec<String>)>,
    pub provider_budgets: Vec<(String, f64)>,
    pub daily_budget: f64,
    pub master_key_secret: Option<String>,
    pub num_retries: u32,
    pub timeout_secs: u64,
}

impl Gateway {
    /// Secret names the proxy's environment needs (master key first), without duplicates.
    pub fn secret_names(&self) -> Vec<String> {
        let mut out: Vec<String> = self.master_key_secret.iter().cloned().collect();
        if let Some(p) = self.redis.as_ref().and_then(|r| r.password_secret.clone())
            && !out.contains(&p)
        {
            out.push(p);
        }
        for d in &self.deployments {
            if let ApiKey::Secret(n) = &d.api_key
                && !out.contains(n)
            {
                out.push(n.clone());
            }
        }
        out
    }

    /// Sum of the per-deployment budgets: what the gateway can spend per day at most.
    #[cfg(test)]
    pub fn enforced_daily(&self) -> f64 {
        self.deployments.iter().filter_map(|d| d.budget).sum()
    }

    pub fn cloud(&self) -> impl Iterator<Item = &Deployment> {
        self.deployments.iter().filter(|d| !d.local)
    }

    /// Price every deployment as the runtime does, so both count the same dollars.
    pub fn price(mut self, cfg: &Config, map: &ModelMap) -> Gateway {
        for d in &mut self.deployments {
            d.price = price(cfg, map, d);
        }
        self
    }
}

/// The one price of a gateway deployment, shared by the rendered LiteLLM config and the
/// runtime's alias entries: local is free; else `[runtime.models.ALIAS]`, then
/// `[runtime.models.NAME]` (the model without its provider), field by field, over the model
/// map's entry. None when neither knows both directions.
pub fn price(cfg: &Config, map: &ModelMap, d: &Deployment) -> Option<Price> {
    if d.local {
        return Some(Price { input: 0.0, output: 0.0, from_config: false });
    }
    let name = d.model.split_once('/').map_or(d.model.as_str(), |(_, n)| n);
    let patches: Vec<&crate::config::runtime::ModelEntry> =
        [d.alias.as_str(), name].iter().filter_map(|id| cfg.runtime.models.get(*id)).collect();
    let patched_in = patches.iter().find_map(|p| p.price_in);
    let patched_out = patches.iter().find_map(|p| p.price_out);
    let mapped = map.lookup(&d.model).and_then(|e| e.price());
    Some(Price {
        input: patched_in.or(mapped.map(|p| p.0))?,
        output: patched_out.or(mapped.map(|p| p.1))?,
        from_config: patched_in.is_some() || patched_out.is_some(),
    })
}

/// The deployment behind one alias under this config (unpriced), for the runtime's registry.
pub fn alias_deployment(cfg: &Config, alias: &str) -> Option<Deployment> {
    deployments(cfg).into_iter().find(|d| d.alias == alias)
}

/// The provider part of `provider/model` (`gemini/gemini-2.5-pro` → `gemini`).
pub fn provider_of(model: &str) -> &str {
    model.split_once('/').map_or("openai", |(p, _)| p)
}

/// The usual environment variable of a provider's key.
pub fn default_key_name(provider: &str) -> String {
    match provider {
        "gemini" => "GEMINI_API_KEY".into(),
        "together_ai" => "TOGETHERAI_API_KEY".into(),
        "azure" | "azure_ai" => "AZURE_API_KEY".into(),
        p => format!("{}_API_KEY", p.to_uppercase().replace(['-', '.'], "_")),
    }
}

fn is_ollama(provider: &str) -> bool {
    matches!(provider, "ollama" | "ollama_chat")
}

/// Where the local model server answers (scheme://host:port, no trailing slash).
pub fn local_base(cfg: &Config) -> String {
    let lm = &cfg.services.local_model;
    match lm.kind {
        LocalKind::Ollama => cfg.ollama_host.trim_end_matches('/').to_string(),
        LocalKind::LlamaServer => format!("http://{}:{}", url_host(&lm.host), lm.port),
    }
}

/// A host for a URL: `0.0.0.0` / `::` are bind-all addresses, reached through loopback.
pub fn url_host(host: &str) -> String {
    match host {
        "0.0.0.0" | "" => "127.0.0.1".into(),
        "::" => "[::1]".into(),
        h if h.contains(':') && !h.starts_with('[') => format!("[{h}]"),
        h => h.into(),
    }
}

/// The deployment of a local alias. `id` is `models.local_*` (used with Ollama).
fn local_deployment(cfg: &Config, alias: &str, id: &str) -> Deployment {
    let lm = &cfg.services.local_model;
    let base = local_base(cfg);
    let mut extra = BTreeMap::new();
    let (model, provider, api_base, api_key) = match lm.kind {
        LocalKind::LlamaServer => (
            format!("openai/{}", cfg.services.local_model.served_name()),
            "openai".to_string(),
            format!("{base}/v1"),
            ApiKey::Placeholder,
        ),
        LocalKind::Ollama => {
            let name = id.split_once('/').filter(|(p, _)| is_ollama(p)).map_or(id, |(_, n)| n);
            // Ollama takes context and threads per request; LiteLLM passes these through.
            extra.insert("num_ctx".into(), lm.context.into());
            if let Some(t) = lm.threads {
                extra.insert("num_thread".into(), t.into());
            }
            (format!("ollama_chat/{name}"), "ollama_chat".to_string(), base, ApiKey::None)
        }
    };
    Deployment {
        alias: alias.into(),
        model,
        provider,
        api_base: Some(api_base),
        api_key,
        local: true,
        budget: None,
        extra,
        price: None,
    }
}

fn cloud_deployment(cfg: &Config, alias: &str, id: &str) -> Deployment {
    let lit = &cfg.services.litellm;
    let provider = provider_of(id).to_string();
    if is_ollama(&provider) {
        // A "cloud" role pointed at a local Ollama model: it is local, whatever its alias.
        let mut d = local_deployment(cfg, alias, id);
        if cfg.services.local_model.kind != LocalKind::Ollama {
            d.model = format!("ollama_chat/{}", id.split_once('/').map_or(id, |(_, n)| n));
            d.provider = "ollama_chat".into();
            d.api_base = Some(cfg.ollama_host.trim_end_matches('/').to_string());
            d.api_key = ApiKey::None;
        }
        return d;
    }
    let key = lit.api_key_secrets.get(&provider).cloned().unwrap_or_else(|| default_key_name(&provider));
    Deployment {
        alias: alias.into(),
        model: id.into(),
        api_base: lit.api_bases.get(&provider).cloned(),
        provider,
        api_key: ApiKey::Secret(key),
        local: false,
        budget: None,
        extra: BTreeMap::new(),
        price: None,
    }
}

fn alias_error(what: &str, name: &str) -> CliError {
    let mut e = CliError::bad_input(format!("{what}: `{name}` is not a gateway alias"));
    if let Some(best) = did_you_mean(name, ALIASES) {
        e = e.hint(format!("did you mean `{best}`?"));
    }
    e.hint(format!("the aliases are {}", ALIASES.join(", ")))
}

/// Round down to whole cents, so the shares never add up to more than the budget.
fn cents_down(usd: f64) -> f64 {
    (usd * 100.0 + 1e-9).floor() / 100.0
}

/// The five deployments, one per alias, in [`ALIASES`] order.
fn deployments(cfg: &Config) -> Vec<Deployment> {
    let m = &cfg.models;
    let local = |alias: &str, id: &str| local_deployment(cfg, alias, id);
    let mut deployments = if cfg.local_only {
        vec![
            local("research-model", &m.local_research),
            local("coding-model", &m.local_coding),
            local("fast-model", &m.local_coding),
        ]
    } else {
        vec![
            cloud_deployment(cfg, "research-model", &m.default_research),
            cloud_deployment(cfg, "coding-model", &m.default_coding),
            cloud_deployment(cfg, "fast-model", &m.default_fast),
        ]
    };
    deployments.push(local("local-research", &m.local_research));
    deployments.push(local("local-coding", &m.local_coding));
    deployments
}

/// Plan the gateway from the config: bad input (unknown aliases, budgets that do not add up)
/// is refused here, before anything is written.
pub fn plan(cfg: &Config) -> Result<Gateway, CliError> {
    let lit = &cfg.services.litellm;
    let mut deployments = deployments(cfg);

    // Budgets: the daily budget is split over the cloud deployments (LiteLLM enforces those in
    // memory; its proxy-wide budget is ignored without a database).
    if !(lit.daily_budget >= 0.0 && lit.daily_budget.is_finite()) {
        return Err(CliError::bad_input(format!(
            "services.litellm.daily_budget = {}: must be 0 or more",
            lit.daily_budget
        )));
    }
    for (alias, usd) in &lit.alias_budgets {
        if !ALIASES.contains(&alias.as_str()) {
            return Err(alias_error("services.litellm.alias_budgets", alias));
        }
        if !(*usd >= 0.0 && usd.is_finite()) {
            return Err(CliError::bad_input(format!(
                "services.litellm.alias_budgets.{alias} = {usd}: must be 0 or more"
            )));
        }
    }
    let explicit: f64 = deployments.iter().filter(|d| !d.local).filter_map(|d| lit.alias_budgets.get(&d.alias)).sum();
    if explicit > lit.daily_budget + 1e-9 {
        return Err(CliError::bad_input(format!(
            "services.litellm.alias_budgets add up to ${explicit:.2}, more than daily_budget ${:.2}",
            lit.daily_budget
        ))
        .hint("lower an alias budget or raise services.litellm.daily_budget"));
    }
    // An alias whose provider may spend nothing takes no share (the others get it).
    let shared: Vec<usize> = (0..deployments.len())
        .filter(|&i| !deployments[i].local && !lit.alias_budgets.contains_key(&deployments[i].alias))
        .filter(|&i| lit.provider_budgets.get(&deployments[i].provider) != Some(&0.0))
        .collect();
    let rest = lit.daily_budget - explicit;
    let share = if shared.is_empty() { 0.0 } else { cents_down(rest / shared.len() as f64) };
    if share == 0.0 && rest > 1e-9 && !shared.is_empty() {
        // A share below a cent would render as 0, which LiteLLM reads as "no limit".
        let names: Vec<&str> = shared.iter().map(|&i| deployments[i].alias.as_str()).collect();
        return Err(CliError::bad_input(format!(
            "services.litellm: the ${rest:.4} left of daily_budget, split over {} ({}), is less than a cent each",
            names.len(),
            names.join(", ")
        ))
        .hint(
            "give those aliases explicit services.litellm.alias_budgets (0 turns an alias off), or raise daily_budget",
        ));
    }
    // Explicit alias budgets are kept as given (a budget under a cent stays a budget).
    for (i, d) in deployments.iter_mut().enumerate().filter(|(_, d)| !d.local) {
        let own = lit.alias_budgets.get(&d.alias).copied();
        d.budget = Some(own.unwrap_or(if shared.contains(&i) { share } else { 0.0 }));
    }

    let fallbacks: Vec<(String, Vec<String>)> = match &lit.fallbacks {
        Some(map) => {
            for (from, tos) in map {
                if !ALIASES.contains(&from.as_str()) {
                    return Err(alias_error("services.litellm.fallbacks", from));
                }
                if let Some(to) = tos.iter().find(|t| !ALIASES.contains(&t.as_str())) {
                    return Err(alias_error(&format!("services.litellm.fallbacks.{from}"), to));
                }
            }
            ALIASES
                .iter()
                .filter_map(|a| map.get(*a).filter(|t| !t.is_empty()).map(|t| (a.to_string(), t.clone())))
                .collect()
        }
        // Each cloud alias falls back to its local twin; a local alias has nowhere to go.
        None => {
            [("research-model", "local-research"), ("coding-model", "local-coding"), ("fast-model", "local-coding")]
                .into_iter()
                .filter(|(from, _)| deployments.iter().any(|d| d.alias == *from && !d.local))
                .map(|(f, t)| (f.to_string(), vec![t.to_string()]))
                .collect()
        }
    };

    let mut provider_budgets = vec![];
    for (p, usd) in &lit.provider_budgets {
        if !(*usd >= 0.0 && usd.is_finite()) {
            return Err(CliError::bad_input(format!(
                "services.litellm.provider_budgets.{p} = {usd}: must be 0 or more"
            )));
        }
        // 0 closes the provider's deployments below; LiteLLM would read `budget_limit: 0` as none.
        if *usd > 0.0 {
            provider_budgets.push((p.clone(), *usd));
        }
    }
    let (deployments, fallbacks, closed) = close_zero_budgets(deployments, fallbacks, lit);
    if lit.cache && !lit.redis {
        return Err(CliError::bad_input("services.litellm.cache = true needs services.litellm.redis = true")
            .hint("the response cache lives in Redis: aiorch config set services.litellm.redis true"));
    }
    let redis = lit.redis.then(|| {
        let (host, port) = crate::services::redis::address(cfg);
        RedisLink { host, port, password_secret: crate::services::redis::password_secret(cfg), cache: lit.cache }
    });

    Ok(Gateway {
        deployments,
        closed,
        redis,
        fallbacks,
        provider_budgets,
        daily_budget: lit.daily_budget,
        master_key_secret: Some(lit.master_key_secret.clone()).filter(|s| !s.is_empty()),
        num_retries: lit.num_retries,
        timeout_secs: lit.timeout_secs,
    })
}

/// Alias -> the aliases it falls back to, in LiteLLM's order.
type Fallbacks = Vec<(String, Vec<String>)>;

/// Leave out every cloud deployment that may spend nothing (its alias budget is 0, or its
/// provider's): its alias is served by its first local fallback instead, so calls go straight to
/// the free model; with no local fallback the alias is not served at all (requests to it are
/// refused, nothing is spent).
fn close_zero_budgets(
    deployments: Vec<Deployment>,
    fallbacks: Fallbacks,
    lit: &crate::config::services::LitellmConfig,
) -> (Vec<Deployment>, Fallbacks, Vec<Closed>) {
    let mut closed = vec![];
    for d in deployments.iter().filter(|d| !d.local) {
        let why = if lit.provider_budgets.get(&d.provider) == Some(&0.0) {
            format!("provider_budgets.{}", d.provider)
        } else if d.budget == Some(0.0) {
            match lit.alias_budgets.get(&d.alias) {
                Some(_) => format!("alias_budgets.{}", d.alias),
                None => "daily_budget".into(),
            }
        } else {
            continue;
        };
        let served_by = fallbacks
            .iter()
            .find(|(from, _)| *from == d.alias)
            .and_then(|(_, tos)| tos.iter().find(|t| deployments.iter().any(|x| x.alias == **t && x.local)))
            .cloned();
        closed.push(Closed { alias: d.alias.clone(), why, served_by });
    }
    let mut out = vec![];
    for d in &deployments {
        match closed.iter().find(|c| c.alias == d.alias) {
            None => out.push(d.clone()),
            Some(c) => {
                if let Some(to) = &c.served_by
                    && let Some(local) = deployments.iter().find(|x| x.alias == *to)
                {
                    out.push(Deployment { alias: d.alias.clone(), ..local.clone() });
                }
            }
        }
    }
    // A closed alias no longer fails over (it is local or gone); nothing falls back to a gone one.
    let gone = |a: &str| closed.iter().any(|c| c.alias == a && c.served_by.is_none());
    let fallbacks = fallbacks
        .into_iter()
        .filter(|(from, _)| !closed.iter().any(|c| c.alias == *from))
        .map(|(from, tos)| (from, tos.into_iter().filter(|t| !gone(t)).collect()))
        .filter(|(_, tos): &(String, Vec<String>)| !tos.is_empty())
        .collect();
    (out, fallbacks, closed)
}

/// The gateway's base URL (no trailing slash).
pub fn base_url(cfg: &Config) -> String {
    let l = &cfg.services.litellm;
    format!("http://{}:{}", url_host(&l.host), l.port)
}

/// argv of the proxy: the configured command plus aiorch's flags (no secret ever on it).
pub fn argv(cfg: &Config, config_path: &std::path::Path) -> Vec<String> {
    let l = &cfg.services.litellm;
    let mut v = l.command.clone();
    v.extend([
        "--config".into(),
        config_path.display().to_string(),
        "--host".into(),
        l.host.clone(),
        "--port".into(),
        l.port.to_string(),
        "--num_workers".into(),
        "1".into(),
    ]);
    v
}

/// Environment (not secret) of the proxy: offline cost map, no feedback banner, and the log
/// level (`LITELLM_LOG` from aiorch's own environment wins, e.g. `ERROR` or `DEBUG`).
pub fn env() -> Vec<(String, String)> {
    let level = std::env::var("LITELLM_LOG").ok().filter(|l| !l.is_empty()).unwrap_or_else(|| "INFO".into());
    vec![
        // Use the cost map in the wheel; otherwise LiteLLM fetches it from GitHub at import.
        ("LITELLM_LOCAL_MODEL_COST_MAP".into(), "True".into()),
        ("LITELLM_DONT_SHOW_FEEDBACK_BOX".into(), "True".into()),
        ("LITELLM_LOG".into(), level),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(toml: &str) -> Config {
        crate::config::parse_str(toml, crate::config::Format::Toml, "t.toml").unwrap()
    }

    #[test]
    fn daily_budget_is_split_over_cloud_aliases_in_cents() {
        let g = plan(&cfg("[services.litellm]\nenable = true\n")).unwrap();
        let b: Vec<_> = g.cloud().map(|d| (d.alias.as_str(), d.budget.unwrap())).collect();
        assert_eq!(b, [("research-model", 16.66), ("coding-model", 16.66), ("fast-model", 16.66)]);
        assert!(g.enforced_daily() <= 50.0);
        assert!(g.deployments.iter().filter(|d| d.local).all(|d| d.budget.is_none()));
    }

    #[test]
    fn explicit_alias_budgets_take_their_share_first() {
        let g = plan(&cfg("[services.litellm.alias_budgets]\ncoding-model = 30.0\n")).unwrap();
        let b: Vec<_> = g.cloud().map(|d| d.budget.unwrap()).collect();
        assert_eq!(b, [10.0, 30.0, 10.0]);
    }

    #[test]
    fn budgets_over_the_daily_total_are_refused() {
        let e = plan(&cfg(
            "[services.litellm]\ndaily_budget = 10.0\n[services.litellm.alias_budgets]\ncoding-model = 30.0\n",
        ))
        .unwrap_err();
        assert!(e.message.contains("more than daily_budget"), "{}", e.message);
    }

    #[test]
    fn a_zero_alias_budget_is_served_by_its_local_fallback() {
        let g = plan(&cfg("[services.litellm.alias_budgets]\nfast-model = 0\n")).unwrap();
        let fast = g.deployments.iter().find(|d| d.alias == "fast-model").unwrap();
        assert!(fast.local && fast.budget.is_none(), "{fast:?}");
        assert_eq!(fast.model, g.deployments.iter().find(|d| d.alias == "local-coding").unwrap().model);
        assert!(!g.fallbacks.iter().any(|(f, _)| f == "fast-model"));
        assert_eq!(
            g.closed,
            [Closed {
                alias: "fast-model".into(),
                why: "alias_budgets.fast-model".into(),
                served_by: Some("local-coding".into())
            }]
        );
        // The other two share the whole daily budget.
        assert_eq!(g.cloud().map(|d| d.budget.unwrap()).collect::<Vec<_>>(), [25.0, 25.0]);
    }

    #[test]
    fn a_zero_budget_without_a_local_fallback_is_not_served() {
        let g = plan(&cfg(
            "[services.litellm.alias_budgets]\nfast-model = 0\n[services.litellm.fallbacks]\nfast-model = []\n",
        ))
        .unwrap();
        assert!(!g.deployments.iter().any(|d| d.alias == "fast-model"));
        assert_eq!(g.closed[0].served_by, None);
    }

    #[test]
    fn a_zero_provider_budget_closes_its_deployments_and_is_not_rendered() {
        let g = plan(&cfg(
            "[models]\ndefault_research = \"gemini/gemini-2.5-pro\"\ndefault_coding = \"anthropic/claude-sonnet-4-5\"\n\
             default_fast = \"anthropic/claude-haiku-4-5\"\n\
             [services.litellm.provider_budgets]\nanthropic = 0\ngemini = 5\n",
        ))
        .unwrap();
        let closed: Vec<&str> = g.closed.iter().map(|c| c.alias.as_str()).collect();
        assert_eq!(closed, ["coding-model", "fast-model"]);
        assert_eq!(g.provider_budgets, [("gemini".to_string(), 5.0)]);
        assert!(g.cloud().all(|d| d.provider != "anthropic"));
        assert!(!g.secret_names().contains(&"ANTHROPIC_API_KEY".to_string()));
    }

    #[test]
    fn no_budget_is_rounded_down_to_zero() {
        // Under a cent explicitly: kept as given.
        let g = plan(&cfg("[services.litellm.alias_budgets]\nfast-model = 0.004\n")).unwrap();
        assert_eq!(g.deployments.iter().find(|d| d.alias == "fast-model").unwrap().budget, Some(0.004));
        // A split under a cent each: refused, not rendered as 0 (= unlimited for LiteLLM).
        let e = plan(&cfg("[services.litellm]\ndaily_budget = 0.02\n")).unwrap_err();
        assert!(e.message.contains("less than a cent each"), "{}", e.message);
        // daily_budget = 0: nothing may be spent, every cloud alias is closed.
        let g = plan(&cfg("[services.litellm]\ndaily_budget = 0\n")).unwrap();
        assert_eq!(g.closed.len(), 3);
        assert!(g.closed.iter().all(|c| c.why == "daily_budget"));
        assert_eq!(g.cloud().count(), 0);
    }

    #[test]
    fn unknown_alias_gets_did_you_mean() {
        let e = plan(&cfg("[services.litellm.fallbacks]\ncoding-modle = [\"local-coding\"]\n")).unwrap_err();
        assert_eq!(e.hints[0], "did you mean `coding-model`?");
    }

    #[test]
    fn local_only_makes_every_alias_local_without_fallbacks_or_budgets() {
        let g = plan(&cfg("local_only = true\n")).unwrap();
        assert!(g.deployments.iter().all(|d| d.local));
        assert!(g.fallbacks.is_empty());
        assert_eq!(g.secret_names(), ["LITELLM_MASTER_KEY"]);
    }

    #[test]
    fn provider_keys_are_secret_names() {
        let g = plan(&cfg("[services.litellm.api_key_secrets]\nopenai = \"WORK_OPENAI\"\n")).unwrap();
        assert_eq!(g.secret_names(), ["LITELLM_MASTER_KEY", "GEMINI_API_KEY", "ANTHROPIC_API_KEY", "WORK_OPENAI"]);
    }
}
