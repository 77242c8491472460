//! The tools of `aiorch mcp serve`: compact hand-written schemas (PAL's cost ~10k tokens of
//! context; these aim for well under 3k) and handlers over the runtime. No rmcp types here:
//! `server.rs` is the only place that knows the SDK.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Value, json};

use crate::runtime::clink;
use crate::runtime::consensus::{self, OnProgress, Priority};
use crate::runtime::engine::{AskArgs, AskResult, Cancel, Runtime};
use crate::runtime::pipeline::git_diff;
use crate::runtime::roles::Role;
use crate::runtime::{handoff, memory, router, stats};

pub struct ToolDef {
    pub name: &'static str,
    pub description: &'static str,
    pub schema: Value,
}

/// What a tool call returns: text for the model, structured data for programs.
pub struct Output {
    pub text: String,
    pub structured: Option<Value>,
    pub is_error: bool,
}

impl Output {
    fn ok(text: String, structured: Value) -> Output {
        Output { text, structured: Some(structured), is_error: false }
    }
    fn err(text: impl Into<String>) -> Output {
        Output { text: text.into(), structured: None, is_error: true }
    }
}

const ROLE: &str = "planning|coding|review|search";

fn s(desc: &str) -> Value {
    json!({"type": "string", "description": desc})
}
fn b(desc: &str) -> Value {
    json!({"type": "boolean", "description": desc})
}
fn list(desc: &str) -> Value {
    json!({"type": "array", "items": {"type": "string"}, "description": desc})
}
fn obj(props: Value, required: &[&str]) -> Value {
    json!({"type": "object", "properties": props, "required": required})
}

pub fn defs() -> Vec<ToolDef> {
    let cid = || s("Thread id from an earlier call; any tool or model can continue it");
    let local = || b("Local models only");
    vec![
        ToolDef {
            name: "chat",
            description: "Ask one model, routed by role (or by id). Returns the answer and a continuation_id.",
            schema: obj(
                json!({
                    "prompt": s("The question or task"),
                    "role": s(ROLE),
                    "model": s("Model id (see listmodels)"),
                    "continuation_id": cid(),
                    "local": local(),
                }),
                &["prompt"],
            ),
        },
        ToolDef {
            name: "consensus",
            description: "Ask several models in parallel; weighted agreement vs a threshold (low .6, normal .7, high \
                          .8, critical .9), dissenters, recommendation, synthesis. Higher priority, bigger panel.",
            schema: obj(
                json!({
                    "question": s("A self-contained question or decision"),
                    "priority": {"type": "string", "enum": ["low", "normal", "high", "critical"]},
                    "role": s("Panel role (default review)"),
                    "models": {
                        "type": "array",
                        "items": {"type": "string"},
                        "description": "Model ids; default: best available",
                    },
                    "synthesize": b("Default true"),
                    "continuation_id": cid(),
                    "local": local(),
                }),
                &["question"],
            ),
        },
        ToolDef {
            name: "codereview",
            description: "Review code with the review role: findings by severity with fixes. Input: code, file paths, \
                          or (default) the git diff.",
            schema: obj(
                json!({
                    "code": s("Code or a diff"),
                    "paths": {"type": "array", "items": {"type": "string"}, "description": "Files to review"},
                    "focus": s("What to look at"),
                    "model": s("Model id"),
                    "continuation_id": cid(),
                    "local": local(),
                }),
                &[],
            ),
        },
        ToolDef {
            name: "precommit",
            description: "Review the repository's pending git changes before a commit; ends with VERDICT ready or not \
                          ready.",
            schema: obj(
                json!({
                    "path": s("Repository directory (default: working directory)"),
                    "staged": b("Only staged changes"),
                    "focus": s("What to look at"),
                    "continuation_id": cid(),
                    "local": local(),
                }),
                &[],
            ),
        },
        ToolDef {
            name: "planner",
            description: "Plan a task with the planning role: ordered, verifiable steps with files, roles and \
                          acceptance criteria.",
            schema: obj(
                json!({
                    "task": s("What to plan"),
                    "context": s("Facts gathered so far"),
                    "continuation_id": cid(),
                    "local": local(),
                }),
                &["task"],
            ),
        },
        ToolDef {
            name: "clink",
            description: "Run another installed AI CLI (claude, gemini, codex, copilot, opencode, aider) headless as a \
                          sub-agent, in its own sandbox. Its answer joins the thread.",
            schema: obj(
                json!({
                    "cli": {"type": "string", "enum": crate::runtime::clink::CLIS},
                    "prompt": s("Task for the sub-agent"),
                    "role": s(ROLE),
                    "continuation_id": cid(),
                }),
                &["cli", "prompt"],
            ),
        },
        ToolDef {
            name: "route",
            description: "Explain which role and model a task would get, and the fallback chain.",
            schema: obj(json!({"task": s("The task"), "role": s(ROLE), "local": local()}), &["task"]),
        },
        ToolDef {
            name: "listmodels",
            description: "The model registry: providers, tiers, prices, role scores, usable or why not.",
            schema: obj(json!({"local": local()}), &[]),
        },
        ToolDef {
            name: "stats",
            description: "Budget left today; per model and role: calls, success, latency p50/p95, tokens, cost, \
                          routing savings.",
            schema: obj(json!({"days": {"type": "integer", "description": "Last N days"}}), &[]),
        },
        ToolDef {
            name: "orchestrate",
            description: "Route a task by stakes: low/normal = one routed model, high/critical = a consensus (bigger \
                          panel). Records a handoff.",
            schema: obj(
                json!({
                    "task": s("The task or decision"),
                    "priority": {"type": "string", "enum": ["low", "normal", "high", "critical"]},
                    "local": local(),
                }),
                &["task"],
            ),
        },
        ToolDef {
            name: "handoff",
            description: "Record a handoff for the next agent or stage (shown by `aiorch handoff show`).",
            schema: obj(
                json!({
                    "to": s("Who takes over"),
                    "from": s("Who hands over (default: mcp)"),
                    "task": {"type": "integer", "description": "Task id"},
                    "context": s("What the next one needs to know"),
                    "done": s("What was done"),
                    "files": list("Files touched"),
                    "questions": list("Open questions"),
                    "next": list("Next steps"),
                }),
                &["to"],
            ),
        },
        ToolDef {
            name: "memory_store",
            description: "Remember a fact for this project beyond the thread (full-text searchable).",
            schema: obj(json!({"text": s("One self-contained fact")}), &["text"]),
        },
        ToolDef {
            name: "memory_search",
            description: "Search this project's remembered facts, best match first.",
            schema: obj(
                json!({"query": s("Words to look for"), "limit": {"type": "integer", "description": "Default 5"}}),
                &["query"],
            ),
        },
    ]
}

