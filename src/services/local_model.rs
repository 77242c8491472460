//! The local model server: llama.cpp's `llama-server` with one GGUF file, or `ollama serve`.

use crate::config::Config;
use crate::config::services::LocalKind;
use crate::error::CliError;
use crate::paths::{Paths, expand_tilde};
use crate::services::health::Probe;
use crate::services::litellm::local_base;

/// The GGUF path, `~` expanded against the managed home.
pub fn model_path(cfg: &Config, paths: &Paths) -> Result<std::path::PathBuf, CliError> {
    match &cfg.services.local_model.model {
        Some(m) => Ok(crate::paths::absolute(&expand_tilde(m, &paths.home))),
        None => Err(CliError::bad_input("services.local_model.model is not set: llama-server needs a GGUF file")
            .hint("aiorch config set services.local_model.model ~/models/gemma-3-270m-q4_k_m.gguf")),
    }
}

pub fn argv(cfg: &Config, paths: &Paths) -> Result<Vec<String>, CliError> {
    let lm = &cfg.services.local_model;
    let mut v = match (&lm.command, lm.kind) {
        (Some(c), _) if !c.is_empty() => c.clone(),
        (_, LocalKind::LlamaServer) => vec!["llama-server".into()],
        (_, LocalKind::Ollama) => vec!["ollama".into(), "serve".into()],
    };
    if lm.kind == LocalKind::LlamaServer {
        let model = model_path(cfg, paths)?;
        v.extend(
            [
                "--model",
                &model.display().to_string(),
                "--host",
                &lm.host,
                "--port",
                &lm.port.to_string(),
                "--alias",
                &cfg.services.local_model.served_name(),
                "--ctx-size",
                &lm.context.to_string(),
                "--parallel",
                &lm.parallel.to_string(),
            ]
            .map(String::from),
        );
        if let Some(t) = lm.threads {
            v.extend(["--threads".into(), t.to_string()]);
        }
        if let Some(t) = &lm.chat_template {
            // With jinja on (the default) a template *name* is taken as the template text.
            v.extend(["--no-jinja".into(), "--chat-template".into(), t.clone()]);
        }
        // Never reach for Hugging Face: the model is a local file.
        v.push("--offline".into());
    }
    v.extend(lm.extra_args.iter().cloned());
    Ok(v)
}

/// Environment (not secret). Ollama takes its address and limits from the environment.
pub fn env(cfg: &Config) -> Vec<(String, String)> {
    let lm = &cfg.services.local_model;
    match lm.kind {
        LocalKind::LlamaServer => vec![],
        LocalKind::Ollama => {
            let host =
                cfg.ollama_host.trim_start_matches("http://").trim_start_matches("https://").trim_end_matches('/');
            vec![
                ("OLLAMA_HOST".into(), host.to_string()),
                ("OLLAMA_CONTEXT_LENGTH".into(), lm.context.to_string()),
                ("OLLAMA_NUM_PARALLEL".into(), lm.parallel.to_string()),
            ]
        }
    }
}

/// Health probes; the first decides "healthy".
pub fn probes(cfg: &Config) -> Vec<Probe> {
    let base = local_base(cfg);
    match cfg.services.local_model.kind {
        // 503 while the model loads, then {"status":"ok"}.
        LocalKind::LlamaServer => vec![
            Probe::new(format!("{base}/health"), Some("\"ok\"")),
            Probe::new(format!("{base}/v1/models"), Some("\"data\"")),
        ],
        LocalKind::Ollama => vec![Probe::new(format!("{base}/api/tags"), Some("\"models\""))],
    }
}

/// The TCP port the server listens on (for the ownership check).
pub fn port(cfg: &Config) -> Option<u16> {
    let lm = &cfg.services.local_model;
    match lm.kind {
        LocalKind::LlamaServer => Some(lm.port),
        LocalKind::Ollama => url_port(&cfg.ollama_host),
    }
}

/// Port of an `http://host:port/...` URL (80/443 when none is written).
pub fn url_port(url: &str) -> Option<u16> {
    let (scheme, rest) = url.split_once("://").unwrap_or(("http", url));
    let authority = rest.split('/').next()?;
    match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(':') && !p.contains(']') => p.parse().ok(),
        _ => Some(if scheme == "https" { 443 } else { 80 }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_of_urls() {
        assert_eq!(url_port("http://localhost:11434"), Some(11434));
        assert_eq!(url_port("http://127.0.0.1:8080/v1"), Some(8080));
        assert_eq!(url_port("https://example.test"), Some(443));
        assert_eq!(url_port("http://[::1]:9"), Some(9));
    }
}
