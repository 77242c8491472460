//! `aiorch doctor`: proves that what aiorch manages is in place and working. Each feature's
//! checks live with the feature (`<feature>/doctor.rs`); this module gathers them in order and
//! prints them. A failed check names the fix.

use crate::agentsmd::Tree;
use crate::check::{Check, Status};
use crate::clients::{self, Ctx};
use crate::config::{Client, Config};
use crate::paths::Paths;
use crate::ui::Ui;

/// Every check, for a config that loaded. `no_connect`: start or contact no MCP server.
pub fn checks(ui: &Ui, paths: &Paths, config: &Config, tree: &Tree, no_connect: bool) -> anyhow::Result<Vec<Check>> {
    let mut checks = vec![];
    let managed: Vec<&str> = config.managed_clients().iter().map(|c| c.name()).collect();
    checks.push(if managed.is_empty() {
        Check::warn(
            "config",
            "managed clients",
            "none (no client CLI found on PATH)",
            "install a client, or set clients.NAME = \"always\"",
        )
    } else {
        Check::ok("config", "managed clients", managed.join(", "))
    });
    checks.extend(crate::secrets::doctor::checks(config, paths));
    checks.extend(crate::runtime::doctor::checks(config, paths));
    if config.enable {
        let ctx = Ctx { paths, config, tree };
        let values = crate::secrets::values::BackendValues::of(config, paths);
        let secrets = crate::apply::Redactor::new(&values);
        checks.extend(crate::apply::doctor::checks(
            paths,
            clients::declared(&ctx)?,
            &config.apply.nix_managed,
            &secrets,
        )?);
        let plugins = if Client::Claude.managed(config) {
            Some(crate::mcp::plugins::declared(&config.plugins, paths)?)
        } else {
            None
        };
        checks.extend(crate::mcp::doctor::checks(&clients::mcp_translated(&ctx)?, plugins.as_ref(), paths, no_connect));
        checks.extend(crate::policy::doctor::checks(paths, config, tree, &|c, p| {
            clients::policy_translation(c, paths, p)
        }));
    } else {
        checks.push(Check::warn("config", "enabled", "enable = false: apply does nothing", "set enable = true"));
    }
    checks.extend(crate::services::doctor::checks(ui, paths, config));
    Ok(checks)
}

/// Print the checks grouped, with a summary; returns whether the run counts as failed.
pub fn report(ui: &Ui, checks: &[Check], strict: bool) -> bool {
    let worst = checks.iter().map(|c| c.status).max().unwrap_or(Status::Ok);
    let failed = worst == Status::Fail || strict && worst == Status::Warn;
    let count = |s| checks.iter().filter(|c| c.status == s).count();
    if ui.json {
        ui.json(&serde_json::json!({
            "ok": !failed,
            "summary": { "ok": count(Status::Ok), "warn": count(Status::Warn), "fail": count(Status::Fail) },
            "checks": checks,
        }));
        return failed;
    }
    let mut group = "";
    for c in checks {
        if c.group != group {
            group = c.group;
            ui.data(&ui.paint(crate::ui::Style::Bold, group));
        }
        let mark = match c.status {
            Status::Ok => ui.ok_mark(),
            Status::Warn => ui.warn_mark(),
            Status::Fail => ui.fail_mark(),
        };
        let detail = if c.detail.is_empty() { String::new() } else { format!(": {}", c.detail) };
        ui.data(&format!("  {mark} {}{detail}", c.name));
        if let Some(fix) = &c.fix {
            ui.data(&format!("      fix: {fix}"));
        }
    }
    ui.data(&format!("{} ok, {} warnings, {} problems", count(Status::Ok), count(Status::Warn), count(Status::Fail)));
    failed
}
