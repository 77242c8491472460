//! Doctor checks for what the ledger says aiorch owns, and for drift against the config.

use crate::apply::fsutil::{State, sha256_hex};
use crate::apply::redact::Unresolved;
use crate::apply::{self, Artifact, Ledger, Owned, Redactor};
use crate::check::Check;
use crate::config::apply::NixManaged;
use crate::paths::Paths;

const G: &str = "managed files";

pub fn checks(
    paths: &Paths,
    declared: Vec<Artifact>,
    nix_managed: &[NixManaged],
    secrets: &Redactor,
) -> anyhow::Result<Vec<Check>> {
    let ledger = Ledger::load(&paths.ledger())?;
    let mut out = vec![];
    let managed = apply::managed::resolve(nix_managed, paths);
    let mut bad = 0;
    for e in ledger.entries.iter().filter(|e| !managed.iter().any(|m| e.path.starts_with(&m.path))) {
        let shown = paths.display(&e.path);
        let problem = match &e.kind {
            Owned::Link { target } => match State::read(&e.path)? {
                State::Link(t) if &t == target && e.path.exists() => None,
                State::Link(t) if &t == target => Some((
                    format!("{shown} -> {} is dangling", paths.display(target)),
                    "run `aiorch apply` (or restore the source)".to_string(),
                )),
                State::Absent => Some((format!("{shown} is missing"), "run `aiorch apply`".into())),
                other => Some((
                    format!("{shown} should link to {} but is {}", paths.display(target), other.describe()),
                    "run `aiorch apply` (the current content will be backed up)".into(),
                )),
            },
            Owned::File { sha256 } => match State::read(&e.path)? {
                State::File { bytes, .. } if &sha256_hex(&bytes) == sha256 => None,
                State::Absent => Some((format!("{shown} is missing"), "run `aiorch apply`".into())),
                _ => Some((
                    format!("{shown} was changed after aiorch wrote it"),
                    "edit the agentsmd source instead, then `aiorch apply` (your edit will be backed up)".into(),
                )),
            },
            Owned::Key { format, key, sha256, .. } => {
                let real = apply::plan::resolve_link(&e.path);
                let text = fs_err::read_to_string(&real).unwrap_or_default();
                match apply_doc_get(*format, &text, &real, key) {
                    Err(msg) => {
                        Some((msg, "fix the file by hand; aiorch will not write into a file it cannot parse".into()))
                    }
                    Ok(Some(v)) if crate::apply::ledger::hash_matches(&v, sha256) => None,
                    Ok(Some(_)) => Some((
                        format!("{shown}: `{}` was changed by hand", key.join(".")),
                        "run `aiorch apply` to set it again, or remove it from the config".into(),
                    )),
                    Ok(None) => Some((format!("{shown}: `{}` is missing", key.join(".")), "run `aiorch apply`".into())),
                }
            }
            Owned::Members { format, key, values, .. } => {
                let real = apply::plan::resolve_link(&e.path);
                let text = fs_err::read_to_string(&real).unwrap_or_default();
                match apply_doc_get(*format, &text, &real, key) {
                    Err(msg) => {
                        Some((msg, "fix the file by hand; aiorch will not write into a file it cannot parse".into()))
                    }
                    Ok(Some(serde_json::Value::Array(have))) => {
                        let missing: Vec<String> =
                            values.iter().filter(|v| !have.contains(v)).map(|v| v.to_string()).collect();
                        (!missing.is_empty()).then(|| {
                            (
                                format!("{shown}: `{}` lacks {}", key.join("."), missing.join(", ")),
                                "run `aiorch apply` to add them again".into(),
                            )
                        })
                    }
                    Ok(_) if values.is_empty() => None,
                    Ok(_) => Some((
                        format!("{shown}: `{}` is missing or not an array", key.join(".")),
                        "run `aiorch apply`".into(),
                    )),
                }
            }
        };
        if let Some((detail, fix)) = problem {
            bad += 1;
            out.push(Check::fail(G, "owned artifact", detail, fix));
        }
        // What the ledger keeps of the user's text names a secret the backend cannot give back.
        if let Some(u) = unresolved(secrets, &serde_json::to_vec(&e.kind)?)? {
            bad += 1;
            out.push(Check::fail(
                G,
                "backup",
                format!(
                    "the ledger's copy of the user's `{}` in {shown} holds a placeholder for a secret, and {}: \
                     `aiorch revert` would leave aiorch's version of the file",
                    e.key().map(|k| k.join(".")).unwrap_or_default(),
                    u.describe()
                ),
                fix(secrets, &u),
            ));
        }
        if let Some(b) = &e.backup
            && let State::File { bytes, .. } = State::read(b)?
            && let Some(u) = unresolved(secrets, &bytes)?
        {
            bad += 1;
            out.push(Check::fail(
                G,
                "backup",
                format!(
                    "the backup of {shown} ({}) holds a placeholder for a secret, and {}",
                    paths.display(b),
                    u.describe()
                ),
                fix(secrets, &u),
            ));
        }
        if let Some(b) = &e.backup
            && State::read(b)? == State::Absent
        {
            bad += 1;
            out.push(Check::fail(
                G,
                "backup",
                format!("the backup of {shown} is missing: {}", paths.display(b)),
                "put it back from your own backup; without it `aiorch revert` keeps aiorch's version of the file",
            ));
        }
    }
    for (file, b) in &ledger.merge_backups {
        if let State::File { bytes, .. } = State::read(b)?
            && let Some(u) = unresolved(secrets, &bytes)?
        {
            out.push(Check::warn(
                G,
                "backup",
                format!(
                    "the copy of {} taken before aiorch's first merge ({}) holds a placeholder for a secret, and {}",
                    paths.display(file),
                    paths.display(b),
                    u.describe()
                ),
                fix(secrets, &u),
            ));
        }
        if State::read(b)? == State::Absent {
            out.push(Check::warn(
                G,
                "backup",
                format!(
                    "the copy of {} taken before aiorch's first merge is missing: {}",
                    paths.display(file),
                    paths.display(b)
                ),
                "nothing depends on it (revert restores key by key); put it back if you keep one",
            ));
        }
    }
    if bad == 0 {
        out.push(Check::ok(G, "owned artifacts intact", format!("{} links, files and keys", ledger.entries.len())));
    }

    // Drift: would `apply` change anything?
    // A client file that no longer parses is a finding to report, not a reason to stop.
    let plan = match apply::plan(paths, declared, nix_managed, &Default::default(), secrets) {
        Ok(p) => p,
        Err(e) => {
            let msg = crate::error::summary(&e);
            out.push(Check::fail(
                G,
                "in sync with the config",
                format!("cannot plan: {msg}"),
                "fix or move the file it names, then run `aiorch apply`",
            ));
            return Ok(out);
        }
    };
    out.extend(plan.held.iter().map(|h| nix_check(paths, h)));
    if plan.changes.is_empty() {
        out.push(Check::ok(G, "in sync with the config", ""));
    } else {
        let list: Vec<String> = plan.changes.iter().take(5).map(|c| paths.display(&c.path)).collect();
        out.push(Check::fail(
            G,
            "in sync with the config",
            format!(
                "{} pending change(s): {}{}",
                plan.changes.len(),
                list.join(", "),
                if plan.changes.len() > 5 { ", …" } else { "" }
            ),
            "run `aiorch apply --dry-run` to see them, then `aiorch apply`",
        ));
    }
    for n in plan.notes {
        out.push(Check::warn(G, "conflict", n, "see `aiorch apply --dry-run`"));
    }
    Ok(out)
}

