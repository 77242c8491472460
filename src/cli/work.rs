//! `aiorch task | handoff | memory | report`: the project's task queue, the handoff log and
//! long-lived memory, all in the runtime's SQLite database.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use crate::error::{CliError, Exit};
use crate::paths::Paths;
use crate::runtime::consensus::Priority;
use crate::runtime::handoff::{self, Handoff};
use crate::runtime::ledger::Ledger;
use crate::runtime::roles::Role;
use crate::runtime::tasks::{self, NewTask, Status, Task};
use crate::runtime::{memory, report};
use crate::ui::{Ui, now_unix, utc_stamp};

#[derive(Debug, Args)]
pub struct Project {
    /// The project [default: the git root above the working directory, else the directory]
    #[arg(long, global = true, value_name = "DIR")]
    pub project: Option<PathBuf>,
}

/// `go --queue` and its limits.
#[derive(Debug, Args)]
pub struct QueueFlags {
    /// Work through the project's ready tasks (`aiorch task next`) one by one
    #[arg(long, conflicts_with_all = ["task", "dry_run", "out"])]
    pub queue: bool,
    /// Stop after N tasks
    #[arg(long, value_name = "N")]
    pub max_tasks: Option<u32>,
    /// Start no task after M minutes
    #[arg(long, value_name = "M")]
    pub max_minutes: Option<u64>,
    /// Start no task once this run has spent USD (checked between tasks; the daily budget stays the ceiling)
    #[arg(long, value_name = "USD")]
    pub budget: Option<f64>,
    /// The project [default: the git root above the working directory]
    #[arg(long, value_name = "DIR")]
    pub project: Option<PathBuf>,
}

impl QueueFlags {
    /// The limits mean nothing for one task: refuse them rather than ignore them (clap's
    /// `requires` counts the flag's default `false` as present).
    pub fn only_with_queue(&self) -> anyhow::Result<()> {
        let given = [
            ("--max-tasks", self.max_tasks.is_some()),
            ("--max-minutes", self.max_minutes.is_some()),
            ("--budget", self.budget.is_some()),
            ("--project", self.project.is_some()),
        ];
        match given.iter().find(|(_, set)| *set) {
            Some((flag, _)) => Err(CliError::bad_input(format!("{flag} only applies to `aiorch go --queue`"))
                .hint("add --queue to work through the task queue")
                .into()),
            None => Ok(()),
        }
    }
}

#[derive(Debug, Args)]
pub struct TaskArgs {
    #[command(flatten)]
    pub project: Project,
    #[command(subcommand)]
    pub cmd: TaskCmd,
}

#[derive(Debug, Subcommand)]
pub enum TaskCmd {
    /// Add a task (it gets its own thread)
    #[command(after_help = "Example:\
                              \n  aiorch task add \"add --since to stats\" --priority high --role coding --after 3\
                              \n  aiorch task add \"write the migration\" --body spec.md")]
    Add {
        /// The body: a file, or `-` for stdin
        #[arg(long, value_name = "FILE|-")]
        body: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "normal")]
        priority: Priority,
        /// The role that works on it (planning, coding, review, search)
        #[arg(long, value_parser = super::runtime::parse_role)]
        role: Option<Role>,
        /// Only after these tasks are done (repeat, or comma-separated)
        #[arg(long, value_name = "ID", value_delimiter = ',')]
        after: Vec<i64>,
        #[arg(required = true)]
        title: Vec<String>,
    },
    /// The tasks: running, open (in the order `next` takes them), blocked, done
    #[command(after_help = "Example:\n  aiorch task list\n  aiorch task list --status open,blocked --json")]
    List {
        /// Only these statuses (comma-separated)
        #[arg(long, value_enum, value_delimiter = ',')]
        status: Vec<Status>,
    },
    /// One task: body, dependencies, log, cost
    #[command(after_help = "Example:\n  aiorch task show 4")]
    Show { id: i64 },
    /// The task to work on next: open, dependencies done, highest priority, oldest (exit 1: none)
    #[command(after_help = "Example:\n  aiorch task next\n  id=$(aiorch task next --json | jq .id)")]
    Next,
    /// Mark a task done
    #[command(after_help = "Example:\n  aiorch task done 4 --note \"merged in abc123\"")]
    Done {
        id: i64,
        #[arg(long)]
        note: Option<String>,
    },
    /// Mark a task blocked (say why with --note)
    #[command(after_help = "Example:\n  aiorch task block 4 --note \"needs the staging API key\"")]
    Block {
        id: i64,
        #[arg(long)]
        note: Option<String>,
    },
    /// Open a done, blocked or running task again
    #[command(after_help = "Example:\n  aiorch task reopen 4 --note \"the fix regressed\"")]
    Reopen {
        id: i64,
        #[arg(long)]
        note: Option<String>,
    },
    /// Add a note to a task's log
    #[command(after_help = "Example:\n  aiorch task note 4 \"tried the cache first: too slow\"")]
    Note {
        id: i64,
        #[arg(required = true)]
        text: Vec<String>,
    },
    /// Make a task wait for more tasks (cycles are refused)
    #[command(after_help = "Example:\n  aiorch task after 5 3 4    task 5 waits for tasks 3 and 4")]
    After {
        id: i64,
        #[arg(required = true)]
        deps: Vec<i64>,
    },
}

