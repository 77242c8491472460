//! `aiorch report`: the morning report of a project's queue — what got done (since when),
//! what is blocked and why, what each task cost per model (summed from the ledger's calls on
//! the task's thread, so it equals the ledger), and what is next.

use rusqlite::params;
use serde::Serialize;

use super::ledger::Ledger;
use super::tasks::{self, Status, Task};

#[derive(Debug, Serialize)]
pub struct ModelCost {
    pub model: String,
    pub calls: u64,
    pub cost: f64,
}

#[derive(Debug, Serialize)]
pub struct Entry {
    pub task: Task,
    /// The last note of the transition that put it here (why it is blocked, how it ended).
    pub why: String,
    pub cost: Vec<ModelCost>,
    pub total: f64,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub project: String,
    pub since: i64,
    pub now: i64,
    pub done: Vec<Entry>,
    pub blocked: Vec<Entry>,
    pub running: Vec<Entry>,
    /// Open tasks in the order `task next` takes them (ready ones first).
    pub next: Vec<Task>,
    pub total: f64,
}

fn entry(l: &Ledger, task: Task, kind: &str) -> anyhow::Result<Entry> {
    let why = tasks::notes(l, task.id)?.into_iter().rev().find(|n| n.kind == kind).map(|n| n.text).unwrap_or_default();
    let cost: Vec<ModelCost> = tasks::cost(l, &task.thread_id)?
        .into_iter()
        .map(|(model, calls, cost)| ModelCost { model, calls, cost })
        .collect();
    let total = cost.iter().fold(0.0, |a, c| a + c.cost);
    Ok(Entry { task, why, cost, total })
}

/// When a task last reached its current status (its last transition note).
fn changed_at(l: &Ledger, id: i64) -> anyhow::Result<i64> {
    Ok(l.lock().query_row(
        "SELECT COALESCE(MAX(ts), 0) FROM task_notes WHERE task = ?1 AND kind != 'note'",
        params![id],
        |r| r.get(0),
    )?)
}

pub fn build(l: &Ledger, project: &str, since: i64, now: i64) -> anyhow::Result<Report> {
    let mut r = Report {
        project: project.into(),
        since,
        now,
        done: vec![],
        blocked: vec![],
        running: vec![],
        next: vec![],
        total: 0.0,
    };
    for t in tasks::list(l, project, &[])? {
        match t.status {
            Status::Done if changed_at(l, t.id)? >= since => r.done.push(entry(l, t, "done")?),
            Status::Done => {}
            Status::Blocked => r.blocked.push(entry(l, t, "block")?),
            Status::Running => r.running.push(entry(l, t, "start")?),
            Status::Open => r.next.push(t),
        }
    }
    // Ready tasks first, keeping `task next`'s order within each group.
    r.next.sort_by_key(|t| !t.waiting_on.is_empty());
    r.total = r.done.iter().chain(&r.blocked).chain(&r.running).fold(0.0, |a, e| a + e.total);
    Ok(r)
}

fn costs(e: &Entry) -> String {
    if e.cost.is_empty() {
        return "no model calls".into();
    }
    let per: Vec<String> = e.cost.iter().map(|c| format!("{} {}× ${:.4}", c.model, c.calls, c.cost)).collect();
    format!("${:.4} ({})", e.total, per.join(", "))
}

pub fn markdown(r: &Report) -> String {
    use crate::ui::utc_stamp;
    let mut out = format!("# Report — {}\n\n{} → {}\n", r.project, utc_stamp(r.since), utc_stamp(r.now));
    let mut section = |title: &str, list: &[Entry], why: bool| {
        out.push_str(&format!("\n## {title} ({})\n\n", list.len()));
        if list.is_empty() {
            out.push_str("None.\n");
        }
        for e in list {
            out.push_str(&format!("- #{} {} — {}\n", e.task.id, e.task.title, costs(e)));
            if why && !e.why.trim().is_empty() {
                out.push_str(&format!("  - why: {}\n", e.why.trim()));
            }
        }
    };
    section("Done", &r.done, false);
    section("Blocked", &r.blocked, true);
    section("Running (resumed by the next `go --queue`)", &r.running, false);
    out.push_str(&format!("\n## Next ({})\n\n", r.next.len()));
    if r.next.is_empty() {
        out.push_str("The queue is empty.\n");
    }
    for t in &r.next {
        let waits = if t.waiting_on.is_empty() {
            "ready".to_string()
        } else {
            format!("waits for {}", t.waiting_on.iter().map(|i| format!("#{i}")).collect::<Vec<_>>().join(", "))
        };
        out.push_str(&format!("- #{} [{}] {} — {waits}\n", t.id, tasks::priority_name(t.priority), t.title));
    }
    out.push_str(&format!("\nTotal cost of the tasks above: ${:.4}\n", r.total));
    out
}
