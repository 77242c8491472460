//! Which gateway the clients and the runtime use: the local LiteLLM (`services.litellm`), or a
//! shared one on another machine (`gateway.url`) with this user's key (`gateway.key_secret`).

use crate::config::{Client, Config};
use crate::error::CliError;
use crate::services::litellm;

/// Clients that can be pointed at the gateway (docs/clients.md says why the others cannot).
pub const ROUTABLE: [Client; 2] = [Client::Claude, Client::Codex];

#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    /// Base URL, no trailing slash (LiteLLM serves `/v1/messages`, `/v1/responses`, … under it).
    pub url: String,
    /// The secret whose value the clients send as their key; none: the gateway wants no key.
    pub key_secret: Option<String>,
    /// Another machine's gateway (`gateway.url`), not the local `services.litellm`.
    pub shared: bool,
}

/// The gateway the config points at.
pub fn route(cfg: &Config) -> Route {
    let g = &cfg.gateway;
    let url = g.url.clone().unwrap_or_else(|| litellm::base_url(cfg)).trim_end_matches('/').to_string();
    let key_secret =
        g.key_secret.clone().or_else(|| Some(cfg.services.litellm.master_key_secret.clone())).filter(|s| !s.is_empty());
    Route { url, key_secret, shared: g.url.is_some() }
}

/// The clients to route, validated: only those with a verified setting for it.
pub fn routed_clients(cfg: &Config) -> Result<Vec<Client>, CliError> {
    let g = &cfg.gateway;
    if let Some(c) = g.route_clients.iter().find(|c| !ROUTABLE.contains(c)) {
        return Err(CliError::bad_input(format!(
            "gateway.route_clients: {} cannot be routed through the gateway",
            c.name()
        ))
        .hint(match c {
            Client::Gemini => {
                "Gemini CLI takes another base only from GOOGLE_GEMINI_BASE_URL in its environment, and then \
                     speaks Gemini's API, not the gateway's (docs/clients.md)"
            }
            Client::Aider => {
                "Aider already uses the gateway whenever the runtime does: aiorch merges `openai-api-base` and \
                 the gateway's model aliases into ~/.aider.conf.yml"
            }
            Client::Opencode => {
                "routing OpenCode's own providers through the gateway is not built yet; `aiorch go --local \
                 --agent opencode` points it at the local server"
            }
            _ => {
                "Copilot CLI takes a custom provider only from its environment (COPILOT_PROVIDER_BASE_URL, \
                 COPILOT_PROVIDER_API_KEY_COMMAND), not from a settings file aiorch could merge (docs/clients.md)"
            }
        })
        .hint("route claude and codex (the clients with a settings key for it)"));
    }
    if let Some(u) = &g.url
        && !(u.starts_with("http://") || u.starts_with("https://"))
    {
        return Err(CliError::bad_input(format!("gateway.url = {u:?}: not an http(s) URL"))
            .hint("example: gateway.url = \"https://gateway.example.com\""));
    }
    Ok(g.route_clients.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(toml: &str) -> Config {
        crate::config::parse_str(toml, crate::config::Format::Toml, "t.toml").unwrap()
    }

    #[test]
    fn local_by_default_shared_with_a_url_and_its_own_key() {
        let r = route(&cfg("[services.litellm]\nport = 4100\n"));
        assert_eq!(
            r,
            Route { url: "http://127.0.0.1:4100".into(), key_secret: Some("LITELLM_MASTER_KEY".into()), shared: false }
        );
        let r = route(&cfg("[gateway]\nurl = \"https://gw.example.test/\"\nkey_secret = \"TEAM_GW_KEY\"\n"));
        assert_eq!(
            r,
            Route { url: "https://gw.example.test".into(), key_secret: Some("TEAM_GW_KEY".into()), shared: true }
        );
    }

    #[test]
    fn only_clients_with_a_setting_can_be_routed() {
        assert_eq!(routed_clients(&cfg("[gateway]\nroute_clients = [\"claude\", \"codex\"]\n")).unwrap().len(), 2);
        let e = routed_clients(&cfg("[gateway]\nroute_clients = [\"copilot\"]\n")).unwrap_err();
        assert!(e.message.contains("copilot cannot be routed"), "{}", e.message);
        assert!(routed_clients(&cfg("[gateway]\nurl = \"gw:4000\"\n")).is_err());
    }
}

/// What the workstation sees of the gateway: it answers, and this user's key is accepted.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Health {
    pub url: String,
    pub shared: bool,
    pub ok: bool,
    pub detail: String,
}

/// Probe the gateway from here: `/health/liveliness` (no key), then `/v1/models` with the key
/// from the secrets backend (the value goes in the request header only).
pub fn check(cfg: &Config, paths: &crate::paths::Paths) -> Health {
    let r = route(cfg);
    let client = crate::services::health::client(std::time::Duration::from_secs(5));
    let live = crate::services::health::Probe::new(format!("{}/health/liveliness", r.url), Some("alive"));
    let key = match &r.key_secret {
        None => None,
        Some(s) => match crate::secrets::resolve(&cfg.secrets, paths, std::slice::from_ref(s)) {
            Ok(mut v) if !v.is_empty() => Some(v.remove(0).1),
            _ => {
                return Health {
                    url: r.url,
                    shared: r.shared,
                    ok: false,
                    detail: format!("the key's secret {s} does not resolve (aiorch secrets set {s})"),
                };
            }
        },
    };
    let (ok, detail) = crate::services::health::block_on(async {
        let o = crate::services::health::check(&client, &live, None).await;
        if !o.ok {
            return (false, format!("does not answer: {}", o.detail));
        }
        let models = crate::services::health::Probe::new(format!("{}/v1/models", r.url), None);
        let m = crate::services::health::check(&client, &models, key.as_deref().map(|k| k.as_str())).await;
        match m.status {
            Some(200) => (true, format!("answers, key accepted ({} ms)", o.ms.max(m.ms))),
            Some(s) => (false, format!("answers, but the key is refused: HTTP {s} from /v1/models")),
            None => (false, format!("/v1/models: {}", m.detail)),
        }
    });
    Health { url: r.url, shared: r.shared, ok, detail }
}
