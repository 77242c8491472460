//! `aiorch go --queue`: work through the project's ready tasks one by one, with the builtin
//! pipeline (on the task's own thread, so every call is booked to the task) or an agent CLI as
//! `go` runs it, writing the status, a note with the cost, and the handoffs back to the store.
//!
//! It stops cleanly between tasks on `--max-tasks`, `--max-minutes`, `--budget` (this run's
//! spend, summed from the ledger) or when today's budget is spent; on SIGTERM/SIGHUP/SIGINT the
//! calls in flight are settled as cancelled and the task stays `running`. A queue started again
//! (after a signal or a kill) resumes that task first, on the same thread: its stages see what
//! was already said.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::engine::{Cancel, Runtime};
use super::go::Agent;
use super::handoff::{self, Handoff};
use super::pipeline::{self, Kind};
use super::tasks::{self, Status, Task};
use crate::ui::now_unix;

#[derive(Debug, Default, Clone)]
pub struct Limits {
    pub max_tasks: Option<u32>,
    pub max_minutes: Option<u64>,
    pub budget: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Worked {
    pub id: i64,
    pub title: String,
    pub status: Status,
    pub resumed: bool,
    pub cost: f64,
    pub note: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub project: String,
    pub tasks: Vec<Worked>,
    pub spent: f64,
    /// Why the queue stopped: `empty`, `max-tasks`, `max-minutes`, `budget`, `daily-budget`,
    /// `signal`.
    pub stopped: String,
}

fn task_cost(rt: &Runtime, t: &Task) -> anyhow::Result<f64> {
    Ok(tasks::cost(&rt.ledger, &t.thread_id)?.iter().fold(0.0, |a, (_, _, c)| a + c))
}

/// The text a stage or agent works on.
pub fn task_text(t: &Task) -> String {
    if t.body.trim().is_empty() { t.title.clone() } else { format!("{}\n\n{}", t.title, t.body.trim()) }
}

/// The first lines of a stage's output: what the next stage (and a person) reads first.
fn gist(text: &str) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).take(6).collect();
    super::router::one_line(&lines.join(" "), 400)
}

/// Handoffs for a builtin run: one per stage change, then the last stage to the queue.
fn stage_handoffs(rt: &Runtime, project: &str, t: &Task, o: &pipeline::Outcome) -> anyhow::Result<()> {
    let now = now_unix();
    for (i, s) in o.stages.iter().enumerate() {
        let to = o.stages.get(i + 1).map_or_else(|| "queue".to_string(), |n| n.name.to_lowercase());
        let h = Handoff {
            task: Some(t.id),
            from: format!("{} ({})", s.name.to_lowercase(), s.model.as_deref().unwrap_or("no model")),
            to,
            stage: Some(s.name.to_lowercase()),
            context: format!("task #{}: {}", t.id, super::router::one_line(&t.title, 120)),
            done: s.error.as_ref().map_or_else(|| gist(&s.output), |e| format!("failed: {e}")),
            ..Handoff::default()
        };
        handoff::add(&rt.ledger, now, project, h)?;
    }
    Ok(())
}