#[derive(Debug, Args)]
pub struct HandoffArgs {
    #[command(flatten)]
    pub project: Project,
    #[command(subcommand)]
    pub cmd: HandoffCmd,
}

#[derive(Debug, Subcommand)]
pub enum HandoffCmd {
    /// Append a handoff to the log
    #[command(after_help = "Example:\
                              \n  aiorch handoff add --from planner --to coder --task 3 --done \"plan written\" \\\
                              \n      --file src/cli/mod.rs --next \"add the flag\"")]
    Add {
        /// Who hands over (an agent, a stage, a person)
        #[arg(long)]
        from: String,
        /// To whom
        #[arg(long)]
        to: String,
        #[arg(long)]
        task: Option<i64>,
        #[arg(long)]
        stage: Option<String>,
        /// What the next one needs to know
        #[arg(long, default_value = "")]
        context: String,
        /// What was done
        #[arg(long, default_value = "")]
        done: String,
        /// A file touched (repeatable)
        #[arg(long = "file", value_name = "PATH")]
        files: Vec<String>,
        /// An open question (repeatable)
        #[arg(long = "question", value_name = "TEXT")]
        questions: Vec<String>,
        /// A next step (repeatable)
        #[arg(long = "next", value_name = "TEXT")]
        next: Vec<String>,
    },
    /// One line per handoff
    #[command(after_help = "Example:\n  aiorch handoff list --task 3")]
    List {
        #[arg(long)]
        task: Option<i64>,
    },
    /// One handoff, or the whole log (of a task with --task)
    #[command(after_help = "Example:\n  aiorch handoff show 7\n  aiorch handoff show --task 3 --markdown > HANDOFF.md")]
    Show {
        id: Option<i64>,
        #[arg(long)]
        task: Option<i64>,
        /// Render markdown (the log a person reads)
        #[arg(long)]
        markdown: bool,
    },
}

#[derive(Debug, Args)]
pub struct MemoryArgs {
    #[command(flatten)]
    pub project: Project,
    #[command(subcommand)]
    pub cmd: MemoryCmd,
}

#[derive(Debug, Subcommand)]
pub enum MemoryCmd {
    /// Remember a fact (`-` reads stdin)
    #[command(after_help = "Example:\
                              \n  aiorch memory add \"the staging database listens on 5433\"\
                              \n  git log -1 --format=%B | aiorch memory add -")]
    Add {
        #[arg(required = true)]
        text: Vec<String>,
    },
    /// Full-text search (SQLite FTS5, best match first)
    #[command(after_help = "Example:\n  aiorch memory search staging database port")]
    Search {
        #[arg(long, default_value_t = 10)]
        limit: usize,
        #[arg(required = true)]
        query: Vec<String>,
    },
    /// The newest facts
    #[command(after_help = "Example:\n  aiorch memory list --limit 5")]
    List {
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Delete a fact
    #[command(after_help = "Example:\n  aiorch memory forget 12")]
    Forget { id: i64 },
}