/// A rough token count of the whole `tools/list` payload (chars/4; `aiorch mcp tools`).
pub fn listing_json() -> Value {
    let tools: Vec<Value> = defs()
        .into_iter()
        .map(|d| json!({"name": d.name, "description": d.description, "inputSchema": d.schema}))
        .collect();
    json!({"tools": tools})
}

#[derive(Deserialize)]
struct ChatArgs {
    prompt: String,
    role: Option<String>,
    model: Option<String>,
    continuation_id: Option<String>,
    #[serde(default)]
    local: bool,
}

#[derive(Deserialize)]
struct ConsensusArgs {
    question: String,
    priority: Option<Priority>,
    role: Option<String>,
    #[serde(default)]
    models: Vec<String>,
    synthesize: Option<bool>,
    continuation_id: Option<String>,
    #[serde(default)]
    local: bool,
}

#[derive(Deserialize)]
struct ReviewArgs {
    code: Option<String>,
    #[serde(default)]
    paths: Vec<String>,
    focus: Option<String>,
    model: Option<String>,
    continuation_id: Option<String>,
    #[serde(default)]
    local: bool,
}

#[derive(Deserialize)]
struct PrecommitArgs {
    path: Option<String>,
    #[serde(default)]
    staged: bool,
    focus: Option<String>,
    continuation_id: Option<String>,
    #[serde(default)]
    local: bool,
}

#[derive(Deserialize)]
struct PlannerArgs {
    task: String,
    context: Option<String>,
    continuation_id: Option<String>,
    #[serde(default)]
    local: bool,
}

#[derive(Deserialize)]
struct ClinkArgs {
    cli: String,
    prompt: String,
    role: Option<String>,
    continuation_id: Option<String>,
}

#[derive(Deserialize)]
struct RouteArgs {
    task: String,
    role: Option<String>,
    #[serde(default)]
    local: bool,
}

#[derive(Deserialize, Default)]
struct LocalArg {
    #[serde(default)]
    local: bool,
}

#[derive(Deserialize, Default)]
struct StatsArgs {
    days: Option<u32>,
}

