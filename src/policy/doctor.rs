//! Doctor checks for the permission policy: for each client it is rendered for, whether the
//! rendered settings are in place, and which rules the client cannot express (with what it
//! does instead).

use std::collections::BTreeMap;

use super::{How, Policy, Translation};
use crate::apply::{self, Artifact, Desired};
use crate::check::Check;
use crate::config::{Client, Config};
use crate::paths::Paths;

const G: &str = "policy";

/// `translate`: a client's translation of the policy (the translations live in `clients/`).
pub fn checks(
    paths: &Paths,
    cfg: &Config,
    tree: &crate::agentsmd::Tree,
    translate: &dyn Fn(Client, &Policy) -> Translation,
) -> Vec<Check> {
    let clients = super::rendered_clients(cfg);
    if clients.is_empty() {
        let why = if cfg.policy.enable { "no managed client takes it" } else { "policy.enable = false" };
        return vec![Check::ok(G, "permission policy", format!("not rendered ({why})"))];
    }
    let policy = match super::load(&cfg.policy, tree) {
        Ok(p) => p,
        Err(e) => {
            let msg = crate::error::summary(&e);
            return vec![Check::fail(G, "policy loads", msg, "fix the policy file or [policy] in the config")];
        }
    };
    let mut out = vec![Check::ok(
        G,
        "policy loads",
        format!(
            "{} rules, posture {}, from {}",
            policy.rules.len(),
            policy.posture.decision().name(),
            super::source_name(tree)
        ),
    )];
    let nix = crate::apply::managed::resolve(&cfg.apply.nix_managed, paths);
    for c in clients {
        let t = translate(c, &policy);
        out.push(in_place(paths, &t, &nix));
        out.extend(gaps(&t));
    }
    out
}

/// Are this client's rendered settings on disk as aiorch would write them?
fn in_place(paths: &Paths, t: &Translation, nix: &[crate::apply::managed::Managed]) -> Check {
    let name = format!("{} settings in place", t.client.name());
    let problems: Vec<String> = t.artifacts.iter().filter_map(|a| artifact_problem(paths, a)).collect();
    if problems.is_empty() {
        let files: Vec<String> = t
            .artifacts
            .iter()
            .map(|a| paths.display(&a.path))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let detail = if files.is_empty() {
            "nothing aiorch can write for this policy (see the warnings below)".to_string()
        } else {
            files.join(", ")
        };
        Check::ok(G, name, detail)
    } else {
        // A file Nix writes gets aiorch's settings from the Nix module, not from apply.
        let by = nix.iter().find(|m| t.artifacts.iter().any(|a| a.path.starts_with(&m.path)));
        let fix = match by {
            Some(m) => format!(
                "{} writes this file: give the policy to programs.aiorch (not to {} directly), then switch",
                m.owner(),
                m.by
            ),
            None => "run `aiorch apply`".into(),
        };
        Check::fail(G, name, problems.join("; "), fix)
    }
}

fn artifact_problem(paths: &Paths, a: &Artifact) -> Option<String> {
    let shown = paths.display(&a.path);
    let real = apply::plan::resolve_link(&a.path);
    match &a.desired {
        Desired::File { bytes, .. } => match fs_err::read(&real) {
            Ok(have) if &have == bytes => None,
            Ok(_) => Some(format!("{shown} differs from the policy")),
            Err(_) => Some(format!("{shown} is missing")),
        },
        Desired::Key { format, key, value } => match read(*format, &real, key) {
            Err(msg) => Some(msg),
            Ok(Some(v)) if apply::same_value(a.ordered, &v, value) => None,
            Ok(Some(v)) if &v == value => {
                Some(format!("{shown}: `{}` is in another order than aiorch's", key.join(".")))
            }
            Ok(_) => Some(format!("{shown}: `{}` is not {value}", key.join("."))),
        },
        Desired::Members { format, key, values, .. } => match read(*format, &real, key) {
            Err(msg) => Some(msg),
            Ok(Some(serde_json::Value::Array(have))) => {
                let missing = values.iter().filter(|v| !have.contains(v)).count();
                (missing > 0).then(|| {
                    format!("{shown}: `{}` lacks {missing} of aiorch's {} entries", key.join("."), values.len())
                })
            }
            Ok(_) => Some(format!("{shown}: `{}` is missing", key.join("."))),
        },
        Desired::Link { .. } => None,
    }
}

fn read(format: apply::DocFormat, real: &std::path::Path, key: &[String]) -> Result<Option<serde_json::Value>, String> {
    let text = fs_err::read_to_string(real).unwrap_or_default();
    apply::read_key(format, &text, real, key).map_err(|e| e.message)
}

/// One warning per client and fallback: the rules it cannot express and what it does instead
/// (the notes, such as Copilot's flags, are in `aiorch policy show`).
fn gaps(t: &Translation) -> Vec<Check> {
    let mut groups: BTreeMap<(super::Decision, String), Vec<String>> = BTreeMap::new();
    for (r, fallback, why) in t.unexpressed() {
        groups.entry((fallback, why.to_string())).or_default().push(format!(
            "{} {} {:?}",
            r.decision.name(),
            r.kind.name(),
            r.pattern
        ));
    }
    if let How::Unexpressed { fallback, why } = &t.posture {
        groups.entry((*fallback, why.clone())).or_default().push("the posture".into());
    }
    let mut out = vec![];
    for ((fallback, why), rules) in groups {
        let safer = match fallback {
            super::Decision::Allow => "NOT enforced, the client allows it".to_string(),
            d => format!("safer side chosen: {}", d.name()),
        };
        out.push(Check::warn(
            G,
            format!("{} cannot express {} rule(s)", t.client.name(), rules.len()),
            format!("{}; {safer} — {why}", rules.join(", ")),
            format!("`aiorch policy show --client {}` lists them; see docs/permissions.md", t.client.name()),
        ));
    }
    out
}
