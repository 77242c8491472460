//! `aiorch agents`: which AI CLIs and model servers are installed, and their versions.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde::Serialize;

/// (display name, executable, version flag, npm package it ships in)
const KNOWN: &[(&str, &str, &str, Option<&str>)] = &[
    ("Claude Code", "claude", "--version", Some("@anthropic-ai/claude-code")),
    ("Gemini CLI", "gemini", "--version", Some("@google/gemini-cli")),
    ("Codex CLI", "codex", "--version", Some("@openai/codex")),
    ("Copilot CLI", "copilot", "--version", Some("@github/copilot")),
    ("Aider", "aider", "--version", None),
    ("OpenCode", "opencode", "--version", Some("opencode-ai")),
    ("Ollama", "ollama", "--version", None),
    ("llama-server", "llama-server", "--version", None),
];

/// A version command that hangs is given up after this (Node CLIs take seconds on a busy machine).
const PROBE_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, Serialize)]
pub struct Agent {
    pub name: &'static str,
    pub command: &'static str,
    pub path: Option<PathBuf>,
    pub version: Option<String>,
}

/// Probe every known tool in parallel. An npm-installed CLI's version is read from its
/// package.json (instant; `gemini --version` alone takes seconds); anything else runs
/// `TOOL --version`, given up after `PROBE_TIMEOUT`.
pub fn detect() -> Vec<Agent> {
    let handles: Vec<_> = KNOWN
        .iter()
        .map(|&(name, command, flag, package)| {
            std::thread::spawn(move || {
                let path = which::which(command).ok();
                let version = path
                    .as_ref()
                    .and_then(|p| package.and_then(|pkg| npm_package_version(p, pkg)).or_else(|| version_of(p, flag)));
                Agent { name, command, path, version }
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().expect("probe thread")).collect()
}

/// The version in the package.json of npm package `name` that holds `bin` (through the
/// `node_modules/.bin` link), if it is one.
fn npm_package_version(bin: &Path, name: &str) -> Option<String> {
    let real = bin.canonicalize().ok()?;
    real.ancestors().skip(1).take(6).find_map(|dir| {
        let v: serde_json::Value =
            serde_json::from_str(&fs_err::read_to_string(dir.join("package.json")).ok()?).ok()?;
        (v.get("name")?.as_str()? == name).then(|| v.get("version")?.as_str().map(str::to_string)).flatten()
    })
}

/// Whether the CLI at `path` starts: `--version` exits 0 within the probe timeout. The version
/// line, or why not.
pub fn starts(path: &Path) -> Result<String, String> {
    let mut child = Command::new(path)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run it: {e}"))?;
    let deadline = std::time::Instant::now() + PROBE_TIMEOUT;
    while child.try_wait().map_err(|e| e.to_string())?.is_none() {
        if std::time::Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("`--version` did not finish within {} s", PROBE_TIMEOUT.as_secs()));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(if out.stdout.is_empty() { &out.stderr } else { &out.stdout }).into_owned();
    let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim().to_string();
    if !out.status.success() {
        return Err(
            format!("`--version` exited with {}{}", out.status, if line.is_empty() { "" } else { ": " }) + &line
        );
    }
    Ok(extract_version(&line).unwrap_or(line))
}

fn version_of(path: &PathBuf, flag: &str) -> Option<String> {
    let mut child =
        Command::new(path).arg(flag).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().ok()?;
    let deadline = std::time::Instant::now() + PROBE_TIMEOUT;
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
        .map(|t| t.trim_start_matches('v').trim_end_matches('.'))
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
        assert_eq!(super::extract_version("GitHub Copilot CLI 1.0.102.").as_deref(), Some("1.0.102"));
    }

    #[test]
    fn npm_versions_come_from_package_json() {
        let d = tempfile::tempdir().unwrap();
        let pkg = d.path().join("node_modules/@google/gemini-cli");
        fs_err::create_dir_all(pkg.join("bundle")).unwrap();
        fs_err::create_dir_all(d.path().join("node_modules/.bin")).unwrap();
        fs_err::write(pkg.join("package.json"), r#"{"name": "@google/gemini-cli", "version": "0.61.0"}"#).unwrap();
        fs_err::write(pkg.join("bundle/gemini.js"), "").unwrap();
        let bin = d.path().join("node_modules/.bin/gemini");
        std::os::unix::fs::symlink("../@google/gemini-cli/bundle/gemini.js", &bin).unwrap();
        assert_eq!(super::npm_package_version(&bin, "@google/gemini-cli").as_deref(), Some("0.61.0"));
        assert_eq!(super::npm_package_version(&bin, "@openai/codex"), None);
    }
}