/// A file Nix manages: it is there, and it carries what aiorch would have merged.
fn nix_check(paths: &Paths, h: &apply::managed::Held) -> Check {
    let shown = paths.display(&h.managed.path);
    let label = format!("{shown} managed by {}", h.managed.owner());
    let fix = format!(
        "set it through programs.aiorch (a value of your own in {} overrides aiorch's), then switch to the new \
         generation",
        h.managed.by
    );
    if !h.managed.path.exists() {
        return Check::fail(G, label, "missing", "activate the home-manager generation (home-manager switch)");
    }
    let diffs = apply::managed::differences(h, paths);
    let whence = match State::read(&h.managed.path) {
        Ok(State::Link(t)) => format!(" -> {}", t.display()),
        _ => String::new(),
    };
    if diffs.is_empty() {
        Check::ok(G, label, format!("carries aiorch's {}{whence}", h.what()))
    } else {
        let more = if diffs.len() > 3 { format!(" (+{} more)", diffs.len() - 3) } else { String::new() };
        Check::warn(G, label, format!("{}{more}", diffs[..diffs.len().min(3)].join("; ")), fix)
    }
}

/// The first secret a placeholder in `bytes` names that the backend cannot fill in as it was.
fn unresolved(secrets: &Redactor, bytes: &[u8]) -> anyhow::Result<Option<Unresolved>> {
    if !apply::redact::has_placeholder(bytes) {
        return Ok(None);
    }
    Ok(secrets.unredact(bytes)?.err().and_then(|bad| bad.into_iter().next()))
}

fn fix(secrets: &Redactor, u: &Unresolved) -> String {
    format!(
        "store the value it had with {}; if it is gone for good, `aiorch revert --current-secrets` writes the value \
         the backend has now",
        secrets.fix(u.name())
    )
}

fn apply_doc_get(
    format: apply::DocFormat,
    text: &str,
    path: &std::path::Path,
    key: &[String],
) -> Result<Option<serde_json::Value>, String> {
    apply::read_key(format, text, path, key).map_err(|e| e.message)
}
