//! clink: run another installed AI CLI (claude, gemini, codex, copilot, opencode, aider) headless
//! as a sub-agent. It keeps its own sandbox and approvals: flags that bypass them are refused unless
//! `runtime.clink.allow_bypass = true`. Its answer joins the conversation thread.

use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::engine::{Cancel, Runtime};
use super::ledger::CallRecord;
use super::roles::Role;
use crate::error::CliError;

pub const CLIS: [&str; 6] = ["claude", "gemini", "codex", "copilot", "opencode", "aider"];

/// Flags that switch off a CLI's sandbox or approvals (PAL's presets use several of these).
const BYPASS: &[&str] = &[
    "--yolo",
    "-y",
    "--dangerously-skip-permissions",
    "--dangerously-bypass-approvals-and-sandbox",
    "--allow-all-tools",
    "--allow-all-paths",
    "--allow-all",
    "--full-auto",
    "bypassPermissions",
    "--permission-mode=bypassPermissions",
    "danger-full-access",
    "--approval-mode=yolo",
    "yolo",
    // OpenCode: approve every request not explicitly denied.
    "--auto",
    // Aider: answer yes to every confirmation (running commands included).
    "--yes-always",
];

#[derive(Debug, Clone, Serialize)]
pub struct ClinkOutcome {
    pub cli: String,
    pub output: String,
    pub exit_code: Option<i32>,
    pub latency_ms: u64,
    pub continuation_id: String,
}

/// The argv for a headless run of `cli` with `prompt`, config args included, bypass checked.
pub fn argv(rt: &Runtime, cli: &str, prompt: &str) -> anyhow::Result<Vec<String>> {
    let mut args: Vec<String> = match cli {
        "claude" => vec!["-p".into(), prompt.into(), "--output-format".into(), "text".into()],
        "gemini" => vec!["-p".into(), prompt.into()],
        "codex" => vec!["exec".into(), "--skip-git-repo-check".into(), prompt.into()],
        "copilot" => vec!["-p".into(), prompt.into()],
        "opencode" => vec!["run".into(), prompt.into()],
        "aider" => vec!["--message".into(), prompt.into()],
        other => {
            let hint = crate::error::did_you_mean(other, CLIS)
                .map(|c| format!("did you mean `{c}`?"))
                .unwrap_or_else(|| "use claude, gemini, codex, copilot, opencode or aider".into());
            return Err(CliError::bad_input(format!("clink: unknown CLI `{other}`")).hint(hint).into());
        }
    };
    let extra = rt.cfg.runtime.clink.args.get(cli).cloned().unwrap_or_default();
    if !rt.cfg.runtime.clink.allow_bypass
        && let Some(bad) =
            extra.iter().find(|a| BYPASS.iter().any(|b| a.as_str() == *b || a.ends_with(&format!("={b}"))))
    {
        return Err(CliError::bad_input(format!(
            "clink: `{bad}` in runtime.clink.args.{cli} bypasses the CLI's sandbox or approvals"
        ))
        .hint("remove it, or set runtime.clink.allow_bypass = true if you really mean it")
        .into());
    }
    let at = match cli {
        "codex" => 2,
        "opencode" => 1,
        _ => args.len(),
    };
    for (i, a) in extra.into_iter().enumerate() {
        args.insert(at + i, a);
    }
    Ok(args)
}

