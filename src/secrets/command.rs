//! The `command` backend: any reader given as an argv template (`pass show ai/{name}`,
//! `op read op://ai/{name}`, `secret-tool lookup service aiorch name {name}`). The value is the
//! reader's stdout; its stderr goes straight to the user (aiorch never captures or logs it).
//! `set`, `rm` and `list` work when `command_set` (value on stdin, no newline added), `command_rm` and
//! `command_list` (one name per line) are configured.

use std::io::Write;
use std::process::{Command, Stdio};

use super::{Store, Value, fill_template};
use crate::config::secrets::SecretsConfig;
use crate::error::CliError;

pub struct CommandStore {
    read: Vec<String>,
    set: Option<Vec<String>>,
    rm: Option<Vec<String>>,
    list: Option<Vec<String>>,
}

impl CommandStore {
    pub fn new(cfg: &SecretsConfig) -> anyhow::Result<CommandStore> {
        let read = match &cfg.command {
            Some(c) if !c.is_empty() => c.clone(),
            _ => {
                return Err(CliError::bad_input(
                    "secrets.backend = \"command\" needs secrets.command, the reader's argv",
                )
                .hint(
                    "e.g. command = [\"pass\", \"show\", \"ai/{name}\"] or [\"op\", \"read\", \
                     \"op://ai/{name}/credential\"]",
                )
                .into());
            }
        };
        for (key, t) in [
            ("command", Some(&read)),
            ("command_set", cfg.command_set.as_ref()),
            ("command_rm", cfg.command_rm.as_ref()),
        ] {
            if let Some(t) = t
                && !t.iter().any(|a| a.contains("{name}"))
            {
                return Err(CliError::bad_input(format!("secrets.{key} has no `{{name}}` placeholder"))
                    .hint("put {name} where the secret's name goes, e.g. \"ai/{name}\"")
                    .into());
            }
        }
        Ok(CommandStore {
            read,
            set: cfg.command_set.clone(),
            rm: cfg.command_rm.clone(),
            list: cfg.command_list.clone(),
        })
    }

    fn unsupported(&self, verb: &str, key: &str, example: &str) -> anyhow::Error {
        CliError::bad_input(format!("the command backend cannot {verb} secrets: secrets.{key} is not configured"))
            .hint(format!("use your tool directly, or configure it, e.g. {key} = {example}"))
            .into()
    }
}

/// Run `argv`; a program that cannot be started is an error naming it (never a value).
fn spawn_err(argv: &[String], e: std::io::Error) -> anyhow::Error {
    CliError::failed(format!("command backend: cannot run `{}`: {e}", argv[0]))
        .hint("check secrets.command* in the config and that the program is on PATH")
        .into()
}

impl Store for CommandStore {
    fn describe(&self) -> String {
        format!("command backend (`{}`)", self.read.join(" "))
    }

    fn get(&self, name: &str) -> anyhow::Result<Option<Value>> {
        let argv = fill_template(&self.read, name);
        let out = Command::new(&argv[0])
            .args(&argv[1..])
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| spawn_err(&argv, e))?;
        if !out.status.success() {
            drop(zeroize::Zeroizing::new(out.stdout));
            tracing::debug!(name, status = %out.status, "command backend reader failed: treated as missing");
            return Ok(None);
        }
        super::value_from_stdout(out.stdout, &|| format!("the value the command backend read for {name}")).map(Some)
    }

    fn set(&self, name: &str, value: &str) -> anyhow::Result<()> {
        let Some(t) = &self.set else {
            return Err(self.unsupported("set", "command_set", "[\"pass\", \"insert\", \"-m\", \"ai/{name}\"]"));
        };
        let argv = fill_template(t, name);
        let mut child =
            Command::new(&argv[0]).args(&argv[1..]).stdin(Stdio::piped()).spawn().map_err(|e| spawn_err(&argv, e))?;
        let mut stdin = child.stdin.take().expect("piped stdin");
        // Exactly the value, no newline added. A writer that exits early closes the pipe: the
        // status below reports it.
        let _ = stdin.write_all(value.as_bytes());
        drop(stdin);
        let status = child.wait()?;
        if !status.success() {
            return Err(CliError::failed(format!("command backend: `{}` failed ({status})", argv.join(" "))).into());
        }
        Ok(())
    }

    fn remove(&self, name: &str) -> anyhow::Result<bool> {
        let Some(t) = &self.rm else {
            return Err(self.unsupported("remove", "command_rm", "[\"pass\", \"rm\", \"-f\", \"ai/{name}\"]"));
        };
        let argv = fill_template(t, name);
        let status =
            Command::new(&argv[0]).args(&argv[1..]).stdin(Stdio::null()).status().map_err(|e| spawn_err(&argv, e))?;
        Ok(status.success())
    }

    fn list(&self) -> anyhow::Result<Vec<String>> {
        let Some(argv) = &self.list else {
            return Err(self.unsupported(
                "list",
                "command_list",
                "[\"sh\", \"-c\", \"ls ~/.password-store/ai | sed 's/.gpg$//'\"]",
            ));
        };
        let out = Command::new(&argv[0])
            .args(&argv[1..])
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| spawn_err(argv, e))?;
        if !out.status.success() {
            return Err(
                CliError::failed(format!("command backend: `{}` failed ({})", argv.join(" "), out.status)).into()
            );
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let mut names: Vec<String> =
            text.lines().map(str::trim).filter(|l| super::validate_name(l).is_ok()).map(String::from).collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    fn fix_missing(&self, name: &str) -> String {
        match &self.set {
            Some(_) => format!(
                "store it with `aiorch secrets set {name}`, or check that `{}` prints it",
                fill_template(&self.read, name).join(" ")
            ),
            None => format!(
                "store it where `{}` finds it (the reader exited non-zero)",
                fill_template(&self.read, name).join(" ")
            ),
        }
    }
}
