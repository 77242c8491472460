//! The task store: a queue of work per project (the git root, or `--project DIR`) in the
//! runtime's SQLite database, with priorities, dependencies (`--after`), a status, a note log,
//! and one thread per task that the models working on it continue.
//!
//! Statuses: `open` (waiting for its turn), `running` (taken by `go --queue`; a queue killed
//! mid-task resumes it first), `done`, `blocked` (with why, in the note log). `task next` is the
//! open task of highest priority whose dependencies are all done; ties go to the oldest.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::Serialize;

use super::consensus::Priority;
use super::ledger::{Ledger, new_id};
use crate::error::CliError;

pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS tasks (
  id INTEGER PRIMARY KEY,
  project TEXT NOT NULL,
  title TEXT NOT NULL,
  body TEXT NOT NULL,
  priority INTEGER NOT NULL,
  role TEXT,
  status TEXT NOT NULL,
  thread_id TEXT NOT NULL,
  created INTEGER NOT NULL,
  updated INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS tasks_ready ON tasks(project, status, priority DESC, created, id);
CREATE TABLE IF NOT EXISTS task_deps (
  task INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
  after INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
  PRIMARY KEY (task, after)
);
CREATE INDEX IF NOT EXISTS task_deps_after ON task_deps(after);
CREATE TABLE IF NOT EXISTS task_notes (
  id INTEGER PRIMARY KEY,
  task INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
  ts INTEGER NOT NULL,
  kind TEXT NOT NULL,
  text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS task_notes_task ON task_notes(task, id);
";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Open,
    Running,
    Done,
    Blocked,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Running => "running",
            Status::Done => "done",
            Status::Blocked => "blocked",
        }
    }
    fn parse(s: &str) -> Status {
        match s {
            "running" => Status::Running,
            "done" => Status::Done,
            "blocked" => Status::Blocked,
            _ => Status::Open,
        }
    }
}

pub fn priority_name(p: Priority) -> &'static str {
    match p {
        Priority::Low => "low",
        Priority::Normal => "normal",
        Priority::High => "high",
        Priority::Critical => "critical",
    }
}

fn priority_rank(p: Priority) -> i64 {
    match p {
        Priority::Low => 0,
        Priority::Normal => 1,
        Priority::High => 2,
        Priority::Critical => 3,
    }
}

