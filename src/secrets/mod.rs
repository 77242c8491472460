//! Secrets: where API keys come from, injected into a child process at exec time only.
//!
//! A value is read from a backend (`keychain`, `command`, `file`, `env`) only when a process
//! needs it, lives in `Zeroizing` memory, and leaves aiorch only through the child's
//! environment (`exec`). It is never written by aiorch anywhere except into the backend itself,
//! never put on an argv, and never formatted into a message: errors name the backend and the fix.
//!
//! Library API for other features: [`resolve`], [`exec_wrapper_args`], [`required_names`].

mod command;
pub mod doctor;
mod env;
pub mod exec;
mod file;
#[cfg(target_os = "macos")]
mod framework;
mod keychain;
pub mod mask;
pub mod prompt;
pub mod values;

use std::collections::BTreeMap;

use zeroize::Zeroizing;

use crate::config::secrets::{Backend, SecretsConfig};
use crate::error::CliError;
use crate::paths::Paths;

/// A secret value: zeroed when dropped.
pub type Value = Zeroizing<String>;

/// One place secrets live. Implementations never put a value in an error, a log or an argv.
pub trait Store {
    /// The backend and where it reads from, for messages: `file ~/.config/aiorch/secrets.env`.
    fn describe(&self) -> String;
    /// The value of `name`, or None when the backend has no such secret.
    fn get(&self, name: &str) -> anyhow::Result<Option<Value>>;
    /// Whether `name` exists, reading as little as possible (doctor).
    fn contains(&self, name: &str) -> anyhow::Result<bool> {
        Ok(self.get(name)?.is_some())
    }
    /// Several values at once (a file backend reads its file once).
    fn get_many(&self, names: &[String]) -> anyhow::Result<Vec<Option<Value>>> {
        names.iter().map(|n| self.get(n)).collect()
    }
    fn set(&self, name: &str, value: &str) -> anyhow::Result<()>;
    /// Remove `name`; false when it was not there.
    fn remove(&self, name: &str) -> anyhow::Result<bool>;
    /// Every name the backend holds (never values).
    fn list(&self) -> anyhow::Result<Vec<String>>;
    /// What to do about a missing secret.
    fn fix_missing(&self, name: &str) -> String {
        format!("store it with `aiorch secrets set {name}` (reads the value from the terminal or stdin)")
    }
}

/// The configured backend.
pub fn open(cfg: &SecretsConfig, paths: &Paths) -> anyhow::Result<Box<dyn Store>> {
    Ok(match cfg.backend {
        Backend::Keychain => Box::new(keychain::Keychain::new(cfg, paths)?),
        Backend::Command => Box::new(command::CommandStore::new(cfg)?),
        Backend::File => Box::new(file::FileStore::new(cfg, paths)),
        Backend::Env => Box::new(env::EnvStore),
    })
}

/// `aiorch secrets setup`: prepare the configured backend (create the keychain or the file).
pub fn setup(cfg: &SecretsConfig, paths: &Paths, ui: &crate::ui::Ui) -> anyhow::Result<()> {
    match cfg.backend {
        Backend::Keychain => keychain::Keychain::new(cfg, paths)?.setup(ui),
        Backend::File => file::FileStore::new(cfg, paths).setup(ui),
        Backend::Command => {
            let store = command::CommandStore::new(cfg)?;
            ui.out(&format!("the {} needs no setup here: keep the secrets in that tool", store.describe()));
            Ok(())
        }
        Backend::Env => {
            ui.out("the env backend needs no setup: it passes through aiorch's own environment");
            Ok(())
        }
    }
}

/// An environment variable name: what a secret is called everywhere.
pub fn validate_name(name: &str) -> anyhow::Result<()> {
    let mut chars = name.chars();
    let ok = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(CliError::bad_input(format!("`{name}` is not a valid secret name"))
            .hint(
                "a secret is named like an environment variable: letters, digits and _, not starting with a digit \
                 (e.g. GITHUB_TOKEN)",
            )
            .into())
    }
}

/// Names the system, the shell, the dynamic loader, language runtimes or aiorch itself read
/// from the environment: a "secret" under one of them would change how every command started
/// through `secrets exec` behaves (`LD_PRELOAD` loads code, `PATH` picks the program).
const RESERVED: [&str; 24] = [
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "PWD",
    "OLDPWD",
    "TMPDIR",
    "TERM",
    "LANG",
    "TZ",
    "IFS",
    "ENV",
    "BASH_ENV",
    "SHELLOPTS",
    "BASHOPTS",
    "PS4",
    "SHLVL",
    "NODE_OPTIONS",
    "PYTHONPATH",
    "PYTHONSTARTUP",
    "PERL5OPT",
    "PERL5LIB",
    "RUBYOPT",
];
const RESERVED_PREFIXES: [&str; 5] = ["LD_", "DYLD_", "LC_", "BASH_FUNC_", "AIORCH_"];

