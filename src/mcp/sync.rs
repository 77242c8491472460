//! `aiorch plugins sync`: install the declared marketplaces and plugins now, through the real
//! `claude plugin marketplace add` / `claude plugin install`, instead of waiting for Claude's
//! next two sessions. Claude's own files (`~/.claude/plugins/*`) are written by Claude only.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::plugins::{self, Declared};
use crate::error::CliError;
use crate::paths::Paths;

/// A marketplace clone over the network can take a while; a hung child is given up.
const STEP_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// `marketplace NAME` or `plugin ID`.
    pub item: String,
    pub status: Status,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Already there: nothing run.
    Present,
    /// Added or installed just now.
    Done,
    /// `claude plugin` cannot do it from the command line; Claude does it from settings.json.
    Skipped,
    Failed,
}

/// The `claude` to run, with HOME pointing at the managed home.
pub struct Claude {
    pub bin: PathBuf,
    pub home: PathBuf,
}

impl Claude {
    pub fn find(paths: &Paths) -> Option<Claude> {
        which::which("claude").ok().map(|bin| Claude { bin, home: paths.home.clone() })
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.bin);
        c.args(args).env("HOME", &self.home).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        // A redirected home must not reach the real ~/.claude through CLAUDE_CONFIG_DIR.
        if std::env::home_dir().as_deref() != Some(self.home.as_path()) {
            c.env_remove("CLAUDE_CONFIG_DIR");
        }
        c
    }

    /// Run `claude ARGS`; Ok(stdout) on exit 0, Err(the last stderr/stdout lines) otherwise.
    fn run(&self, args: &[&str]) -> Result<String, String> {
        let mut child = self.command(args).spawn().map_err(|e| format!("cannot run {}: {e}", self.bin.display()))?;
        // Drain both pipes while waiting, so a chatty child never blocks on a full pipe.
        let mut out_pipe = child.stdout.take().expect("piped");
        let mut err_pipe = child.stderr.take().expect("piped");
        let out_t = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = std::io::Read::read_to_string(&mut out_pipe, &mut s);
            s
        });
        let err_t = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = std::io::Read::read_to_string(&mut err_pipe, &mut s);
            s
        });
        let deadline = Instant::now() + STEP_TIMEOUT;
        let status = loop {
            match child.try_wait() {
                Ok(Some(s)) => break s,
                Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!(
                        "`claude {}` did not finish within {} s",
                        args.join(" "),
                        STEP_TIMEOUT.as_secs()
                    ));
                }
            }
        };
        let (out, err) = (out_t.join().unwrap_or_default(), err_t.join().unwrap_or_default());
        if status.success() {
            return Ok(out);
        }
        let msg = json_message(&out).unwrap_or_else(|| last_lines(&format!("{err}\n{out}"), 3));
        Err(format!("`claude {}` failed ({status}): {msg}", args.join(" ")))
    }

    fn names(&self, args: &[&str], key: &str) -> Result<Vec<String>, String> {
        let out = self.run(args)?;
        let v: serde_json::Value = serde_json::from_str(out.trim())
            .map_err(|e| format!("`claude {}` printed no JSON list: {e}", args.join(" ")))?;
        Ok(v.as_array().into_iter().flatten().filter_map(|x| x.get(key)?.as_str().map(str::to_string)).collect())
    }
}

/// `message` from claude's one-line `--json` result, if it printed one.
fn json_message(out: &str) -> Option<String> {
    let line = out.lines().rev().find(|l| l.trim_start().starts_with('{'))?;
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    v.get("message").or_else(|| v.get("error")).and_then(|m| m.as_str()).map(str::to_string)
}

fn last_lines(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join(" | ")
}

/// Add every declared marketplace Claude does not know yet, then install every enabled plugin
/// it has not installed. Each item is reported; nothing already present is touched.
pub fn sync(claude: &Claude, declared: &Declared) -> Result<Vec<Step>, CliError> {
    let known = claude.names(&["plugin", "marketplace", "list", "--json"], "name").map_err(CliError::failed)?;
    let mut steps = vec![];
    let mut usable: Vec<&str> = vec![];
    for (name, m) in &declared.marketplaces {
        let item = format!("marketplace {name}");
        if known.iter().any(|k| k == name) {
            usable.push(name);
            steps.push(Step { item, status: Status::Present, detail: String::new() });
            continue;
        }
        if let crate::config::plugins::Source::Directory { path } = &m.source
            && let Err(e) = super::doctor::directory_marketplace_name(Path::new(path))
        {
            steps.push(Step { item, status: Status::Failed, detail: e });
            continue;
        }
        let Some(arg) = m.add_argument() else {
            steps.push(Step {
                item,
                status: Status::Skipped,
                detail: "`claude plugin marketplace add` does not take this source (a file:// URL, a ref or a \
                         sub-path); Claude registers it from settings.json in its next session"
                    .into(),
            });
            continue;
        };
        match claude.run(&["plugin", "marketplace", "add", &arg, "--scope", "user", "--json"]) {
            Ok(out) => {
                // Claude names the marketplace after its marketplace.json, which must be ours.
                let added = serde_json::from_str::<serde_json::Value>(out.lines().last().unwrap_or(""))
                    .ok()
                    .and_then(|v| v.get("marketplace")?.as_str().map(str::to_string));
                match added {
                    Some(a) if &a != name => steps.push(Step {
                        item,
                        status: Status::Failed,
                        detail: format!(
                            "{arg} is the marketplace `{a}`: rename [plugins.marketplaces.{name}] to `{a}`"
                        ),
                    }),
                    _ => {
                        usable.push(name);
                        steps.push(Step {
                            item,
                            status: Status::Done,
                            detail: format!("claude plugin marketplace add {arg}"),
                        });
                    }
                }
            }
            Err(e) => steps.push(Step { item, status: Status::Failed, detail: e }),
        }
    }
    let installed = claude.names(&["plugin", "list", "--json"], "id").map_err(CliError::failed)?;
    for id in &declared.enabled {
        let item = format!("plugin {id}");
        let id_s = id.to_string();
        if installed.contains(&id_s) {
            steps.push(Step { item, status: Status::Present, detail: String::new() });
        } else if !usable.contains(&id.marketplace.as_str()) && !known.contains(&id.marketplace) {
            steps.push(Step {
                item,
                status: Status::Failed,
                detail: format!("marketplace `{}` is not available", id.marketplace),
            });
        } else {
            match claude.run(&["plugin", "install", &id_s, "--scope", "user", "--json"]) {
                Ok(_) => {
                    steps.push(Step { item, status: Status::Done, detail: format!("claude plugin install {id_s}") })
                }
                Err(e) => steps.push(Step { item, status: Status::Failed, detail: e }),
            }
        }
    }
    Ok(steps)
}

/// Load the declared set for `paths` (the CLI handler's entry point).
pub fn declared(cfg: &crate::config::Config, paths: &Paths) -> Result<Declared, CliError> {
    plugins::declared(&cfg.plugins, paths)
}

#[cfg(test)]
mod tests {
    #[test]
    fn claude_json_messages_are_read() {
        assert_eq!(
            super::json_message("noise\n{\"outcome\":\"error\",\"message\":\"Invalid marketplace source format\"}\n")
                .as_deref(),
            Some("Invalid marketplace source format")
        );
        assert_eq!(super::last_lines("a\n\nb\nc\nd\n", 2), "c | d");
    }
}