fn priority_of(rank: i64) -> Priority {
    match rank {
        0 => Priority::Low,
        2 => Priority::High,
        3 => Priority::Critical,
        _ => Priority::Normal,
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Task {
    pub id: i64,
    pub project: String,
    pub title: String,
    pub body: String,
    pub priority: Priority,
    pub role: Option<String>,
    pub status: Status,
    pub thread_id: String,
    pub created: i64,
    pub updated: i64,
    /// The tasks this one waits for.
    pub after: Vec<i64>,
    /// Those of `after` not done yet.
    pub waiting_on: Vec<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Note {
    pub ts: i64,
    /// `note`, or the transition it records: `done`, `block`, `reopen`, `start`.
    pub kind: String,
    pub text: String,
}

pub struct NewTask<'a> {
    pub title: &'a str,
    pub body: &'a str,
    pub priority: Priority,
    pub role: Option<&'a str>,
    pub after: &'a [i64],
}

/// The project a command works on: `--project DIR`, else the git root above the working
/// directory, else the working directory. Always an absolute, canonical path, so every
/// spelling of one directory is one project.
pub fn project_of(flag: Option<&Path>) -> anyhow::Result<String> {
    project_in(&std::env::current_dir()?, flag)
}

/// `project_of` as seen from `cwd` (the MCP server's working directory).
pub fn project_in(cwd: &Path, flag: Option<&Path>) -> anyhow::Result<String> {
    let cwd = cwd.to_path_buf();
    let dir = match flag {
        Some(d) => {
            let abs = if d.is_absolute() { d.to_path_buf() } else { cwd.join(d) };
            if !abs.is_dir() {
                return Err(CliError::bad_input(format!("--project {}: no such directory", d.display()))
                    .hint("pass an existing directory (the project's root)")
                    .into());
            }
            abs
        }
        None => git_root(&cwd).unwrap_or(cwd),
    };
    Ok(fs_err::canonicalize(&dir).unwrap_or(dir).display().to_string())
}

fn git_root(from: &Path) -> Option<PathBuf> {
    from.ancestors().find(|d| d.join(".git").exists()).map(Path::to_path_buf)
}

const COLUMNS: &str = "id, project, title, body, priority, role, status, thread_id, created, updated";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Task> {
    Ok(Task {
        id: r.get(0)?,
        project: r.get(1)?,
        title: r.get(2)?,
        body: r.get(3)?,
        priority: priority_of(r.get(4)?),
        role: r.get(5)?,
        status: Status::parse(&r.get::<_, String>(6)?),
        thread_id: r.get(7)?,
        created: r.get(8)?,
        updated: r.get(9)?,
        after: vec![],
        waiting_on: vec![],
    })
}

fn with_deps(conn: &Connection, mut t: Task) -> rusqlite::Result<Task> {
    let mut st = conn
        .prepare_cached("SELECT d.after, t.status FROM task_deps d JOIN tasks t ON t.id = d.after WHERE d.task = ?1")?;
    let deps = st.query_map(params![t.id], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
    for d in deps {
        let (id, status) = d?;
        t.after.push(id);
        if status != "done" {
            t.waiting_on.push(id);
        }
    }
    t.after.sort_unstable();
    t.waiting_on.sort_unstable();
    Ok(t)
}

fn no_task(id: i64, project: &str) -> anyhow::Error {
    CliError::bad_input(format!("no task {id} in project {project}"))
        .hint("`aiorch task list` shows the ids; --project DIR picks another project")
        .into()
}

fn fetch(conn: &Connection, project: &str, id: i64) -> anyhow::Result<Task> {
    let t = conn
        .query_row(&format!("SELECT {COLUMNS} FROM tasks WHERE id = ?1 AND project = ?2"), params![id, project], row)
        .optional()?
        .ok_or_else(|| no_task(id, project))?;
    Ok(with_deps(conn, t)?)
}

/// Does `from` (transitively) wait for `target`?
fn reaches(conn: &Connection, from: i64, target: i64) -> rusqlite::Result<bool> {
    conn.query_row(
        "WITH RECURSIVE up(id) AS (SELECT ?1 UNION SELECT d.after FROM task_deps d JOIN up ON d.task = up.id)
         SELECT EXISTS (SELECT 1 FROM up WHERE id = ?2)",
        params![from, target],
        |r| r.get(0),
    )
}

fn add_deps(conn: &Connection, project: &str, id: i64, after: &[i64]) -> anyhow::Result<()> {
    for &dep in after {
        fetch(conn, project, dep)?;
        if dep == id || reaches(conn, dep, id)? {
            return Err(CliError::bad_input(format!(
                "task {id} after {dep} would make a cycle: {dep} already waits for {id}"
            ))
            .hint("`aiorch task show ID` lists what a task waits for")
            .into());
        }
        conn.execute("INSERT OR IGNORE INTO task_deps (task, after) VALUES (?1, ?2)", params![id, dep])?;
    }
    Ok(())
}

pub fn add(l: &Ledger, now: i64, project: &str, t: NewTask<'_>) -> anyhow::Result<Task> {
    let title = t.title.trim();
    if title.is_empty() {
        return Err(CliError::bad_input("a task needs a title").hint("aiorch task add \"what to do\"").into());
    }
    let mut conn = l.lock();
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let thread = new_id();
    tx.execute(
        "INSERT INTO threads (id, created, updated, title) VALUES (?1, ?2, ?2, ?3)",
        params![thread, now, format!("task: {}", super::router::one_line(title, 70))],
    )?;
    tx.execute(
        "INSERT INTO tasks (project, title, body, priority, role, status, thread_id, created, updated)
         VALUES (?1, ?2, ?3, ?4, ?5, 'open', ?6, ?7, ?7)",
        params![project, title, t.body, priority_rank(t.priority), t.role, thread, now],
    )?;
    let id = tx.last_insert_rowid();
    add_deps(&tx, project, id, t.after)?;
    let task = fetch(&tx, project, id)?;
    tx.commit()?;
    Ok(task)
}

/// `task after ID DEP…`: make an existing task wait for more tasks (refusing cycles).
pub fn add_after(l: &Ledger, now: i64, project: &str, id: i64, after: &[i64]) -> anyhow::Result<Task> {
    let mut conn = l.lock();
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    fetch(&tx, project, id)?;
    add_deps(&tx, project, id, after)?;
    tx.execute("UPDATE tasks SET updated = ?2 WHERE id = ?1", params![id, now])?;
    let task = fetch(&tx, project, id)?;
    tx.commit()?;
    Ok(task)
}

pub fn get(l: &Ledger, project: &str, id: i64) -> anyhow::Result<Task> {
    fetch(&l.lock(), project, id)
}

/// Tasks of the project, in the order `task next` would take the open ones.
pub fn list(l: &Ledger, project: &str, status: &[Status]) -> anyhow::Result<Vec<Task>> {
    let conn = l.lock();
    let mut st = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM tasks WHERE project = ?1 ORDER BY
           CASE status WHEN 'running' THEN 0 WHEN 'open' THEN 1 WHEN 'blocked' THEN 2 ELSE 3 END,
           priority DESC, created, id"
    ))?;
    let rows = st.query_map(params![project], row)?.collect::<Result<Vec<_>, _>>()?;
    let mut out = vec![];
    for t in rows {
        if status.is_empty() || status.contains(&t.status) {
            out.push(with_deps(&conn, t)?);
        }
    }
    Ok(out)
}

/// The next task to work on: open, every dependency done, highest priority, then oldest.
pub fn next(l: &Ledger, project: &str) -> anyhow::Result<Option<Task>> {
    let conn = l.lock();
    next_in(&conn, project)
}

fn next_in(conn: &Connection, project: &str) -> anyhow::Result<Option<Task>> {
    let t = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM tasks t INDEXED BY tasks_ready
             WHERE t.project = ?1 AND t.status = 'open'
               AND NOT EXISTS (SELECT 1 FROM task_deps d JOIN tasks a ON a.id = d.after
                               WHERE d.task = t.id AND a.status != 'done')
             ORDER BY t.priority DESC, t.created, t.id LIMIT 1"
        ))?
        .query_row(params![project], row)
        .optional()?;
    Ok(match t {
        Some(t) => Some(with_deps(conn, t)?),
        None => None,
    })
}

