//! `[services.*]` of the config: the LiteLLM gateway, the local model server and Open WebUI.
//!
//! Every section is optional and every key has a default, so `[services.litellm] enable = true`
//! is a complete gateway. Commands are argv lists (a venv's binary works as well as one on PATH).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ServicesConfig {
    /// The LiteLLM gateway that serves the model aliases.
    pub litellm: LitellmConfig,
    /// The local model server (Ollama, or llama.cpp's `llama-server` with a GGUF file).
    pub local_model: LocalModelConfig,
    /// Open WebUI, wired to the gateway (the arena).
    pub open_webui: OpenWebuiConfig,
    /// Redis: the gateway's shared state (budget spend, rate limits, response cache) with
    /// `services.litellm.redis = true`.
    pub redis: RedisConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LitellmConfig {
    /// Start it with `aiorch services up` (and create the Nix module's user service).
    pub enable: bool,
    /// Address to bind. Keep it on loopback: the proxy holds the provider keys.
    pub host: String,
    pub port: u16,
    /// The proxy's argv before aiorch's own flags (`--config … --host … --port …`).
    pub command: Vec<String>,
    /// Where the rendered config lives [default: STATE/services/litellm].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<String>,
    /// Logs [default: STATE/services/logs].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_dir: Option<String>,
    /// Secret holding the proxy's master key (clients send it as the bearer token).
    /// Empty: no key at all (any local process may use the gateway).
    pub master_key_secret: String,
    /// Secret name per provider, where it differs from the usual `<PROVIDER>_API_KEY`.
    pub api_key_secrets: BTreeMap<String, String>,
    /// `api_base` per provider (a company proxy; tests point a provider at a local stub).
    pub api_bases: BTreeMap<String, String>,
    /// Alias → aliases to try when it fails [default: each cloud alias → its local twin].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallbacks: Option<BTreeMap<String, Vec<String>>>,
    /// Daily spending limit in USD for all cloud aliases together. Enforced in LiteLLM's memory
    /// as per-deployment budgets that add up to it (a proxy-wide budget needs Postgres).
    pub daily_budget: f64,
    /// Daily USD for particular aliases; the rest of `daily_budget` is shared equally by the
    /// other cloud aliases. Their sum may not exceed `daily_budget`.
    pub alias_budgets: BTreeMap<String, f64>,
    /// Daily USD per provider (`anthropic = 20.0`), LiteLLM's `provider_budget_config`.
    pub provider_budgets: BTreeMap<String, f64>,
    /// Retries of a failed deployment before falling back (0: fall back at once).
    pub num_retries: u32,
    /// Request timeout, seconds.
    pub timeout_secs: u64,
    /// How long `services up` waits for it to become healthy, seconds.
    pub start_timeout_secs: u64,
    /// Container image for the rendered compose file.
    pub image: String,
    /// Keep budget spend and rate-limit counters in Redis (`[services.redis]`) instead of the
    /// proxy's memory: they survive restarts and every proxy using that Redis shares them.
    pub redis: bool,
    /// Also cache responses in Redis (identical requests are answered from the cache; needs
    /// `redis = true`).
    pub cache: bool,
}

