//! `aiorch ask | consensus | route | stats | pipeline`: the runtime from the shell.

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use crate::error::{CliError, Exit};
use crate::paths::Paths;
use crate::runtime::consensus::{self, Priority};
use crate::runtime::engine::{AskArgs, Cancel, Delta, Runtime};
use crate::runtime::pipeline;
use crate::runtime::roles::Role;
use crate::runtime::{provider, router, stats};
use crate::ui::Ui;

pub fn parse_role(s: &str) -> Result<Role, String> {
    s.parse()
}

pub fn open(paths: &Paths) -> anyhow::Result<Runtime> {
    let cfg = crate::config::load(&paths.config_file, paths.config_explicit)?;
    Runtime::open(cfg, paths.clone())
}

/// A current-thread runtime: the work is I/O bound and it starts fastest.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime").block_on(f)
}

/// Cancel on Ctrl-C (SIGINT), SIGTERM (`timeout`, service managers, MCP clients) and SIGHUP
/// (a closed terminal) alike: calls in flight stop, their reservations are settled with what
/// was spent and the calls recorded as cancelled, then the command exits. A second signal
/// exits at once.
pub fn on_signals(cancel: &Cancel) {
    use tokio::signal::unix::{SignalKind, signal};
    let c = cancel.clone();
    let kinds = [SignalKind::interrupt(), SignalKind::terminate(), SignalKind::hangup()];
    let mut streams: Vec<_> = kinds.iter().filter_map(|k| signal(*k).ok().map(|s| (k.as_raw_value(), s))).collect();
    tokio::spawn(async move {
        let mut first = true;
        loop {
            let waits = streams.iter_mut().map(|(n, s)| {
                let n = *n;
                Box::pin(async move { s.recv().await.map(|_| n) })
            });
            let (got, _, _) = futures_util::future::select_all(waits).await;
            let Some(n) = got else { return };
            if !first {
                std::process::exit(128 + n);
            }
            first = false;
            tracing::info!("signal {n}: cancelling the calls in flight");
            c.cancel();
        }
    });
}

fn join(words: &[String], what: &str) -> anyhow::Result<String> {
    let text = words.join(" ");
    if text.trim().is_empty() {
        return Err(CliError::bad_input(format!("no {what} given"))
            .hint(format!("pass the {what} as arguments, or `-` to read it from stdin"))
            .into());
    }
    if text.trim() == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)?;
        return Ok(s);
    }
    Ok(text)
}

pub fn route(
    ui: &Ui,
    paths: &Paths,
    task: &[String],
    role: Option<Role>,
    local: bool,
    list: bool,
) -> anyhow::Result<Exit> {
    let rt = open(paths)?;
    if list {
        return list_models(ui, &rt, local);
    }
    let task = join(task, "task")?;
    let tokens = provider::estimate_tokens([task.as_str()]) + 100;
    let r = rt.route(&task, role, local, None, tokens)?;
    if ui.json {
        ui.json(&serde_json::to_value(&r)?);
    } else {
        ui.data(router::explain(&task, &r).trim_end());
    }
    Ok(if r.chosen.is_some() { Exit::Ok } else { Exit::Failed })
}

