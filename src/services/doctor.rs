//! Doctor, services group: the gateway plan is valid, the rendered files are current, the
//! budget is really enforced (per-deployment budgets, not LiteLLM's fail-open proxy-wide one),
//! secrets resolve, commands exist, and each enabled service is healthy.

use serde_json::Value;

use crate::check::Check;
use crate::config::Config;
use crate::paths::Paths;
use crate::services::lifecycle::{self, Ctx};
use crate::services::litellm::{self, ApiKey};
use crate::services::{Layout, Service, gateway, health, local_model, redis, render};
use crate::ui::Ui;

const G: &str = "services";

pub fn checks(ui: &Ui, paths: &Paths, cfg: &Config) -> Vec<Check> {
    let enabled: Vec<Service> = Service::ALL.into_iter().filter(|s| s.enabled(&cfg.services)).collect();
    let mut out = vec![];
    // A shared gateway (another machine's), or the one the clients are routed through: checked
    // from this workstation with this user's key.
    if cfg.gateway.url.is_some() || !cfg.gateway.route_clients.is_empty() {
        let h = gateway::check(cfg, paths);
        let what = if h.shared { "shared gateway" } else { "gateway" };
        out.push(if h.ok {
            Check::ok(G, "gateway", format!("{what} {}: {}", h.url, h.detail))
        } else {
            Check::fail(
                G,
                "gateway",
                format!("{what} {}: {}", h.url, h.detail),
                if h.shared { "check gateway.url and gateway.key_secret" } else { "aiorch services up litellm" },
            )
        });
    }
    if enabled.is_empty() {
        out.push(Check::ok(G, "services", "none enabled (services.<name>.enable)"));
        return out;
    }
    let gw = match litellm::plan(cfg) {
        Ok(g) => g,
        Err(e) => {
            out.push(Check::fail(G, "gateway config", e.message, "fix services.litellm in the config"));
            return out;
        }
    };

    // Rendered files match the config.
    match render::files(cfg, paths) {
        Ok(files) => {
            let stale: Vec<String> = files.iter().filter(|f| !f.current()).map(|f| paths.display(&f.path)).collect();
            out.push(if stale.is_empty() {
                Check::ok(G, "rendered config current", paths.display(&Layout::new(paths).root))
            } else {
                Check::warn(
                    G,
                    "rendered config current",
                    format!("missing or out of date: {}", stale.join(", ")),
                    "aiorch services render",
                )
            });
        }
        Err(e) => out.push(Check::fail(G, "rendered config current", e.message, "fix the services config")),
    }

    if cfg.services.litellm.enable {
        out.push(budget_check(paths, &gw, cfg));
        out.push(state_check(cfg, &gw));
        out.push(Check::ok(G, "budget ledgers", ledgers(cfg)));
    }

    // Secrets: the master key is needed by the gateway and Open WebUI; provider keys by their
    // aliases (a missing one makes the alias fall back).
    if cfg.services.litellm.enable || cfg.services.open_webui.enable {
        for name in gw.secret_names() {
            let resolves = crate::secrets::resolve(&cfg.secrets, paths, std::slice::from_ref(&name)).is_ok();
            let master = gw.master_key_secret.as_ref() == Some(&name);
            let users: Vec<&str> = gw
                .deployments
                .iter()
                .filter(|d| matches!(&d.api_key, ApiKey::Secret(n) if *n == name))
                .map(|d| d.alias.as_str())
                .collect();
            let label = format!("secret {name}");
            let redis_pw = gw.redis.as_ref().and_then(|r| r.password_secret.as_ref()) == Some(&name);
            out.push(match (resolves, master) {
                (true, _) => Check::ok(G, label, "resolves"),
                (false, _) if redis_pw => Check::fail(
                    G,
                    label,
                    "does not resolve: Redis and the gateway cannot start with their shared state",
                    format!("aiorch secrets set {name}"),
                ),
                (false, true) => Check::fail(
                    G,
                    label,
                    "does not resolve: the gateway cannot start",
                    format!("aiorch secrets set {name}"),
                ),
                (false, false) => Check::warn(
                    G,
                    label,
                    format!("does not resolve: {} will fail (and fall back, where configured)", users.join(", ")),
                    format!("aiorch secrets set {name}"),
                ),
            });
        }
    } else if gw.master_key_secret.is_none() {
        out.push(Check::warn(
            G,
            "gateway key",
            "no master key: any local process can spend through the gateway",
            "set services.litellm.master_key_secret",
        ));
    }

    // Loopback only: the gateway spends money with the keys it holds, Open WebUI has no login.
    for svc in &enabled {
        let host = match svc {
            Service::Redis => &cfg.services.redis.host,
            Service::LocalModel => &cfg.services.local_model.host,
            Service::Litellm => &cfg.services.litellm.host,
            Service::OpenWebui => &cfg.services.open_webui.host,
        };
        if !matches!(host.as_str(), "127.0.0.1" | "localhost" | "::1" | "[::1]") {
            out.push(Check::warn(
                G,
                format!("{svc} address"),
                format!("listens on {host}: reachable from other machines"),
                format!("aiorch config set services.{}.host 127.0.0.1", svc.key()),
            ));
        }
    }

    // Commands and files each enabled service needs.
    let ctx = Ctx::new(ui, paths, cfg);
    for svc in &enabled {
        match lifecycle::spec(&ctx, *svc) {
            Ok(spec) => {
                let prog = &spec.argv[0];
                // The Nix modules render `command` as the service package's program in the
                // store: gone means the config is older than the store (garbage-collected).
                let fix = if prog.starts_with("/nix/store/") {
                    format!(
                        "the Nix store no longer has it: switch to the current generation (home-manager switch / \
                         darwin-rebuild switch), which renders the config with services.{}.package",
                        svc.key()
                    )
                } else {
                    format!("install it or set services.{}.command", svc.key())
                };
                out.push(match which::which(prog) {
                    Ok(p) => Check::ok(G, format!("{svc} command"), p.display().to_string()),
                    Err(_) => Check::fail(G, format!("{svc} command"), format!("`{prog}` not found"), fix),
                });
                if *svc == Service::LocalModel
                    && let Ok(m) = local_model::model_path(cfg, paths)
                    && !m.is_file()
                {
                    out.push(Check::fail(
                        G,
                        "local model file",
                        format!("{} does not exist", m.display()),
                        "set services.local_model.model to a GGUF file",
                    ));
                }
            }
            Err(e) => out.push(Check::fail(G, format!("{svc} command"), format!("{e:#}"), "fix the services config")),
        }
    }

    // Health of every enabled service (probed in parallel).
    match lifecycle::statuses(&ctx, &enabled) {
        Ok(rows) => {
            for r in rows {
                let name = format!("{} healthy", r.service);
                let who = match (r.managed, r.pid) {
                    ("aiorch", Some(p)) => format!("pid {p}"),
                    (m, _) => m.to_string(),
                };
                let url = r.checks.first().map_or("", |c| c.url.as_str());
                out.push(if r.state == "healthy" {
                    Check::ok(G, name, format!("{url} ({who})"))
                } else {
                    Check::fail(
                        G,
                        name,
                        r.problem.unwrap_or_else(|| r.state.to_string()),
                        format!("aiorch services up {0}; aiorch services logs {0}", r.service),
                    )
                });
                if r.outdated {
                    out.push(Check::warn(
                        G,
                        format!("{} config", r.service),
                        "runs with an older configuration",
                        format!("aiorch services down {0} && aiorch services up {0}", r.service),
                    ));
                }
            }
        }
        Err(e) => out.push(Check::fail(G, "health", format!("{e:#}"), "aiorch services status")),
    }
    out
}

