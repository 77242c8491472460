//! `aiorch go` (ai-go): preflight, make sure the services the mode needs are up, then hand the
//! task to an agent CLI in headless mode with the orchestrator prompt and aiorch's MCP server —
//! or run the builtin pipeline when no agent CLI is installed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use super::engine::Runtime;
use super::roles::Role;
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
    Builtin,
}

impl Agent {
    pub fn name(self) -> &'static str {
        match self {
            Agent::Claude => "claude",
            Agent::Gemini => "gemini",
            Agent::Codex => "codex",
            Agent::Copilot => "copilot",
            Agent::Builtin => "builtin",
        }
    }
    const CLIS: [Agent; 4] = [Agent::Claude, Agent::Gemini, Agent::Codex, Agent::Copilot];
}

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
            .map(|a| (*a, format!("auto: first installed of claude, gemini, codex, copilot ({})", a.name())))
            .unwrap_or((Agent::Builtin, "auto: no agent CLI installed".into()))),
        name => {
            let a = [Agent::Claude, Agent::Gemini, Agent::Codex, Agent::Copilot, Agent::Builtin]
                .into_iter()
                .find(|a| a.name() == name)
                .ok_or_else(|| {
                    CliError::bad_input(format!("runtime.go.agent = \"{name}\" is not an agent"))
                        .hint("use auto, claude, gemini, codex, copilot or builtin")
                })?;
            Ok((a, "runtime.go.agent".into()))
        }
    }
}

/// The fast checks run before anything starts. Failures stop `go`; warnings are shown.
pub fn preflight(
    rt: &Runtime,
    agent: Agent,
    local: bool,
    declared: anyhow::Result<Vec<crate::apply::Artifact>>,
) -> Vec<Check> {
    let mut checks = vec![Check::ok("go", "config loads", rt.paths.config_file.display().to_string())];
    match declared.and_then(|d| crate::apply::doctor::checks(&rt.paths, d, &rt.cfg.apply.nix_managed)) {
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
    if !local {
        match rt.budget_left() {
            Ok(left) if left > 0.0 => checks.push(Check::ok(
                "go",
                "budget",
                format!("${left:.2} left today of ${:.2}", rt.cfg.runtime.budget.daily_usd),
            )),
            Ok(_) => checks.push(Check::fail(
                "go",
                "budget",
                "today's budget is spent",
                "wait for the next UTC day, raise runtime.budget.daily_usd, or use --local",
            )),
            Err(e) => checks.push(Check::fail("go", "budget", format!("{e:#}"), "check the state dir")),
        }
    }
    for role in [Role::Planning, Role::Coding, Role::Review] {
        let r = rt.route(role.name(), Some(role), local, None, 1000);
        let check = match r {
            Ok(r) if r.chosen.is_some() => {
                let id = r.chosen.unwrap_or_default();
                // A first choice the model map says is retiring still works today: say so.
                match rt.reg.get(&id).and_then(|m| m.retirement.clone().filter(|d| d.is_due()).map(|d| (m, d))) {
                    Some((m, due)) => Check::warn(
                        "go",
                        format!("{role} model"),
                        format!("{id} {}", due.describe()),
                        match rt.reg.successor(&m.family, m.tier, &m.id) {
                            Some(s) => format!("its successor is {} (`aiorch doctor` says how to switch)", s.id),
                            None => "see `aiorch doctor`".to_string(),
                        },
                    ),
                    None => Check::ok("go", format!("{role} model"), id),
                }
            }
            Ok(r) if agent == Agent::Builtin => Check::fail(
                "go",
                format!("{role} model"),
                r.reason,
                "`aiorch route --list` shows why each model is unusable",
            ),
            Ok(r) => Check::warn(
                "go",
                format!("{role} model"),
                r.reason,
                "the agent works alone; aiorch's MCP tools will fail until a model is usable",
            ),
            Err(e) => Check::fail("go", format!("{role} model"), format!("{e:#}"), "fix the runtime config"),
        };
        checks.push(check);
    }
    if agent != Agent::Builtin {
        checks.push(match which::which(agent.name()) {
            Ok(p) => Check::ok("go", "agent", format!("{} ({})", agent.name(), p.display())),
            Err(_) => Check::fail(
                "go",
                "agent",
                format!("{} is not installed", agent.name()),
                "install it, pick another with --agent, or use --agent builtin",
            ),
        });
    }
    checks
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
    let client = super::provider::http();
    matches!(
        tokio::time::timeout(Duration::from_secs(3), client.get(url).send()).await,
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
        // Gemini and Copilot read aiorch's server from their registry (`aiorch apply`).
        Agent::Gemini => vec!["-p".into(), prompt.into()],
        Agent::Copilot => vec!["-p".into(), prompt.into()],
        Agent::Builtin => unreachable!("the builtin agent has no CLI"),
    };
    let extra = rt.cfg.runtime.clink.args.get(agent.name()).cloned().unwrap_or_default();
    // The same refusal as clink: configured extra flags may not bypass the agent's sandbox.
    let checked = super::clink::argv(rt, agent.name(), "")?;
    drop(checked);
    let at = if agent == Agent::Codex { 2 } else { args.len() };
    for (i, a) in extra.into_iter().enumerate() {
        args.insert(at + i, a);
    }
    let ollama =
        std::env::var("OLLAMA_HOST").ok().filter(|h| !h.is_empty()).unwrap_or_else(|| rt.cfg.ollama_host.clone());
    let env = vec![
        ("AIORCH_GO".to_string(), "1".to_string()),
        ("AIORCH_MODE".into(), if local { "local" } else { "cloud" }.into()),
        ("OLLAMA_HOST".into(), ollama),
        ("AIORCH_LOCAL_URL".into(), super::registry::local_url(&rt.cfg)),
    ];
    Ok(Launch { agent, program, args, env, files })
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
