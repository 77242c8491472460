//! Plan: compare what config + agentsmd declare with what is on disk and in the ledger, and
//! compute, for every path, the one final state it should have. Nothing is written here, so a
//! file that does not parse stops everything before a single byte changes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::doc::Doc;
use super::fsutil::{sha256_hex, State};
use super::ledger::{value_hash, Entry, Ledger, Owned};
use super::{Artifact, Desired};
use crate::error::CliError;

/// What a path should become.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Link(PathBuf),
    File { bytes: Vec<u8>, mode: u32 },
    /// Put the backup at this path back.
    Restore(PathBuf),
    Absent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Merge,
    Retract,
    Restore,
}

#[derive(Debug, Clone)]
pub struct Change {
    pub path: PathBuf,
    pub action: Action,
    pub before: State,
    pub after: Target,
    /// Save `before` to the backups before replacing it (it is not aiorch's).
    pub backup: Option<PathBuf>,
    /// Merged key paths this change sets or retracts, for display.
    pub keys: Vec<String>,
    /// The text the merge was computed from: execution refuses to write if the file changed
    /// since (a client rewrote it concurrently) and the plan is computed again.
    pub merged_from: Option<Vec<u8>>,
}

#[derive(Debug, Default)]
pub struct Plan {
    pub changes: Vec<Change>,
    pub ledger: Ledger,
    /// Things the user should know that are not changes (a file of ours the user edited and
    /// we therefore left alone, keys the user changed, …).
    pub notes: Vec<String>,
    pub unchanged: usize,
}

pub struct Planner<'a> {
    pub backups_dir: &'a Path,
    pub stamp: &'a str,
    pub old: &'a Ledger,
}

