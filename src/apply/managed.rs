//! Files Nix manages (`[apply] nix_managed`). home-manager's client modules write their files
//! as read-only links into the Nix store; the Nix modules hand aiorch's part of such a file to
//! that module and list the file here. Apply then holds back every artifact at or under it
//! (never writing through the link) and forgets what it owned there; doctor checks that what
//! Nix wrote carries what aiorch would have merged.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::doc::Doc;
use super::{Artifact, Desired, Ledger};
use crate::config::apply::NixManaged;
use crate::paths::Paths;

/// One managed path, resolved against the home.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Managed {
    pub path: PathBuf,
    /// The option that writes it (`programs.claude-code`).
    pub by: String,
}

impl Managed {
    /// "home-manager (programs.claude-code)": who to ask for a change.
    pub fn owner(&self) -> String {
        format!("home-manager ({})", self.by)
    }

    fn covers(&self, p: &Path) -> bool {
        p.starts_with(&self.path)
    }
}

pub fn resolve(cfg: &[NixManaged], paths: &Paths) -> Vec<Managed> {
    cfg.iter().map(|m| Managed { path: crate::paths::expand_tilde(&m.path, &paths.home), by: m.by.clone() }).collect()
}

/// What apply left to Nix at one managed path.
#[derive(Debug, Clone)]
pub struct Held {
    pub managed: Managed,
    /// The artifacts aiorch declares there (Nix is expected to carry them).
    pub artifacts: Vec<Artifact>,
    /// Ledger entries aiorch had there from earlier runs, now forgotten.
    pub forgotten: usize,
}

impl Held {
    /// "4 keys, 1 link" for the plan line.
    pub fn what(&self) -> String {
        let mut keys = 0;
        let mut files = 0;
        for a in &self.artifacts {
            match &a.desired {
                Desired::Key { .. } => keys += 1,
                Desired::Members { values, .. } => keys += values.len(),
                Desired::Link { .. } | Desired::File { .. } => files += 1,
            }
        }
        let mut parts = vec![];
        if keys > 0 {
            parts.push(format!("{keys} setting{}", if keys == 1 { "" } else { "s" }));
        }
        if files > 0 {
            parts.push(format!("{files} file{}", if files == 1 { "" } else { "s" }));
        }
        if parts.is_empty() { "nothing of aiorch's".into() } else { parts.join(" and ") }
    }
}

/// Split `declared` into what apply plans and what it leaves to Nix, and drop from `old` every
/// entry at a managed path, so neither a write nor a retraction reaches the store link.
pub fn hold_back(managed: &[Managed], declared: Vec<Artifact>, mut old: Ledger) -> (Vec<Artifact>, Ledger, Vec<Held>) {
    if managed.is_empty() {
        return (declared, old, vec![]);
    }
    let mut held: Vec<Held> =
        managed.iter().map(|m| Held { managed: m.clone(), artifacts: vec![], forgotten: 0 }).collect();
    let which = |p: &Path| managed.iter().position(|m| m.covers(p));
    let mut kept = vec![];
    for a in declared {
        match which(&a.path) {
            Some(i) => held[i].artifacts.push(a),
            None => kept.push(a),
        }
    }
    old.entries.retain(|e| match which(&e.path) {
        Some(i) => {
            held[i].forgotten += 1;
            false
        }
        None => true,
    });
    old.created_files.retain(|p| which(p).is_none());
    old.merge_backups.retain(|p, _| which(p).is_none());
    held.retain(|h| !h.artifacts.is_empty() || h.forgotten > 0);
    (kept, old, held)
}

