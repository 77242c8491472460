//! Handoffs: what one agent or stage leaves the next — the context, what was done, the files
//! touched, open questions, next steps and to whom — appended to a log per project (and per
//! task when there is one). `aiorch handoff show --markdown` is the log a person reads.

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::ledger::Ledger;
use crate::error::CliError;

pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS handoffs (
  id INTEGER PRIMARY KEY,
  project TEXT NOT NULL,
  task INTEGER,
  ts INTEGER NOT NULL,
  from_agent TEXT NOT NULL,
  to_agent TEXT NOT NULL,
  stage TEXT,
  context TEXT NOT NULL,
  done TEXT NOT NULL,
  files TEXT NOT NULL,
  questions TEXT NOT NULL,
  next TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS handoffs_project ON handoffs(project, id);
CREATE INDEX IF NOT EXISTS handoffs_task ON handoffs(task, id);
";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Handoff {
    #[serde(default)]
    pub id: i64,
    #[serde(default)]
    pub project: String,
    pub task: Option<i64>,
    #[serde(default)]
    pub ts: i64,
    pub from: String,
    pub to: String,
    pub stage: Option<String>,
    #[serde(default)]
    pub context: String,
    #[serde(default)]
    pub done: String,
    #[serde(default)]
    pub files: Vec<String>,
    #[serde(default)]
    pub questions: Vec<String>,
    #[serde(default)]
    pub next: Vec<String>,
}

fn list_json(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

fn list_of(s: String) -> Vec<String> {
    serde_json::from_str(&s).unwrap_or_default()
}

/// Append `h` (its id, project and time are set here); returns it as stored.
pub fn add(l: &Ledger, now: i64, project: &str, mut h: Handoff) -> anyhow::Result<Handoff> {
    if h.from.trim().is_empty() || h.to.trim().is_empty() {
        return Err(CliError::bad_input("a handoff names who hands over (--from) and to whom (--to)").into());
    }
    if h.context.trim().is_empty() && h.done.trim().is_empty() && h.next.is_empty() {
        return Err(CliError::bad_input("an empty handoff: give at least the context, what was done or a next step")
            .hint("aiorch handoff add --from A --to B --done \"…\" --next \"…\"")
            .into());
    }
    let conn = l.lock();
    if let Some(t) = h.task {
        let known: Option<i64> = conn
            .query_row("SELECT id FROM tasks WHERE id = ?1 AND project = ?2", params![t, project], |r| r.get(0))
            .optional()?;
        if known.is_none() {
            return Err(CliError::bad_input(format!("no task {t} in project {project}"))
                .hint("`aiorch task list` shows the ids")
                .into());
        }
    }
    conn.execute(
        "INSERT INTO handoffs (project, task, ts, from_agent, to_agent, stage, context, done, files, questions, next)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            project,
            h.task,
            now,
            h.from,
            h.to,
            h.stage,
            h.context,
            h.done,
            list_json(&h.files),
            list_json(&h.questions),
            list_json(&h.next)
        ],
    )?;
    h.id = conn.last_insert_rowid();
    h.project = project.to_string();
    h.ts = now;
    Ok(h)
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Handoff> {
    Ok(Handoff {
        id: r.get(0)?,
        project: r.get(1)?,
        task: r.get(2)?,
        ts: r.get(3)?,
        from: r.get(4)?,
        to: r.get(5)?,
        stage: r.get(6)?,
        context: r.get(7)?,
        done: r.get(8)?,
        files: list_of(r.get(9)?),
        questions: list_of(r.get(10)?),
        next: list_of(r.get(11)?),
    })
}

const COLUMNS: &str = "id, project, task, ts, from_agent, to_agent, stage, context, done, files, questions, next";

/// The project's handoffs (or one task's), oldest first.
pub fn list(l: &Ledger, project: &str, task: Option<i64>) -> anyhow::Result<Vec<Handoff>> {
    let conn = l.lock();
    let mut st = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM handoffs WHERE project = ?1 AND (?2 IS NULL OR task = ?2) ORDER BY id"
    ))?;
    let rows = st.query_map(params![project, task], row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn get(l: &Ledger, project: &str, id: i64) -> anyhow::Result<Handoff> {
    let conn = l.lock();
    conn.query_row(&format!("SELECT {COLUMNS} FROM handoffs WHERE id = ?1 AND project = ?2"), params![id, project], row)
        .optional()?
        .ok_or_else(|| {
            CliError::bad_input(format!("no handoff {id} in project {project}"))
                .hint("`aiorch handoff list` shows the ids")
                .into()
        })
}

fn bullets(out: &mut String, title: &str, items: &[String]) {
    if items.is_empty() {
        return;
    }
    out.push_str(&format!("\n**{title}**\n\n"));
    for i in items {
        out.push_str(&format!("- {i}\n"));
    }
}

/// One handoff as a markdown section.
pub fn markdown(h: &Handoff) -> String {
    let mut out = format!(
        "## #{} {} → {}{}{}\n\n_{}_\n",
        h.id,
        h.from,
        h.to,
        h.stage.as_deref().map(|s| format!(" ({s})")).unwrap_or_default(),
        h.task.map(|t| format!(" · task {t}")).unwrap_or_default(),
        crate::ui::utc_stamp(h.ts)
    );
    if !h.context.trim().is_empty() {
        out.push_str(&format!("\n**Context**\n\n{}\n", h.context.trim()));
    }
    if !h.done.trim().is_empty() {
        out.push_str(&format!("\n**Done**\n\n{}\n", h.done.trim()));
    }
    bullets(&mut out, "Files touched", &h.files.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>());
    bullets(&mut out, "Open questions", &h.questions);
    bullets(&mut out, "Next steps", &h.next);
    out
}

/// The whole log as one markdown document.
pub fn log_markdown(project: &str, list: &[Handoff]) -> String {
    let mut out = format!("# Handoffs — {project}\n");
    if list.is_empty() {
        out.push_str("\nNo handoffs yet.\n");
    }
    for h in list {
        out.push('\n');
        out.push_str(&markdown(h));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handoffs_round_trip_and_render() {
        let l = Ledger::in_memory().expect("ledger");
        let h = Handoff {
            from: "plan".into(),
            to: "implement".into(),
            stage: Some("plan".into()),
            context: "adding --since".into(),
            done: "wrote the plan".into(),
            files: vec!["src/cli/mod.rs".into()],
            questions: vec!["UTC or local?".into()],
            next: vec!["implement step 1".into()],
            ..Handoff::default()
        };
        let stored = add(&l, 7, "/p", h).expect("add");
        let back = get(&l, "/p", stored.id).expect("get");
        assert_eq!(back.files, vec!["src/cli/mod.rs"]);
        assert_eq!(back.questions, vec!["UTC or local?"]);
        assert!(get(&l, "/q", stored.id).is_err(), "another project's id");
        let md = log_markdown("/p", &list(&l, "/p", None).expect("list"));
        for needle in ["plan → implement (plan)", "**Open questions**", "- UTC or local?", "`src/cli/mod.rs`"] {
            assert!(md.contains(needle), "{needle} in\n{md}");
        }
        let empty = Handoff { from: "a".into(), to: "b".into(), ..Handoff::default() };
        assert!(add(&l, 8, "/p", empty).is_err(), "an empty handoff says nothing");
        let bad_task =
            Handoff { from: "a".into(), to: "b".into(), done: "x".into(), task: Some(99), ..Handoff::default() };
        assert!(add(&l, 8, "/p", bad_task).is_err());
    }
}