/// For `go --queue`: the task a killed queue left running (resumed first), else the next
/// ready one, marked running in the same transaction (two queues never take one task).
pub fn take(l: &Ledger, now: i64, project: &str) -> anyhow::Result<Option<(Task, bool)>> {
    let mut conn = l.lock();
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let running = tx
        .query_row(
            &format!(
                "SELECT {COLUMNS} FROM tasks WHERE project = ?1 AND status = 'running' ORDER BY updated, id LIMIT 1"
            ),
            params![project],
            row,
        )
        .optional()?;
    let out = match running {
        Some(t) => Some((with_deps(&tx, t)?, true)),
        None => match next_in(&tx, project)? {
            Some(mut t) => {
                tx.execute("UPDATE tasks SET status = 'running', updated = ?2 WHERE id = ?1", params![t.id, now])?;
                tx.execute(
                    "INSERT INTO task_notes (task, ts, kind, text) VALUES (?1, ?2, 'start', 'taken by go --queue')",
                    params![t.id, now],
                )?;
                t.status = Status::Running;
                Some((t, false))
            }
            None => None,
        },
    };
    tx.commit()?;
    Ok(out)
}

/// Move a task to `to` (`done`, `blocked`, `open` = reopen), with an optional note.
pub fn set_status(
    l: &Ledger,
    now: i64,
    project: &str,
    id: i64,
    to: Status,
    note: Option<&str>,
) -> anyhow::Result<Task> {
    let mut conn = l.lock();
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let t = fetch(&tx, project, id)?;
    let (kind, allowed) = match to {
        Status::Done => ("done", t.status != Status::Done),
        Status::Blocked => ("block", matches!(t.status, Status::Open | Status::Running)),
        Status::Open => ("reopen", matches!(t.status, Status::Done | Status::Blocked | Status::Running)),
        Status::Running => ("start", t.status == Status::Open),
    };
    if !allowed {
        let verb = if to == Status::Open { "reopen" } else { kind };
        return Err(CliError::bad_input(format!("task {id} is {}: cannot {verb} it", t.status.name()))
            .hint("`aiorch task show ID` shows its status and log")
            .into());
    }
    tx.execute("UPDATE tasks SET status = ?2, updated = ?3 WHERE id = ?1", params![id, to.name(), now])?;
    tx.execute(
        "INSERT INTO task_notes (task, ts, kind, text) VALUES (?1, ?2, ?3, ?4)",
        params![id, now, kind, note.unwrap_or("")],
    )?;
    let t = fetch(&tx, project, id)?;
    tx.commit()?;
    Ok(t)
}

