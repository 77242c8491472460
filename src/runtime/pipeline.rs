//! Pipelines from the seed plan — `feature` (plan → implement → review → document), `bugfix`
//! (investigate → diagnose → fix → review), `review` (summarise → review → consensus) — run
//! stage by stage on one thread, each stage routed by role, ending in a markdown report.
//!
//! The builtin pipeline has no tools: it writes plans, patches and reviews as text for a human
//! or an agent to apply. `aiorch go` with an agent CLI is the path that edits files.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use super::consensus::{self, Priority};
use super::engine::{AskArgs, Cancel, Runtime};
use super::roles::Role;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Feature,
    Bugfix,
    Review,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Feature => "feature",
            Kind::Bugfix => "bugfix",
            Kind::Review => "review",
        }
    }

    fn stages(self) -> &'static [(&'static str, Role, &'static str)] {
        match self {
            Kind::Feature => &[
                (
                    "Plan",
                    Role::Planning,
                    "Plan the implementation of this feature. Give ordered steps; for each: goal, files, tests, how to \
                     verify. End with acceptance criteria.\n\nFeature: {task}",
                ),
                (
                    "Implement",
                    Role::Coding,
                    "Implement the plan above. Give the code as unified diffs or complete files, with tests. Say how \
                     to build and test it.\n\nFeature: {task}",
                ),
                (
                    "Review",
                    Role::Review,
                    "Review the implementation above against the plan. List defects, risks and missing tests, each \
                     rated high, medium or low, with a fix. Say whether it is ready.\n\nFeature: {task}",
                ),
                (
                    "Document",
                    Role::Search,
                    "Write the user-facing documentation for this feature (README section or help text) and a one-line \
                     changelog entry, based on the plan, code and review above.\n\nFeature: {task}",
                ),
            ],
            Kind::Bugfix => &[
                (
                    "Investigate",
                    Role::Search,
                    "Collect what is known about this bug: symptoms, likely code areas, what to look at, how to \
                     reproduce it.\n\nBug: {task}",
                ),
                (
                    "Diagnose",
                    Role::Planning,
                    "From the investigation above, give the most likely root causes, ranked, and a plan for a minimal \
                     fix with a regression test.\n\nBug: {task}",
                ),
                (
                    "Fix",
                    Role::Coding,
                    "Write the minimal fix and a regression test for the diagnosed cause, as unified diffs or complete \
                     files.\n\nBug: {task}",
                ),
                (
                    "Review",
                    Role::Review,
                    "Review the fix above: does it address the root cause, could it regress anything, is the test \
                     sufficient? Rate findings high, medium or low.\n\nBug: {task}",
                ),
            ],
            Kind::Review => &[
                (
                    "Summarise",
                    Role::Search,
                    "Summarise what this change does, file by file, in a few bullet points.\n\n{task}",
                ),
                (
                    "Review",
                    Role::Review,
                    "Review this change. List defects, security issues, risks and missing tests, each rated high, \
                     medium or low, with a concrete fix.\n\n{task}",
                ),
            ],
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Stage {
    pub name: String,
    pub role: Role,
    pub model: Option<String>,
    pub output: String,
    pub error: Option<String>,
    pub latency_ms: u64,
    pub tokens_in: u64,
    pub tokens_out: u64,
    pub cost: f64,
    pub fallbacks: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub kind: Kind,
    pub task: String,
    pub continuation_id: String,
    pub stages: Vec<Stage>,
    pub consensus: Option<consensus::Report>,
    pub ok: bool,
}

pub async fn run(
    rt: &Runtime,
    kind: Kind,
    task: &str,
    local: bool,
    on_stage: &(dyn Fn(&str) + Sync),
    cancel: &Cancel,
) -> anyhow::Result<Outcome> {
    run_on(rt, kind, task, local, None, on_stage, cancel).await
}

/// `run` on an existing thread (a task's, for `go --queue`): the stages see its earlier turns
/// and every call is booked on it.
pub async fn run_on(
    rt: &Runtime,
    kind: Kind,
    task: &str,
    local: bool,
    thread: Option<&str>,
    on_stage: &(dyn Fn(&str) + Sync),
    cancel: &Cancel,
) -> anyhow::Result<Outcome> {
    let subject = if kind == Kind::Review { review_subject(task)? } else { task.to_string() };
    let thread = rt.thread(thread, &format!("{} pipeline: {task}", kind.name()))?;
    let mut stages = vec![];
    let mut ok = true;
    // Models that failed in an earlier stage are not tried again in this run.
    let mut failed: Vec<String> = vec![];
    for (name, role, template) in kind.stages() {
        on_stage(&format!("{name} ({role})…"));
        let prompt = template.replace("{task}", &subject);
        let mut args = AskArgs::new(&prompt, "pipeline");
        args.role = Some(*role);
        args.local = local;
        args.continuation_id = Some(&thread);
        args.avoid = &failed;
        let result = rt.ask(args, cancel).await;
        if let Ok(r) = &result {
            failed.extend(r.outcome.fallbacks.iter().filter(|a| a.kind != "context_window").map(|a| a.model.clone()));
        }
        match result {
            Ok(r) => stages.push(Stage {
                name: name.to_string(),
                role: *role,
                model: Some(r.outcome.model),
                output: r.outcome.text,
                error: None,
                latency_ms: r.outcome.latency_ms,
                tokens_in: r.outcome.tokens_in,
                tokens_out: r.outcome.tokens_out,
                cost: r.outcome.cost,
                fallbacks: r.outcome.fallbacks.iter().map(|a| format!("{}: {}", a.model, a.error)).collect(),
            }),
            Err(e) => {
                let msg = crate::error::summary(&e);
                stages.push(Stage {
                    name: name.to_string(),
                    role: *role,
                    model: None,
                    output: String::new(),
                    error: Some(msg),
                    latency_ms: 0,
                    tokens_in: 0,
                    tokens_out: 0,
                    cost: 0.0,
                    fallbacks: vec![],
                });
                ok = false;
                break;
            }
        }
    }
    let mut consensus_report = None;
    if ok && kind == Kind::Review {
        on_stage("Consensus (review)…");
        let question = "Based on the change and the review in this conversation: is this change ready to merge as is? \
                        Answer yes or no.";
        let args = consensus::Args {
            question,
            priority: Priority::Normal,
            models: vec![],
            role: Role::Review,
            local,
            synthesize: false,
            continuation_id: Some(&thread),
            tool: "pipeline",
        };
        match consensus::run(rt, args, None, cancel).await {
            Ok(r) => consensus_report = Some(r),
            Err(e) => {
                ok = false;
                stages.push(Stage {
                    name: "Consensus".into(),
                    role: Role::Review,
                    model: None,
                    output: String::new(),
                    error: Some(format!("{e:#}")),
                    latency_ms: 0,
                    tokens_in: 0,
                    tokens_out: 0,
                    cost: 0.0,
                    fallbacks: vec![],
                });
            }
        }
    }
    Ok(Outcome { kind, task: task.to_string(), continuation_id: thread, stages, consensus: consensus_report, ok })
}

/// For `review`: the task text plus the working tree's diff when run inside a git repository.
fn review_subject(task: &str) -> anyhow::Result<String> {
    match git_diff(Path::new("."), false) {
        Ok(diff) if !diff.trim().is_empty() => {
            Ok(format!("{task}\n\nThe change (git diff HEAD):\n```diff\n{diff}\n```"))
        }
        _ => Ok(task.to_string()),
    }
}

/// `git diff` of `dir` against HEAD (or only what is staged), capped at 120 kB.
pub fn git_diff(dir: &Path, staged: bool) -> anyhow::Result<String> {
    let mut cmd = std::process::Command::new("git");
    cmd.arg("-C").arg(dir).args(["diff", "--no-color", "--no-ext-diff"]);
    if staged {
        cmd.arg("--cached");
    } else {
        cmd.arg("HEAD");
    }
    let out = cmd.stdin(std::process::Stdio::null()).output().map_err(|e| anyhow::anyhow!("cannot run git: {e}"))?;
    if !out.status.success() {
        anyhow::bail!("git diff failed in {}: {}", dir.display(), String::from_utf8_lossy(&out.stderr).trim());
    }
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    const CAP: usize = 120_000;
    if text.len() > CAP {
        let mut cut = CAP;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push_str("\n… (diff truncated)\n");
    }
    Ok(text)
}

pub fn report_markdown(o: &Outcome, mode: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# aiorch pipeline: {}\n", o.kind.name());
    let _ = writeln!(s, "**Task:** {}\n", o.task.trim());
    let _ = writeln!(
        s,
        "Mode: {mode} · thread `{}` · {}\n",
        o.continuation_id,
        if o.ok { "completed" } else { "stopped early" }
    );
    for (i, st) in o.stages.iter().enumerate() {
        let who = st.model.as_deref().unwrap_or("—");
        let _ = writeln!(s, "## {}. {} — {} ({}) · {who}\n", i + 1, st.name, st.role, st.role.seed_name());
        if let Some(e) = &st.error {
            let _ = writeln!(s, "**Failed:** {e}\n");
        } else {
            let _ = writeln!(s, "{}\n", st.output.trim());
        }
        for f in &st.fallbacks {
            let _ = writeln!(s, "> fell back after {f}\n");
        }
    }
    if let Some(c) = &o.consensus {
        let _ = writeln!(s, "## Consensus: ready to merge?\n");
        let _ = writeln!(
            s,
            "Agreement {:.2} (threshold {:.2}, priority {:?}) · majority: {} · recommendation: **{}**\n",
            c.agreement,
            c.threshold,
            c.priority,
            c.majority.as_deref().unwrap_or("none"),
            c.recommendation.text()
        );
        if !c.dissenters.is_empty() {
            let _ = writeln!(s, "Dissenters: {}\n", c.dissenters.join(", "));
        }
        for v in &c.votes {
            let _ =
                writeln!(s, "- {}: {}", v.model, v.verdict.as_deref().or(v.error.as_deref()).unwrap_or("no verdict"));
        }
        let _ = writeln!(s);
    }
    let _ = writeln!(
        s,
        "## Summary\n\n| stage | role | model | latency | tokens in/out | cost |\n|---|---|---|---|---|---|"
    );
    let mut total = 0.0;
    for st in &o.stages {
        total += st.cost;
        let _ = writeln!(
            s,
            "| {} | {} | {} | {:.1} s | {}/{} | ${:.4} |",
            st.name,
            st.role,
            st.model.as_deref().unwrap_or("failed"),
            st.latency_ms as f64 / 1000.0,
            st.tokens_in,
            st.tokens_out,
            st.cost
        );
    }
    if let Some(c) = &o.consensus {
        total += c.cost;
    }
    let _ = writeln!(s, "\nTotal cost: ${total:.4}");
    s
}