impl Planner<'_> {
    pub fn plan(&self, desired: Vec<Artifact>) -> anyhow::Result<Plan> {
        let mut plan = Plan { ledger: Ledger { version: super::ledger::VERSION, ..Default::default() }, ..Default::default() };
        plan.ledger.dirs = self.old.dirs.clone();
        plan.ledger.created_files = self.old.created_files.clone();
        plan.ledger.merge_backups = self.old.merge_backups.clone();

        // Group by path: one whole-file artifact, or any number of keys.
        let mut wholes: BTreeMap<PathBuf, Artifact> = BTreeMap::new();
        let mut merges: BTreeMap<PathBuf, Vec<Artifact>> = BTreeMap::new();
        for a in desired {
            match &a.desired {
                Desired::Key { .. } => merges.entry(a.path.clone()).or_default().push(a),
                _ => {
                    if let Some(prev) = wholes.insert(a.path.clone(), a) {
                        anyhow::bail!("internal: two artifacts for {} ({})", prev.path.display(), prev.owner);
                    }
                }
            }
        }
        if let Some(p) = wholes.keys().find(|p| merges.contains_key(*p)) {
            anyhow::bail!("internal: {} is both a whole file and a merge target", p.display());
        }

        let mut paths: BTreeSet<PathBuf> = wholes.keys().chain(merges.keys()).cloned().collect();
        paths.extend(self.old.entries.iter().map(|e| e.path.clone()));

        for path in paths {
            if let Some(a) = wholes.remove(&path) {
                self.plan_whole(&mut plan, a)?;
            } else if merges.contains_key(&path) || self.old.keys_at(&path).next().is_some() {
                let wanted = merges.remove(&path).unwrap_or_default();
                self.plan_merge(&mut plan, &path, wanted)?;
            } else if let Some(e) = self.old.whole(&path) {
                self.plan_retract(&mut plan, e)?;
            }
        }
        plan.ledger.sort();
        Ok(plan)
    }

    fn backup_path(&self, path: &Path) -> PathBuf {
        let rel = path.strip_prefix("/").unwrap_or(path);
        self.backups_dir.join(self.stamp).join(rel)
    }

    fn plan_whole(&self, plan: &mut Plan, a: Artifact) -> anyhow::Result<()> {
        let path = a.path.clone();
        let before = State::read(&path)?;
        let owned = self.old.whole(&path);
        let (after, kind) = match a.desired {
            Desired::Link { target } => (Target::Link(target.clone()), Owned::Link { target }),
            Desired::File { bytes, mode } => {
                let sha256 = sha256_hex(&bytes);
                (Target::File { bytes, mode }, Owned::File { sha256 })
            }
            Desired::Key { .. } => unreachable!("merges are planned elsewhere"),
        };
        let mut entry = Entry { path: path.clone(), owner: a.owner.to_string(), kind, backup: owned.and_then(|o| o.backup.clone()) };

        if matches_target(&before, &after) {
            plan.unchanged += 1;
            if owned.is_none() && !matches!(before, State::Absent) {
                // Identical content the user already had: adopt it, but keep a copy so revert
                // gives it back rather than deleting it.
                let b = self.backup_path(&path);
                entry.backup = Some(b.clone());
                plan.changes.push(Change { path: path.clone(), action: Action::Update, before: before.clone(), after, backup: Some(b), keys: vec![], merged_from: None });
                plan.unchanged -= 1;
            }
            plan.ledger.entries.push(entry);
            return Ok(());
        }

        // Is what is there now something aiorch put there (and nobody changed since)?
        let ours_untouched = match (owned, &before) {
            (_, State::Absent) => true,
            (Some(Entry { kind: Owned::Link { target }, .. }), State::Link(t)) => t == target,
            (Some(Entry { kind: Owned::File { sha256 }, .. }), State::File { bytes, .. }) => &sha256_hex(bytes) == sha256,
            _ => false,
        };
        let mut backup = None;
        if !ours_untouched {
            // Not ours, or ours but edited by the user: keep a copy before replacing — unless
            // an earlier (interrupted) run already saved exactly this.
            let already = owned.and_then(|o| o.backup.as_ref()).is_some_and(|b| State::read(b).ok().as_ref() == Some(&before));
            if !already {
                let b = self.backup_path(&path);
                entry.backup = Some(b.clone());
                backup = Some(b);
                let whose = if owned.is_some() { "an edited copy of aiorch's" } else { "not created by aiorch" };
                plan.notes.push(format!("{} is {} ({}): it will be saved to the backups", path.display(), before.describe(), whose));
            }
        }
        let action = if matches!(before, State::Absent) { Action::Create } else { Action::Update };
        plan.changes.push(Change { path, action, before, after, backup, keys: vec![], merged_from: None });
        plan.ledger.entries.push(entry);
        Ok(())
    }

    fn plan_retract(&self, plan: &mut Plan, e: &Entry) -> anyhow::Result<()> {
        let before = State::read(&e.path)?;
        let ours_untouched = match (&e.kind, &before) {
            (Owned::Link { target }, State::Link(t)) => t == target,
            (Owned::File { sha256 }, State::File { bytes, .. }) => &sha256_hex(bytes) == sha256,
            _ => false,
        };
        if matches!(before, State::Absent) && e.backup.is_none() {
            return Ok(());
        }
        if !ours_untouched && !matches!(before, State::Absent) {
            plan.notes.push(format!(
                "{} was aiorch's but has been changed since; it is left as it is and no longer managed",
                e.path.display()
            ));
            return Ok(());
        }
        let (after, action) = match &e.backup {
            Some(b) if State::read(b)? != State::Absent => (Target::Restore(b.clone()), Action::Restore),
            _ => (Target::Absent, Action::Retract),
        };
        plan.changes.push(Change { path: e.path.clone(), action, before, after, backup: None, keys: vec![], merged_from: None });
        Ok(())
    }

    fn plan_merge(&self, plan: &mut Plan, path: &Path, wanted: Vec<Artifact>) -> anyhow::Result<()> {
        // Write through a symlinked settings file (dotfile managers link them), keeping the link.
        let real = resolve_link(path);
        let before = State::read(&real)?;
        let format = match (wanted.first().map(|a| &a.desired), self.old.keys_at(path).next().map(|e| &e.kind)) {
            (Some(Desired::Key { format, .. }), _) | (None, Some(Owned::Key { format, .. })) => *format,
            _ => unreachable!("a merge has keys"),
        };
        let (text, mode) = match &before {
            State::File { bytes, mode } => match std::str::from_utf8(bytes) {
                Ok(t) => (t.to_string(), *mode),
                Err(e) => {
                    let valid = std::str::from_utf8(&bytes[..e.valid_up_to()]).expect("valid prefix");
                    let (line, col) = crate::config::load::line_col(valid, valid.len());
                    let bad = bytes[e.valid_up_to()];
                    return Err(CliError::bad_input(format!("{}:{line}:{col}: not UTF-8 text (byte 0x{bad:02x})", real.display()))
                        .hint("fix or move the file, then run aiorch again; nothing was changed")
                        .into());
                }
            },
            State::Absent => (String::new(), 0o644),
            other => return Err(CliError::bad_input(format!("{} is {}, expected a {format:?} file", real.display(), other.describe())).into()),
        };
        let mut doc = Doc::parse(format, &text, &real)?;
        let existed = !matches!(before, State::Absent);
        let mut keys_changed = vec![];

        let wanted_keys: BTreeSet<Vec<String>> = wanted.iter().filter_map(|a| a.key_path().map(<[String]>::to_vec)).collect();
        for a in &wanted {
            let Desired::Key { key, value, .. } = &a.desired else { unreachable!() };
            let current = doc.get(key);
            let old = self.old.keys_at(path).find(|e| e.key() == Some(key.as_slice()));
            let (prior, created_parents) = match old {
                Some(Entry { kind: Owned::Key { prior, created_parents, .. }, .. }) => (prior.clone(), *created_parents),
                _ => (current.clone(), (1..key.len()).find(|&n| doc.get(&key[..n]).is_none()).map_or(0, |n| key.len() - n)),
            };
            if current.as_ref() != Some(value) {
                doc.set(key, value)?;
                keys_changed.push(key.join("."));
                if let (Some(old), Some(cur)) = (old, &current)
                    && let Owned::Key { sha256, .. } = &old.kind
                    && &value_hash(cur) != sha256
                {
                    plan.notes.push(format!("{}: `{}` had been changed by hand; aiorch's value is set again", real.display(), key.join(".")));
                }
            }
            plan.ledger.entries.push(Entry {
                path: path.to_path_buf(),
                owner: a.owner.to_string(),
                kind: Owned::Key { format, key: key.clone(), sha256: value_hash(value), prior, created_parents },
                backup: None,
            });
        }

        // Retract keys we own but no longer declare: put back what was there before us, but
        // only if the value is still ours (a value the user changed stays, unmanaged).
        let mut orphaned: Vec<(Vec<String>, usize)> = vec![];
        for e in self.old.keys_at(path) {
            let Owned::Key { key, sha256, prior, created_parents, .. } = &e.kind else { continue };
            if wanted_keys.contains(key) {
                continue;
            }
            match doc.get(key) {
                Some(cur) if &value_hash(&cur) == sha256 => {
                    match prior {
                        Some(p) => doc.set(key, p)?,
                        None => {
                            doc.remove(key)?;
                            if *created_parents > 0 {
                                orphaned.push((key.clone(), *created_parents));
                            }
                        }
                    }
                    keys_changed.push(format!("-{}", key.join(".")));
                }
                Some(_) => plan.notes.push(format!("{}: `{}` was changed by hand; left as it is and no longer managed", real.display(), key.join("."))),
                None => {}
            }
        }

        // Parents aiorch created go once every key under them is gone (siblings retracted in
        // the same run included); one still holding a key of ours passes the duty to that key.
        for (key, created) in &orphaned {
            prune_empty_parents(&mut doc, key, *created)?;
        }
        for (key, created) in &orphaned {
            let Some(parent) = (1..=*created).rev().map(|l| &key[..key.len() - l]).find(|p| doc.get(p).is_some()) else { continue };
            let heir = plan.ledger.entries.iter_mut().filter(|e| e.path == path).find_map(|e| match &mut e.kind {
                Owned::Key { key: k, created_parents, .. } if k.len() > parent.len() && k.starts_with(parent) => Some((k.len(), created_parents)),
                _ => None,
            });
            if let Some((len, c)) = heir {
                *c = (*c).max(len - parent.len());
            }
        }

        let new_text = doc.text();
        if new_text == text {
            plan.unchanged += 1;
            return Ok(());
        }
        let drop_file = plan.ledger.created_files.contains(path) && wanted.is_empty() && doc.is_empty();
        let mut backup = None;
        if existed && !plan.ledger.merge_backups.contains_key(path) && !plan.ledger.created_files.contains(path) {
            let b = self.backup_path(&real);
            plan.ledger.merge_backups.insert(path.to_path_buf(), b.clone());
            backup = Some(b);
        }
        if !existed {
            plan.ledger.created_files.insert(path.to_path_buf());
        }
        if drop_file {
            plan.ledger.created_files.remove(path);
        }
        let after = if drop_file { Target::Absent } else { Target::File { bytes: new_text.into_bytes(), mode } };
        let action = if wanted.is_empty() { Action::Retract } else { Action::Merge };
        plan.changes.push(Change { path: real, action, before, after, backup, keys: keys_changed, merged_from: Some(text.into_bytes()) });
        Ok(())
    }
}

