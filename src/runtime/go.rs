//! `aiorch go` (ai-go): preflight, make sure the services the mode needs are up, then hand the
//! task to an agent CLI in headless mode with the orchestrator prompt and aiorch's MCP server —
//! or run the builtin pipeline when no agent CLI is installed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use super::engine::Runtime;
use super::registry::{Model, Via};
use super::roles::{Role, classify};
use super::router;
use crate::check::{Check, Status};
use crate::error::CliError;
use crate::paths::Paths;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Agent {
    Claude,
    Gemini,
    Codex,
    Copilot,
    Opencode,
    Aider,
    Builtin,
}

impl Agent {
    pub fn name(self) -> &'static str {
        match self {
            Agent::Claude => "claude",
            Agent::Gemini => "gemini",
            Agent::Codex => "codex",
            Agent::Copilot => "copilot",
            Agent::Opencode => "opencode",
            Agent::Aider => "aider",
            Agent::Builtin => "builtin",
        }
    }

    /// How a user installs it.
    pub fn install(self) -> &'static str {
        match self {
            Agent::Claude => "`npm install -g @anthropic-ai/claude-code`",
            Agent::Gemini => "`npm install -g @google/gemini-cli`",
            Agent::Codex => "`npm install -g @openai/codex`",
            Agent::Copilot => "`npm install -g @github/copilot`",
            Agent::Opencode => "`npm install -g opencode-ai`",
            Agent::Aider => "`pipx install aider-chat`",
            Agent::Builtin => "nothing to install",
        }
    }

    const CLIS: [Agent; 6] =
        [Agent::Claude, Agent::Gemini, Agent::Codex, Agent::Copilot, Agent::Opencode, Agent::Aider];
}

const CLI_NAMES: &str = "claude, gemini, codex, copilot, opencode, aider";

/// The agent to use: the flag, else `runtime.go.agent`; `auto` = the first installed CLI, or
/// builtin. In local mode `auto` means builtin: the agent CLIs' own models are cloud models.
pub fn pick_agent(rt: &Runtime, flag: Option<Agent>, local: bool) -> anyhow::Result<(Agent, String)> {
    if let Some(a) = flag {
        return Ok((a, "--agent".into()));
    }
    let configured = rt.cfg.runtime.go.agent.as_str();
    match configured {
        "auto" if local => Ok((Agent::Builtin, "auto in local mode (agent CLIs run on cloud models)".into())),
        "auto" => Ok(Agent::CLIS
            .iter()
            .find(|a| which::which(a.name()).is_ok())
            .map(|a| (*a, format!("auto: first installed of {} ({})", CLI_NAMES, a.name())))
            .unwrap_or((Agent::Builtin, "auto: no agent CLI installed".into()))),
        name => {
            let a = Agent::CLIS.into_iter().chain([Agent::Builtin]).find(|a| a.name() == name).ok_or_else(|| {
                CliError::bad_input(format!("runtime.go.agent = \"{name}\" is not an agent"))
                    .hint(format!("use auto, {CLI_NAMES} or builtin"))
            })?;
            Ok((a, "runtime.go.agent".into()))
        }
    }
}

/// Whether each endpoint `go` may call answers: the local server and the gateway (cloud APIs
/// are not probed: what they need is a key, and routing checks that the key resolves).
pub type Reach = BTreeMap<String, bool>;

/// Probe, in parallel and with a short timeout, every local or gateway endpoint a role could be
/// routed to, so the preflight never promises a model nothing serves.
pub async fn probe_endpoints(rt: &Runtime, local: bool) -> Reach {
    let urls: BTreeSet<String> = rt
        .reg
        .models
        .iter()
        .filter(|m| match m.via {
            Via::Direct => false,
            Via::Gateway => rt.reg.gateway_enabled && !local,
            Via::Local => true,
        })
        .map(|m| m.base_url.trim_end_matches('/').to_string())
        .collect();
    let answers =
        futures_util::future::join_all(urls.iter().map(|u| probe_within(format!("{u}/models"), PROBE_TIMEOUT))).await;
    urls.into_iter().zip(answers).collect()
}

