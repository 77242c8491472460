//! Routing: pick the model for a role within mode and budget, and the fallback chain behind it.
//!
//! RouteLLM's lesson, without a trained router: most tasks do not need the strongest model.
//! Simple tasks go to the cheapest model that is good enough for the role, normal ones to the
//! cheapest strong one, complex ones to the best; failures escalate cheap → strong.

use serde::Serialize;

use super::registry::{Model, Registry, Via};
use super::roles::{Classification, Difficulty, Role};
use crate::config::Config;

/// What the router needs to know about one call.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub class: Classification,
    pub local_only: bool,
    /// Estimated prompt tokens (history included).
    pub tokens_in: u64,
    /// Output tokens the call may produce.
    pub max_out: u64,
    /// USD left today; None = unlimited (tests, `route --list`).
    pub budget_left: Option<f64>,
    /// A model the caller asked for by id (`--model`), bypassing the ranking.
    pub pinned: Option<&'a str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Candidate {
    pub id: String,
    pub score: f64,
    pub tier: u8,
    pub price_in: f64,
    pub price_out: f64,
    pub local: bool,
    /// As in `route --list`: where the price comes from; an unknown one is a stand-in.
    pub price_source: String,
    pub price_known: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retirement: Option<crate::modelmap::Retirement>,
    /// Estimated worst-case cost of this call on this model.
    pub max_cost: f64,
    /// Why it cannot be used, or None when it is eligible.
    pub skipped: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Route {
    pub role: Role,
    pub seed_name: &'static str,
    pub role_source: String,
    pub difficulty: Difficulty,
    pub difficulty_keywords: Vec<String>,
    pub mode: &'static str,
    pub budget_left: Option<f64>,
    pub chosen: Option<String>,
    pub reason: String,
    /// The chosen model followed by the models tried on failure, in order.
    pub chain: Vec<String>,
    pub candidates: Vec<Candidate>,
}

/// Decide whether `m` can take the call at all: `Ok` or the reason it cannot.
pub type Availability<'a> = &'a dyn Fn(&Model) -> Result<(), String>;

pub fn route(cfg: &Config, reg: &Registry, req: &Request, available: Availability) -> Route {
    let role = req.class.role;
    let mut candidates: Vec<Candidate> = reg
        .models
        .iter()
        .map(|m| {
            let out = req.max_out.min(m.max_output);
            let max_cost = m.cost(req.tokens_in, out);
            let skipped = if m.score(role) <= 0.0 {
                Some(format!("no {role} score"))
            } else if req.local_only && !m.local {
                Some("cloud model, local-only mode".into())
            } else if m.via == Via::Gateway && !reg.gateway_enabled {
                Some("gateway disabled (runtime.gateway.enabled)".into())
            } else if req.tokens_in + out > m.context_window {
                Some(format!("prompt of ~{} tokens exceeds its {}-token window", req.tokens_in, m.context_window))
            } else if let Some(left) = req.budget_left.filter(|l| max_cost > *l) {
                Some(format!("may cost ${max_cost:.4}, ${left:.4} left today"))
            } else {
                available(m).err()
            };
            Candidate {
                id: m.id.clone(),
                score: m.score(role),
                tier: m.tier,
                price_in: m.price_in,
                price_out: m.price_out,
                local: m.local,
                price_source: m.price_source.clone(),
                price_known: m.price_known,
                retirement: m.retirement.clone(),
                max_cost,
                skipped,
            }
        })
        .collect();
    // Best first, so the listing reads as a ranking.
    candidates
        .sort_by(|a, b| b.score.total_cmp(&a.score).then(a.max_cost.total_cmp(&b.max_cost)).then(a.id.cmp(&b.id)));
    let eligible: Vec<&Model> =
        candidates.iter().filter(|c| c.skipped.is_none()).filter_map(|c| reg.get(&c.id)).collect();
    let over = role_override(cfg, role);

    let (chosen, reason) = pick(cfg, req, &eligible, over.and_then(|o| o.model.as_deref()));
    let chain = match chosen {
        Some(first) => chain(cfg, role, first, &eligible, over.map(|o| o.fallback.as_slice()).unwrap_or(&[])),
        None => vec![],
    };
    Route {
        role,
        seed_name: role.seed_name(),
        role_source: if req.class.role_given {
            "given".into()
        } else if req.class.role_keywords.is_empty() {
            "default (no role keywords)".into()
        } else {
            format!("keywords: {}", req.class.role_keywords.join(", "))
        },
        difficulty: req.class.difficulty,
        difficulty_keywords: req.class.difficulty_keywords.clone(),
        mode: if req.local_only { "local" } else { "cloud" },
        budget_left: req.budget_left,
        chosen: chosen.map(|m| m.id.clone()),
        reason,
        chain,
        candidates,
    }
}