fn parse<T: for<'de> Deserialize<'de>>(tool: &str, args: Value) -> Result<T, Output> {
    let args = if args.is_null() { json!({}) } else { args };
    serde_json::from_value(args).map_err(|e| Output::err(format!("{tool}: bad arguments: {e}")))
}

fn role(r: &Option<String>) -> Result<Option<Role>, Output> {
    r.as_deref().map(str::parse::<Role>).transpose().map_err(Output::err)
}

/// Error text without hints' formatting noise.
fn message(e: &anyhow::Error) -> String {
    match e.downcast_ref::<crate::error::CliError>() {
        Some(c) if c.hints.is_empty() => c.message.clone(),
        Some(c) => format!("{} (hint: {})", c.message, c.hints.join("; ")),
        None => format!("{e:#}"),
    }
}

/// Run tool `name`; `None` when there is no such tool.
pub async fn call(
    rt: &Runtime,
    cwd: &Path,
    name: &str,
    args: Value,
    progress: Option<OnProgress>,
    cancel: &Cancel,
) -> Option<Output> {
    let out = match name {
        "chat" => chat(rt, args, cancel).await,
        "consensus" => consensus_tool(rt, args, progress, cancel).await,
        "codereview" => codereview(rt, cwd, args, cancel).await,
        "precommit" => precommit(rt, cwd, args, cancel).await,
        "planner" => planner(rt, args, cancel).await,
        "clink" => clink_tool(rt, cwd, args, cancel).await,
        "route" => route(rt, args),
        "listmodels" => listmodels(rt, args),
        "stats" => stats_tool(rt, args),
        "orchestrate" => orchestrate(rt, cwd, args, progress, cancel).await,
        "handoff" => handoff_tool(rt, cwd, args),
        "memory_store" => memory_store(rt, cwd, args),
        "memory_search" => memory_search(rt, cwd, args),
        _ => return None,
    };
    Some(out.unwrap_or_else(|e| e))
}

fn answered(r: AskResult, extra: Value) -> Result<Output, Output> {
    let o = &r.outcome;
    let fb = if o.fallbacks.is_empty() {
        String::new()
    } else {
        format!(
            " · fell back from {}",
            o.fallbacks.iter().map(|a| format!("{} ({})", a.model, a.kind)).collect::<Vec<_>>().join(", ")
        )
    };
    let text = format!(
        "{}\n\n— {} ({}) · ${:.4}{fb} · continuation_id: {}",
        o.text.trim_end(),
        o.model,
        r.role,
        o.cost,
        r.continuation_id
    );
    let mut v = json!({
        "model": o.model,
        "role": r.role,
        "continuation_id": r.continuation_id,
        "cost": o.cost,
        "tokens_in": o.tokens_in,
        "tokens_out": o.tokens_out,
        "latency_ms": o.latency_ms,
        "fallbacks": o.fallbacks,
    });
    if let (Some(m), Some(e)) = (v.as_object_mut(), extra.as_object()) {
        m.extend(e.clone());
    }
    Ok(Output::ok(text, v))
}

async fn ask(rt: &Runtime, a: AskArgs<'_>, cancel: &Cancel, extra: Value) -> Result<Output, Output> {
    match rt.ask(a, cancel).await {
        Ok(r) => answered(r, extra),
        Err(e) => Err(Output::err(message(&e))),
    }
}

async fn chat(rt: &Runtime, args: Value, cancel: &Cancel) -> Result<Output, Output> {
    let a: ChatArgs = parse("chat", args)?;
    let mut q = AskArgs::new(&a.prompt, "chat");
    q.role = role(&a.role)?;
    q.model = a.model.as_deref();
    q.continuation_id = a.continuation_id.as_deref();
    q.local = a.local;
    ask(rt, q, cancel, json!({})).await
}

async fn consensus_tool(
    rt: &Runtime,
    args: Value,
    progress: Option<OnProgress>,
    cancel: &Cancel,
) -> Result<Output, Output> {
    let a: ConsensusArgs = parse("consensus", args)?;
    let args = consensus::Args {
        question: &a.question,
        priority: a.priority.unwrap_or(Priority::Normal),
        models: a.models,
        role: role(&a.role)?.unwrap_or(Role::Review),
        local: a.local,
        synthesize: a.synthesize.unwrap_or(rt.cfg.runtime.consensus.synthesize),
        continuation_id: a.continuation_id.as_deref(),
        tool: "consensus",
    };
    match consensus::run(rt, args, progress, cancel).await {
        Ok(r) => Ok(Output::ok(consensus::render(&r), serde_json::to_value(&r).unwrap_or_default())),
        Err(e) => Err(Output::err(message(&e))),
    }
}