/// After removing `a.b.c`, remove `a.b` and `a` if they are now empty objects and aiorch
/// created them (`created` levels, innermost first): an empty `mcpServers: {}` left behind
/// would be noise the user never wrote, but an empty object the user wrote stays.
fn prune_empty_parents(doc: &mut Doc, key: &[String], created: usize) -> Result<(), CliError> {
    for n in (1..key.len()).rev().take(created) {
        let parent = &key[..n];
        match doc.get(parent) {
            Some(Value::Object(m)) if m.is_empty() => {
                doc.remove(parent)?;
            }
            _ => break,
        }
    }
    Ok(())
}

fn matches_target(before: &State, after: &Target) -> bool {
    match (before, after) {
        (State::Link(t), Target::Link(w)) => t == w,
        (State::File { bytes, mode }, Target::File { bytes: b, mode: m }) => bytes == b && mode == m,
        (State::Absent, Target::Absent) => true,
        _ => false,
    }
}

/// Follow symlinks at `path` (so merges write through them); a dangling link resolves to its
/// target path, which is then created.
pub fn resolve_link(path: &Path) -> PathBuf {
    let mut p = path.to_path_buf();
    for _ in 0..32 {
        match std::fs::read_link(&p) {
            Ok(t) => p = if t.is_absolute() { t } else { p.parent().unwrap_or(Path::new("/")).join(t) },
            Err(_) => break,
        }
    }
    p
}

impl Artifact {
    fn key_path(&self) -> Option<&[String]> {
        match &self.desired {
            Desired::Key { key, .. } => Some(key),
            _ => None,
        }
    }
}