/// How the file Nix wrote differs from what aiorch would have put there: one line per
/// missing or different setting (empty: it carries all of it).
pub fn differences(held: &Held, paths: &Paths) -> Vec<String> {
    let mut out = vec![];
    for a in &held.artifacts {
        let shown = paths.display(&a.path);
        match &a.desired {
            Desired::Key { format, key, value } => match read_doc(*format, &a.path) {
                Err(e) => out.push(e),
                Ok(doc) => match doc.get(key) {
                    Some(v) if &v == value => {}
                    Some(v) => out.push(format!("`{}` is {v}, aiorch wants {value}", key.join("."))),
                    None => out.push(format!("`{}` is missing (aiorch wants {value})", key.join("."))),
                },
            },
            Desired::Members { format, key, values, .. } => match read_doc(*format, &a.path) {
                Err(e) => out.push(e),
                Ok(doc) => {
                    let have = match doc.get(key) {
                        Some(Value::Array(v)) => v,
                        _ => vec![],
                    };
                    let missing: Vec<String> =
                        values.iter().filter(|v| !have.contains(v)).map(|v| v.to_string()).collect();
                    if !missing.is_empty() {
                        out.push(format!("`{}` lacks {}", key.join("."), missing.join(", ")));
                    }
                }
            },
            Desired::Link { target } => {
                // The client module may carry aiorch's text after the user's own (instructions
                // options of type `lines` concatenate their definitions): whole is enough.
                let (want, have) = (fs_err::read(target).ok(), fs_err::read(&a.path).ok());
                let carried = match (&want, &have) {
                    (Some(w), Some(h)) => w == h || (!w.is_empty() && h.windows(w.len()).any(|x| x == &w[..])),
                    _ => want == have,
                };
                if !carried {
                    out.push(format!("{shown} lacks {} (aiorch's text, whole)", paths.display(target)));
                }
            }
            Desired::File { bytes, .. } => {
                let have = fs_err::read(&a.path).ok();
                // home-manager renders a TOML file from its own value (Gemini CLI's commands):
                // the same document in other bytes carries the same
                let same_toml = || {
                    let parse = |b: &[u8]| toml::from_str::<toml::Table>(std::str::from_utf8(b).ok()?).ok();
                    a.path.extension().is_some_and(|e| e == "toml")
                        && have.as_deref().and_then(parse).is_some_and(|h| parse(bytes) == Some(h))
                };
                if have.as_ref() != Some(bytes) && !same_toml() {
                    out.push(format!("{shown} differs from what aiorch renders"));
                }
            }
        }
    }
    out.dedup();
    out
}

fn read_doc(format: super::DocFormat, path: &Path) -> Result<Doc, String> {
    // Nix writes a link into the store: read what it points at.
    let text = fs_err::read_to_string(path).map_err(|e| e.to_string())?;
    Doc::parse(format, &text, path).map_err(|e| e.message)
}

/// The settings aiorch would merge into the file at `path`, as one JSON document (what the Nix
/// modules must hand to a client module): keys set, array members listed.
pub fn fragment(declared: &[Artifact], path: &Path) -> Value {
    let mut doc = Value::Object(Default::default());
    for a in declared.iter().filter(|a| a.path == path) {
        let (key, value) = match &a.desired {
            Desired::Key { key, value, .. } => (key, value.clone()),
            Desired::Members { key, values, .. } => {
                let mut list = match pointer(&doc, key) {
                    Some(Value::Array(v)) => v.clone(),
                    _ => vec![],
                };
                list.extend(values.iter().filter(|v| !list.contains(v)).cloned().collect::<Vec<_>>());
                (key, Value::Array(list))
            }
            Desired::Link { .. } | Desired::File { .. } => continue,
        };
        let mut at = &mut doc;
        for k in &key[..key.len() - 1] {
            let obj = at.as_object_mut().expect("intermediate keys are objects");
            at = obj.entry(k.clone()).or_insert_with(|| Value::Object(Default::default()));
        }
        at.as_object_mut().expect("intermediate keys are objects").insert(key[key.len() - 1].clone(), value);
    }
    doc
}