fn resolve(cwd: &Path, p: &str) -> PathBuf {
    let p = Path::new(p);
    if p.is_absolute() { p.to_path_buf() } else { cwd.join(p) }
}

async fn codereview(rt: &Runtime, cwd: &Path, args: Value, cancel: &Cancel) -> Result<Output, Output> {
    let a: ReviewArgs = parse("codereview", args)?;
    let mut subject = String::new();
    if let Some(code) = &a.code {
        subject.push_str(code);
    }
    const CAP: usize = 200_000;
    for p in &a.paths {
        let path = resolve(cwd, p);
        let text =
            fs_err::read_to_string(&path).map_err(|e| Output::err(format!("cannot read {}: {e}", path.display())))?;
        subject.push_str(&format!("\n--- {p}\n{text}\n"));
        if subject.len() > CAP {
            return Err(Output::err(format!("the files are larger than {CAP} bytes; review fewer at a time")));
        }
    }
    if subject.trim().is_empty() {
        subject = git_diff(cwd, false).map_err(|e| Output::err(format!("no code or paths given, and {e}")))?;
        if subject.trim().is_empty() {
            return Err(Output::err("nothing to review: no code, no paths, and no pending git changes"));
        }
    }
    let focus = a.focus.as_deref().map(|f| format!("Focus: {f}\n")).unwrap_or_default();
    let prompt = format!(
        "Review the code below. {focus}List findings ordered by severity as `[high|medium|low] location — problem \
         — fix`. Cover correctness, security, error handling, tests. End with one line: `VERDICT: approve` or \
         `VERDICT: changes needed`.\n\n{subject}"
    );
    let mut q = AskArgs::new(&prompt, "codereview");
    q.role = Some(Role::Review);
    q.model = a.model.as_deref();
    q.continuation_id = a.continuation_id.as_deref();
    q.local = a.local;
    ask(rt, q, cancel, json!({})).await
}