/// One budget story: which ledger counts (and stops) which spending.
fn ledgers(cfg: &Config) -> String {
    let routed: Vec<&str> = cfg.gateway.route_clients.iter().map(|c| c.name()).collect();
    let direct: Vec<&str> = crate::config::Client::ALL
        .iter()
        .filter(|c| c.managed(cfg) && !cfg.gateway.route_clients.contains(c))
        .map(|c| c.name())
        .collect();
    format!(
        "the gateway's per-deployment budgets (${:.2}/day) are authoritative for everything sent through it: {}, \
         and the runtime's gateway models; the runtime's own ledger (runtime.budget) also counts the runtime's \
         calls and refuses them before they are sent; {}",
        cfg.services.litellm.daily_budget,
        if routed.is_empty() { "no client is routed (gateway.route_clients)".to_string() } else { routed.join(", ") },
        if direct.is_empty() {
            "no managed client talks to its provider directly".to_string()
        } else {
            format!("{} talk to their providers directly: neither ledger sees that spend", direct.join(", "))
        }
    )
}

/// Where the gateway keeps the day's spend, and what that means for the budget. With Redis, it
/// must answer: without it LiteLLM carries on from its memory (per proxy, lost on restart).
fn state_check(cfg: &Config, gw: &litellm::Gateway) -> Check {
    let name = "budget state";
    let Some(r) = &gw.redis else {
        return Check::ok(
            G,
            name,
            "in the gateway's memory: the day's spend starts again at $0 whenever the proxy restarts, and each proxy \
             has its own (services.litellm.redis = true keeps it in Redis)",
        );
    };
    let probe = redis::probes(cfg);
    let o = &health::check_all(&probe, std::time::Duration::from_secs(3))[0];
    let at = format!("{}:{}", r.host, r.port);
    if o.ok {
        Check::ok(
            G,
            name,
            format!(
                "in Redis at {at}: the day's spend survives gateway restarts and is shared by every proxy using it{}",
                if r.cache { "; responses are cached there too" } else { "" }
            ),
        )
    } else {
        Check::fail(
            G,
            name,
            format!(
                "Redis at {at} does not answer ({}): the gateway falls back to its memory, so budgets hold only per \
                 proxy and until it restarts, and spend made now is not shared",
                o.detail
            ),
            if cfg.services.redis.enable { "aiorch services up redis" } else { "start the Redis the gateway uses" },
        )
    }
}