pub fn list_models(ui: &Ui, rt: &Runtime, local: bool) -> anyhow::Result<Exit> {
    let local_only = rt.local_only(local);
    let rows: Vec<serde_json::Value> = rt
        .reg
        .models
        .iter()
        .map(|m| {
            let why = if local_only && !m.local {
                Some("cloud (local-only mode)".to_string())
            } else if m.via == crate::runtime::registry::Via::Gateway && !rt.reg.gateway_enabled {
                Some("gateway disabled".to_string())
            } else {
                rt.available(m).err()
            };
            serde_json::json!({
                "id": m.id, "provider": m.provider.name(), "via": m.via, "endpoint": m.base_url, "model": m.upstream,
                "context_window": m.context_window, "max_output": m.max_output,
                "price_in": m.price_in, "price_out": m.price_out,
                "price_source": m.price_source, "price_known": m.price_known, "retirement": m.retirement,
                "local": m.local, "tier": m.tier, "scores": m.scores, "usable": why.is_none(), "why_not": why,
            })
        })
        .collect();
    if ui.json {
        ui.json(&serde_json::Value::Array(rows));
        return Ok(Exit::Ok);
    }
    ui.data(&format!(
        "{:<22} {:<9} {:<7} {:>4} {:>13}  {:<7} {:<23} {}",
        "model", "provider", "via", "tier", "$/Mtok in/out", "price", "plan/code/review/search", "status"
    ));
    for m in &rt.reg.models {
        let row = rows.iter().find(|r| r["id"] == m.id.as_str()).expect("row");
        let mut status = row["why_not"].as_str().map_or_else(|| ui.ok_mark(), |w| format!("- {w}"));
        if let Some(r) = m.retirement.as_ref().filter(|r| r.is_due()) {
            status.push_str(&format!("  {} {}", ui.warn_mark(), r.describe()));
        }
        let scores = Role::ALL.iter().map(|r| format!("{:.2}", m.score(*r))).collect::<Vec<_>>().join("/");
        let via = match m.via {
            crate::runtime::registry::Via::Direct => "direct",
            crate::runtime::registry::Via::Gateway => "gateway",
            crate::runtime::registry::Via::Local => "local",
        };
        ui.data(&format!(
            "{:<22} {:<9} {:<7} {:>4} {:>6.2}/{:<6.2}  {:<7} {:<23} {status}",
            m.id,
            m.provider.name(),
            via,
            m.tier,
            m.price_in,
            m.price_out,
            m.price_from(),
            scores
        ));
    }
    let copy = if rt.reg.map_embedded { "built in" } else { "from `aiorch models update`" };
    ui.data(&format!("\nprice from: map = {} ({copy}); config = [runtime.models.ID]", rt.reg.map_label));
    for m in rt.reg.models.iter().filter(|m| !m.price_known) {
        ui.data(&format!("  {}: {}", m.id, m.price_source));
    }
    Ok(Exit::Ok)
}

pub struct AskOpts {
    pub role: Option<Role>,
    pub model: Option<String>,
    pub local: bool,
    pub continuation_id: Option<String>,
    pub max_tokens: Option<u64>,
}

pub fn ask(ui: &Ui, paths: &Paths, prompt: &[String], o: AskOpts) -> anyhow::Result<Exit> {
    use std::io::IsTerminal as _;
    let rt = open(paths)?;
    let prompt = join(prompt, "prompt")?;
    // stdout carries exactly the answer that succeeded. On a terminal the answer streams as it
    // comes (a person is watching); text of an attempt that then fails cannot be taken back,
    // so a note on stderr says it is void and the next answer starts on a new line. Anywhere
    // else (`> file`, a pipe) the answer is printed once it is complete: a fallback never
    // leaves a half answer in front of the real one. The provider still streams either way
    // (its tokens count if the call fails or is cancelled).
    let live = !ui.json && std::io::stdout().is_terminal();
    let printed = std::sync::atomic::AtomicBool::new(false);
    let sink = |d: Delta<'_>| match d {
        Delta::Text(t) if live => {
            printed.store(true, std::sync::atomic::Ordering::Relaxed);
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(t.as_bytes());
            let _ = out.flush();
        }
        Delta::Discard { model } if live && printed.swap(false, std::sync::atomic::Ordering::Relaxed) => {
            println!();
            eprintln!("aiorch: {model} failed mid-answer: the text above is void; the next model answers below");
        }
        _ => {}
    };
    let result = block_on(async {
        let cancel = Cancel::default();
        on_signals(&cancel);
        let mut args = AskArgs::new(&prompt, "ask");
        args.role = o.role;
        args.model = o.model.as_deref();
        args.local = o.local;
        args.continuation_id = o.continuation_id.as_deref();
        args.max_tokens = o.max_tokens;
        if !ui.json {
            args.on_delta = Some(&sink);
        }
        rt.ask(args, &cancel).await
    })?;
    if ui.json {
        ui.json(&serde_json::to_value(&result)?);
    } else {
        let streamed = printed.load(std::sync::atomic::Ordering::Relaxed);
        if !streamed {
            print!("{}", result.outcome.text);
        }
        if !result.outcome.text.ends_with('\n') {
            println!();
        }
        for f in &result.outcome.fallbacks {
            ui.note(&format!("{} failed ({}), fell back", f.model, f.error));
        }
        if !ui.quiet {
            eprintln!(
                "{}",
                ui.paint(
                    crate::ui::Style::Dim,
                    &format!(
                        "— {}{} ({}) · {} ms · {}→{} tokens · ${:.4} · continuation_id {}",
                        result.outcome.model,
                        result.outcome.served_by.as_deref().map(|s| format!(" → {s}")).unwrap_or_default(),
                        result.role,
                        result.outcome.latency_ms,
                        result.outcome.tokens_in,
                        result.outcome.tokens_out,
                        result.outcome.cost,
                        result.continuation_id
                    )
                )
            );
        }
    }
    Ok(Exit::Ok)
}