fn pick<'m>(
    cfg: &Config,
    req: &Request,
    eligible: &[&'m Model],
    role_pin: Option<&str>,
) -> (Option<&'m Model>, String) {
    let role = req.class.role;
    if let Some(id) = req.pinned {
        return match eligible.iter().find(|m| m.id == id) {
            Some(m) => (Some(*m), "requested by name".into()),
            None => (None, format!("requested model `{id}` is not usable (see its line below)")),
        };
    }
    if let Some(id) = role_pin
        && let Some(m) = eligible.iter().find(|m| m.id == id)
    {
        return (Some(*m), format!("pinned by runtime.roles.{role}.model"));
    }
    let Some(best) = eligible.iter().map(|m| m.score(role)).max_by(f64::total_cmp) else {
        return (None, "no usable model: every candidate was skipped (reasons below)".into());
    };
    let routing = &cfg.runtime.routing;
    let (floor, why) = match req.class.difficulty {
        Difficulty::Simple => (routing.simple_min_score.min(best), "simple task"),
        Difficulty::Normal => (routing.normal_min_score.min(best), "normal task"),
        Difficulty::Complex => (best, "complex task"),
    };
    let m = eligible
        .iter()
        .filter(|m| m.score(role) >= floor - 1e-9)
        .min_by(|a, b| {
            a.blended_price()
                .total_cmp(&b.blended_price())
                .then(b.score(role).total_cmp(&a.score(role)))
                .then(b.tier.cmp(&a.tier))
                .then(a.id.cmp(&b.id))
        })
        .copied();
    let reason = if req.class.difficulty == Difficulty::Complex {
        format!("best {role} score ({best:.2}) for a {why}, cheapest among equals")
    } else {
        format!("cheapest model with a {role} score >= {floor:.2} ({why})")
    };
    (m, reason)
}

/// The fallback order after `first`: configured fallbacks; a lateral move to an equally good
/// model of the same tier (another provider, for rate limits); escalation to stronger models of
/// higher tiers (cheapest tier first); then the rest, best first. At most `max_attempts`.
fn chain(cfg: &Config, role: Role, first: &Model, eligible: &[&Model], configured: &[String]) -> Vec<String> {
    let mut out = vec![first.id.clone()];
    for id in configured {
        if eligible.iter().any(|m| &m.id == id) && !out.contains(id) {
            out.push(id.clone());
        }
    }
    let s0 = first.score(role);
    let group = |m: &Model| -> u8 {
        match (m.tier.cmp(&first.tier), m.score(role) >= s0) {
            (std::cmp::Ordering::Equal, true) => 0,
            (std::cmp::Ordering::Greater, true) => 1,
            _ => 2,
        }
    };
    let mut rest: Vec<&&Model> = eligible.iter().filter(|m| m.id != first.id).collect();
    rest.sort_by(|a, b| {
        group(a)
            .cmp(&group(b))
            .then(if group(a) == 1 { a.tier.cmp(&b.tier) } else { std::cmp::Ordering::Equal })
            .then(b.score(role).total_cmp(&a.score(role)))
            .then(a.blended_price().total_cmp(&b.blended_price()))
            .then(a.id.cmp(&b.id))
    });
    for m in rest {
        if !out.contains(&m.id) {
            out.push(m.id.clone());
        }
    }
    out.truncate(cfg.runtime.max_attempts.max(1));
    out
}

/// `[runtime.roles.X]` for a role, accepting role and seed names as keys.
pub fn role_override(cfg: &Config, role: Role) -> Option<&crate::config::runtime::RoleOverride> {
    cfg.runtime.roles.iter().find(|(k, _)| k.parse::<Role>().ok() == Some(role)).map(|(_, v)| v)
}

