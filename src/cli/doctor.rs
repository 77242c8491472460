//! `aiorch doctor` and `aiorch agents`.

use super::Loaded;
use crate::check::Check;
use crate::doctor;
use crate::error::Exit;
use crate::paths::Paths;
use crate::ui::Ui;

pub fn doctor(ui: &Ui, paths: &Paths, strict: bool, no_connect: bool) -> anyhow::Result<Exit> {
    let mut checks = vec![];
    let loaded = match Loaded::load(paths) {
        Ok(l) => {
            checks.push(Check::ok("config", "config loads", paths.config_file.display().to_string()));
            l
        }
        Err(e) => {
            let msg = crate::error::summary(&e);
            checks.push(Check::fail(
                "config",
                "config loads",
                msg,
                "fix the config file (`aiorch config schema` lists every key)",
            ));
            doctor::report(ui, &checks, strict);
            return Ok(Exit::BadInput);
        }
    };
    checks.extend(doctor::checks(ui, paths, &loaded.config, &loaded.tree, no_connect)?);
    let failed = doctor::report(ui, &checks, strict);
    Ok(if failed { Exit::Failed } else { Exit::Ok })
}

pub fn agents(ui: &Ui, paths: &Paths) -> anyhow::Result<Exit> {
    let cfg = crate::config::load(&paths.config_file, paths.config_explicit)?;
    let agents = crate::agents::detect();
    let managed: Vec<&str> = cfg.managed_clients().iter().map(|c| c.name()).collect();
    if ui.json {
        let rows: Vec<_> = agents
            .iter()
            .map(|a| {
                serde_json::json!({
                    "name": a.name, "command": a.command, "installed": a.path.is_some(),
                    "path": a.path, "version": a.version, "managed": managed.contains(&a.command),
                })
            })
            .collect();
        ui.json(&serde_json::Value::Array(rows));
        return Ok(Exit::Ok);
    }
    for a in &agents {
        let mark = if a.path.is_some() { ui.ok_mark() } else { ui.paint(crate::ui::Style::Dim, "-") };
        let version =
            a.version.as_deref().unwrap_or(if a.path.is_some() { "version unknown" } else { "not installed" });
        let note = if managed.contains(&a.command) { "  (managed)" } else { "" };
        ui.data(&format!("{mark} {:<13} {:<14} {version}{note}", a.name, a.command));
    }
    Ok(Exit::Ok)
}
