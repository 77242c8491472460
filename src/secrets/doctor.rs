//! `aiorch doctor`, secrets part: the backend works, every name the config needs resolves
//! (reported by name only), and the keychain is protected (a password, locks on sleep).

use super::keychain::{Keychain, LOCK_AFTER_SECS};
use crate::check::Check;
use crate::config::Config;
use crate::config::secrets::Backend;
use crate::error::CliError;
use crate::paths::Paths;

const GROUP: &str = "secrets";

/// The message and first hint of an error (aiorch's errors never carry a value).
fn explain(e: &anyhow::Error) -> (String, String) {
    match e.downcast_ref::<CliError>() {
        Some(c) => {
            (c.message.clone(), c.hints.first().cloned().unwrap_or_else(|| "see `aiorch secrets --help`".into()))
        }
        None => (format!("{e:#}"), "see `aiorch secrets --help`".into()),
    }
}

pub fn checks(cfg: &Config, paths: &Paths) -> Vec<Check> {
    let mut out = vec![];
    let store = match super::open(&cfg.secrets, paths) {
        Ok(s) => s,
        Err(e) => {
            let (msg, fix) = explain(&e);
            out.push(Check::fail(GROUP, "backend", msg, fix));
            return out;
        }
    };
    out.push(Check::ok(GROUP, "backend", store.describe()));
    let usable = match cfg.secrets.backend {
        Backend::Keychain => match Keychain::new(&cfg.secrets, paths) {
            Ok(k) => keychain_checks(&k, &mut out),
            Err(e) => {
                let (msg, fix) = explain(&e);
                out.push(Check::fail(GROUP, "keychain", msg, fix));
                false
            }
        },
        Backend::File => match store.list() {
            Ok(names) => {
                out.push(Check::ok(GROUP, "secrets file", format!("{} name(s), private to you", names.len())));
                true
            }
            Err(e) => {
                let (msg, fix) = explain(&e);
                out.push(Check::fail(GROUP, "secrets file", msg, fix));
                false
            }
        },
        Backend::Command => {
            let program = cfg.secrets.command.as_ref().and_then(|c| c.first()).cloned().unwrap_or_default();
            match which::which(&program) {
                Ok(p) => {
                    out.push(Check::ok(GROUP, "reader", p.display().to_string()));
                    true
                }
                Err(_) => {
                    out.push(Check::fail(
                        GROUP,
                        "reader",
                        format!("`{program}` is not on PATH"),
                        "install it or fix secrets.command",
                    ));
                    false
                }
            }
        }
        Backend::Env => true,
    };

    let required = super::required_by(cfg);
    if required.is_empty() {
        out.push(Check::ok(
            GROUP,
            "required secrets",
            "none declared (an MCP server asks with `secrets = [\"NAME\"]`)",
        ));
    }
    for (name, by) in required {
        let by = by.join(", ");
        if !usable {
            out.push(Check::fail(
                GROUP,
                name.clone(),
                format!("cannot be checked: the backend is not usable (needed by {by})"),
                "fix the backend first (see above)",
            ));
            continue;
        }
        out.push(match store.contains(&name) {
            Ok(true) => Check::ok(GROUP, name, format!("resolves (needed by {by})")),
            Ok(false) => Check::fail(
                GROUP,
                name.clone(),
                format!("missing from the {} (needed by {by})", store.describe()),
                store.fix_missing(&name),
            ),
            Err(e) => {
                let (msg, fix) = explain(&e);
                Check::fail(GROUP, name, msg, fix)
            }
        });
    }
    out
}

/// Keychain health; returns whether items can be looked up.
fn keychain_checks(k: &Keychain, out: &mut Vec<Check>) -> bool {
    if !k.exists() {
        out.push(Check::fail(
            GROUP,
            "keychain",
            format!("{} does not exist", k.path.display()),
            "aiorch secrets setup",
        ));
        return false;
    }
    let path = k.path.display().to_string();
    match k.search_list() {
        Ok(list) if list.iter().any(|p| p == &k.path) => {
            out.push(Check::ok(GROUP, "keychain search list", "includes it"))
        }
        Ok(_) => out.push(Check::warn(
            GROUP,
            "keychain search list",
            "not listed (Keychain Access will not show it)",
            "aiorch secrets setup",
        )),
        Err(e) => out.push(Check::warn(GROUP, "keychain search list", explain(&e).0, "aiorch secrets setup")),
    }
    match k.has_empty_password() {
        Ok(false) => out.push(Check::ok(GROUP, "keychain password", "set")),
        Ok(true) => out.push(Check::warn(
            GROUP,
            "keychain password",
            "empty: anything running as you can read every key",
            format!("security set-keychain-password {path}"),
        )),
        Err(e) => out.push(Check::warn(GROUP, "keychain password", explain(&e).0, "check `security` works")),
    }
    let fix = format!("security set-keychain-settings -l -u -t {LOCK_AFTER_SECS} {path}");
    match k.settings() {
        Ok((true, t)) => out.push(Check::ok(
            GROUP,
            "keychain locking",
            t.map_or("on sleep".into(), |t| format!("on sleep and after {t}s idle")),
        )),
        Ok((false, _)) => out.push(Check::warn(GROUP, "keychain locking", "does not lock on sleep", fix)),
        Err(e) => out.push(Check::warn(GROUP, "keychain locking", explain(&e).0, fix)),
    }
    true
}