/// How long a preflight probe waits: a server on this machine answers in milliseconds.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Why `m` cannot be used now: no key, or nothing answers at its endpoint (unless `go` is about
/// to start the service behind it).
fn unusable(rt: &Runtime, reach: &Reach, starts: Option<&str>, m: &Model) -> Result<(), String> {
    rt.available(m)?;
    let base = m.base_url.trim_end_matches('/');
    match reach.get(base) {
        Some(false) if starts != Some(base) => Err(format!("nothing answers at {base}")),
        _ => Ok(()),
    }
}

/// The fast checks run before anything starts. Failures stop `go`; warnings are shown.
pub fn preflight(
    rt: &Runtime,
    agent: Agent,
    local: bool,
    reach: &Reach,
    declared: anyhow::Result<Vec<crate::apply::Artifact>>,
) -> Vec<Check> {
    let mut checks = vec![Check::ok("go", "config loads", rt.paths.config_file.display().to_string())];
    let values = crate::secrets::values::BackendValues::of(&rt.cfg, &rt.paths);
    let secrets = crate::apply::Redactor::new(&values);
    match declared.and_then(|d| crate::apply::doctor::checks(&rt.paths, d, &rt.cfg.apply.nix_managed, &secrets)) {
        Ok(list) => {
            let bad: Vec<&Check> = list.iter().filter(|c| c.status != Status::Ok).collect();
            checks.push(if bad.is_empty() {
                Check::ok("go", "managed config", format!("{} items intact", list.len()))
            } else {
                Check::warn(
                    "go",
                    "managed config",
                    format!("{} of {} items drifted or missing", bad.len(), list.len()),
                    "run `aiorch apply` (details: `aiorch doctor`)",
                )
            });
        }
        Err(e) => checks.push(Check::warn("go", "managed config", format!("{e:#}"), "run `aiorch doctor`")),
    }
    let budget_left = if local {
        None
    } else {
        match rt.budget_left() {
            Ok(left) if left > 0.0 => {
                checks.push(Check::ok(
                    "go",
                    "budget",
                    format!("${left:.2} left today of ${:.2}", rt.cfg.runtime.budget.daily_usd),
                ));
                Some(left)
            }
            Ok(_) => {
                checks.push(Check::fail(
                    "go",
                    "budget",
                    "today's budget is spent",
                    "wait for the next UTC day, raise runtime.budget.daily_usd, or use --local",
                ));
                Some(0.0)
            }
            Err(e) => {
                checks.push(Check::fail("go", "budget", format!("{e:#}"), "check the state dir"));
                Some(0.0)
            }
        }
    };
    // The service `go` starts itself (after the preflight) is not held against its models.
    let starting = needed_service(rt, local).filter(|(name, _)| service_enabled(rt, name));
    let starts = starting.as_ref().map(|(name, _)| service_base(rt, name));
    let fixes = fixes(rt, local, reach, starts.as_deref(), agent);
    let mut unusable_roles = vec![];
    for role in [Role::Planning, Role::Coding, Role::Review] {
        let req = router::Request {
            class: classify(role.name(), Some(role)),
            local_only: local,
            tokens_in: 1000,
            max_out: rt.cfg.runtime.max_tokens,
            budget_left,
            pinned: None,
        };
        let r = router::route(&rt.cfg, &rt.reg, &req, &|m| unusable(rt, reach, starts.as_deref(), m));
        let why = || {
            // Each distinct reason once: "local: nothing answers at …", "claude-…: no key (…)".
            // The ones a user can act on, a server that does not answer first.
            let mut seen = BTreeSet::new();
            let mut reasons: Vec<(bool, String)> = r
                .candidates
                .iter()
                .filter_map(|c| Some((c, c.skipped.as_ref()?)))
                .filter(|(_, s)| s.starts_with("nothing answers") || s.starts_with("no key"))
                .filter(|(_, s)| seen.insert(s.to_string()))
                .map(|(c, s)| (!s.starts_with("nothing answers"), format!("{}: {s}", c.id)))
                .collect();
            reasons.sort_by_key(|(later, _)| *later);
            let mut reasons: Vec<String> = reasons.into_iter().map(|(_, s)| s).take(4).collect();
            if reasons.is_empty() {
                // Nothing a key or a server would fix: say what else ruled each model out.
                reasons = r
                    .candidates
                    .iter()
                    .filter_map(|c| c.skipped.as_ref().map(|s| format!("{}: {s}", c.id)))
                    .take(3)
                    .collect();
            }
            if reasons.is_empty() { r.reason.clone() } else { format!("no usable model ({})", reasons.join("; ")) }
        };
        let check = match r.chosen.clone() {
            Some(id) => {
                let m = rt.reg.get(&id);
                let base = m.map(|m| m.base_url.trim_end_matches('/').to_string());
                let detail = match (&starting, base) {
                    (Some((name, _)), Some(b)) if starts.as_deref() == Some(b.as_str()) => {
                        format!("{id} (once `{name}` is started)")
                    }
                    (_, Some(b)) if reach.get(&b) == Some(&true) => format!("{id} ({b} answers)"),
                    _ => id.clone(),
                };
                // A first choice the model map says is retiring still works today: say so.
                match m.and_then(|m| m.retirement.clone().filter(|d| d.is_due()).map(|d| (m, d))) {
                    Some((m, due)) => Check::warn(
                        "go",
                        format!("{role} model"),
                        format!("{detail} {}", due.describe()),
                        match rt.reg.successor(&m.family, m.tier, &m.id) {
                            Some(s) => format!("its successor is {} (`aiorch doctor` says how to switch)", s.id),
                            None => "see `aiorch doctor`".to_string(),
                        },
                    ),
                    None => Check::ok("go", format!("{role} model"), detail),
                }
            }
            None if agent == Agent::Builtin => {
                unusable_roles.push(role.name());
                Check::fail("go", format!("{role} model"), why(), "`aiorch route --list` shows every model")
            }
            None => Check::warn(
                "go",
                format!("{role} model"),
                why(),
                format!("the agent works alone; aiorch's MCP tools fail until a model is usable ({fixes})"),
            ),
        };
        checks.push(check);
    }
    if !unusable_roles.is_empty() {
        checks.push(Check::fail(
            "go",
            "what to set up",
            format!("nothing usable for {}", unusable_roles.join(", ")),
            fixes,
        ));
    }
    if agent != Agent::Builtin {
        checks.push(match which::which(agent.name()) {
            Ok(p) => match crate::agents::starts(&p) {
                Ok(v) => Check::ok("go", "agent", format!("{} {v} ({})", agent.name(), p.display())),
                Err(why) => Check::fail(
                    "go",
                    "agent",
                    format!("{} ({}) does not start: {why}", agent.name(), p.display()),
                    format!("reinstall it ({}), pick another with --agent, or use --agent builtin", agent.install()),
                ),
            },
            Err(_) => Check::fail(
                "go",
                "agent",
                format!("{} is not installed", agent.name()),
                format!("install it ({}), pick another with --agent, or use --agent builtin", agent.install()),
            ),
        });
    }
    checks
}