fn ledger(paths: &Paths) -> anyhow::Result<Ledger> {
    Ledger::open(&paths.state_dir.join("runtime.db"))
}

fn text_arg(words: &[String]) -> anyhow::Result<String> {
    let text = words.join(" ");
    if text.trim() == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)?;
        return Ok(s);
    }
    Ok(text)
}

fn read_body(p: &Path) -> anyhow::Result<String> {
    if p == Path::new("-") {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)?;
        return Ok(s);
    }
    fs_err::read_to_string(p).map_err(|e| {
        CliError::bad_input(format!("cannot read the body {}: {e}", p.display()))
            .hint("pass an existing file, or `-` to read stdin")
            .into()
    })
}

fn line(t: &Task) -> String {
    let mut s = format!(
        "#{:<5} {:<8} {:<8} {}",
        t.id,
        t.status.name(),
        tasks::priority_name(t.priority),
        crate::runtime::router::one_line(&t.title, 70)
    );
    if let Some(r) = &t.role {
        s.push_str(&format!("  [{r}]"));
    }
    if !t.waiting_on.is_empty() {
        let ids: Vec<String> = t.waiting_on.iter().map(|i| format!("#{i}")).collect();
        s.push_str(&format!("  (waits for {})", ids.join(", ")));
    }
    s
}

fn show_task(ui: &Ui, l: &Ledger, t: &Task) -> anyhow::Result<()> {
    let notes = tasks::notes(l, t.id)?;
    let cost = tasks::cost(l, &t.thread_id)?;
    if ui.json {
        let cost_json: Vec<_> =
            cost.iter().map(|(m, n, c)| serde_json::json!({"model": m, "calls": n, "cost": c})).collect();
        ui.json(&serde_json::json!({"task": t, "notes": notes, "cost": cost_json}));
        return Ok(());
    }
    ui.data(&line(t));
    ui.data(&format!("  thread {} · created {}", t.thread_id, utc_stamp(t.created)));
    if !t.after.is_empty() {
        ui.data(&format!("  after {}", t.after.iter().map(|i| format!("#{i}")).collect::<Vec<_>>().join(", ")));
    }
    if !t.body.trim().is_empty() {
        ui.data("");
        ui.data(t.body.trim_end());
    }
    if !notes.is_empty() {
        ui.data("");
        for n in &notes {
            ui.data(&format!("  {} {:<6} {}", utc_stamp(n.ts), n.kind, n.text));
        }
    }
    if !cost.is_empty() {
        ui.data("");
        for (m, n, c) in &cost {
            ui.data(&format!("  {m}: {n} calls, ${c:.4}"));
        }
    }
    Ok(())
}