/// A name `secrets set` may store and `exec` may inject: a valid name that is not reserved.
pub fn validate_new_name(name: &str) -> anyhow::Result<()> {
    validate_name(name)?;
    if is_reserved(name) {
        return Err(CliError::bad_input(format!(
            "`{name}` is a name the system or a program reads from the environment, not a secret's"
        ))
        .hint(
            "reserved: PATH, HOME, USER, LOGNAME, SHELL, PWD, TMPDIR, TERM, LANG, TZ, IFS, ENV, BASH_ENV, \
             NODE_OPTIONS, PYTHONPATH and the like, and every LD_*, DYLD_*, LC_*, BASH_FUNC_* and AIORCH_* name",
        )
        .hint("name the secret after what it is (e.g. GITHUB_TOKEN)")
        .into());
    }
    Ok(())
}

fn is_reserved(name: &str) -> bool {
    RESERVED.contains(&name) || RESERVED_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// A value `secrets set` stores: environment variables cannot carry a NUL byte (every later
/// `exec` would fail), so it is refused here, without echoing the value.
pub fn validate_value(name: &str, value: &str) -> anyhow::Result<()> {
    if value.contains('\0') {
        return Err(CliError::bad_input(format!("the value for {name} contains a NUL byte; nothing was stored"))
            .hint("an environment variable cannot carry a NUL byte: store the value base64-encoded")
            .into());
    }
    Ok(())
}

/// Resolve `names` from the configured backend, in order. Any missing name is an error (exit 2)
/// that lists every missing name, the backend and the fix; nothing is returned partially.
pub fn resolve(cfg: &SecretsConfig, paths: &Paths, names: &[String]) -> anyhow::Result<Vec<(String, Value)>> {
    let store = open(cfg, paths)?;
    resolve_from(store.as_ref(), names)
}

pub(crate) fn resolve_from(store: &dyn Store, names: &[String]) -> anyhow::Result<Vec<(String, Value)>> {
    for n in names {
        // A reserved name stored before aiorch refused them is not injected either.
        validate_new_name(n).map_err(|e| match e.downcast::<CliError>() {
            Ok(c) if is_reserved(n) => c
                .hint(format!(
                    "remove it with `aiorch secrets rm {n}` and store it again under \
                                                       another name"
                ))
                .into(),
            Ok(c) => c.into(),
            Err(e) => e,
        })?;
    }
    let values = store.get_many(names)?;
    let missing: Vec<&str> = names.iter().zip(&values).filter(|(_, v)| v.is_none()).map(|(n, _)| n.as_str()).collect();
    if let Some(first) = missing.first() {
        let what = if missing.len() == 1 {
            format!("secret {first} is")
        } else {
            format!("secrets {} are", missing.join(", "))
        };
        return Err(CliError::bad_input(format!("{what} not in the {}", store.describe()))
            .hint(store.fix_missing(first))
            .hint("`aiorch secrets list` shows the names the backend holds")
            .into());
    }
    Ok(names.iter().cloned().zip(values.into_iter().flatten()).collect())
}

/// The aiorch arguments that wrap a command so it gets `names` in its environment:
/// `<aiorch> secrets exec --only A,B -- cmd args…`. With no names the wrapper injects nothing
/// (`--only ""`), never everything.
pub fn exec_wrapper_args(names: &[String]) -> Vec<String> {
    vec!["secrets".into(), "exec".into(), "--only".into(), names.join(","), "--".into()]
}

/// Every secret name something in the config needs, and who needs it (`mcp server github`):
/// doctor checks that each resolves.
pub(crate) fn required_by(cfg: &crate::config::Config) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (server, v) in &cfg.mcp.servers {
        for name in &v.secrets {
            out.entry(name.clone()).or_default().push(format!("mcp server {server}"));
        }
    }
    out
}

/// Parse `--only A,B --only C` into unique names in order (empty parts ignored).
pub fn parse_only(values: &[String]) -> anyhow::Result<Vec<String>> {
    let mut out: Vec<String> = vec![];
    for part in values.iter().flat_map(|v| v.split(',')).map(str::trim).filter(|p| !p.is_empty()) {
        validate_name(part)?;
        if !out.iter().any(|o| o == part) {
            out.push(part.to_string());
        }
    }
    Ok(out)
}