pub struct ConsensusOpts {
    pub priority: Priority,
    pub models: Vec<String>,
    pub role: Option<Role>,
    pub local: bool,
    pub no_synthesis: bool,
    pub continuation_id: Option<String>,
}

pub fn consensus(ui: &Ui, paths: &Paths, question: &[String], o: ConsensusOpts) -> anyhow::Result<Exit> {
    let rt = open(paths)?;
    let question = join(question, "question")?;
    let quiet = ui.quiet;
    let progress: consensus::OnProgress = Arc::new(move |p| {
        if !quiet {
            eprintln!("[{}/{}] {}", p.done, p.total, p.message);
        }
    });
    let report = block_on(async {
        let cancel = Cancel::default();
        on_signals(&cancel);
        let args = consensus::Args {
            question: &question,
            priority: o.priority,
            models: o.models,
            role: o.role.unwrap_or(Role::Review),
            local: o.local,
            synthesize: !o.no_synthesis && rt.cfg.runtime.consensus.synthesize,
            continuation_id: o.continuation_id.as_deref(),
            tool: "consensus",
        };
        consensus::run(&rt, args, Some(progress), &cancel).await
    })?;
    if ui.json {
        ui.json(&serde_json::to_value(&report)?);
    } else {
        ui.data(consensus::render(&report).trim_end());
    }
    Ok(Exit::Ok)
}

pub fn stats(ui: &Ui, paths: &Paths, days: Option<u32>) -> anyhow::Result<Exit> {
    let rt = open(paths)?;
    let now = crate::ui::now_unix();
    let since = days.map_or(0, |d| now - i64::from(d) * 86_400);
    let s = stats::compute(&rt, since, now)?;
    if ui.json {
        ui.json(&serde_json::to_value(&s)?);
    } else {
        ui.data(stats::render(&s).trim_end());
    }
    Ok(Exit::Ok)
}

