//! `[runtime]`: the orchestration runtime's section of aiorch.toml.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RuntimeConfig {
    pub budget: BudgetConfig,
    /// Start from the built-in registry (false: only `runtime.models`).
    pub builtin_models: bool,
    /// Model registry entries, merged over the built-in ones by id (`[runtime.models.ID]`).
    /// A new id needs provider, endpoint and model; a built-in id may set any subset.
    pub models: BTreeMap<String, ModelEntry>,
    /// Per-role overrides: `[runtime.roles.coding] model = "…"` (role names or seed aliases).
    pub roles: BTreeMap<String, RoleOverride>,
    pub routing: RoutingConfig,
    /// The LiteLLM gateway: its aliases become usable models when enabled.
    pub gateway: GatewayConfig,
    /// The local model server (llama-server, Ollama's /v1, LM Studio…).
    pub local: LocalConfig,
    /// Most provider calls in flight at once during a fan-out.
    pub max_parallel: usize,
    /// Per-call timeout in seconds (the whole request, streaming included).
    pub timeout_secs: u64,
    /// Output tokens asked for per call (capped by each model's max_output); the budget
    /// reserves their worst-case cost before the call.
    pub max_tokens: u64,
    /// How many models one call may try along its fallback chain.
    pub max_attempts: usize,
    pub consensus: ConsensusConfig,
    pub threads: ThreadsConfig,
    pub clink: ClinkConfig,
    pub go: GoConfig,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            budget: BudgetConfig::default(),
            builtin_models: true,
            models: BTreeMap::new(),
            roles: BTreeMap::new(),
            routing: RoutingConfig::default(),
            gateway: GatewayConfig::default(),
            local: LocalConfig::default(),
            max_parallel: 8,
            timeout_secs: 120,
            max_tokens: 4096,
            max_attempts: 3,
            consensus: ConsensusConfig::default(),
            threads: ThreadsConfig::default(),
            clink: ClinkConfig::default(),
            go: GoConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct BudgetConfig {
    /// Daily spend limit in USD (UTC day). Calls that could exceed it are refused before they
    /// are sent. 0 disables cloud calls entirely.
    pub daily_usd: f64,
}

impl Default for BudgetConfig {
    fn default() -> Self {
        BudgetConfig { daily_usd: 50.0 }
    }
}

/// One registry entry. Every field is optional so user entries can patch built-in ones.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ModelEntry {
    /// `openai` (any OpenAI-compatible API), `anthropic` (Messages API) or `gemini`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<Provider>,
    /// A base URL (`https://api.openai.com/v1`), `gateway` (the LiteLLM gateway) or `local`
    /// (`runtime.local.url`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// The model name the endpoint expects (default: the id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Name of the secret holding the API key (fetched from the secrets backend per call).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context_window: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_output: Option<u64>,
    /// USD per million input tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_in: Option<f64>,
    /// USD per million output tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_out: Option<f64>,
    /// Runs on this machine (allowed under local_only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local: Option<bool>,
    /// 1 economy, 2 standard, 3 frontier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier: Option<u8>,
    /// Score per role, 0..1 (`planning`, `coding`, `review`, `search`; seed names accepted).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub roles: BTreeMap<String, f64>,
    /// false removes the entry from routing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RoleOverride {
    /// Always start with this model for the role (when available).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Try these next, in order, before the automatic chain.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fallback: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RoutingConfig {
    /// Simple tasks go to the cheapest model whose role score reaches this.
    pub simple_min_score: f64,
    /// Normal tasks go to the cheapest model whose role score reaches this.
    pub normal_min_score: f64,
    /// The model "send everything to the strongest" would use, for the savings report
    /// (default: the highest-tier cloud model with the best average score).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<String>,
}

impl Default for RoutingConfig {
    fn default() -> Self {
        RoutingConfig { simple_min_score: 0.7, normal_min_score: 0.85, baseline: None }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct GatewayConfig {
    /// Use the gateway's aliases as models [default: on when `services.litellm` is enabled or
    /// `[gateway] url` names a shared gateway].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// OpenAI-compatible base URL of the gateway [default: `[gateway] url`, else the local
    /// `services.litellm`, + `/v1`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Secret name of the gateway key (LiteLLM's master key or a virtual key) [default:
    /// `[gateway] key_secret`, else `services.litellm.master_key_secret`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LocalConfig {
    /// OpenAI-compatible base URL (default: the llama-server `[services.local_model]` runs, else
    /// `$OLLAMA_HOST/v1`, else `ollama_host` + `/v1`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Model name sent to it (default: `models.local_coding` without its `ollama/` prefix).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ConsensusConfig {
    /// Models asked by default (empty: the best available ones for the review role).
    pub models: Vec<String>,
    /// How many models to ask when `models` is empty.
    pub size: usize,
    /// Ask the review role's best model to synthesise the answers.
    pub synthesize: bool,
}

impl Default for ConsensusConfig {
    fn default() -> Self {
        ConsensusConfig { models: vec![], size: 3, synthesize: true }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ThreadsConfig {
    /// Threads untouched for longer are deleted.
    pub ttl_hours: u64,
    /// History sent to a model: the newest turns that fit in this many tokens, after a summary of
    /// the older ones (also kept as a memory of the project).
    pub history_tokens: u64,
}

impl Default for ThreadsConfig {
    fn default() -> Self {
        ThreadsConfig { ttl_hours: 24 * 7, history_tokens: 24_000 }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ClinkConfig {
    /// Allow sandbox/approval-bypassing flags (`--yolo`, `--dangerously-…`). Off: they are refused.
    pub allow_bypass: bool,
    pub timeout_secs: u64,
    /// Extra arguments per CLI (`claude`, `gemini`, `codex`, `copilot`).
    pub args: BTreeMap<String, Vec<String>>,
}

impl Default for ClinkConfig {
    fn default() -> Self {
        ClinkConfig { allow_bypass: false, timeout_secs: 900, args: BTreeMap::new() }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct GoConfig {
    /// `auto` (the first installed of claude, gemini, codex, copilot, opencode, aider, else builtin) or a name.
    pub agent: String,
}

impl Default for GoConfig {
    fn default() -> Self {
        GoConfig { agent: "auto".into() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// Any OpenAI-compatible chat-completions API: OpenAI, LiteLLM, llama-server, Ollama /v1,
    /// OpenRouter, vLLM, LM Studio.
    Openai,
    /// Anthropic's Messages API.
    Anthropic,
    /// Google's Gemini generateContent API.
    Gemini,
}

impl Provider {
    pub fn name(self) -> &'static str {
        match self {
            Provider::Openai => "openai",
            Provider::Anthropic => "anthropic",
            Provider::Gemini => "gemini",
        }
    }
}