pub fn task(ui: &Ui, paths: &Paths, a: TaskArgs) -> anyhow::Result<Exit> {
    let project = tasks::project_of(a.project.project.as_deref())?;
    let l = ledger(paths)?;
    let now = now_unix();
    let one = |t: &Task| {
        if ui.json {
            ui.json(&serde_json::to_value(t).unwrap_or_default());
        } else {
            ui.data(&line(t));
        }
    };
    match a.cmd {
        TaskCmd::Add { body, priority, role, after, title } => {
            let body = body.as_deref().map(read_body).transpose()?.unwrap_or_default();
            let title = title.join(" ");
            let role = role.map(|r| r.name().to_string());
            let t = tasks::add(
                &l,
                now,
                &project,
                NewTask { title: &title, body: &body, priority, role: role.as_deref(), after: &after },
            )?;
            one(&t);
        }
        TaskCmd::List { status } => {
            let list = tasks::list(&l, &project, &status)?;
            if ui.json {
                ui.json(&serde_json::to_value(&list)?);
            } else if list.is_empty() {
                ui.note(&format!("no tasks in {project}"));
            } else {
                for t in &list {
                    ui.data(&line(t));
                }
            }
        }
        TaskCmd::Show { id } => show_task(ui, &l, &tasks::get(&l, &project, id)?)?,
        TaskCmd::Next => match tasks::next(&l, &project)? {
            Some(t) => one(&t),
            None => {
                if ui.json {
                    ui.json(&serde_json::Value::Null);
                }
                ui.note("no task is ready (none open, or each waits for one not done)");
                return Ok(Exit::Failed);
            }
        },
        TaskCmd::Done { id, note } => one(&tasks::set_status(&l, now, &project, id, Status::Done, note.as_deref())?),
        TaskCmd::Block { id, note } => {
            one(&tasks::set_status(&l, now, &project, id, Status::Blocked, note.as_deref())?)
        }
        TaskCmd::Reopen { id, note } => one(&tasks::set_status(&l, now, &project, id, Status::Open, note.as_deref())?),
        TaskCmd::Note { id, text } => {
            tasks::note(&l, now, &project, id, &text_arg(&text)?)?;
            one(&tasks::get(&l, &project, id)?);
        }
        TaskCmd::After { id, deps } => one(&tasks::add_after(&l, now, &project, id, &deps)?),
    }
    Ok(Exit::Ok)
}

pub fn handoff_cmd(ui: &Ui, paths: &Paths, a: HandoffArgs) -> anyhow::Result<Exit> {
    let project = tasks::project_of(a.project.project.as_deref())?;
    let l = ledger(paths)?;
    match a.cmd {
        HandoffCmd::Add { from, to, task, stage, context, done, files, questions, next } => {
            let h = Handoff { task, from, to, stage, context, done, files, questions, next, ..Handoff::default() };
            let h = handoff::add(&l, now_unix(), &project, h)?;
            if ui.json {
                ui.json(&serde_json::to_value(&h)?);
            } else {
                ui.data(&format!("handoff #{} {} → {}", h.id, h.from, h.to));
            }
        }
        HandoffCmd::List { task } => {
            let list = handoff::list(&l, &project, task)?;
            if ui.json {
                ui.json(&serde_json::to_value(&list)?);
            } else {
                for h in &list {
                    ui.data(&format!(
                        "#{:<5} {} {} → {}{}  {}",
                        h.id,
                        utc_stamp(h.ts),
                        h.from,
                        h.to,
                        h.task.map(|t| format!(" (task {t})")).unwrap_or_default(),
                        crate::runtime::router::one_line(if h.done.is_empty() { &h.context } else { &h.done }, 60)
                    ));
                }
            }
        }
        HandoffCmd::Show { id, task, markdown } => {
            let list = match id {
                Some(id) => vec![handoff::get(&l, &project, id)?],
                None => handoff::list(&l, &project, task)?,
            };
            if ui.json && !markdown {
                ui.json(&serde_json::to_value(&list)?);
            } else if id.is_some() {
                ui.data(handoff::markdown(&list[0]).trim_end());
            } else {
                ui.data(handoff::log_markdown(&project, &list).trim_end());
            }
        }
    }
    Ok(Exit::Ok)
}

pub fn memory_cmd(ui: &Ui, paths: &Paths, a: MemoryArgs) -> anyhow::Result<Exit> {
    let project = tasks::project_of(a.project.project.as_deref())?;
    let l = ledger(paths)?;
    let facts = match a.cmd {
        MemoryCmd::Add { text } => vec![memory::add(&l, now_unix(), &project, "cli", &text_arg(&text)?)?],
        MemoryCmd::Search { limit, query } => memory::search(&l, &project, &query.join(" "), limit)?,
        MemoryCmd::List { limit } => memory::list(&l, &project, limit)?,
        MemoryCmd::Forget { id } => {
            memory::forget(&l, &project, id)?;
            ui.note(&format!("forgot memory {id}"));
            return Ok(Exit::Ok);
        }
    };
    if ui.json {
        ui.json(&serde_json::to_value(&facts)?);
    } else {
        for f in &facts {
            ui.data(&format!("#{:<5} {}", f.id, f.text));
        }
    }
    Ok(Exit::Ok)
}

