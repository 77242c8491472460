//! `aiorch doctor`: proves that what aiorch manages is in place and working. Each area adds its
//! checks here as a group; a failed check names the fix.

mod ledger;
mod services;

use serde::Serialize;

use crate::ui::Ui;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warn,
    Fail,
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub group: &'static str,
    pub name: String,
    pub status: Status,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    pub fn ok(group: &'static str, name: impl Into<String>, detail: impl Into<String>) -> Check {
        Check { group, name: name.into(), status: Status::Ok, detail: detail.into(), fix: None }
    }
    pub fn warn(
        group: &'static str,
        name: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check { group, name: name.into(), status: Status::Warn, detail: detail.into(), fix: Some(fix.into()) }
    }
    pub fn fail(
        group: &'static str,
        name: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check { group, name: name.into(), status: Status::Fail, detail: detail.into(), fix: Some(fix.into()) }
    }
}

pub use ledger::checks as ledger_checks;
pub use services::checks as services_checks;

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
