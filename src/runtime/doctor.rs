//! Doctor checks for the runtime: registry, ledger, budget, a usable model per role.

use super::engine::Runtime;
use super::registry::{Registry, Via};
use super::roles::Role;
use crate::check::Check;
use crate::config::Config;
use crate::modelmap::{ModelMap, Retirement};
use crate::paths::Paths;
use crate::services::litellm;

/// `aiorch doctor`'s runtime group: registry, ledger, budget, a usable model per role.
/// No network: key presence only, nothing is called.
pub fn checks(cfg: &Config, paths: &Paths) -> Vec<Check> {
    let rt = match Runtime::inspect(cfg.clone(), paths.clone()) {
        Ok(rt) => rt,
        Err(e) => {
            return vec![Check::fail(
                "runtime",
                "registry and ledger",
                format!("{e:#}"),
                "fix [runtime] in the config (`aiorch config schema`)",
            )];
        }
    };
    let mut out = vec![Check::ok("runtime", "registry", format!("{} models", rt.reg.models.len()))];
    out.extend(model_checks(cfg, paths, &rt.reg));
    let limit = cfg.runtime.budget.daily_usd;
    match rt.ledger.spent_today(crate::ui::now_unix()) {
        Ok((spent, held)) => {
            let left = (limit - spent - held).max(0.0);
            let detail = format!("${spent:.4} spent, ${held:.4} reserved, ${left:.4} left today of ${limit:.2}");
            out.push(if left > 0.0 || limit == 0.0 {
                Check::ok("runtime", "budget", detail)
            } else {
                Check::warn(
                    "runtime",
                    "budget",
                    format!("{detail}: cloud calls are refused until 00:00 UTC"),
                    format!("wait for the reset or raise `{}`", super::ledger::BUDGET_KEY),
                )
            });
        }
        Err(e) => out.push(Check::fail("runtime", "ledger", format!("{e:#}"), "check the state dir")),
    }
    for role in Role::ALL {
        match rt.route(role.name(), Some(role), false, None, 1000) {
            Ok(r) if r.chosen.is_some() => {
                let usable = r.candidates.iter().filter(|c| c.skipped.is_none()).count();
                out.push(Check::ok(
                    "runtime",
                    format!("{role} ({})", role.seed_name()),
                    format!("{} first, {usable} usable", r.chosen.unwrap_or_default()),
                ))
            }
            Ok(r) => out.push(Check::warn(
                "runtime",
                format!("{role} ({})", role.seed_name()),
                r.reason,
                "set a provider key (`aiorch secrets set NAME`) or enable the gateway / local model",
            )),
            Err(e) => {
                out.push(Check::fail("runtime", format!("{role}"), format!("{e:#}"), "fix [runtime] in the config"))
            }
        }
    }
    out
}

/// The model map in use, then every configured model the map says is retiring (past, or within
/// 30 days: with the successor of the same provider and tier) or does not know (priced high).
fn model_checks(cfg: &Config, paths: &Paths, reg: &Registry) -> Vec<Check> {
    let mut out = vec![];
    let copy = match ModelMap::read_state(&paths.state_dir) {
        Err(e) => {
            out.push(Check::warn(
                "runtime",
                "model map",
                format!("{e:#}"),
                "run `aiorch models update`, or delete the file to use the built-in map",
            ));
            "built in"
        }
        Ok(_) if reg.map_embedded => "built in",
        Ok(_) => "from `aiorch models update`",
    };
    if out.is_empty() {
        out.push(Check::ok("runtime", "model map", format!("{} ({copy})", reg.map_label)));
    }
    let retiring = |r: &Option<Retirement>| r.clone().filter(Retirement::is_due);
    // The gateway's models: the configured `models.default_*` behind each cloud alias.
    for (alias, key) in
        [("research-model", "default_research"), ("coding-model", "default_coding"), ("fast-model", "default_fast")]
    {
        let Some(d) = litellm::alias_deployment(cfg, alias).filter(|d| !d.local) else { continue };
        let Some(m) = reg.get(alias) else { continue };
        let name = format!("models.{key}");
        let family = litellm::provider_of(&d.model);
        let bare = d.model.split_once('/').map_or(d.model.as_str(), |(_, n)| n);
        let next = reg.successor(family, m.tier, bare).map(|s| format!("{family}/{}", s.upstream));
        let fix = |why: &str| match &next {
            Some(n) => format!("aiorch config set models.{key} {n}   ({why}; same provider, tier {})", m.tier),
            None => format!("choose another model for models.{key} (`aiorch route --list`)"),
        };
        if let Some(r) = retiring(&m.retirement) {
            out.push(Check::warn("runtime", name, format!("{} {}", d.model, r.describe()), fix("its successor")));
        } else if !m.price_known {
            out.push(unknown_check(name, &d.model, bare, m));
        }
    }
    // The models the runtime calls directly.
    for m in reg.models.iter().filter(|m| !m.local && m.via != Via::Gateway) {
        if let Some(r) = retiring(&m.retirement) {
            let fix = match reg.successor(&m.family, m.tier, &m.id) {
                Some(s) => format!(
                    "route to {} instead (same provider, tier {}): [runtime.models.\"{}\"] enabled = false",
                    s.id, m.tier, m.id
                ),
                None => format!("[runtime.models.\"{}\"] enabled = false, or `aiorch models update`", m.id),
            };
            out.push(Check::warn("runtime", m.id.clone(), r.describe(), fix));
        } else if !m.price_known {
            out.push(unknown_check(m.id.clone(), &m.id, &m.id, m));
        }
    }
    out
}

fn unknown_check(name: String, model: &str, patch_id: &str, m: &super::registry::Model) -> Check {
    let why = m.price_source.strip_prefix("unknown: priced at ").unwrap_or(&m.price_source);
    Check::warn(
        "runtime",
        name,
        format!(
            "{model} is not in the model map: its price is unknown, so the budget counts \
             ${:.2}/${:.2} per Mtok ({why})",
            m.price_in, m.price_out
        ),
        format!("set price_in and price_out under [runtime.models.\"{patch_id}\"], or `aiorch models update`"),
    )
}