/// `aiorch go --queue`: the builtin pipeline or an agent CLI on each ready task.
pub fn go_queue(
    ui: &Ui,
    paths: &Paths,
    local: bool,
    agent: Option<crate::runtime::go::Agent>,
    q: QueueFlags,
) -> anyhow::Result<Exit> {
    use crate::runtime::{go, queue};
    let project = tasks::project_of(q.project.as_deref())?;
    let rt = super::runtime::open(paths)?;
    let local = rt.local_only(local);
    let (agent, why) = go::pick_agent(&rt, agent, local)?;
    let quiet = ui.quiet;
    let say = move |m: &str| {
        if !quiet {
            eprintln!("{m}");
        }
    };
    say(&format!(
        "aiorch go --queue: {project}, mode {}, agent {} ({why})",
        if local { "local" } else { "cloud" },
        agent.name()
    ));
    let limits = queue::Limits { max_tasks: q.max_tasks, max_minutes: q.max_minutes, budget: q.budget };
    let out = super::runtime::block_on(async {
        let cancel = crate::runtime::engine::Cancel::default();
        super::runtime::on_signals(&cancel);
        queue::run(&rt, &project, agent, local, &limits, &say, &cancel).await
    })?;
    if ui.json {
        ui.json(&serde_json::to_value(&out)?);
    } else {
        for w in &out.tasks {
            ui.data(&format!("#{:<5} {:<8} ${:.4}  {}", w.id, w.status.name(), w.cost, w.title));
        }
        ui.data(&format!("stopped: {} · spent ${:.4} · `aiorch report` for the summary", out.stopped, out.spent));
    }
    let blocked = out.tasks.iter().any(|w| w.status == Status::Blocked);
    Ok(if out.stopped == "signal" || blocked { Exit::Failed } else { Exit::Ok })
}

/// `--since 12h|3d|90m` or unix seconds: the start of the report's window.
fn since_arg(s: &str, now: i64) -> anyhow::Result<i64> {
    let bad = || {
        anyhow::Error::from(
            CliError::bad_input(format!("--since {s}: not a duration or a unix time"))
                .hint("use e.g. 12h, 3d, 90m, or unix seconds"),
        )
    };
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = num.parse().map_err(|_| bad())?;
    Ok(match unit {
        "" => n,
        "m" => now - n * 60,
        "h" => now - n * 3600,
        "d" => now - n * 86_400,
        _ => return Err(bad()),
    })
}

pub fn report_cmd(
    ui: &Ui,
    paths: &Paths,
    project: Project,
    since: Option<String>,
    out: Option<PathBuf>,
) -> anyhow::Result<Exit> {
    let project = tasks::project_of(project.project.as_deref())?;
    let l = ledger(paths)?;
    let now = now_unix();
    let since = since_arg(since.as_deref().unwrap_or("24h"), now)?;
    let r = report::build(&l, &project, since, now)?;
    let md = report::markdown(&r);
    if let Some(path) = &out {
        let path = crate::paths::absolute(path);
        crate::apply::fsutil::write_atomic(&path, md.as_bytes(), 0o644)?;
        ui.note(&format!("report written to {}", path.display()));
    }
    if ui.json {
        ui.json(&serde_json::to_value(&r)?);
    } else if out.is_none() {
        ui.data(md.trim_end());
    }
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    #[test]
    fn since_takes_durations_and_unix_times() {
        assert_eq!(super::since_arg("2h", 10_000).unwrap(), 10_000 - 7200);
        assert_eq!(super::since_arg("3d", 1_000_000).unwrap(), 1_000_000 - 3 * 86_400);
        assert_eq!(super::since_arg("1700000000", 5).unwrap(), 1_700_000_000);
        assert!(super::since_arg("yesterday", 5).is_err());
        assert!(super::since_arg("5w", 5).is_err());
    }
}