pub fn pipeline(
    ui: &Ui,
    paths: &Paths,
    kind: pipeline::Kind,
    task: &[String],
    out: Option<PathBuf>,
    local: bool,
) -> anyhow::Result<Exit> {
    let rt = open(paths)?;
    let task = join(task, "task")?;
    let quiet = ui.quiet;
    let on_stage = move |s: &str| {
        if !quiet {
            eprintln!("{s}");
        }
    };
    let outcome = block_on(async {
        let cancel = Cancel::default();
        on_signals(&cancel);
        pipeline::run(&rt, kind, &task, local, &on_stage, &cancel).await
    })?;
    let mode = if rt.local_only(local) { "local" } else { "cloud" };
    let md = pipeline::report_markdown(&outcome, mode);
    if let Some(path) = &out {
        let path = crate::paths::absolute(path);
        crate::apply::fsutil::write_atomic(&path, md.as_bytes(), 0o644)?;
        ui.note(&format!("report written to {}", path.display()));
    }
    if ui.json {
        ui.json(&serde_json::to_value(&outcome)?);
    } else if out.is_none() {
        ui.data(md.trim_end());
    }
    if let Some(st) = outcome.stages.iter().find(|s| s.error.is_some()) {
        // The report is on stdout (or in a file): say on stderr which stage stopped the run.
        ui.warn(&format!(
            "pipeline {} stopped at stage {} ({}): {}",
            outcome.kind.name(),
            st.name,
            st.role,
            st.error.as_deref().unwrap_or_default()
        ));
    }
    Ok(if outcome.ok { Exit::Ok } else { Exit::Failed })
}

pub struct GoOpts {
    pub local: bool,
    pub agent: Option<crate::runtime::go::Agent>,
    pub dry_run: bool,
    pub out: Option<PathBuf>,
}

