//! `aiorch agents`: which AI CLIs and model servers are installed, and their versions.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde::Serialize;

/// (display name, executable, version flag)
const KNOWN: &[(&str, &str, &str)] = &[
    ("Claude Code", "claude", "--version"),
    ("Gemini CLI", "gemini", "--version"),
    ("Codex CLI", "codex", "--version"),
    ("Copilot CLI", "copilot", "--version"),
    ("Aider", "aider", "--version"),
    ("OpenCode", "opencode", "--version"),
    ("Ollama", "ollama", "--version"),
    ("llama-server", "llama-server", "--version"),
];

#[derive(Debug, Clone, Serialize)]
pub struct Agent {
    pub name: &'static str,
    pub command: &'static str,
    pub path: Option<PathBuf>,
    pub version: Option<String>,
}

/// Probe every known tool in parallel; a version command that hangs is given up after 5 s.
pub fn detect() -> Vec<Agent> {
    let handles: Vec<_> = KNOWN
        .iter()
        .map(|&(name, command, flag)| {
            std::thread::spawn(move || {
                let path = which::which(command).ok();
                let version = path.as_ref().and_then(|p| version_of(p, flag));
                Agent { name, command, path, version }
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().expect("probe thread")).collect()
}

fn version_of(path: &PathBuf, flag: &str) -> Option<String> {
    let mut child = Command::new(path).arg(flag).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().ok()?;
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if std::time::Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
    let out = child.wait_with_output().ok()?;
    let text = if out.stdout.is_empty() { out.stderr } else { out.stdout };
    let line = String::from_utf8_lossy(&text).lines().find(|l| !l.trim().is_empty())?.trim().to_string();
    Some(extract_version(&line).unwrap_or(line))
}

/// The first token that looks like a version (`2.1.329 (Claude Code)` → `2.1.329`).
fn extract_version(line: &str) -> Option<String> {
    line.split(|c: char| c.is_whitespace() || c == ',' || c == '(' || c == ')')
        .map(|t| t.trim_start_matches('v'))
        .find(|t| t.chars().next().is_some_and(|c| c.is_ascii_digit()) && t.contains('.'))
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    #[test]
    fn versions() {
        assert_eq!(super::extract_version("2.1.329 (Claude Code)").as_deref(), Some("2.1.329"));
        assert_eq!(super::extract_version("codex-cli 0.169.0").as_deref(), Some("0.169.0"));
        assert_eq!(super::extract_version("ollama version is 0.12.3").as_deref(), Some("0.12.3"));
        assert_eq!(super::extract_version("version: b6500 (abc)"), None);
    }
}
