//! `aiorch services up|down|status|logs` and `aiorch service run`: start what is enabled in
//! the background with its secrets in its environment, wait for health (bounded, with a
//! progress bar), prove that the process we started owns its port, and stop only what we
//! started.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::config::Config;
use crate::config::services::LocalKind;
use crate::error::{CliError, Exit};
use crate::paths::Paths;
use crate::services::health::{self, Outcome, Probe};
use crate::services::process::{self, Owner, PidRecord, Stopped};
use crate::services::{Layout, Service, litellm, local_model, open_webui, redis, render};
use crate::ui::Ui;

/// How long a stopped service gets between SIGTERM and SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(15);

pub struct Ctx<'a> {
    pub ui: &'a Ui,
    pub paths: &'a Paths,
    pub cfg: &'a Config,
    pub layout: Layout,
}

impl<'a> Ctx<'a> {
    pub fn new(ui: &'a Ui, paths: &'a Paths, cfg: &'a Config) -> Ctx<'a> {
        Ctx { ui, paths, cfg, layout: Layout::new(paths) }
    }
}

/// A secret a service needs in its environment.
struct SecretVar {
    var: String,
    secret: String,
    /// Missing: refuse to start (a master key). Otherwise: warn (a provider key; the alias
    /// fails over to the local model).
    required: bool,
}

/// Everything needed to start one service.
pub struct Spec {
    pub svc: Service,
    pub argv: Vec<String>,
    pub env: Vec<(String, String)>,
    secret_env: Vec<SecretVar>,
    pub cwd: PathBuf,
    pub log: PathBuf,
    pub probes: Vec<Probe>,
    pub host: String,
    pub port: Option<u16>,
    /// Identifies the configuration (not the secrets) the service runs with.
    pub hash: String,
}

pub fn probes(cfg: &Config, svc: Service) -> Vec<Probe> {
    match svc {
        Service::Redis => redis::probes(cfg),
        Service::LocalModel => local_model::probes(cfg),
        Service::Litellm => vec![Probe::new(format!("{}/health/liveliness", litellm::base_url(cfg)), Some("alive"))],
        Service::OpenWebui => open_webui::probes(cfg),
    }
}

pub fn port(cfg: &Config, svc: Service) -> Option<u16> {
    match svc {
        Service::Redis => Some(cfg.services.redis.port),
        Service::LocalModel => local_model::port(cfg),
        Service::Litellm => Some(cfg.services.litellm.port),
        Service::OpenWebui => Some(cfg.services.open_webui.port),
    }
}

fn host(cfg: &Config, svc: Service) -> String {
    let s = &cfg.services;
    match svc {
        Service::LocalModel if s.local_model.kind == LocalKind::Ollama => {
            let rest = cfg.ollama_host.split_once("://").map_or(cfg.ollama_host.as_str(), |(_, r)| r);
            let authority = rest.split('/').next().unwrap_or("");
            authority.rsplit_once(':').map_or(authority, |(h, _)| h).to_string()
        }
        Service::Redis => s.redis.host.clone(),
        Service::LocalModel => s.local_model.host.clone(),
        Service::Litellm => s.litellm.host.clone(),
        Service::OpenWebui => s.open_webui.host.clone(),
    }
}

pub fn spec(ctx: &Ctx, svc: Service) -> anyhow::Result<Spec> {
    let cfg = ctx.cfg;
    let mut secret_env = vec![];
    let mut file_text = String::new();
    let (argv, env) = match svc {
        Service::Redis => {
            if let Some(name) = redis::password_secret(cfg) {
                // Fed on stdin at start (see `stdin_config`), not left in the environment.
                secret_env.push(SecretVar { var: name.clone(), secret: name, required: true });
            }
            file_text = redis::config_text(cfg, &ctx.layout.data_dir(&cfg.services, svc), None).to_string();
            (redis::argv(cfg), vec![])
        }
        Service::LocalModel => (local_model::argv(cfg, ctx.paths)?, local_model::env(cfg)),
        Service::Litellm => {
            let gw = litellm::plan(cfg)?.price(cfg, &crate::modelmap::ModelMap::load(&ctx.paths.state_dir));
            for name in gw.secret_names() {
                // Without its Redis password the gateway would silently keep budgets in memory only.
                let redis_pw = gw.redis.as_ref().and_then(|r| r.password_secret.as_ref()) == Some(&name);
                let required = gw.master_key_secret.as_ref() == Some(&name) || redis_pw;
                secret_env.push(SecretVar { var: name.clone(), secret: name, required });
            }
            file_text = render::litellm_yaml(&gw, false);
            (litellm::argv(cfg, &ctx.layout.litellm_config()), litellm::env())
        }
        Service::OpenWebui => {
            for (var, secret) in open_webui::secret_env(cfg) {
                secret_env.push(SecretVar { var, secret, required: true });
            }
            (open_webui::argv(cfg), open_webui::env(cfg, &ctx.layout, None, &open_webui::gateway(cfg)))
        }
    };
    let mut h = argv.join("\0");
    for (k, v) in &env {
        h.push_str(&format!("\n{k}={v}"));
    }
    for s in &secret_env {
        h.push_str(&format!("\n{}<-{}", s.var, s.secret));
    }
    h.push('\n');
    h.push_str(&file_text);
    Ok(Spec {
        svc,
        argv,
        env,
        secret_env,
        cwd: ctx.layout.data_dir(&cfg.services, svc),
        log: ctx.layout.log_file(&cfg.services, svc),
        probes: probes(cfg, svc),
        host: host(cfg, svc),
        port: port(cfg, svc),
        hash: crate::apply::fsutil::sha256_hex(h.as_bytes())[..16].to_string(),
    })
}

/// Resolve a spec's secrets one by one: a missing optional one is reported, not fatal.
/// Resolved (variable, value) pairs, and the optional secrets that did not resolve.
type Resolved = (Vec<(String, Zeroizing<String>)>, Vec<String>);

fn resolve_secrets(ctx: &Ctx, spec: &Spec) -> anyhow::Result<Resolved> {
    let mut out = vec![];
    let mut missing = vec![];
    for s in &spec.secret_env {
        match crate::secrets::resolve(&ctx.cfg.secrets, ctx.paths, std::slice::from_ref(&s.secret)) {
            Ok(mut v) if !v.is_empty() => out.push((s.var.clone(), v.remove(0).1)),
            Ok(_) => missing.push(s.secret.clone()),
            Err(e) if s.required => {
                let without = match spec.svc {
                    Service::Redis => "or set services.redis.password_secret = \"\" to run Redis without a password",
                    _ => "or set services.litellm.master_key_secret = \"\" to run the gateway without a key",
                };
                return Err(CliError::failed(format!("{}: the secret {} does not resolve: {e:#}", spec.svc, s.secret))
                    .hint(format!("store it with `aiorch secrets set {}`", s.secret))
                    .hint(without)
                    .into());
            }
            Err(_) => missing.push(s.secret.clone()),
        }
    }
    if spec.svc == Service::OpenWebui {
        out.push(("WEBUI_SECRET_KEY".into(), open_webui::secret_key(&spec.cwd)?));
    }
    Ok((out, missing))
}

/// What a service reads on stdin: Redis' config with the password, which is then taken out of
/// the environment (so it is not in /proc/PID/environ either).
fn stdin_config(ctx: &Ctx, spec: &Spec, secrets: &mut Vec<(String, Zeroizing<String>)>) -> Option<Zeroizing<String>> {
    if spec.svc != Service::Redis {
        return None;
    }
    let name = redis::password_secret(ctx.cfg);
    let pw = name.and_then(|n| secrets.iter().position(|(k, _)| *k == n)).map(|i| secrets.remove(i).1);
    Some(redis::config_text(ctx.cfg, &spec.cwd, pw.as_deref().map(|p| p.as_str())))
}

fn check_command(cfg_key: &str, argv: &[String]) -> anyhow::Result<()> {
    let prog = argv.first().ok_or_else(|| CliError::bad_input(format!("services.{cfg_key}.command is empty")))?;
    if which::which(prog).is_err() {
        return Err(CliError::failed(format!("{cfg_key}: command `{prog}` not found"))
            .hint(format!("install it, or set services.{cfg_key}.command to its full path (a venv's bin/ works)"))
            .into());
    }
    Ok(())
}

/// `aiorch services render`
pub fn render(ctx: &Ctx) -> anyhow::Result<Exit> {
    let files = render::files(ctx.cfg, ctx.paths)?;
    for (f, changed) in render::write(&files)? {
        let mark = if changed { "wrote" } else { "unchanged" };
        ctx.ui.out(&format!("{mark:>9} {} ({})", ctx.paths.display(&f.path), f.what));
    }
    if ctx.ui.json {
        let v: Vec<_> = files.iter().map(|f| serde_json::json!({"path": f.path, "what": f.what})).collect();
        ctx.ui.json(&v.into());
    }
    Ok(Exit::Ok)
}

/// The LiteLLM the gateway runs prices with its own map: when that one is newer than aiorch's,
/// import it, so the runtime and the rendered config price with the same (newer) numbers.
fn adopt_litellm_map(ctx: &Ctx) {
    let Some(cmd) = ctx.cfg.services.litellm.command.first() else { return };
    let Ok(exe) = which::which(crate::paths::expand_tilde(cmd, &ctx.paths.home)) else { return };
    match crate::modelmap::adopt_install(&ctx.paths.state_dir, &exe) {
        Ok(Some(m)) => ctx.ui.note(&format!("model map: now the {} (from the gateway's LiteLLM)", m.label())),
        Ok(None) => {}
        Err(e) => tracing::warn!("cannot import the gateway's model map: {e:#}"),
    }
}

fn targets(cfg: &Config, only: &[Service]) -> Vec<Service> {
    Service::ALL
        .into_iter()
        .filter(|s| if only.is_empty() { s.enabled(&cfg.services) } else { only.contains(s) })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Started {
    Now,
    AlreadyRunning,
    /// Something else serves it (an Ollama the user runs): used, not managed.
    External,
}

/// `aiorch services up [NAME…]`: render, then start each in dependency order.
pub fn up(ctx: &Ctx, only: &[Service]) -> anyhow::Result<Exit> {
    let list = targets(ctx.cfg, only);
    if list.is_empty() {
        ctx.ui
            .note("no service is enabled: set services.<name>.enable = true (redis, litellm, local_model, open_webui)");
        return Ok(Exit::Ok);
    }
    if list.contains(&Service::Litellm) {
        adopt_litellm_map(ctx);
    }
    render::write(&render::files(ctx.cfg, ctx.paths)?)?;
    for svc in list {
        start(ctx, svc)?;
    }
    Ok(Exit::Ok)
}

/// Start one service in the background unless it already runs; waits until it is healthy.
pub fn start(ctx: &Ctx, svc: Service) -> anyhow::Result<Started> {
    let spec = spec(ctx, svc)?;
    let pid_file = ctx.layout.pid_file(svc);
    if let Some(rec) = PidRecord::read(&pid_file)? {
        if rec.alive() {
            ctx.ui.out(&format!("{svc}: already running (pid {})", rec.pid));
            if rec.config_hash != spec.hash {
                ctx.ui.note(&format!(
                    "{svc} runs with an older configuration: `aiorch services down {svc}` then `up` to apply it"
                ));
            }
            return Ok(Started::AlreadyRunning);
        }
        fs_err::remove_file(&pid_file)?;
    }
    if let Some(port) = spec.port
        && !process::port_free(&spec.host, port)
    {
        if svc == Service::LocalModel && ctx.cfg.services.local_model.kind == LocalKind::Ollama {
            let o = health::check_all(&spec.probes, Duration::from_secs(3));
            if o.iter().all(|o| o.ok) {
                ctx.ui.out(&format!(
                    "{svc}: Ollama already answers at {} (not started by aiorch): using it",
                    ctx.cfg.ollama_host
                ));
                return Ok(Started::External);
            }
        }
        let who = match process::port_owner(port, 0) {
            Owner::Other(p) if !p.is_empty() => p.iter().map(|p| process::describe(*p)).collect::<Vec<_>>().join(", "),
            _ => "another process".into(),
        };
        return Err(CliError::failed(format!("{svc}: port {port} on {} is already in use by {who}", spec.host))
            .hint(format!(
                "stop that process, or choose another port: aiorch config set services.{}.port PORT",
                svc.key()
            ))
            .into());
    }
    check_command(svc.key(), &spec.argv)?;
    let (mut secrets, missing) = resolve_secrets(ctx, &spec)?;
    for m in missing {
        ctx.ui.note(&format!(
            "{svc}: secret {m} does not resolve: the aliases using it will fail (and fall back, where configured)"
        ));
    }
    let input = stdin_config(ctx, &spec, &mut secrets);
    let mut child =
        process::spawn(&spec.argv, &spec.env, &secrets, input.as_ref().map(|t| t.as_bytes()), &spec.cwd, &spec.log)
            .map_err(|e| CliError::failed(format!("{svc}: cannot start `{}`: {e}", spec.argv[0])))?;
    drop(secrets);
    let pid = child.id() as i32;
    let rec = PidRecord {
        service: svc.key().into(),
        pid,
        start_time: process::start_time(pid).unwrap_or_default(),
        port: spec.port,
        argv: spec.argv.clone(),
        log: spec.log.clone(),
        started_at: crate::ui::now_unix(),
        config_hash: spec.hash.clone(),
    };
    rec.write(&pid_file)?;
    match wait_healthy(ctx, &mut child, &spec, svc.start_timeout(&ctx.cfg.services)) {
        Ok(took) => {
            ctx.ui.out(&format!("{svc}: healthy after {:.1}s (pid {pid}, {})", took.as_secs_f64(), spec.probes[0].url));
            Ok(Started::Now)
        }
        Err(e) => {
            process::stop(&rec, STOP_GRACE);
            let _ = child.wait();
            let _ = fs_err::remove_file(&pid_file);
            eprintln!("--- last lines of {}", spec.log.display());
            eprintln!("{}", tail(&spec.log, 15));
            Err(e)
        }
    }
}

fn progress(ui: &Ui, svc: Service, timeout: Duration) -> ProgressBar {
    if ui.quiet || ui.json || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(timeout.as_secs().max(1));
    pb.set_style(
        ProgressStyle::with_template("{spinner} {prefix:<11} [{bar:24}] {pos:>3}/{len}s {wide_msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    pb.set_prefix(svc.key());
    pb.enable_steady_tick(Duration::from_millis(120));
    pb
}

/// Poll the first probe until it answers as expected, the process dies, or time runs out; then
/// check that the answering socket belongs to the process we started.
fn wait_healthy(
    ctx: &Ctx,
    child: &mut std::process::Child,
    spec: &Spec,
    timeout: Duration,
) -> anyhow::Result<Duration> {
    let svc = spec.svc;
    let pb = progress(ctx.ui, svc, timeout);
    let client = health::client(Duration::from_secs(2));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let t0 = Instant::now();
    let pid = child.id() as i32;
    let result = loop {
        if let Some(status) = child.try_wait()? {
            let mut e = CliError::failed(format!("{svc} (pid {pid}) exited ({status}) before it became healthy"))
                .hint(format!("its log: aiorch services logs {svc}"));
            if std::os::unix::process::ExitStatusExt::signal(&status) == Some(nix::libc::SIGILL) {
                // Seen with llama.cpp built -march=native on a VM that advertises AMX.
                e = e.hint(
                    "SIGILL: the binary uses CPU instructions this machine cannot run; rebuild it for a portable \
                     target (llama.cpp: -DGGML_NATIVE=OFF)",
                );
            }
            break Err(e);
        }
        let o = rt.block_on(health::check(&client, &spec.probes[0], None));
        if o.ok {
            match spec.port.map(|p| (p, process::port_owner(p, pid))) {
                Some((port, Owner::Other(p))) => {
                    let who = if p.is_empty() {
                        "another process".into()
                    } else {
                        p.iter().map(|p| process::describe(*p)).collect::<Vec<_>>().join(", ")
                    };
                    break Err(CliError::failed(format!(
                        "{svc}: {} answers, but port {port} is owned by {who}, not by the started pid {pid}",
                        spec.probes[0].url
                    ))
                    .hint(format!("choose a free port: aiorch config set services.{}.port PORT", svc.key())));
                }
                Some((port, Owner::NotListening)) => {
                    tracing::warn!(
                        "{svc}: answers but no listening socket for port {port} is visible; cannot verify its owner"
                    );
                }
                _ => {}
            }
            break Ok(t0.elapsed());
        }
        if t0.elapsed() >= timeout {
            break Err(CliError::failed(format!(
                "{svc} (pid {pid}) not healthy within {}s at {} (last: {})",
                timeout.as_secs(),
                spec.probes[0].url,
                o.detail
            ))
            .hint(format!(
                "its log: aiorch services logs {svc}; a slow machine may need services.{}.start_timeout_secs",
                svc.key()
            )));
        }
        pb.set_position(t0.elapsed().as_secs());
        pb.set_message(o.detail);
        std::thread::sleep(Duration::from_millis(250));
    };
    pb.finish_and_clear();
    result.map_err(Into::into)
}

/// `aiorch services down [NAME…]`: stop (in reverse order) what aiorch started.
pub fn down(ctx: &Ctx, only: &[Service]) -> anyhow::Result<Exit> {
    let list: Vec<Service> = Service::ALL.into_iter().rev().filter(|s| only.is_empty() || only.contains(s)).collect();
    let mut any = false;
    for svc in list {
        let pid_file = ctx.layout.pid_file(svc);
        let Some(rec) = PidRecord::read(&pid_file)? else {
            if !only.is_empty() {
                ctx.ui.out(&format!("{svc}: not started by aiorch"));
            }
            continue;
        };
        any = true;
        let what = match process::stop(&rec, STOP_GRACE) {
            Stopped::NotRunning => "was not running".to_string(),
            Stopped::Reused => format!("pid {} now belongs to another process: left alone", rec.pid),
            Stopped::Terminated => format!("stopped (pid {})", rec.pid),
            Stopped::Killed => format!("killed after {}s (pid {})", STOP_GRACE.as_secs(), rec.pid),
        };
        fs_err::remove_file(&pid_file)?;
        ctx.ui.out(&format!("{svc}: {what}"));
    }
    if !any && only.is_empty() {
        ctx.ui.out("nothing started by aiorch is running");
    }
    let _ = fs_err::remove_file(ctx.layout.arena_marker());
    Ok(Exit::Ok)
}

#[derive(Debug, Serialize)]
pub struct Status {
    pub service: Service,
    pub enabled: bool,
    /// healthy | unhealthy | stopped
    pub state: &'static str,
    /// The PID aiorch started (alive), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<i32>,
    /// aiorch | external | none
    pub managed: &'static str,
    /// Started with a configuration that is no longer current.
    pub outdated: bool,
    pub checks: Vec<Outcome>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// Probe every service of interest at once (all probes in parallel).
pub fn statuses(ctx: &Ctx, only: &[Service]) -> anyhow::Result<Vec<Status>> {
    let mut list = vec![];
    for svc in Service::ALL {
        let rec = PidRecord::read(&ctx.layout.pid_file(svc))?.filter(PidRecord::alive);
        if only.contains(&svc) || (only.is_empty() && (svc.enabled(&ctx.cfg.services) || rec.is_some())) {
            list.push((svc, rec));
        }
    }
    let all: Vec<(usize, Probe)> = list
        .iter()
        .enumerate()
        .flat_map(|(i, (svc, _))| probes(ctx.cfg, *svc).into_iter().map(move |p| (i, p)))
        .collect();
    let probes: Vec<Probe> = all.iter().map(|(_, p)| p.clone()).collect();
    let outcomes = health::check_all(&probes, Duration::from_secs(3));
    let mut out = vec![];
    for (i, (svc, rec)) in list.into_iter().enumerate() {
        let checks: Vec<Outcome> =
            all.iter().zip(&outcomes).filter(|((j, _), _)| *j == i).map(|(_, o)| o.clone()).collect();
        let healthy = checks.iter().all(|c| c.ok);
        let answers = checks.iter().any(|c| c.status.is_some());
        let mut problem = None;
        let mut managed = if rec.is_some() {
            "aiorch"
        } else if answers {
            "external"
        } else {
            "none"
        };
        if let (Some(r), Some(port)) = (&rec, port(ctx.cfg, svc))
            && let Owner::Other(p) = process::port_owner(port, r.pid)
        {
            managed = "external";
            problem = Some(format!(
                "port {port} is owned by {}, not by aiorch's pid {}",
                p.iter().map(|p| process::describe(*p)).collect::<Vec<_>>().join(", "),
                r.pid
            ));
        }
        let outdated = match (&rec, spec(ctx, svc)) {
            (Some(r), Ok(s)) => r.config_hash != s.hash,
            _ => false,
        };
        let state = if healthy && problem.is_none() {
            "healthy"
        } else if rec.is_some() || answers {
            "unhealthy"
        } else {
            "stopped"
        };
        if problem.is_none() && !healthy {
            problem = checks.iter().find(|c| !c.ok).map(|c| format!("{}: {}", c.url, c.detail));
        }
        out.push(Status {
            service: svc,
            enabled: svc.enabled(&ctx.cfg.services),
            state,
            pid: rec.map(|r| r.pid),
            managed,
            outdated,
            checks,
            problem,
        });
    }
    Ok(out)
}

/// `aiorch services status [NAME…]`: exit 1 when an enabled (or named) service is not healthy.
pub fn status(ctx: &Ctx, only: &[Service]) -> anyhow::Result<Exit> {
    let rows = statuses(ctx, only)?;
    let mut bad = rows.iter().any(|r| (r.enabled || !only.is_empty()) && r.state != "healthy");
    // A shared gateway runs elsewhere: this workstation checks it answers and takes our key.
    let shared =
        (ctx.cfg.gateway.url.is_some() && only.is_empty()).then(|| crate::services::gateway::check(ctx.cfg, ctx.paths));
    bad |= shared.as_ref().is_some_and(|h| !h.ok);
    if ctx.ui.json {
        let mut v = serde_json::to_value(&rows)?;
        if let (Some(h), Some(a)) = (&shared, v.as_array_mut()) {
            a.push(serde_json::json!({
                "service": "gateway", "enabled": true, "state": if h.ok { "healthy" } else { "unhealthy" },
                "managed": "external", "url": h.url, "detail": h.detail,
            }));
        }
        ctx.ui.json(&v);
        return Ok(if bad { Exit::Failed } else { Exit::Ok });
    }
    if let Some(h) = &shared {
        let mark = if h.ok { ctx.ui.ok_mark() } else { ctx.ui.fail_mark() };
        let state = if h.ok { "healthy" } else { "unhealthy" };
        ctx.ui.data(&format!("{mark} {:<11} {state:<9} {:<10} {} ({})", "gateway", "shared", h.url, h.detail));
    }
    if rows.is_empty() && shared.is_none() {
        ctx.ui.data("no service is enabled or running (services.<name>.enable = true)");
    }
    for r in &rows {
        let mark = match r.state {
            "healthy" => ctx.ui.ok_mark(),
            "stopped" if !r.enabled => ctx.ui.paint(crate::ui::Style::Dim, "-"),
            _ => ctx.ui.fail_mark(),
        };
        let who = match (r.managed, r.pid) {
            ("aiorch", Some(p)) => format!("pid {p}"),
            (m, _) => m.to_string(),
        };
        let url = r.checks.first().map_or("", |c| c.url.as_str());
        let ms = r.checks.iter().map(|c| c.ms).max().unwrap_or(0);
        ctx.ui.data(&format!("{mark} {:<11} {:<9} {:<10} {url} ({ms} ms)", r.service.key(), r.state, who));
        if let Some(p) = &r.problem {
            ctx.ui.data(&format!("    {p}"));
        }
        if r.outdated {
            ctx.ui.data(&format!(
                "    runs with an older configuration: `aiorch services down {0}` then `up {0}`",
                r.service.key()
            ));
        }
    }
    Ok(if bad { Exit::Failed } else { Exit::Ok })
}

/// The last `n` lines of a file (whole lines, no secret filtering needed: services never get
/// secrets on argv, and aiorch writes none to their logs).
pub fn tail(path: &std::path::Path, n: usize) -> String {
    let text = fs_err::read(path).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// `aiorch services logs [NAME] [-n N] [-f]`
pub fn logs(ctx: &Ctx, only: Option<Service>, lines: usize, follow: bool) -> anyhow::Result<Exit> {
    let list: Vec<Service> = match only {
        Some(s) => vec![s],
        None => Service::ALL.into_iter().filter(|s| ctx.layout.log_file(&ctx.cfg.services, *s).exists()).collect(),
    };
    if follow && list.len() != 1 {
        return Err(CliError::bad_input("--follow needs one service").hint("aiorch services logs litellm -f").into());
    }
    if list.is_empty() {
        ctx.ui.note(&format!("no logs yet in {}", ctx.paths.display(&ctx.layout.root.join("logs"))));
    }
    for svc in &list {
        let path = ctx.layout.log_file(&ctx.cfg.services, *svc);
        if !path.exists() {
            return Err(CliError::failed(format!("{svc}: no log at {}", path.display()))
                .hint(format!("start it: aiorch services up {svc}"))
                .into());
        }
        if only.is_none() {
            ctx.ui.data(&format!("==> {} <==", path.display()));
        }
        ctx.ui.data(&tail(&path, lines));
    }
    if follow {
        let path = ctx.layout.log_file(&ctx.cfg.services, list[0]);
        let mut pos = fs_err::metadata(&path)?.len();
        loop {
            std::thread::sleep(Duration::from_millis(300));
            let len = fs_err::metadata(&path)?.len();
            if len < pos {
                pos = 0;
            }
            if len > pos {
                use std::io::{Read, Seek, SeekFrom};
                let mut f = fs_err::File::open(&path)?;
                f.seek(SeekFrom::Start(pos))?;
                let mut buf = vec![];
                f.read_to_end(&mut buf)?;
                use std::io::Write;
                std::io::stdout().write_all(&buf)?;
                std::io::stdout().flush()?;
                pos = len;
            }
        }
    }
    Ok(Exit::Ok)
}

/// `aiorch service run NAME`: the service in the foreground (what launchd/systemd run). aiorch
/// renders, resolves the secrets, then replaces itself with the server.
pub fn run_foreground(ctx: &Ctx, svc: Service) -> anyhow::Result<Exit> {
    render::write(&render::files(ctx.cfg, ctx.paths)?)?;
    let spec = spec(ctx, svc)?;
    if let Some(port) = spec.port
        && !process::port_free(&spec.host, port)
    {
        return Err(CliError::failed(format!("{svc}: port {port} on {} is already in use", spec.host))
            .hint("`aiorch services status` shows what answers there")
            .into());
    }
    check_command(svc.key(), &spec.argv)?;
    let (mut secrets, missing) = resolve_secrets(ctx, &spec)?;
    for m in missing {
        ctx.ui.note(&format!("{svc}: secret {m} does not resolve"));
    }
    let input = stdin_config(ctx, &spec, &mut secrets);
    let err = process::exec(&spec.argv, &spec.env, &secrets, input.as_ref().map(|t| t.as_bytes()), &spec.cwd);
    Err(CliError::failed(format!("{svc}: cannot run `{}`: {err}", spec.argv[0])).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A foreign server answering every request with 200 "alive" (the docs saw one on a port
    /// that llama-server then failed to bind).
    fn foreign_server() -> u16 {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for mut s in l.incoming().flatten() {
                use std::io::{Read, Write};
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf);
                let _ =
                    s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 12\r\nconnection: close\r\n\r\nI'm alive!\r\n");
            }
        });
        port
    }

    #[test]
    fn a_healthy_answer_from_someone_elses_socket_is_refused() {
        let port = foreign_server();
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths {
            home: dir.path().into(),
            state_dir: dir.path().join("s"),
            config_file: dir.path().join("c.toml"),
            config_explicit: false,
        };
        let cfg = Config::default();
        let ui = Ui::new(crate::ui::ColorChoice::Never, true, false);
        let ctx = Ctx::new(&ui, &paths, &cfg);
        // "Our" service never listens; the foreign one answers on the port it was meant to own.
        let argv: Vec<String> = ["sleep", "30"].map(String::from).to_vec();
        let mut child = process::spawn(&argv, &[], &[], None, dir.path(), &dir.path().join("log")).unwrap();
        let spec = Spec {
            svc: Service::Litellm,
            argv,
            env: vec![],
            secret_env: vec![],
            cwd: dir.path().into(),
            log: dir.path().join("log"),
            probes: vec![Probe::new(format!("http://127.0.0.1:{port}/health/liveliness"), Some("alive"))],
            host: "127.0.0.1".into(),
            port: Some(port),
            hash: String::new(),
        };
        let err = wait_healthy(&ctx, &mut child, &spec, Duration::from_secs(10)).unwrap_err();
        let _ = child.kill();
        let _ = child.wait();
        let msg = err.downcast_ref::<CliError>().unwrap().message.clone();
        assert!(msg.contains(&format!("port {port} is owned by")) && msg.contains("not by the started pid"), "{msg}");
    }

    #[test]
    fn a_process_that_dies_is_reported_not_waited_for() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths {
            home: dir.path().into(),
            state_dir: dir.path().join("s"),
            config_file: dir.path().join("c.toml"),
            config_explicit: false,
        };
        let cfg = Config::default();
        let ui = Ui::new(crate::ui::ColorChoice::Never, true, false);
        let ctx = Ctx::new(&ui, &paths, &cfg);
        let argv: Vec<String> = ["sh", "-c", "exit 3"].map(String::from).to_vec();
        let mut child = process::spawn(&argv, &[], &[], None, dir.path(), &dir.path().join("log")).unwrap();
        let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let spec = Spec {
            svc: Service::LocalModel,
            argv,
            env: vec![],
            secret_env: vec![],
            cwd: dir.path().into(),
            log: dir.path().join("log"),
            probes: vec![Probe::new(format!("http://127.0.0.1:{free}/health"), None)],
            host: "127.0.0.1".into(),
            port: Some(free),
            hash: String::new(),
        };
        let t0 = Instant::now();
        let err = wait_healthy(&ctx, &mut child, &spec, Duration::from_secs(30)).unwrap_err();
        assert!(t0.elapsed() < Duration::from_secs(10));
        assert!(format!("{err}").contains("exited"), "{err}");
    }
}