/// `aiorch go`: preflight, services, then the agent (or the builtin pipeline).
pub fn go(ui: &Ui, paths: &Paths, task: &[String], o: GoOpts) -> anyhow::Result<Exit> {
    use crate::runtime::go;
    let task = join(task, "task")?;
    let loaded = super::Loaded::load(paths)?;
    let rt = Runtime::open(loaded.config.clone(), paths.clone())?;
    let local = rt.local_only(o.local);
    let (agent, why) = go::pick_agent(&rt, o.agent, local)?;
    let quiet = ui.quiet;
    let say = |m: &str| {
        if !quiet {
            eprintln!("{m}");
        }
    };
    say(&format!("aiorch go: mode {}, agent {} ({why})", if local { "local" } else { "cloud" }, agent.name()));
    // Probe what the run will use (local server, gateway) before promising any model.
    let reach = block_on(go::probe_endpoints(&rt, local));
    let checks = go::preflight(&rt, agent, local, &reach, loaded.declared(paths));
    // Preflight goes to stderr: stdout belongs to the agent (or --json).
    use crate::check::Status;
    for c in &checks {
        let mark = match c.status {
            Status::Ok => ui.ok_mark(),
            Status::Warn => ui.warn_mark(),
            Status::Fail => ui.fail_mark(),
        };
        if c.status != Status::Ok || !quiet {
            eprintln!(
                "  {mark} {}: {}{}",
                c.name,
                c.detail,
                c.fix.as_deref().filter(|_| c.status != Status::Ok).map(|f| format!(" — {f}")).unwrap_or_default()
            );
        }
    }
    if checks.iter().any(|c| c.status == Status::Fail) {
        let failed: Vec<String> = checks.iter().filter(|c| c.status == Status::Fail).map(|c| c.name.clone()).collect();
        return Err(CliError::failed(format!("preflight failed ({}); nothing was started", failed.join(", ")))
            .hint("fix the checks marked above, or run `aiorch doctor`")
            .into());
    }
    if let Some((name, url)) = go::needed_service(&rt, local) {
        let up = block_on(go::probe(&url));
        if up {
            say(&format!("service {name}: up ({url})"));
        } else if o.dry_run {
            say(&format!("service {name}: down ({url}); would run `aiorch services up {name}`"));
        } else {
            say(&format!("service {name}: down ({url}); starting it"));
            go::start_service(paths, name).map_err(|e| {
                CliError::failed(format!("cannot start the {name} service"))
                    .caused_by(e)
                    .hint(format!("start it yourself, or check `aiorch services status {name}`"))
            })?;
            if !block_on(go::probe(&url)) {
                return Err(CliError::failed(format!("{name} did not answer at {url} after starting"))
                    .hint(format!("`aiorch services logs {name}`"))
                    .into());
            }
        }
    }
    if agent == go::Agent::Builtin {
        if o.dry_run {
            say(&format!("would run the builtin feature pipeline on: {}", router::one_line(&task, 80)));
            return Ok(Exit::Ok);
        }
        drop(rt);
        return pipeline(ui, paths, pipeline::Kind::Feature, &[task], o.out, local);
    }
    let template = loaded.tree.workflow("orchestrator-prompt").ok_or_else(|| {
        CliError::failed("agentsmd/workflows/orchestrator-prompt.md is missing from the agentsmd tree")
    })?;
    let prompt = go::prompt(&template, &task, local);
    let mut launch = go::launch(&rt, agent, &prompt, local)?;
    if agent == go::Agent::Copilot
        && loaded.config.enable
        && loaded.config.policy.enable
        && loaded.config.policy.clients.copilot
    {
        // Copilot takes tool rules only as flags: the run gets the policy's.
        let policy = crate::policy::load(&loaded.config.policy, &loaded.tree)?;
        launch.args.extend(crate::clients::copilot::tool_flags(paths, &policy));
    }
    if o.dry_run || ui.json {
        let shown: Vec<String> = launch
            .args
            .iter()
            .map(|a| if *a == prompt { format!("<orchestrator prompt, {} bytes>", prompt.len()) } else { a.clone() })
            .collect();
        if ui.json {
            ui.json(&serde_json::json!({
                "agent": agent, "program": launch.program, "args": shown, "env": launch.env, "files": launch.files,
                "dry_run": o.dry_run,
            }));
        } else {
            ui.data(&format!("{} {}", launch.program.display(), shown.join(" ")));
            for (k, v) in &launch.env {
                ui.data(&format!("  {k}={v}"));
            }
        }
        if o.dry_run {
            return Ok(Exit::Ok);
        }
    }
    if local && agent == go::Agent::Opencode {
        match go::local_coding_model(&rt) {
            Some(m) => say(&format!(
                "OpenCode runs on the local model {} ({}): a small model may answer without calling tools — if \
                 nothing changes, use a larger local model (runtime.local.model) or cloud mode",
                m.upstream, m.base_url
            )),
            None => ui.warn("no keyless local model for coding: OpenCode runs on the model its own config names"),
        }
    }
    drop(rt);
    say(&format!("handing the task to {} (headless)…", agent.name()));
    let cwd = std::env::current_dir()?;
    let before = go::worktree_state(&cwd);
    let started = std::time::Instant::now();
    let status = crate::runtime::go::run_agent(&launch, &cwd)?;
    // The run joins the ledger like a clink call (`agent:NAME`, tool `go`), so `aiorch stats`
    // counts it; the agent's own model calls are its CLI's business.
    let rt = Runtime::open(loaded.config.clone(), paths.clone())?;
    rt.ledger.record(
        crate::ui::now_unix(),
        &crate::runtime::ledger::CallRecord {
            model: format!("agent:{}", agent.name()),
            role: Role::Coding,
            tool: "go".into(),
            ok: status.success(),
            error_kind: (!status.success()).then(|| "agent_failed".to_string()),
            latency_ms: started.elapsed().as_millis() as u64,
            tokens_in: 0,
            tokens_out: 0,
            cost: 0.0,
            baseline_cost: 0.0,
            thread_id: None,
            over_ceiling: false,
        },
    )?;
    if local
        && status.success()
        && let Some(before) = before
        && go::worktree_state(&cwd).as_ref() == Some(&before)
    {
        // A local model that cannot follow tool calls answers in prose and edits nothing.
        ui.warn(&format!(
            "{} finished without changing a file in {}: the local model may be too small to follow tool calls \
             (try a larger runtime.local.model, or run without --local)",
            agent.name(),
            cwd.display()
        ));
    }
    if status.success() {
        Ok(Exit::Ok)
    } else {
        Err(CliError::failed(format!("{} exited with {status}", agent.name())).into())
    }
}