pub fn note(l: &Ledger, now: i64, project: &str, id: i64, text: &str) -> anyhow::Result<()> {
    if text.trim().is_empty() {
        return Err(CliError::bad_input("an empty note").hint("aiorch task note ID \"what happened\"").into());
    }
    let conn = l.lock();
    fetch(&conn, project, id)?;
    conn.execute("INSERT INTO task_notes (task, ts, kind, text) VALUES (?1, ?2, 'note', ?3)", params![id, now, text])?;
    conn.execute("UPDATE tasks SET updated = ?2 WHERE id = ?1", params![id, now])?;
    Ok(())
}

pub fn notes(l: &Ledger, id: i64) -> anyhow::Result<Vec<Note>> {
    let conn = l.lock();
    let mut st = conn.prepare("SELECT ts, kind, text FROM task_notes WHERE task = ?1 ORDER BY id")?;
    let rows = st.query_map(params![id], |r| Ok(Note { ts: r.get(0)?, kind: r.get(1)?, text: r.get(2)? }))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// What a task's calls cost, per model, straight from the ledger (every call on its thread).
pub fn cost(l: &Ledger, thread: &str) -> anyhow::Result<Vec<(String, u64, f64)>> {
    let conn = l.lock();
    let mut st = conn.prepare(
        "SELECT model, COUNT(*), COALESCE(SUM(cost), 0) FROM calls WHERE thread_id = ?1 GROUP BY model ORDER BY model",
    )?;
    let rows = st.query_map(params![thread], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64, r.get(2)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(l: &Ledger, now: i64, title: &str, p: Priority, after: &[i64]) -> i64 {
        add(l, now, "/p", NewTask { title, body: "", priority: p, role: None, after }).expect("add").id
    }

    #[test]
    fn next_follows_priority_age_and_dependencies() {
        let l = Ledger::in_memory().expect("ledger");
        let a = new(&l, 1, "a", Priority::Normal, &[]);
        let b = new(&l, 2, "b", Priority::Critical, &[a]);
        let c = new(&l, 3, "c", Priority::Normal, &[]);
        let d = new(&l, 4, "d", Priority::High, &[]);
        let order = |l: &Ledger| next(l, "/p").expect("next").map(|t| t.id);
        assert_eq!(order(&l), Some(d), "high beats normal; critical b waits for a");
        set_status(&l, 5, "/p", d, Status::Done, None).expect("done");
        assert_eq!(order(&l), Some(a), "normal tie: the older");
        set_status(&l, 6, "/p", a, Status::Done, None).expect("done");
        assert_eq!(order(&l), Some(b), "b is ready now and critical");
        set_status(&l, 7, "/p", b, Status::Blocked, Some("needs a key")).expect("block");
        assert_eq!(order(&l), Some(c));
        set_status(&l, 8, "/p", c, Status::Done, None).expect("done");
        assert_eq!(order(&l), None, "a blocked task is not ready");
        assert_eq!(next(&l, "/other").expect("next").map(|t| t.id), None, "projects are separate");
    }

    #[test]
    fn cycles_and_bad_transitions_are_refused() {
        let l = Ledger::in_memory().expect("ledger");
        let a = new(&l, 1, "a", Priority::Normal, &[]);
        let b = new(&l, 2, "b", Priority::Normal, &[a]);
        let c = new(&l, 3, "c", Priority::Normal, &[b]);
        let e = add_after(&l, 4, "/p", a, &[c]).expect_err("cycle");
        assert!(e.to_string().contains("cycle"), "{e}");
        assert!(add_after(&l, 4, "/p", a, &[a]).is_err(), "a task cannot wait for itself");
        assert!(get(&l, "/p", a).expect("a").after.is_empty(), "nothing changed");
        assert!(set_status(&l, 5, "/p", a, Status::Open, None).is_err(), "an open task cannot be reopened");
        set_status(&l, 5, "/p", a, Status::Done, None).expect("done");
        assert!(set_status(&l, 6, "/p", a, Status::Done, None).is_err(), "already done");
        assert!(get(&l, "/q", a).is_err(), "another project's id");
    }

    #[test]
    fn task_threads_outlive_the_thread_ttl() {
        let l = Ledger::in_memory().expect("ledger");
        let t = add(&l, 1, "/p", NewTask { title: "t", body: "", priority: Priority::Low, role: None, after: &[] })
            .expect("add");
        let loose = l.create_thread(1, "loose").expect("thread");
        l.expire_threads(1_000_000, 10).expect("expire");
        assert!(l.thread_exists(&t.thread_id).expect("exists"));
        assert!(!l.thread_exists(&loose).expect("exists"));
    }
}