async fn precommit(rt: &Runtime, cwd: &Path, args: Value, cancel: &Cancel) -> Result<Output, Output> {
    let a: PrecommitArgs = parse("precommit", args)?;
    let dir = a.path.as_deref().map_or_else(|| cwd.to_path_buf(), |p| resolve(cwd, p));
    let diff = git_diff(&dir, a.staged).map_err(|e| Output::err(e.to_string()))?;
    let status = std::process::Command::new("git")
        .arg("-C")
        .arg(&dir)
        .args(["status", "--porcelain"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    if diff.trim().is_empty() {
        let untracked = status.lines().filter(|l| l.starts_with("??")).count();
        return Ok(Output::ok(
            format!(
                "No {} changes to review in {} ({untracked} untracked files not reviewed).",
                if a.staged { "staged" } else { "pending" },
                dir.display()
            ),
            json!({"changes": 0}),
        ));
    }
    let focus = a.focus.as_deref().map(|f| format!("Focus: {f}\n")).unwrap_or_default();
    let prompt = format!(
        "Pre-commit review of these {} changes. {focus}Check: bugs, security, secrets or credentials in the diff, \
         debug leftovers, missing tests, docs. List findings as `[high|medium|low] file — problem — fix`. End with \
         one line: `VERDICT: ready` or `VERDICT: not ready`.\n\ngit status:\n{status}\n```diff\n{diff}\n```",
        if a.staged { "staged" } else { "pending" }
    );
    let mut q = AskArgs::new(&prompt, "precommit");
    q.role = Some(Role::Review);
    q.continuation_id = a.continuation_id.as_deref();
    q.local = a.local;
    let files = status.lines().count();
    ask(rt, q, cancel, json!({"changes": files})).await
}

async fn planner(rt: &Runtime, args: Value, cancel: &Cancel) -> Result<Output, Output> {
    let a: PlannerArgs = parse("planner", args)?;
    let ctx = a.context.as_deref().map(|c| format!("\n\nWhat is known so far:\n{c}")).unwrap_or_default();
    let prompt = format!(
        "Plan this task. Give numbered sub-tasks in order; for each: goal, files, role (planning, coding, review or \
         search), and how to verify it. Then acceptance criteria for the whole task, and open questions with the \
         conservative assumption you would make.\n\nTask: {}{ctx}",
        a.task
    );
    let mut q = AskArgs::new(&prompt, "planner");
    q.role = Some(Role::Planning);
    q.continuation_id = a.continuation_id.as_deref();
    q.local = a.local;
    ask(rt, q, cancel, json!({})).await
}

async fn clink_tool(rt: &Runtime, cwd: &Path, args: Value, cancel: &Cancel) -> Result<Output, Output> {
    let a: ClinkArgs = parse("clink", args)?;
    let r = role(&a.role)?;
    match clink::run(rt, cwd, &a.cli, &a.prompt, r, a.continuation_id.as_deref(), cancel).await {
        Ok(out) => {
            let text = format!(
                "{}\n\n— {} · {} ms · continuation_id: {}",
                out.output.trim_end(),
                out.cli,
                out.latency_ms,
                out.continuation_id
            );
            Ok(Output::ok(text, serde_json::to_value(&out).unwrap_or_default()))
        }
        Err(e) => Err(Output::err(message(&e))),
    }
}

fn route(rt: &Runtime, args: Value) -> Result<Output, Output> {
    let a: RouteArgs = parse("route", args)?;
    let tokens = crate::runtime::provider::estimate_tokens([a.task.as_str()]) + 100;
    match rt.route(&a.task, role(&a.role)?, a.local, None, tokens) {
        Ok(r) => Ok(Output::ok(router::explain(&a.task, &r), serde_json::to_value(&r).unwrap_or_default())),
        Err(e) => Err(Output::err(message(&e))),
    }
}

fn listmodels(rt: &Runtime, args: Value) -> Result<Output, Output> {
    let a: LocalArg = parse("listmodels", args)?;
    let local_only = rt.local_only(a.local);
    let mut text = String::from("id | provider | tier | $/Mtok in/out | scores plan/code/review/search | status\n");
    let mut rows = vec![];
    for m in &rt.reg.models {
        let why = if local_only && !m.local {
            Some("cloud (local-only)".to_string())
        } else if m.via == crate::runtime::registry::Via::Gateway && !rt.reg.gateway_enabled {
            Some("gateway disabled".to_string())
        } else {
            rt.available(m).err()
        };
        let scores = Role::ALL.iter().map(|r| format!("{:.2}", m.score(*r))).collect::<Vec<_>>().join("/");
        text.push_str(&format!(
            "{} | {} | {} | {}/{} | {scores} | {}\n",
            m.id,
            m.provider.name(),
            m.tier,
            m.price_in,
            m.price_out,
            why.as_deref().unwrap_or("usable")
        ));
        rows.push(json!({
            "id": m.id,
            "provider": m.provider.name(),
            "local": m.local,
            "tier": m.tier,
            "price_in": m.price_in,
            "price_out": m.price_out,
            "scores": m.scores,
            "usable": why.is_none(),
            "why_not": why,
        }));
    }
    Ok(Output::ok(text, json!({"models": rows})))
}

fn stats_tool(rt: &Runtime, args: Value) -> Result<Output, Output> {
    let a: StatsArgs = parse("stats", args)?;
    let now = crate::ui::now_unix();
    let since = a.days.map_or(0, |d| now - i64::from(d) * 86_400);
    match stats::compute(rt, since, now) {
        Ok(s) => Ok(Output::ok(stats::render(&s), serde_json::to_value(&s).unwrap_or_default())),
        Err(e) => Err(Output::err(message(&e))),
    }
}

#[derive(Deserialize)]
struct HandoffArgs {
    to: String,
    from: Option<String>,
    task: Option<i64>,
    #[serde(default)]
    context: String,
    #[serde(default)]
    done: String,
    #[serde(default)]
    files: Vec<String>,
    #[serde(default)]
    questions: Vec<String>,
    #[serde(default)]
    next: Vec<String>,
}

#[derive(Deserialize)]
struct MemoryStoreArgs {
    text: String,
}

#[derive(Deserialize)]
struct MemorySearchArgs {
    query: String,
    limit: Option<usize>,
}

#[derive(Deserialize)]
struct OrchestrateArgs {
    task: String,
    priority: Option<Priority>,
    #[serde(default)]
    local: bool,
}

/// One routed call at low and normal priority, a consensus at high and critical; either way
/// a handoff records who did what, for the project's log.
async fn orchestrate(
    rt: &Runtime,
    cwd: &Path,
    args: Value,
    progress: Option<OnProgress>,
    cancel: &Cancel,
) -> Result<Output, Output> {
    let a: OrchestrateArgs = parse("orchestrate", args)?;
    let priority = a.priority.unwrap_or(Priority::Normal);
    let project = project(cwd)?;
    let (out, by, done) = if matches!(priority, Priority::Low | Priority::Normal) {
        let mut q = AskArgs::new(&a.task, "orchestrate");
        q.local = a.local;
        let r = rt.ask(q, cancel).await.map_err(|e| Output::err(message(&e)))?;
        let by = format!("{} ({})", r.outcome.model, r.role);
        let done = router::one_line(&r.outcome.text, 300);
        (answered(r, json!({"mode": "single"}))?, by, done)
    } else {
        let c = consensus::Args {
            question: &a.task,
            priority,
            models: vec![],
            role: Role::Review,
            local: a.local,
            synthesize: rt.cfg.runtime.consensus.synthesize,
            continuation_id: None,
            tool: "orchestrate",
        };
        let r = consensus::run(rt, c, progress, cancel).await.map_err(|e| Output::err(message(&e)))?;
        let members: Vec<String> = r.votes.iter().map(|v| v.model.clone()).collect();
        let by = format!("consensus of {}", members.join(", "));
        let rec = serde_json::to_value(r.recommendation).ok().and_then(|v| v.as_str().map(str::to_string));
        let done = format!("recommendation {}, agreement {:.2}", rec.unwrap_or_default(), r.agreement);
        let mut v = serde_json::to_value(&r).unwrap_or_default();
        v["mode"] = json!("consensus");
        (Output::ok(consensus::render(&r), v), by, done)
    };
    let h = handoff::Handoff {
        from: by,
        to: "caller".into(),
        stage: Some(format!("orchestrate ({})", crate::runtime::tasks::priority_name(priority))),
        context: router::one_line(&a.task, 300),
        done,
        ..handoff::Handoff::default()
    };
    handoff::add(&rt.ledger, crate::ui::now_unix(), &project, h).map_err(|e| Output::err(message(&e)))?;
    Ok(out)
}

/// The project of the server's working directory (its git root), as `aiorch task` sees it.
fn project(cwd: &Path) -> Result<String, Output> {
    crate::runtime::tasks::project_in(cwd, None).map_err(|e| Output::err(message(&e)))
}

fn handoff_tool(rt: &Runtime, cwd: &Path, args: Value) -> Result<Output, Output> {
    let a: HandoffArgs = parse("handoff", args)?;
    let h = handoff::Handoff {
        task: a.task,
        from: a.from.unwrap_or_else(|| "mcp".into()),
        to: a.to,
        stage: None,
        context: a.context,
        done: a.done,
        files: a.files,
        questions: a.questions,
        next: a.next,
        ..handoff::Handoff::default()
    };
    match handoff::add(&rt.ledger, crate::ui::now_unix(), &project(cwd)?, h) {
        Ok(h) => Ok(Output::ok(format!("handoff #{} recorded", h.id), serde_json::to_value(&h).unwrap_or_default())),
        Err(e) => Err(Output::err(message(&e))),
    }
}

fn memory_store(rt: &Runtime, cwd: &Path, args: Value) -> Result<Output, Output> {
    let a: MemoryStoreArgs = parse("memory_store", args)?;
    match memory::add(&rt.ledger, crate::ui::now_unix(), &project(cwd)?, "mcp", &a.text) {
        Ok(f) => Ok(Output::ok(format!("remembered as #{}", f.id), json!({"id": f.id}))),
        Err(e) => Err(Output::err(message(&e))),
    }
}

fn memory_search(rt: &Runtime, cwd: &Path, args: Value) -> Result<Output, Output> {
    let a: MemorySearchArgs = parse("memory_search", args)?;
    match memory::search(&rt.ledger, &project(cwd)?, &a.query, a.limit.unwrap_or(5).clamp(1, 50)) {
        Ok(facts) => {
            let text = if facts.is_empty() {
                "nothing remembered matches".to_string()
            } else {
                facts.iter().map(|f| format!("#{} {}", f.id, f.text)).collect::<Vec<_>>().join("\n")
            };
            Ok(Output::ok(text, json!({"facts": facts})))
        }
        Err(e) => Err(Output::err(message(&e))),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn schemas_are_compact_and_valid() {
        let listing = super::listing_json().to_string();
        // ≤ 3k tokens for the whole set is the target; chars/4 over-estimates cl100k slightly.
        assert!(listing.len() / 4 < 3000, "{} bytes", listing.len());
        for d in super::defs() {
            assert_eq!(d.schema["type"], "object", "{}", d.name);
            for r in d.schema["required"].as_array().unwrap() {
                assert!(d.schema["properties"].get(r.as_str().unwrap()).is_some(), "{}: required {r} missing", d.name);
            }
        }
    }
}