pub async fn run(
    rt: &Runtime,
    cwd: &Path,
    cli: &str,
    prompt: &str,
    role: Option<Role>,
    continuation_id: Option<&str>,
    cancel: &Cancel,
) -> anyhow::Result<ClinkOutcome> {
    let (thread, history) = rt.thread_with_history(continuation_id, prompt)?;
    let mut full = String::new();
    if let Some(r) = role {
        full.push_str(&format!("Role: {} ({}). {}\n\n", r.name(), r.seed_name(), r.system_prompt()));
    }
    if !history.is_empty() {
        full.push_str("Conversation so far (for context):\n");
        for m in &history {
            full.push_str(&format!("[{}] {}\n", m.role.name(), m.content));
        }
        full.push_str("\nYour task:\n");
    }
    full.push_str(prompt);
    // One argv string may not exceed 128 KiB on Linux: keep the newest context.
    const MAX: usize = 120_000;
    if full.len() > MAX {
        let mut cut = full.len() - MAX;
        while !full.is_char_boundary(cut) {
            cut += 1;
        }
        full = format!("(earlier context cut)\n{}", &full[cut..]);
    }
    let args = argv(rt, cli, &full)?;
    let exe = which::which(cli).map_err(|_| {
        CliError::failed(format!("clink: `{cli}` is not installed (not on PATH)"))
            .hint("`aiorch agents` lists the installed CLIs")
    })?;
    let started = Instant::now();
    let child = tokio::process::Command::new(&exe)
        .args(&args)
        .current_dir(cwd)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| CliError::failed(format!("clink: cannot start {}: {e}", exe.display())))?;
    let timeout = Duration::from_secs(rt.cfg.runtime.clink.timeout_secs.max(1));
    let out = tokio::select! {
        r = tokio::time::timeout(timeout, child.wait_with_output()) => match r {
            Ok(r) => r?,
            Err(_) => {
                let secs = timeout.as_secs();
                let msg = format!("clink: {cli} did not finish within {secs} s (runtime.clink.timeout_secs)");
                return Err(CliError::failed(msg).into());
            }
        },
        _ = cancel.cancelled() => return Err(CliError::failed("clink cancelled").into()),
    };
    let latency_ms = started.elapsed().as_millis() as u64;
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let ok = out.status.success() && !stdout.is_empty();
    let now = crate::ui::now_unix();
    let model = format!("clink:{cli}");
    rt.ledger.record(
        now,
        &CallRecord {
            model: model.clone(),
            role: role.unwrap_or(Role::Coding),
            tool: "clink".into(),
            ok,
            error_kind: (!ok).then(|| "cli_failed".to_string()),
            latency_ms,
            tokens_in: 0,
            tokens_out: 0,
            cost: 0.0,
            baseline_cost: 0.0,
            thread_id: Some(thread.clone()),
            over_ceiling: false,
        },
    )?;
    if !ok {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: String =
            stderr.lines().rev().take(8).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n");
        return Err(CliError::failed(format!(
            "clink: {cli} exited with {} and {}:\n{tail}",
            out.status,
            if stdout.is_empty() { "no output" } else { "output" }
        ))
        .into());
    }
    rt.remember(&thread, "clink", prompt, &model, &stdout)?;
    Ok(ClinkOutcome {
        cli: cli.to_string(),
        output: stdout,
        exit_code: out.status.code(),
        latency_ms,
        continuation_id: thread,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt(cfg: crate::config::Config) -> (tempfile::TempDir, Runtime) {
        let d = tempfile::tempdir().unwrap();
        let paths = crate::paths::Paths::resolve(
            Some(d.path().into()),
            Some(d.path().join("s")),
            Some(d.path().join("c.toml")),
        )
        .unwrap();
        let rt = Runtime::open(cfg, paths).unwrap();
        (d, rt)
    }

    #[test]
    fn headless_argv_and_bypass_refusal() {
        let (_d, r) = rt(crate::config::Config::default());
        assert_eq!(argv(&r, "codex", "hi").unwrap(), ["exec", "--skip-git-repo-check", "hi"]);
        assert!(argv(&r, "cladue", "x").unwrap_err().downcast_ref::<CliError>().unwrap().hints[0].contains("claude"));
        let mut cfg = crate::config::Config::default();
        cfg.runtime.clink.args.insert("gemini".into(), vec!["--yolo".into()]);
        let (_d, r) = rt(cfg.clone());
        assert!(argv(&r, "gemini", "x").unwrap_err().to_string().contains("bypasses"));
        cfg.runtime.clink.allow_bypass = true;
        let (_d, r) = rt(cfg);
        assert_eq!(argv(&r, "gemini", "x").unwrap(), ["-p", "x", "--yolo"]);
        let (_d, r) = rt(crate::config::Config::default());
        assert_eq!(argv(&r, "opencode", "hi").unwrap(), ["run", "hi"]);
        assert_eq!(argv(&r, "aider", "hi").unwrap(), ["--message", "hi"]);
        let mut cfg = crate::config::Config::default();
        cfg.runtime.clink.args.insert("aider".into(), vec!["--yes-always".into()]);
        cfg.runtime.clink.args.insert("opencode".into(), vec!["--auto".into()]);
        let (_d, r) = rt(cfg);
        assert!(argv(&r, "aider", "x").unwrap_err().to_string().contains("bypasses"));
        assert!(argv(&r, "opencode", "x").unwrap_err().to_string().contains("bypasses"));
    }
}