/// The human explanation `aiorch route` prints.
pub fn explain(task: &str, r: &Route) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(s, "task:       {}", one_line(task, 100));
    let _ = writeln!(s, "role:       {} ({}) — {}", r.role, r.seed_name, r.role_source);
    let dk = if r.difficulty_keywords.is_empty() {
        String::new()
    } else {
        format!(" — keywords: {}", r.difficulty_keywords.join(", "))
    };
    let _ = writeln!(s, "difficulty: {}{dk}", r.difficulty.name());
    let budget = r.budget_left.map_or("unlimited".to_string(), |b| format!("${b:.2} left today"));
    let _ = writeln!(s, "mode:       {}, budget {budget}", r.mode);
    match &r.chosen {
        Some(id) => {
            let _ = writeln!(s, "choice:     {id} — {}", r.reason);
        }
        None => {
            let _ = writeln!(s, "choice:     none — {}", r.reason);
        }
    }
    if r.chain.len() > 1 {
        let _ = writeln!(s, "fallback:   {}", r.chain[1..].join(" → "));
    }
    let _ = writeln!(s, "candidates ({} score, $/Mtok in/out):", r.role);
    for c in &r.candidates {
        let mark = if Some(&c.id) == r.chosen.as_ref() {
            "*"
        } else if c.skipped.is_some() {
            "-"
        } else {
            " "
        };
        let mut note = c.skipped.as_deref().map(|w| format!("  skipped: {w}")).unwrap_or_default();
        if !c.price_known {
            note.push_str("  price unknown (budgeted high)");
        }
        if let Some(r) = c.retirement.as_ref().filter(|r| r.is_due()) {
            note.push_str(&format!("  {}", r.describe()));
        }
        let line = format!(
            "  {mark} {:<22} {:.2}  tier {}  {:>6.2}/{:<6.2}{}{note}",
            c.id,
            c.score,
            c.tier,
            c.price_in,
            c.price_out,
            if c.local { "  local" } else { "" }
        );
        let _ = writeln!(s, "{}", line.trim_end());
    }
    s
}

pub fn one_line(text: &str, max: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > max { format!("{}…", flat.chars().take(max).collect::<String>()) } else { flat }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modelmap::ModelMap;
    use crate::runtime::roles::classify;

    fn req(task: &str) -> Request<'static> {
        Request {
            class: classify(task, None),
            local_only: false,
            tokens_in: 1000,
            max_out: 4000,
            budget_left: None,
            pinned: None,
        }
    }
    fn all(_: &Model) -> Result<(), String> {
        Ok(())
    }

    #[test]
    fn simple_goes_cheap_complex_goes_strong() {
        let cfg = Config::default();
        let reg = Registry::load(&cfg, &ModelMap::embedded()).unwrap();
        let simple = route(&cfg, &reg, &req("fix a typo in the README"), &all);
        assert_eq!(simple.chosen.as_deref(), Some("gpt-5-mini"));
        let complex = route(&cfg, &reg, &req("design the distributed cache invalidation protocol"), &all);
        assert_eq!(complex.role, Role::Planning);
        assert_eq!(complex.chosen.as_deref(), Some("claude-opus-4-8"));
        // A lateral move within the cheap tier, then escalation to a stronger tier.
        assert_eq!(simple.chain, ["gpt-5-mini", "claude-haiku-4-5", "claude-sonnet-4-6"]);
    }

    #[test]
    fn local_only_never_picks_cloud() {
        let cfg = Config::default();
        let reg = Registry::load(&cfg, &ModelMap::embedded()).unwrap();
        let mut r = req("design the whole system");
        r.local_only = true;
        let out = route(&cfg, &reg, &r, &all);
        assert_eq!(out.chosen.as_deref(), Some("local"));
        assert!(out.chain.iter().all(|id| reg.get(id).unwrap().local));
    }

    #[test]
    fn budget_and_availability_skip_models() {
        let cfg = Config::default();
        let reg = Registry::load(&cfg, &ModelMap::embedded()).unwrap();
        let mut r = req("design the distributed protocol");
        r.budget_left = Some(0.09);
        let no_anthropic = |m: &Model| {
            if m.provider == crate::runtime::registry::Provider::Anthropic { Err("no key".to_string()) } else { Ok(()) }
        };
        let out = route(&cfg, &reg, &r, &no_anthropic);
        let opus = out.candidates.iter().find(|c| c.id == "claude-opus-4-8").unwrap();
        assert!(opus.skipped.as_deref().unwrap().contains("may cost"), "{:?}", opus.skipped);
        assert_eq!(out.chosen.as_deref(), Some("gpt-5.6"));
    }

    #[test]
    fn role_pins_and_fallbacks_apply() {
        let mut cfg = Config::default();
        cfg.runtime.roles.insert(
            "hephaestus".into(),
            crate::config::runtime::RoleOverride {
                model: Some("claude-sonnet-4-6".into()),
                fallback: vec!["gemini-2.5-flash".into()],
            },
        );
        let reg = Registry::load(&cfg, &ModelMap::embedded()).unwrap();
        let out = route(&cfg, &reg, &req("implement the parser"), &all);
        assert_eq!(out.chosen.as_deref(), Some("claude-sonnet-4-6"));
        assert_eq!(out.chain[1], "gemini-2.5-flash");
    }
}
