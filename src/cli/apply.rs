//! `aiorch apply` and `aiorch revert`.

use super::Loaded;
use crate::apply;
use crate::error::Exit;
use crate::paths::Paths;
use crate::ui::Ui;

pub fn apply(
    ui: &Ui,
    paths: &Paths,
    dry_run: bool,
    check: bool,
    adopt: &std::collections::BTreeSet<String>,
) -> anyhow::Result<Exit> {
    let loaded = Loaded::load(paths)?;
    if !loaded.config.enable {
        ui.out(
            "aiorch is disabled in the config (enable = false): nothing to do. `aiorch revert` undoes earlier runs.",
        );
        return Ok(Exit::Ok);
    }
    let values = crate::secrets::values::BackendValues::of(&loaded.config, paths);
    let secrets = apply::Redactor::new(&values);
    for note in crate::clients::mcp_notes(&loaded.ctx(paths))? {
        ui.note(&note);
    }
    if dry_run || check {
        // Read-only: no lock, so a dry run creates nothing, not even the state dir.
        let plan = apply::plan(paths, loaded.declared(paths)?, &loaded.config.apply.nix_managed, adopt, &secrets)?;
        let summary = apply::Summary::of(&plan);
        if ui.json {
            ui.json(&apply::report::plan_json(&plan, paths));
        } else {
            apply::print_plan(ui, &plan, paths, dry_run);
            ui.out(&format!("{}: {}", if check { "check" } else { "dry run" }, summary.line()));
        }
        let failed = check && summary.changes() > 0 || warned(ui, &plan.warnings);
        return Ok(if failed { Exit::Failed } else { Exit::Ok });
    }
    if !paths.state_dir.exists() {
        // First run: plan once before the lock creates the state dir, so a file that does not
        // parse leaves no trace at all (converge plans again under the lock).
        apply::plan(paths, loaded.declared(paths)?, &loaded.config.apply.nix_managed, adopt, &secrets)?;
    }
    let _lock = apply::lock(paths)?;
    let mut shown = None;
    let mut warnings = vec![];
    let summary = apply::converge(
        paths,
        || loaded.declared(paths),
        &loaded.config.apply.nix_managed,
        adopt,
        &secrets,
        |plan| {
            warnings = plan.warnings.clone();
            if !ui.json {
                apply::print_plan(ui, plan, paths, false);
            } else {
                shown = Some(apply::report::plan_json(plan, paths));
            }
        },
    )?;
    match shown {
        Some(j) => ui.json(&j),
        None => ui.out(&format!("applied: {}", summary.line())),
    }
    Ok(if warned(ui, &warnings) { Exit::Failed } else { Exit::Ok })
}

/// Print what could not be done; true when there was anything.
fn warned(ui: &Ui, warnings: &[String]) -> bool {
    for w in warnings {
        ui.warn(w);
    }
    if !warnings.is_empty() {
        ui.warn("do what is named above and run it again; `aiorch doctor` lists what is missing");
    }
    !warnings.is_empty()
}

/// `current_secrets`: fill the secrets in the backups with the backend's value even where it
/// is not the one the backup was taken with (the old token was rotated and is gone).
pub fn revert(ui: &Ui, paths: &Paths, dry_run: bool, current_secrets: bool) -> anyhow::Result<Exit> {
    // Files Nix manages stay as they are on revert too. Revert must work with a config that
    // no longer loads, so a bad one only means no such list (and the default secrets backend).
    let config = crate::config::load(&paths.config_file, paths.config_explicit).ok();
    let nix_managed = config.as_ref().map(|c| c.apply.nix_managed.clone()).unwrap_or_default();
    let values = match &config {
        Some(c) => crate::secrets::values::BackendValues::of(c, paths),
        None => crate::secrets::values::BackendValues::without_config(paths),
    };
    let secrets = apply::Redactor::new(&values).accept_current(current_secrets);
    if dry_run {
        let plan = apply::plan(paths, vec![], &nix_managed, &Default::default(), &secrets)?;
        if ui.json {
            ui.json(&apply::report::plan_json(&plan, paths));
        } else {
            apply::print_plan(ui, &plan, paths, true);
            ui.out(&format!("dry run: {}", apply::Summary::of(&plan).line()));
        }
        return Ok(if warned(ui, &plan.warnings) { Exit::Failed } else { Exit::Ok });
    }
    let _lock = apply::lock(paths)?;
    let mut shown = None;
    let mut warnings = vec![];
    let summary = apply::converge(
        paths,
        || Ok(vec![]),
        &nix_managed,
        &Default::default(),
        &secrets,
        |plan| {
            warnings = plan.warnings.clone();
            if ui.json {
                shown = Some(apply::report::plan_json(plan, paths));
            } else {
                apply::print_plan(ui, plan, paths, false);
            }
        },
    )?;
    match shown {
        Some(j) => ui.json(&j),
        None => ui.out(&format!("reverted: {}", summary.line())),
    }
    Ok(if warned(ui, &warnings) { Exit::Failed } else { Exit::Ok })
}

/// `aiorch render --client NAME`: the keys and array members aiorch merges into that client's
/// settings file, as one JSON document (always JSON: it is read by the Nix modules' checks).
pub fn render(ui: &Ui, paths: &Paths, client: crate::config::Client) -> anyhow::Result<Exit> {
    let loaded = Loaded::load(paths)?;
    let Some(file) = crate::clients::settings_file(client, paths) else {
        return Err(crate::error::CliError::bad_input(format!(
            "{} has no settings file that aiorch merges into",
            client.name()
        ))
        .hint("render knows claude, gemini, codex, opencode and aider")
        .into());
    };
    let declared = if loaded.config.enable { loaded.declared(paths)? } else { vec![] };
    let doc = apply::managed::fragment(&declared, &file);
    ui.out(&serde_json::to_string_pretty(&doc)?);
    Ok(Exit::Ok)
}
