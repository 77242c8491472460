//! Open WebUI, slim and offline, pointed at the gateway (and optionally at Ollama).

use crate::config::Config;
use crate::config::services::LocalKind;
use crate::services::health::Probe;
use crate::services::litellm::{base_url, url_host};
use crate::services::{Layout, Service};

/// Secret-free environment of Open WebUI, in the order it is written to `open-webui.env`.
/// `gateway` is the LiteLLM base URL as Open WebUI reaches it (differs in a container).
pub fn env(cfg: &Config, layout: &Layout, data_dir: Option<&str>, gateway: &str) -> Vec<(String, String)> {
    let w = &cfg.services.open_webui;
    let b = |v: bool| if v { "True" } else { "False" }.to_string();
    let data = data_dir
        .map_or_else(|| layout.data_dir(&cfg.services, Service::OpenWebui).display().to_string(), str::to_string);
    let use_ollama = w.ollama && cfg.services.local_model.kind == LocalKind::Ollama;
    let v = vec![
        // Its default DATA_DIR is inside site-packages.
        ("DATA_DIR", data),
        ("WEBUI_AUTH", b(w.auth)),
        // No Hugging Face, no version check, no pip installs for tools.
        ("OFFLINE_MODE", "True".into()),
        ("HF_HUB_OFFLINE", "1".into()),
        ("TRANSFORMERS_OFFLINE", "1".into()),
        // Never import torch / sentence-transformers (not installed in the slim setup).
        ("USE_SLIM_DOCKER", "true".into()),
        ("ANONYMIZED_TELEMETRY", "False".into()),
        ("DO_NOT_TRACK", "true".into()),
        ("SCARF_NO_ANALYTICS", "true".into()),
        ("ENABLE_VERSION_UPDATE_CHECK", "False".into()),
        // Otherwise settings are stored on the first start and later env changes are ignored.
        ("ENABLE_PERSISTENT_CONFIG", "False".into()),
        ("CORS_ALLOW_ORIGIN", format!("http://{}:{}", url_host(&w.host), w.port)),
        ("ENABLE_OPENAI_API", "True".into()),
        ("OPENAI_API_BASE_URL", format!("{gateway}/v1")),
        ("ENABLE_OLLAMA_API", b(use_ollama)),
        // Set even when disabled: an explicit URL stops the localhost:11434/12434 probes at import.
        ("OLLAMA_BASE_URL", cfg.ollama_host.trim_end_matches('/').to_string()),
        ("ENABLE_EVALUATION_ARENA_MODELS", b(w.arena)),
    ];
    v.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// Environment variables filled from secrets at start: (variable, secret name).
pub fn secret_env(cfg: &Config) -> Vec<(String, String)> {
    let key = &cfg.services.litellm.master_key_secret;
    if key.is_empty() { vec![] } else { vec![("OPENAI_API_KEY".into(), key.clone())] }
}

pub fn argv(cfg: &Config) -> Vec<String> {
    let w = &cfg.services.open_webui;
    let mut v = w.command.clone();
    v.extend(["--host".into(), w.host.clone(), "--port".into(), w.port.to_string()]);
    v
}

pub fn base(cfg: &Config) -> String {
    let w = &cfg.services.open_webui;
    format!("http://{}:{}", url_host(&w.host), w.port)
}

pub fn probes(cfg: &Config) -> Vec<Probe> {
    vec![Probe::new(format!("{}/health", base(cfg)), Some("true"))]
}

/// The gateway as the native Open WebUI reaches it.
pub fn gateway(cfg: &Config) -> String {
    base_url(cfg)
}

/// Open WebUI's session-signing key: generated once into DATA_DIR (mode 0600, like Open WebUI's
/// own `.webui_secret_key`), handed to it in its environment. 48 random bytes, hex.
pub fn secret_key(data_dir: &std::path::Path) -> std::io::Result<zeroize::Zeroizing<String>> {
    let path = data_dir.join(".webui_secret_key");
    if let Ok(k) = fs_err::read_to_string(&path) {
        let k = k.trim();
        if k.len() >= 32 {
            return Ok(zeroize::Zeroizing::new(k.to_string()));
        }
    }
    let mut raw = zeroize::Zeroizing::new([0u8; 48]);
    std::io::Read::read_exact(&mut fs_err::File::open("/dev/urandom")?, raw.as_mut())?;
    let key = zeroize::Zeroizing::new(raw.iter().map(|b| format!("{b:02x}")).collect::<String>());
    fs_err::create_dir_all(data_dir)?;
    crate::apply::fsutil::write_atomic(&path, key.as_bytes(), 0o600)?;
    Ok(key)
}