/// What to do when models are unusable, from what the probes found: the keys to set, the local
/// server to start, an agent CLI to install.
fn fixes(rt: &Runtime, local: bool, reach: &Reach, starts: Option<&str>, agent: Agent) -> String {
    let mut out: Vec<String> = vec![];
    let keys: BTreeSet<&str> = rt
        .reg
        .models
        .iter()
        .filter(|m| !local || m.local)
        .filter(|m| m.via != Via::Gateway || rt.reg.gateway_enabled)
        .filter(|m| rt.available(m).is_err())
        .filter_map(|m| m.key.as_deref())
        .collect();
    if !keys.is_empty() {
        let list: Vec<String> = keys.iter().take(3).map(|k| format!("`aiorch secrets set {k}`")).collect();
        out.push(format!("set a key: {}", list.join(" or ")));
    }
    for (url, up) in reach {
        if *up || starts == Some(url.as_str()) {
            continue;
        }
        let is_local = rt.reg.models.iter().any(|m| m.via == Via::Local && m.base_url.trim_end_matches('/') == url);
        if is_local {
            out.push(if rt.cfg.services.local_model.enable {
                format!("start the local model server: `aiorch services up local_model` (nothing answers at {url})")
            } else {
                format!(
                    "start a local model server at {url} (`ollama serve`, or enable [services.local_model] and run \
                     `aiorch services up local_model`)"
                )
            });
        } else {
            out.push(format!("start the gateway: `aiorch services up litellm` (nothing answers at {url})"));
        }
    }
    if agent == Agent::Builtin && !Agent::CLIS.iter().any(|a| which::which(a.name()).is_ok()) {
        out.push("or install an agent CLI (e.g. `npm install -g @openai/codex`) and let it work alone".into());
    }
    if out.is_empty() { "`aiorch route --list` shows why each model is unusable".into() } else { out.join("; ") }
}

