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
    for note in crate::clients::mcp_notes(&loaded.ctx(paths))? {
        ui.note(&note);
    }
    if dry_run || check {
        // Read-only: no lock, so a dry run creates nothing, not even the state dir.
        let plan = apply::plan_adopting(paths, loaded.declared(paths)?, adopt)?;
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
        apply::plan_adopting(paths, loaded.declared(paths)?, adopt)?;
    }
    let _lock = apply::lock(paths)?;
    let mut shown = None;
    let mut warnings = vec![];
    let summary = apply::converge(
        paths,
        || loaded.declared(paths),
        adopt,
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
        ui.warn("put the missing backup back and run it again to restore it; `aiorch doctor` lists what is missing");
    }
    !warnings.is_empty()
}

pub fn revert(ui: &Ui, paths: &Paths, dry_run: bool) -> anyhow::Result<Exit> {
    if dry_run {
        let plan = apply::plan(paths, vec![])?;
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
        &Default::default(),
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