/// The daily budget must be enforced where LiteLLM really enforces it without a database:
/// per-deployment `max_budget` + `budget_duration` on every cloud deployment of the file the
/// proxy reads, adding up to no more than the daily budget, and no proxy-wide `max_budget`
/// (ignored without Postgres, so it would only pretend).
fn budget_check(paths: &Paths, gw: &litellm::Gateway, cfg: &Config) -> Check {
    let name = "budget enforced";
    let path = Layout::new(paths).litellm_config();
    let fix = "aiorch services render (then restart the gateway)";
    let text = match fs_err::read_to_string(&path) {
        Ok(t) => t,
        Err(_) => return Check::warn(G, name, format!("{} not rendered yet", paths.display(&path)), fix),
    };
    let v: Value = match serde_saphyr::from_str(&text) {
        Ok(v) => v,
        Err(e) => return Check::fail(G, name, format!("{} does not parse: {e}", paths.display(&path)), fix),
    };
    if v["litellm_settings"].get("max_budget").is_some() && std::env::var_os("DATABASE_URL").is_none() {
        return Check::fail(
            G,
            name,
            "litellm_settings.max_budget is set but LiteLLM ignores it without a database (fail-open)",
            fix,
        );
    }
    let cloud: Vec<&litellm::Deployment> = gw.cloud().collect();
    if cloud.is_empty() {
        return Check::ok(G, name, "no cloud aliases (local only, or every budget is 0): nothing to spend");
    }
    let models = v["model_list"].as_array().cloned().unwrap_or_default();
    let mut parts = vec![];
    let mut sum = 0.0;
    for c in &gw.closed {
        parts.push(match &c.served_by {
            Some(to) => format!("{} $0 (served by {to})", c.alias),
            None => format!("{} $0 (not served)", c.alias),
        });
    }
    for d in &cloud {
        let found = models
            .iter()
            .find(|m| m["model_name"] == d.alias.as_str() && m["litellm_params"]["model"] == d.model.as_str());
        let p = found.map(|m| &m["litellm_params"]);
        match p.and_then(|p| Some((p["max_budget"].as_f64()?, p["budget_duration"].as_str()?))) {
            // 0 would be "no limit" to LiteLLM: such a deployment must be left out instead.
            Some((usd, window)) if !window.is_empty() && usd > 0.0 => {
                sum += usd;
                parts.push(format!("{} ${usd:.2}/{window}", d.alias));
            }
            _ => {
                return Check::fail(
                    G,
                    name,
                    format!("{} has no per-deployment budget in {}", d.alias, paths.display(&path)),
                    fix,
                );
            }
        }
    }
    let daily = cfg.services.litellm.daily_budget;
    if sum > daily + 1e-6 {
        return Check::fail(
            G,
            name,
            format!("deployment budgets add up to ${sum:.2}, more than daily_budget ${daily:.2}"),
            fix,
        );
    }
    Check::ok(
        G,
        name,
        format!(
            "${daily:.2}/day as per-deployment budgets: {} (a proxy-wide budget needs Postgres and is not used)",
            parts.join(", ")
        ),
    )
}
