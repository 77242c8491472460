//! How a plan is shown: one line per change (`+` create, `~` update/merge, `-` retract,
//! `<` restore), diffs with `--dry-run`, and a JSON form for `--json`.

use serde::Serialize;
use similar::TextDiff;

use super::fsutil::State;
use super::plan::{Action, Change, Plan, Target};
use crate::paths::Paths;
use crate::ui::{Style, Ui};

#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct Summary {
    pub created: usize,
    pub updated: usize,
    pub removed: usize,
    pub unchanged: usize,
    pub backups: usize,
}

impl Summary {
    pub fn of(plan: &Plan) -> Summary {
        let mut s = Summary { unchanged: plan.unchanged, ..Default::default() };
        for c in &plan.changes {
            match c.action {
                Action::Create => s.created += 1,
                // A key merged into a file that did not exist yet creates the file.
                Action::Merge if matches!(c.before, State::Absent) => s.created += 1,
                Action::Update | Action::Merge => s.updated += 1,
                Action::Retract | Action::Restore => s.removed += 1,
            }
            s.backups += usize::from(c.backup.is_some() && !matches!(c.before, State::Absent));
        }
        s
    }

    pub fn changes(&self) -> usize {
        self.created + self.updated + self.removed
    }

    pub fn line(&self) -> String {
        let mut s = format!(
            "{} created, {} updated, {} removed, {} unchanged",
            self.created, self.updated, self.removed, self.unchanged
        );
        if self.backups > 0 {
            s.push_str(&format!(" ({} backed up)", self.backups));
        }
        s
    }
}

#[derive(Serialize)]
struct JsonChange<'a> {
    path: String,
    action: Action,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    keys: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    backup: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    link: Option<String>,
}

pub fn plan_json(plan: &Plan, paths: &Paths) -> serde_json::Value {
    let changes: Vec<JsonChange> = plan
        .changes
        .iter()
        .map(|c| JsonChange {
            path: paths.display(&c.path),
            action: c.action,
            keys: &c.keys,
            backup: c.backup.as_ref().map(|b| b.display().to_string()),
            link: match &c.after {
                Target::Link(t) => Some(t.display().to_string()),
                _ => None,
            },
        })
        .collect();
    let held: Vec<serde_json::Value> = plan
        .held
        .iter()
        .map(|h| {
            serde_json::json!({
                "path": paths.display(&h.managed.path),
                "managed_by": h.managed.owner(),
                "left_to_nix": h.what(),
            })
        })
        .collect();
    let mut out = serde_json::json!({ "summary": Summary::of(plan), "changes": changes, "notes": plan.notes });
    if !held.is_empty() {
        out["nix_managed"] = held.into();
    }
    out
}

/// Print the plan; with `diffs`, a unified diff of every file whose text changes.
pub fn print_plan(ui: &Ui, plan: &Plan, paths: &Paths, diffs: bool) {
    for c in &plan.changes {
        let (sign, style) = match c.action {
            Action::Create => ("+", Style::Green),
            Action::Update | Action::Merge => ("~", Style::Yellow),
            Action::Retract => ("-", Style::Red),
            Action::Restore => ("<", Style::Red),
        };
        let mut line = format!("{} {}", ui.paint(style, sign), paths.display(&c.path));
        match &c.after {
            Target::Link(t) => line.push_str(&format!(" -> {}", paths.display(t))),
            Target::Restore(b) => line.push_str(&format!(" (restored from {})", paths.display(b))),
            _ => {}
        }
        if !c.keys.is_empty() {
            line.push_str(&ui.paint(Style::Dim, &format!("  [{}]", c.keys.join(", "))));
        }
        if c.backup.is_some() && !matches!(c.before, State::Absent) {
            line.push_str(&ui.paint(Style::Dim, "  (backed up)"));
        }
        ui.out(&line);
        if diffs {
            print_diff(ui, c, paths);
        }
    }
    for h in &plan.held {
        // `=`: left as it is, on purpose (Nix writes it).
        let mut line = format!(
            "{} {}  managed by {}: left alone ({} from Nix)",
            ui.paint(Style::Cyan, "="),
            paths.display(&h.managed.path),
            h.managed.owner(),
            h.what()
        );
        if h.forgotten > 0 {
            line.push_str(
                &ui.paint(Style::Dim, &format!("  (aiorch forgets the {} item(s) it owned there before)", h.forgotten)),
            );
        }
        ui.out(&line);
    }
    for n in &plan.notes {
        ui.note(n);
    }
}

fn print_diff(ui: &Ui, c: &Change, paths: &Paths) {
    let old = match &c.before {
        State::File { bytes, .. } => String::from_utf8_lossy(bytes).into_owned(),
        _ => String::new(),
    };
    let new = match &c.after {
        Target::File { bytes, .. } => String::from_utf8_lossy(bytes).into_owned(),
        _ => return,
    };
    let name = paths.display(&c.path);
    let diff = TextDiff::from_lines(&old, &new);
    let text = diff.unified_diff().context_radius(2).header(&format!("a/{name}"), &format!("b/{name}")).to_string();
    for l in text.lines() {
        let style = match l.as_bytes().first() {
            Some(b'+') if !l.starts_with("+++") => Style::Green,
            Some(b'-') if !l.starts_with("---") => Style::Red,
            Some(b'@') => Style::Cyan,
            _ => Style::Plain,
        };
        ui.out(&format!("    {}", ui.paint(style, l)));
    }
}