fn service_enabled(rt: &Runtime, name: &str) -> bool {
    match name {
        "local_model" => rt.cfg.services.local_model.enable,
        "litellm" => rt.cfg.services.litellm.enable,
        _ => false,
    }
}

/// The model base URL behind a service `go` starts.
fn service_base(rt: &Runtime, name: &str) -> String {
    match name {
        "local_model" => super::registry::local_url(&rt.cfg),
        _ => super::registry::gateway(&rt.cfg).url.trim_end_matches('/').to_string(),
    }
}

/// What must be reachable for the mode: the local model (local), else the gateway if enabled.
pub fn needed_service(rt: &Runtime, local: bool) -> Option<(&'static str, String)> {
    if local {
        let url = super::registry::local_url(&rt.cfg);
        Some(("local_model", format!("{url}/models")))
    } else if let gw = super::registry::gateway(&rt.cfg)
        && gw.enabled
    {
        let base = gw.url.trim_end_matches('/').trim_end_matches("/v1").to_string();
        Some(("litellm", format!("{base}/health/liveliness")))
    } else {
        None
    }
}

/// Probe `url`; any HTTP answer below 500 (401 included: the server is up) counts as up.
pub async fn probe(url: &str) -> bool {
    probe_within(url.to_string(), Duration::from_secs(3)).await
}

async fn probe_within(url: String, timeout: Duration) -> bool {
    let client = super::provider::http();
    matches!(
        tokio::time::timeout(timeout, client.get(&url).send()).await,
        Ok(Ok(r)) if r.status().as_u16() < 500
    )
}