/// Replace `{name}` in an argv template.
pub(crate) fn fill_template(template: &[String], name: &str) -> Vec<String> {
    template.iter().map(|a| a.replace("{name}", name)).collect()
}

/// Bytes read from a reader's stdout → a value, without copying it: one trailing newline
/// (`\n` or `\r\n`) is dropped.
pub(crate) fn value_from_stdout(bytes: Vec<u8>, what: &dyn Fn() -> String) -> anyhow::Result<Value> {
    let mut bytes = Zeroizing::new(bytes);
    if bytes.ends_with(b"\n") {
        bytes.pop();
        if bytes.ends_with(b"\r") {
            bytes.pop();
        }
    }
    value_from_bytes(bytes, what)
}

/// Bytes → a value; anything that is not UTF-8 is refused (without echoing it).
pub(crate) fn value_from_bytes(mut bytes: Zeroizing<Vec<u8>>, what: &dyn Fn() -> String) -> anyhow::Result<Value> {
    // Move the buffer into the String (no copy left behind); a refused buffer is zeroed.
    match String::from_utf8(std::mem::take(&mut *bytes)) {
        Ok(s) => Ok(Zeroizing::new(s)),
        Err(e) => {
            drop(Zeroizing::new(e.into_bytes()));
            Err(CliError::failed(format!("{} is not UTF-8 text", what()))
                .hint("environment variables carry text: store the value base64-encoded")
                .into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_env_var_names() {
        for ok in ["A", "_X", "GITHUB_TOKEN", "k2"] {
            validate_name(ok).unwrap();
        }
        for bad in ["", "2A", "A-B", "A B", "A=B", "ä"] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn reserved_names_are_refused() {
        for bad in ["PATH", "HOME", "LD_PRELOAD", "DYLD_INSERT_LIBRARIES", "LC_ALL", "AIORCH_NOW", "NODE_OPTIONS"] {
            assert!(validate_new_name(bad).is_err(), "{bad}");
        }
        for ok in ["GITHUB_TOKEN", "PATHWAY_KEY", "HOMEBREW_GITHUB_API_TOKEN", "OPENAI_API_KEY"] {
            validate_new_name(ok).unwrap();
        }
        assert!(validate_value("K", "a\0b").is_err());
        validate_value("K", "ab").unwrap();
    }

    #[test]
    fn only_splits_dedups_and_validates() {
        assert_eq!(parse_only(&["A,B".into(), "B, C".into(), "".into()]).unwrap(), ["A", "B", "C"]);
        assert!(parse_only(&["A,1B".into()]).is_err());
        assert!(parse_only(&["".into()]).unwrap().is_empty());
    }

    #[test]
    fn wrapper_args_are_stable() {
        assert_eq!(exec_wrapper_args(&["A".into(), "B".into()]), ["secrets", "exec", "--only", "A,B", "--"]);
        assert_eq!(exec_wrapper_args(&[]), ["secrets", "exec", "--only", "", "--"]);
    }

    #[test]
    fn required_names_come_from_mcp_servers() {
        let cfg = crate::config::parse_str(
            "[mcp.servers.github]\ncommand = \"gh\"\nsecrets = [\"GITHUB_TOKEN\"]\n[mcp.servers.x]\n\
             secrets = [\"GITHUB_TOKEN\", \"X_KEY\"]\n[mcp.servers.none]\ncommand = \"y\"\n",
            crate::config::Format::Toml,
            "t.toml",
        )
        .unwrap();
        assert_eq!(required_by(&cfg).into_keys().collect::<Vec<_>>(), ["GITHUB_TOKEN", "X_KEY"]);
        assert_eq!(required_by(&cfg)["GITHUB_TOKEN"], ["mcp server github", "mcp server x"]);
    }

    #[test]
    fn stdout_values_lose_one_newline() {
        let w = || "x".to_string();
        assert_eq!(*value_from_stdout(b"abc\n".to_vec(), &w).unwrap(), "abc");
        assert_eq!(*value_from_stdout(b"abc\r\n".to_vec(), &w).unwrap(), "abc");
        assert_eq!(*value_from_stdout(b"abc\n\n".to_vec(), &w).unwrap(), "abc\n");
        assert!(value_from_stdout(vec![0xff], &w).is_err());
    }
}