impl Default for LitellmConfig {
    fn default() -> Self {
        LitellmConfig {
            enable: false,
            host: "127.0.0.1".into(),
            port: 4000,
            command: vec!["litellm".into()],
            data_dir: None,
            log_dir: None,
            master_key_secret: "LITELLM_MASTER_KEY".into(),
            api_key_secrets: BTreeMap::new(),
            api_bases: BTreeMap::new(),
            fallbacks: None,
            daily_budget: 50.0,
            alias_budgets: BTreeMap::new(),
            provider_budgets: BTreeMap::new(),
            num_retries: 0,
            timeout_secs: 120,
            start_timeout_secs: 120,
            image: "ghcr.io/berriai/litellm:main-v1.106.2".into(),
            redis: false,
            cache: false,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum LocalKind {
    /// Ollama at `ollama_host`; `models.local_*` name its models (`ollama/qwen3:8b`).
    Ollama,
    /// llama.cpp's `llama-server` with one GGUF file (`local_model.model`).
    LlamaServer,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LocalModelConfig {
    /// Start it with `aiorch services up`.
    pub enable: bool,
    pub kind: LocalKind,
    /// Address for `llama-server` (Ollama listens where `ollama_host` says).
    pub host: String,
    pub port: u16,
    /// The GGUF file `llama-server` loads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The name `llama-server` serves the model under [default: the GGUF file's stem].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub served_name: Option<String>,
    /// CPU threads [default: the server's choice]. On a small, busy machine 1 is faster than 2:
    /// llama.cpp's threads spin while they wait.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threads: Option<u32>,
    /// Context window, tokens.
    pub context: u32,
    /// Requests served at once (llama-server slots, OLLAMA_NUM_PARALLEL).
    pub parallel: u32,
    /// A built-in chat template for a GGUF without one (`gemma`, `chatml`, `llama3`, …);
    /// passed with `--no-jinja` (with jinja on, the name would be taken as the template text).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat_template: Option<String>,
    /// The server's argv [default: `llama-server`, or `ollama serve`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// Extra arguments appended to the server's argv.
    pub extra_args: Vec<String>,
    /// Working/data directory [default: STATE/services/local_model].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_dir: Option<String>,
    pub start_timeout_secs: u64,
}

impl LocalModelConfig {
    /// The name llama-server serves its GGUF under: what the gateway's local aliases and the
    /// runtime's local model ask for.
    pub fn served_name(&self) -> String {
        if let Some(n) = &self.served_name {
            return n.clone();
        }
        self.model
            .as_deref()
            .and_then(|m| std::path::Path::new(m).file_stem())
            .map_or_else(|| "local-model".into(), |s| s.to_string_lossy().into_owned())
    }
}

impl Default for LocalModelConfig {
    fn default() -> Self {
        LocalModelConfig {
            enable: false,
            kind: LocalKind::Ollama,
            host: "127.0.0.1".into(),
            port: 8080,
            model: None,
            served_name: None,
            threads: None,
            context: 8192,
            parallel: 1,
            chat_template: None,
            command: None,
            extra_args: vec![],
            data_dir: None,
            log_dir: None,
            start_timeout_secs: 120,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct OpenWebuiConfig {
    /// Start it with `aiorch services up` (`aiorch arena start` starts it either way).
    pub enable: bool,
    pub host: String,
    pub port: u16,
    /// The argv before aiorch's `--host … --port …`.
    pub command: Vec<String>,
    /// Open WebUI's DATA_DIR (its database) [default: STATE/services/open_webui].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_dir: Option<String>,
    /// Ask for a login. Off: a single local user, no login page.
    pub auth: bool,
    /// Also talk to Ollama directly (only with `local_model.kind = "ollama"`).
    pub ollama: bool,
    /// Offer the arena model (blind side-by-side comparison with votes).
    pub arena: bool,
    pub start_timeout_secs: u64,
    /// Container image for the rendered compose file (the slim image has no torch/CUDA).
    pub image: String,
}

impl Default for OpenWebuiConfig {
    fn default() -> Self {
        OpenWebuiConfig {
            enable: false,
            host: "127.0.0.1".into(),
            port: 3000,
            command: vec!["open-webui".into(), "serve".into()],
            data_dir: None,
            log_dir: None,
            auth: false,
            ollama: false,
            arena: true,
            start_timeout_secs: 180,
            image: "ghcr.io/open-webui/open-webui:v0.12.4-slim".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RedisConfig {
    /// Start it with `aiorch services up` (and create the Nix module's user service).
    pub enable: bool,
    /// Address to bind (and where the gateway connects). Keep it on loopback.
    pub host: String,
    pub port: u16,
    /// The server's argv before aiorch's `-` (its config, password included, comes on stdin).
    pub command: Vec<String>,
    /// Secret holding the password (`requirepass`); the gateway gets it in its environment.
    /// Empty: no password (any local process may read and reset the budget counters).
    pub password_secret: String,
    /// Where Redis keeps its append-only file (the spend survives a Redis restart too)
    /// [default: STATE/services/redis].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_dir: Option<String>,
    pub start_timeout_secs: u64,
}

impl Default for RedisConfig {
    fn default() -> Self {
        RedisConfig {
            enable: false,
            host: "127.0.0.1".into(),
            port: 6379,
            command: vec!["redis-server".into()],
            password_secret: "REDIS_PASSWORD".into(),
            data_dir: None,
            log_dir: None,
            start_timeout_secs: 30,
        }
    }
}