/// Run one task; returns its new status and the note to record.
async fn work(
    rt: &Runtime,
    project: &str,
    t: &Task,
    agent: Agent,
    local: bool,
    say: &(dyn Fn(&str) + Sync),
    cancel: &Cancel,
) -> anyhow::Result<(Status, String)> {
    let text = task_text(t);
    if agent == Agent::Builtin {
        let o = pipeline::run_on(rt, Kind::Feature, &text, local, Some(&t.thread_id), say, cancel).await?;
        stage_handoffs(rt, project, t, &o)?;
        if o.ok {
            let last = o.stages.last().map(|s| gist(&s.output)).unwrap_or_default();
            return Ok((Status::Done, format!("feature pipeline: {} stages. {last}", o.stages.len())));
        }
        let failed = o.stages.iter().find_map(|s| s.error.as_ref().map(|e| format!("{}: {e}", s.name)));
        return Ok((Status::Blocked, failed.unwrap_or_else(|| "the pipeline failed".into())));
    }
    // An agent CLI edits files itself; its exit status is the outcome. Its MCP calls run in
    // its own aiorch server, on threads of their own.
    let tree = crate::agentsmd::Tree::load(&rt.cfg.agentsmd, &rt.paths)?;
    let template = tree
        .workflow("orchestrator-prompt")
        .ok_or_else(|| anyhow::anyhow!("agentsmd/workflows/orchestrator-prompt.md is missing"))?;
    let prompt = super::go::prompt(&template, &text, local);
    let launch = super::go::launch(rt, agent, &prompt, local)?;
    let status = super::go::run_agent(&launch, &std::env::current_dir()?)?;
    handoff::add(
        &rt.ledger,
        now_unix(),
        project,
        Handoff {
            task: Some(t.id),
            from: agent.name().into(),
            to: "queue".into(),
            stage: Some("agent".into()),
            context: format!("task #{}: {}", t.id, super::router::one_line(&t.title, 120)),
            done: format!("{} exited with {status}", agent.name()),
            ..Handoff::default()
        },
    )?;
    Ok(if status.success() {
        (Status::Done, format!("{} finished", agent.name()))
    } else {
        (Status::Blocked, format!("{} exited with {status}", agent.name()))
    })
}

#[allow(clippy::too_many_arguments)]
pub async fn run(
    rt: &Runtime,
    project: &str,
    agent: Agent,
    local: bool,
    limits: &Limits,
    say: &(dyn Fn(&str) + Sync),
    cancel: &Cancel,
) -> anyhow::Result<Outcome> {
    let start = Instant::now();
    let mut out = Outcome { project: project.into(), tasks: vec![], spent: 0.0, stopped: String::new() };
    out.stopped = loop {
        if cancel.is_cancelled() {
            break "signal".into();
        }
        if limits.max_tasks.is_some_and(|n| out.tasks.len() as u64 >= u64::from(n)) {
            break "max-tasks".into();
        }
        if limits.max_minutes.is_some_and(|m| start.elapsed() >= Duration::from_secs(m * 60)) {
            break "max-minutes".into();
        }
        if limits.budget.is_some_and(|b| out.spent >= b) {
            break "budget".into();
        }
        if !rt.local_only(local) && rt.budget_left()? <= 0.0 {
            break "daily-budget".into();
        }
        let Some((t, resumed)) = tasks::take(&rt.ledger, now_unix(), project)? else {
            break "empty".into();
        };
        say(&format!("{} task #{}: {}", if resumed { "resuming" } else { "starting" }, t.id, t.title));
        let before = task_cost(rt, &t)?;
        let result = work(rt, project, &t, agent, local, say, cancel).await;
        let cost = task_cost(rt, &t)? - before;
        out.spent += cost;
        let now = now_unix();
        let (status, note) = match result {
            // Interrupted: the task stays running and the next queue resumes it.
            _ if cancel.is_cancelled() => {
                tasks::note(
                    &rt.ledger,
                    now,
                    project,
                    t.id,
                    &format!("interrupted after ${cost:.4}; resumed next run"),
                )?;
                out.tasks.push(Worked {
                    id: t.id,
                    title: t.title,
                    status: Status::Running,
                    resumed,
                    cost,
                    note: "interrupted".into(),
                });
                break "signal".into();
            }
            Ok((Status::Blocked, _)) if !rt.local_only(local) && rt.budget_left()? <= 0.0 => {
                (Status::Open, "today's budget ran out during the task; reopened".to_string())
            }
            Ok(r) => r,
            Err(e) => (Status::Blocked, crate::error::summary(&e)),
        };
        let note = format!("{note} (${cost:.4})");
        tasks::set_status(&rt.ledger, now, project, t.id, status, Some(&note))?;
        say(&format!("task #{} {}: {note}", t.id, status.name()));
        out.tasks.push(Worked { id: t.id, title: t.title, status, resumed, cost, note });
        if status == Status::Open {
            break "daily-budget".into();
        }
    };
    Ok(out)
}
