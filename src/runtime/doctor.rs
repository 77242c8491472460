//! Doctor checks for the runtime: registry, ledger, budget, a usable model per role.

use super::engine::Runtime;
use super::roles::Role;
use crate::check::Check;
use crate::config::Config;
use crate::paths::Paths;

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