fn pointer<'a>(doc: &'a Value, key: &[String]) -> Option<&'a Value> {
    key.iter().try_fold(doc, |v, k| v.get(k))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::DocFormat;
    use serde_json::json;

    fn m(p: &str) -> Managed {
        Managed { path: PathBuf::from(p), by: "programs.claude-code".into() }
    }

    #[test]
    fn holds_back_artifacts_at_and_under_a_managed_path_and_forgets_old_entries() {
        let declared = vec![
            Artifact::key("plugins", "/h/.claude/settings.json".into(), DocFormat::Json, &["a"], json!(1)),
            Artifact::link("claude", "/h/.claude/commands/x.md".into(), "/t/x.md".into()),
            Artifact::file("claude", "/h/.claude/CLAUDE.md".into(), "x"),
        ];
        let mut old = Ledger::default();
        old.created_files.insert("/h/.claude/settings.json".into());
        let (kept, old, held) =
            hold_back(&[m("/h/.claude/settings.json"), m("/h/.claude/commands"), m("/h/none")], declared, old);
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].path, PathBuf::from("/h/.claude/CLAUDE.md"));
        assert!(old.created_files.is_empty());
        assert_eq!(held.len(), 2, "a managed path aiorch has nothing at is not shown");
        assert_eq!(held[0].what(), "1 setting");
        assert_eq!(held[1].what(), "1 file");
    }

    #[test]
    fn fragment_nests_keys_and_collects_members() {
        let p = PathBuf::from("/h/s.json");
        let declared = vec![
            Artifact::members(
                "policy",
                p.clone(),
                DocFormat::Json,
                &["permissions", "allow"],
                vec![json!("Bash(ls:*)")],
            ),
            Artifact::key("policy", p.clone(), DocFormat::Json, &["permissions", "defaultMode"], json!("dontAsk")),
            Artifact::key("plugins", p.clone(), DocFormat::Json, &["enabledPlugins", "a@b"], json!(true)),
            Artifact::key("mcp", "/h/other.json".into(), DocFormat::Json, &["x"], json!(1)),
        ];
        assert_eq!(
            fragment(&declared, &p),
            json!({"permissions": {"allow": ["Bash(ls:*)"], "defaultMode": "dontAsk"}, "enabledPlugins": {"a@b": true}})
        );
    }

    #[test]
    fn a_managed_link_holds_when_the_nix_file_carries_aiorchs_text_whole() {
        let dir = tempfile::tempdir().unwrap();
        let (target, nix) = (dir.path().join("AGENTS.md"), dir.path().join("nix-AGENTS.md"));
        std::fs::write(&target, "# aiorch\nrule one\n").unwrap();
        let paths = Paths {
            home: dir.path().into(),
            state_dir: dir.path().join("s"),
            config_file: dir.path().join("c"),
            config_explicit: false,
        };
        let held = Held {
            managed: m(&nix.display().to_string()),
            artifacts: vec![Artifact::link("codex", nix.clone(), target.clone())],
            forgotten: 0,
        };
        for (text, ok) in [
            ("# aiorch\nrule one\n", true),
            ("be brief\n# aiorch\nrule one\n", true),
            ("be brief\n# aiorch\nrule\n", false),
            ("be brief\n", false),
        ] {
            std::fs::write(&nix, text).unwrap();
            assert_eq!(differences(&held, &paths).is_empty(), ok, "{text:?}: {:?}", differences(&held, &paths));
        }
        std::fs::remove_file(&nix).unwrap();
        assert_eq!(differences(&held, &paths), vec!["~/nix-AGENTS.md lacks ~/AGENTS.md (aiorch's text, whole)"]);
    }

    #[test]
    fn a_managed_toml_file_holds_when_it_parses_to_what_aiorch_renders() {
        let dir = tempfile::tempdir().unwrap();
        let nix = dir.path().join("plan.toml");
        let paths = Paths {
            home: dir.path().into(),
            state_dir: dir.path().join("s"),
            config_file: dir.path().join("c"),
            config_explicit: false,
        };
        let ours = "description = \"Plan\"\nprompt = \'\'\'\nPlan {{args}}\n\'\'\'\n";
        let held = Held {
            managed: m(&nix.display().to_string()),
            artifacts: vec![Artifact::file("gemini", nix.clone(), ours)],
            forgotten: 0,
        };
        for (text, ok) in [
            (ours, true),
            ("description = \"Plan\"\nprompt = \"Plan {{args}}\\n\"\n", true),
            ("prompt = \"Plan {{args}}\\n\"\ndescription = \"Plan\"\n", true),
            ("description = \"Plan\"\nprompt = \"Plan {{args}}\"\n", false),
            ("not toml", false),
        ] {
            std::fs::write(&nix, text).unwrap();
            assert_eq!(differences(&held, &paths).is_empty(), ok, "{text:?}");
        }
    }
}
