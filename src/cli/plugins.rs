//! `aiorch plugins sync`.

use super::Loaded;
use crate::apply::{Desired, Ledger};
use crate::config::Client;
use crate::error::{CliError, Exit};
use crate::mcp::sync::{self, Claude, Status};
use crate::paths::Paths;
use crate::ui::Ui;

pub fn sync(ui: &Ui, paths: &Paths) -> anyhow::Result<Exit> {
    let loaded = Loaded::load(paths)?;
    if !Client::Claude.managed(&loaded.config) {
        ui.out("Claude Code is not managed (clients.claude, or `claude` not on PATH): nothing to sync.");
        return Ok(Exit::Ok);
    }
    let Some(claude) = Claude::find(paths) else {
        return Err(CliError::failed("`claude` is not on PATH, so plugins cannot be installed now")
            .hint("Claude installs the declared plugins itself during its next two sessions")
            .into());
    };
    let declared = sync::declared(&loaded.config, paths)?;
    // The settings.json keys must be aiorch's before Claude writes the same ones, or a later
    // retraction would take Claude's copy for the user's and keep it.
    let ledger = Ledger::load(&paths.ledger())?;
    let ctx = loaded.ctx(paths);
    let pending = crate::clients::claude::plugin_artifacts(&ctx, &declared).into_iter().any(|a| {
        let Desired::Key { key, .. } = &a.desired else { return false };
        !ledger.keys_at(&a.path).any(|e| e.key() == Some(key.as_slice()))
    });
    if pending {
        return Err(CliError::failed("the declared marketplaces and plugins are not in ~/.claude/settings.json yet")
            .hint("run `aiorch apply` first")
            .into());
    }
    let steps = sync::sync(&claude, &declared)?;
    let failed = steps.iter().any(|s| s.status == Status::Failed);
    if ui.json {
        ui.json(&serde_json::json!({ "ok": !failed, "steps": steps }));
    } else {
        for s in &steps {
            let (mark, word) = match s.status {
                Status::Present => (ui.ok_mark(), "already there"),
                Status::Done => (ui.ok_mark(), "done"),
                Status::Skipped => (ui.warn_mark(), "skipped"),
                Status::Failed => (ui.fail_mark(), "failed"),
            };
            let detail = if s.detail.is_empty() { String::new() } else { format!(": {}", s.detail) };
            ui.data(&format!("{mark} {} {word}{detail}", s.item));
        }
        if steps.is_empty() {
            ui.out("no marketplaces or plugins declared");
        }
    }
    Ok(if failed { Exit::Failed } else { Exit::Ok })
}