/// Start a service through `aiorch services up NAME` (the Services feature), with the same
/// global flags this process got.
pub fn start_service(paths: &Paths, name: &str) -> anyhow::Result<()> {
    let exe = std::env::current_exe()?;
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("--home").arg(&paths.home).arg("--state-dir").arg(&paths.state_dir);
    if paths.config_explicit {
        cmd.arg("--config").arg(&paths.config_file);
    }
    let out = cmd.args(["services", "up", name]).stdin(std::process::Stdio::null()).output()?;
    if !out.status.success() {
        anyhow::bail!("`aiorch services up {name}` failed: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

/// The orchestrator prompt with the task and mode filled in.
pub fn prompt(template: &str, task: &str, local: bool) -> String {
    template.replace("{{mode}}", if local { "local" } else { "cloud" }).replace("{{task}}", task.trim())
}

#[derive(Debug, Clone, Serialize)]
pub struct Launch {
    pub agent: Agent,
    pub program: PathBuf,
    pub args: Vec<String>,
    /// Extra environment for the agent (names and values; no secrets are ever put here).
    pub env: Vec<(String, String)>,
    /// Files written for the run (the MCP config handed to the agent).
    pub files: Vec<PathBuf>,
}

/// The MCP server entry that starts this very binary with the same config and state.
fn self_server(paths: &Paths) -> anyhow::Result<(String, Vec<String>)> {
    let exe = std::env::current_exe()?.display().to_string();
    let mut args = vec![
        "--home".to_string(),
        paths.home.display().to_string(),
        "--state-dir".into(),
        paths.state_dir.display().to_string(),
    ];
    if paths.config_explicit {
        args.push("--config".into());
        args.push(paths.config_file.display().to_string());
    }
    args.push("mcp".into());
    args.push("serve".into());
    Ok((exe, args))
}

/// How to start `agent` headless on `prompt`, with aiorch's MCP server available to it.
pub fn launch(rt: &Runtime, agent: Agent, prompt: &str, local: bool) -> anyhow::Result<Launch> {
    let program =
        which::which(agent.name()).map_err(|_| CliError::failed(format!("{} is not installed", agent.name())))?;
    let (exe, sargs) = self_server(&rt.paths)?;
    let mut files = vec![];
    let mut args: Vec<String> = match agent {
        Agent::Claude => {
            // --mcp-config makes the server available whatever the user's registry says;
            // --allowedTools lets the headless run use aiorch's tools and nothing more.
            let cfg = serde_json::json!({"mcpServers": {"aiorch": {"type": "stdio", "command": exe, "args": sargs}}});
            let path = rt.paths.state_dir.join("go").join("claude-mcp.json");
            fs_err::create_dir_all(path.parent().expect("parent"))?;
            crate::apply::fsutil::write_atomic(&path, serde_json::to_string_pretty(&cfg)?.as_bytes(), 0o600)?;
            files.push(path.clone());
            vec![
                "-p".into(),
                prompt.into(),
                "--mcp-config".into(),
                path.display().to_string(),
                "--allowedTools".into(),
                "mcp__aiorch".into(),
            ]
        }
        Agent::Codex => {
            let quote = |s: &str| serde_json::to_string(s).expect("string");
            let arr = sargs.iter().map(|a| quote(a)).collect::<Vec<_>>().join(",");
            let mut a = vec![
                "exec".into(),
                "--skip-git-repo-check".into(),
                "-c".into(),
                format!("mcp_servers.aiorch={{command={},args=[{arr}]}}", quote(&exe)),
            ];
            if local {
                // Codex's own model from the local server (Ollama API at OLLAMA_HOST).
                a.push("--oss".into());
            }
            a.push(prompt.into());
            a
        }
        Agent::Opencode => {
            // OPENCODE_CONFIG_CONTENT (set below) is merged over the user's config for this run:
            // aiorch's server is there whatever the registry says.
            vec!["run".into(), prompt.into()]
        }
        // Aider has no MCP client: it works alone on the prompt.
        Agent::Aider => vec!["--message".into(), prompt.into()],
        // Gemini and Copilot read aiorch's server from their registry (`aiorch apply`).
        Agent::Gemini => vec!["-p".into(), prompt.into()],
        Agent::Copilot => vec!["-p".into(), prompt.into()],
        Agent::Builtin => unreachable!("the builtin agent has no CLI"),
    };
    let extra = rt.cfg.runtime.clink.args.get(agent.name()).cloned().unwrap_or_default();
    // The same refusal as clink: configured extra flags may not bypass the agent's sandbox.
    let checked = super::clink::argv(rt, agent.name(), "")?;
    drop(checked);
    let at = match agent {
        Agent::Codex => 2,
        Agent::Opencode => 1,
        _ => args.len(),
    };
    for (i, a) in extra.into_iter().enumerate() {
        args.insert(at + i, a);
    }
    let ollama =
        std::env::var("OLLAMA_HOST").ok().filter(|h| !h.is_empty()).unwrap_or_else(|| rt.cfg.ollama_host.clone());
    let mut env = vec![
        ("AIORCH_GO".to_string(), "1".to_string()),
        ("AIORCH_MODE".into(), if local { "local" } else { "cloud" }.into()),
        ("OLLAMA_HOST".into(), ollama),
        ("AIORCH_LOCAL_URL".into(), super::registry::local_url(&rt.cfg)),
    ];
    if agent == Agent::Opencode {
        let mut command = vec![exe.clone()];
        command.extend(sargs.iter().cloned());
        let mut cfg = serde_json::json!({"mcp": {"aiorch": {"type": "local", "command": command}}});
        if local && let Some(m) = local_coding_model(rt) {
            // Local mode: OpenCode's own model is the one aiorch routes coding to, on the local
            // server (an OpenAI-compatible provider OpenCode bundles; no key leaves aiorch).
            cfg["provider"] = serde_json::json!({LOCAL_PROVIDER: {
                "npm": "@ai-sdk/openai-compatible",
                "name": "aiorch local",
                "options": {"baseURL": m.base_url, "apiKey": "none"},
                "models": {m.upstream.clone(): {"name": m.upstream, "tool_call": true}},
            }});
            cfg["model"] = serde_json::json!(format!("{LOCAL_PROVIDER}/{}", m.upstream));
        }
        env.push(("OPENCODE_CONFIG_CONTENT".into(), cfg.to_string()));
    }
    Ok(Launch { agent, program, args, env, files })
}

/// The provider name aiorch gives the local server in OpenCode's config for a `--local` run.
const LOCAL_PROVIDER: &str = "aiorch-local";

/// The keyless local model routing picks for coding in local mode (what an agent CLI that can
/// take an OpenAI-compatible endpoint should drive), if any.
pub fn local_coding_model(rt: &Runtime) -> Option<Model> {
    let r = rt.route("coding", Some(Role::Coding), true, None, 1000).ok()?;
    let m = rt.reg.get(r.chosen.as_deref()?)?;
    (m.via == Via::Local && m.key.is_none()).then(|| m.clone())
}

/// What `git status --porcelain` and the tracked diff say about `dir` (None outside a git
/// repository): equal before and after a run means the agent changed nothing.
pub fn worktree_state(dir: &Path) -> Option<String> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["status", "--porcelain", "--untracked-files=all"])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let diff = super::pipeline::git_diff(dir, false).unwrap_or_default();
    Some(format!("{}\n{diff}", String::from_utf8_lossy(&out.stdout)))
}

/// Run the agent with inherited stdio; its exit status is ours. SIGTERM, SIGHUP and SIGINT sent
/// to `aiorch go` are passed on to the agent and `go` waits for it to stop: the agent (and the
/// aiorch MCP server it started) settles its calls instead of being orphaned.
pub fn run_agent(l: &Launch, cwd: &Path) -> anyhow::Result<std::process::ExitStatus> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut cmd = tokio::process::Command::new(&l.program);
    cmd.args(&l.args).current_dir(cwd);
    for (k, v) in &l.env {
        cmd.env(k, v);
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async {
        let mut child = cmd.spawn()?;
        let pid = child.id().map(|p| nix::unistd::Pid::from_raw(p as i32));
        let mut term = signal(SignalKind::terminate())?;
        let mut hup = signal(SignalKind::hangup())?;
        let mut int = signal(SignalKind::interrupt())?;
        loop {
            let sig = tokio::select! {
                status = child.wait() => return Ok(status?),
                _ = term.recv() => nix::sys::signal::Signal::SIGTERM,
                _ = hup.recv() => nix::sys::signal::Signal::SIGHUP,
                _ = int.recv() => nix::sys::signal::Signal::SIGINT,
            };
            if let Some(pid) = pid {
                let _ = nix::sys::signal::kill(pid, sig);
            }
        }
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn prompt_fills_mode_and_task() {
        let t = super::prompt("Mode: {{mode}}.\n\n{{task}}\n", "  fix it \n", true);
        assert_eq!(t, "Mode: local.\n\nfix it\n");
        let tree = crate::agentsmd::Tree::embedded();
        let real = tree.workflow("orchestrator-prompt").expect("embedded orchestrator prompt");
        let p = super::prompt(&real, "add a flag", false);
        assert!(p.contains("Mode: cloud") && p.contains("add a flag") && !p.contains("{{"));
    }
}
