//! Plan: compare what config + agentsmd declare with what is on disk and in the ledger, and
//! compute, for every path, the one final state it should have. Nothing is written here, so a
//! file that does not parse stops everything before a single byte changes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::doc::Doc;
use super::doc::splice_of;
use super::fsutil::{State, sha256_hex};
use super::ledger::{Entry, Ledger, Owned, hash_matches, value_hash};
use super::{Artifact, Desired};
use crate::error::CliError;

/// What a path should become.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Link(PathBuf),
    File {
        bytes: Vec<u8>,
        mode: u32,
    },
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
    /// Files Nix manages, left alone (`[apply] nix_managed`).
    pub held: Vec<super::managed::Held>,
    /// The user's own entries under names aiorch declares (`file:line: key …`, name): planning
    /// stops with all of them listed, since each is the user's decision.
    pub conflicts: Vec<(String, String)>,
    /// The `--adopt` names that did take over an entry of the user's.
    pub adopted: BTreeSet<String>,
    /// Things that could not be done as they should (a backup that went missing): the run
    /// goes on, then says so and exits 1.
    pub warnings: Vec<String>,
}

pub struct Planner<'a> {
    pub backups_dir: &'a Path,
    pub stamp: &'a str,
    pub old: &'a Ledger,
    /// Names of the user's own entries aiorch may take over (`apply --adopt NAME`).
    pub adopt: &'a BTreeSet<String>,
    /// The ledger is gone but earlier runs left backups: what is on disk is told apart by
    /// content (see `recognise`), and the user's originals come from those backups again.
    pub lost_ledger: bool,
    /// Secret values: backups and the ledger hold placeholders for them (see `redact`).
    pub secrets: &'a super::redact::Redactor<'a>,
}

impl Planner<'_> {
    pub fn plan(&self, desired: Vec<Artifact>) -> anyhow::Result<Plan> {
        let mut plan =
            Plan { ledger: Ledger { version: super::ledger::VERSION, ..Default::default() }, ..Default::default() };
        plan.ledger.dirs = self.old.dirs.clone();
        plan.ledger.created_files = self.old.created_files.clone();
        plan.ledger.merge_backups = self.old.merge_backups.clone();

        // Group by path: one whole-file artifact, or any number of keys.
        let mut wholes: BTreeMap<PathBuf, Artifact> = BTreeMap::new();
        let mut merges: BTreeMap<PathBuf, Vec<Artifact>> = BTreeMap::new();
        for a in desired {
            match &a.desired {
                Desired::Key { .. } | Desired::Members { .. } => merges.entry(a.path.clone()).or_default().push(a),
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
            } else if merges.contains_key(&path)
                || self.old.keys_at(&path).next().is_some()
                || self.old.members_at(&path).next().is_some()
            {
                let wanted = merges.remove(&path).unwrap_or_default();
                self.plan_merge(&mut plan, &path, wanted)?;
            } else if let Some(e) = self.old.whole(&path) {
                self.plan_retract(&mut plan, e)?;
            }
        }
        plan.ledger.sort();
        for name in self.adopt.iter().filter(|n| !plan.adopted.contains(*n)) {
            plan.notes.push(format!("--adopt {name}: no entry of the user's under that name differs from aiorch's"));
        }
        if self.lost_ledger {
            plan.notes.push(
                "the ledger was missing: what is exactly as aiorch generates it is taken as aiorch's own, and \
                 the user's originals are taken from the backups again"
                    .into(),
            );
        }
        if !plan.conflicts.is_empty() {
            return Err(conflict_error(&plan.conflicts).into());
        }
        Ok(plan)
    }

    /// Does the backup at `b` hold exactly `state` (its placeholders filled in)?
    fn backup_holds(&self, b: &Path, state: &State) -> anyhow::Result<bool> {
        Ok(match (State::read(b).ok(), state) {
            (Some(State::File { bytes, mode }), State::File { bytes: now, mode: m })
                if super::redact::has_placeholder(&bytes) =>
            {
                mode == *m && self.secrets.unredact(&bytes)?.is_ok_and(|filled| &filled == now)
            }
            (got, _) => got.as_ref() == Some(state),
        })
    }

    /// Placeholders in the backup file `b` that cannot be filled in (none for a link or a tree).
    fn unresolved_in(&self, b: &Path) -> anyhow::Result<Vec<super::redact::Unresolved>> {
        Ok(match State::read(b)? {
            State::File { bytes, .. } => self.secrets.unredact(&bytes)?.err().unwrap_or_default(),
            _ => vec![],
        })
    }

    fn backup_path(&self, path: &Path) -> PathBuf {
        let rel = path.strip_prefix("/").unwrap_or(path);
        self.backups_dir.join(self.stamp).join(rel)
    }

    /// The newest copy of `path` an earlier run saved to the backups.
    fn newest_backup(&self, path: &Path) -> Option<PathBuf> {
        let rel = path.strip_prefix("/").unwrap_or(path);
        let mut stamps: Vec<PathBuf> = fs_err::read_dir(self.backups_dir).ok()?.flatten().map(|e| e.path()).collect();
        // `STAMP-N` (a second run in the same second) sorts after `STAMP`; N counts up from 2.
        stamps.sort_by_key(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let (base, n) =
                name.split_once('-').map_or((name.clone(), 1), |(b, n)| (b.to_string(), n.parse().unwrap_or(1)));
            (base, n)
        });
        stamps.into_iter().rev().map(|s| s.join(rel)).find(|b| fs_err::symlink_metadata(b).is_ok())
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
            Desired::Key { .. } | Desired::Members { .. } => unreachable!("merges are planned elsewhere"),
        };
        let mut entry = Entry {
            path: path.clone(),
            owner: a.owner.to_string(),
            kind,
            backup: owned.and_then(|o| o.backup.clone()),
        };

        if matches_target(&before, &after) {
            plan.unchanged += 1;
            if owned.is_none() && self.lost_ledger && !matches!(before, State::Absent) {
                // Exactly what aiorch generates, with no ledger to say whose it is: aiorch's
                // own (it backs up whatever it replaces, so the user's original, if there was
                // one, is the newest backup of this path).
                entry.backup = self.newest_backup(&path);
                if let Some(b) = &entry.backup {
                    plan.notes.push(format!(
                        "{} is exactly what aiorch generates: taken as aiorch's own (the user's original is the \
                         backup {})",
                        path.display(),
                        b.display()
                    ));
                }
                plan.ledger.entries.push(entry);
                return Ok(());
            }
            if owned.is_none() && !matches!(before, State::Absent) {
                // Identical content the user already had: adopt it, but keep a copy so revert
                // gives it back rather than deleting it.
                let b = self.backup_path(&path);
                entry.backup = Some(b.clone());
                plan.changes.push(Change {
                    path: path.clone(),
                    action: Action::Update,
                    before: before.clone(),
                    after,
                    backup: Some(b),
                    keys: vec![],
                    merged_from: None,
                });
                plan.unchanged -= 1;
            }
            plan.ledger.entries.push(entry);
            return Ok(());
        }

        // Is what is there now something aiorch put there (and nobody changed since)?
        let ours_untouched = match (owned, &before) {
            (_, State::Absent) => true,
            (Some(Entry { kind: Owned::Link { target }, .. }), State::Link(t)) => t == target,
            (Some(Entry { kind: Owned::File { sha256 }, .. }), State::File { bytes, .. }) => {
                &sha256_hex(bytes) == sha256
            }
            _ => false,
        };
        let mut backup = None;
        if !ours_untouched {
            // Not ours, or ours but edited by the user: keep a copy before replacing — unless
            // an earlier (interrupted) run already saved exactly this.
            let already = match owned.and_then(|o| o.backup.as_ref()) {
                Some(b) => self.backup_holds(b, &before)?,
                None => false,
            };
            if !already {
                let b = self.backup_path(&path);
                entry.backup = Some(b.clone());
                backup = Some(b);
                let whose = if owned.is_some() { "an edited copy of aiorch's" } else { "not created by aiorch" };
                plan.notes.push(format!(
                    "{} is {} ({}): it will be saved to the backups",
                    path.display(),
                    before.describe(),
                    whose
                ));
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
            if let Some(b) = &e.backup
                && self.backup_holds(b, &before)?
            {
                // Exactly what was saved before aiorch's change: a run stopped before that change
                // landed (the journal names it), so the user's file is still in place.
                return Ok(());
            }
            plan.notes.push(format!(
                "{} was aiorch's but has been changed since; it is left as it is and no longer managed",
                e.path.display()
            ));
            return Ok(());
        }
        let (after, action) = match &e.backup {
            Some(b) if State::read(b)? != State::Absent => {
                let bad = self.unresolved_in(b)?;
                if let Some(u) = bad.first() {
                    // Writing another value than the user had would not be their file.
                    plan.warnings.push(format!(
                        "{} is not restored: its backup {} holds a placeholder for a secret, and {}; aiorch's \
                         version is left in place. Store the value it had with {} and run it again (or `aiorch \
                         revert --current-secrets` writes the value the backend has now)",
                        e.path.display(),
                        b.display(),
                        u.describe(),
                        self.secrets.fix(u.name())
                    ));
                    if !matches!(before, State::Absent) {
                        plan.ledger.entries.push(e.clone());
                    }
                    return Ok(());
                }
                (Target::Restore(b.clone()), Action::Restore)
            }
            Some(b) => {
                // Removing aiorch's version would leave nothing at all: keep it (and keep
                // owning it, so a backup put back later is still restored).
                plan.warnings.push(format!(
                    "{} cannot be restored: its backup {} is missing, so aiorch's version is left in place",
                    e.path.display(),
                    b.display()
                ));
                if !matches!(before, State::Absent) {
                    plan.ledger.entries.push(e.clone());
                }
                return Ok(());
            }
            None => (Target::Absent, Action::Retract),
        };
        plan.changes.push(Change {
            path: e.path.clone(),
            action,
            before,
            after,
            backup: None,
            keys: vec![],
            merged_from: None,
        });
        Ok(())
    }

    fn plan_merge(&self, plan: &mut Plan, path: &Path, wanted: Vec<Artifact>) -> anyhow::Result<()> {
        // Write through a symlinked settings file (dotfile managers link them), keeping the link;
        // an empty file may be one a client is writing (`read_settled`).
        let real = super::preflight::merge_target(path)?;
        let before = State::read_settled(&real)?;
        let old_merged = self.old.keys_at(path).chain(self.old.members_at(path)).next().map(|e| &e.kind);
        let format = match (wanted.first().map(|a| &a.desired), old_merged) {
            (Some(Desired::Key { format, .. } | Desired::Members { format, .. }), _)
            | (None, Some(Owned::Key { format, .. } | Owned::Members { format, .. })) => *format,
            _ => unreachable!("a merge has keys"),
        };
        let (text, mode) = match &before {
            State::File { bytes, mode } => match std::str::from_utf8(bytes) {
                Ok(t) => (t.to_string(), *mode),
                Err(e) => {
                    let valid = std::str::from_utf8(&bytes[..e.valid_up_to()]).expect("valid prefix");
                    let (line, col) = crate::config::load::line_col(valid, valid.len());
                    let bad = bytes[e.valid_up_to()];
                    return Err(CliError::bad_input(format!(
                        "{}:{line}:{col}: not UTF-8 text (byte 0x{bad:02x})",
                        real.display()
                    ))
                    .hint("fix or move the file, then run aiorch again; nothing was changed")
                    .into());
                }
            },
            State::Absent => (String::new(), 0o644),
            other => {
                return Err(CliError::bad_input(format!(
                    "{} is {}, expected a {format:?} file",
                    real.display(),
                    other.describe()
                ))
                .into());
            }
        };
        let mut doc = Doc::parse(format, &text, &real)?;
        let existed = !matches!(before, State::Absent);
        if let Some(why) = self.blocked(path, &real, &wanted)? {
            // Undoing it would write another value than the user had: the file stays as it is.
            plan.warnings.push(why);
            plan.ledger.entries.extend(self.old.keys_at(path).chain(self.old.members_at(path)).cloned());
            plan.unchanged += 1;
            return Ok(());
        }
        // No ledger: what the file held before aiorch's first merge is its newest backup.
        // None at all: aiorch backs up every file it first merges into, so aiorch created it.
        let recovered = match self.lost_ledger && old_merged.is_none() && existed {
            true => match self.newest_backup(&real) {
                Some(b) => {
                    // The values the backend has are filled in; a placeholder left stays one, and
                    // a key recovered with it is blocked at revert like any other.
                    let filled = match fs_err::read(&b) {
                        Ok(bytes) => Some(self.secrets.unredact_partly(&bytes)?.0),
                        Err(_) => None,
                    };
                    let d =
                        filled.and_then(|t| String::from_utf8(t).ok()).and_then(|t| Doc::parse(format, &t, &b).ok());
                    if d.is_some() {
                        plan.ledger.merge_backups.insert(path.to_path_buf(), b);
                    }
                    d
                }
                None => {
                    plan.ledger.created_files.insert(path.to_path_buf());
                    Some(Doc::parse(format, "", &real)?)
                }
            },
            false => None,
        };
        let mut keys_changed = vec![];

        let wanted_keys: BTreeSet<Vec<String>> =
            wanted.iter().filter_map(|a| a.key_path().map(<[String]>::to_vec)).collect();
        let mut conflicts: Vec<(String, String)> = vec![];
        // This run records some of the user's own text in the ledger (a value it takes over).
        let mut records_theirs = false;
        for a in &wanted {
            let Desired::Key { key, value, .. } = &a.desired else { continue };
            let current = doc.get(key);
            let same = |v: &Value| super::same_value(a.ordered, v, value);
            let old = self.old.keys_at(path).find(|e| e.key() == Some(key.as_slice()));
            let (prior, created_parents, old_splice) = match old {
                Some(Entry { kind: Owned::Key { prior, created_parents, splice, .. }, .. }) => {
                    (prior.clone(), *created_parents, splice.clone())
                }
                _ => {
                    // Without a ledger, aiorch's own value is recognised by being equal to it;
                    // what it replaced is then in the backup.
                    let base = match &recovered {
                        Some(r) if current.as_ref().is_some_and(same) => r,
                        _ => &doc,
                    };
                    (
                        base.get(key),
                        (1..key.len()).find(|&n| base.get(&key[..n]).is_none()).map_or(0, |n| key.len() - n),
                        None,
                    )
                }
            };
            let mut splice = old_splice.clone();
            if old.is_none()
                && let (Some(theirs), Some(ours)) = (&current, &a.conflict)
                && !same(theirs)
            {
                // A named entry of the user's where aiorch declares one: a decision for the
                // user, never a silent replacement.
                let name = key.last().expect("key paths are never empty");
                let at = doc.line_of(key).map_or(String::new(), |l| format!(":{l}"));
                if !self.adopt.contains(name) {
                    conflicts.push((
                        format!("{at}: `{}` is the user's own, not aiorch's ({ours})", key.join(".")),
                        name.clone(),
                    ));
                    continue;
                }
                plan.adopted.insert(name.clone());
                plan.notes.push(format!(
                    "{}{at}: `{}` was the user's own; adopted (`--adopt {name}`): it is kept in aiorch's ledger \
                     and `aiorch revert` puts it back",
                    real.display(),
                    key.join(".")
                ));
            }
            if !current.as_ref().is_some_and(same) {
                // Record the edit against the user's own text: while aiorch's earlier value is
                // still there, put theirs back first, so the splice always holds their bytes.
                let ours_still = match (old.map(|e| &e.kind), &current) {
                    (Some(Owned::Key { sha256, .. }), Some(c)) => hash_matches(c, sha256),
                    _ => false,
                };
                let restored = match (&old_splice, &prior) {
                    (Some(sp), Some(p)) if ours_still => {
                        let mut want = doc.clone();
                        want.set(key, p)?;
                        doc.unsplice(sp, &want)
                    }
                    _ => None,
                };
                let fresh = old.is_none();
                let had_restore = restored.is_some();
                if let Some(d) = restored {
                    doc = d;
                }
                let before_text = doc.text();
                if a.ordered && current.is_some() {
                    // A member-by-member merge keeps the members' old order: write it whole.
                    doc.remove(key)?;
                }
                doc.set(key, value)?;
                splice = (prior.is_some() && (fresh || had_restore)).then(|| splice_of(&before_text, &doc.text()));
                keys_changed.push(key.join("."));
                if let (Some(old), Some(cur)) = (old, &current)
                    && let Owned::Key { sha256, .. } = &old.kind
                    && !hash_matches(cur, sha256)
                {
                    plan.notes.push(format!(
                        "{}: `{}` had been changed by hand; aiorch's value is set again",
                        real.display(),
                        key.join(".")
                    ));
                }
            }
            records_theirs |= old.is_none() && prior.is_some();
            plan.ledger.entries.push(Entry {
                path: path.to_path_buf(),
                owner: a.owner.to_string(),
                kind: Owned::Key {
                    format,
                    key: key.clone(),
                    sha256: value_hash(value),
                    prior,
                    created_parents,
                    splice,
                },
                backup: None,
            });
        }
        for c in conflicts {
            plan.conflicts.push((format!("{}{}", real.display(), c.0), c.1));
        }

        // Retract keys we own but no longer declare: put back what was there before us, but
        // only if the value is still ours (a value the user changed stays, unmanaged).
        let mut orphaned: Vec<(Vec<String>, usize)> = vec![];
        for e in self.old.keys_at(path) {
            let Owned::Key { key, sha256, prior, created_parents, splice, .. } = &e.kind else { continue };
            if wanted_keys.contains(key) {
                continue;
            }
            match doc.get(key) {
                Some(cur) if hash_matches(&cur, sha256) => {
                    match prior {
                        Some(p) => {
                            // The user's own bytes when the file around them allows it, else
                            // their value re-rendered.
                            let mut want = doc.clone();
                            want.set(key, p)?;
                            if !want.get(key).is_some_and(|w| super::same_value(true, &w, p)) {
                                // Set over aiorch's value, their members would keep aiorch's
                                // order (which can decide differently: OpenCode's permission).
                                want.remove(key)?;
                                want.set(key, p)?;
                            }
                            doc = splice.as_ref().and_then(|sp| doc.unsplice(sp, &want)).unwrap_or(want);
                        }
                        None => {
                            doc.remove(key)?;
                            if *created_parents > 0 {
                                orphaned.push((key.clone(), *created_parents));
                            }
                        }
                    }
                    keys_changed.push(format!("-{}", key.join(".")));
                }
                // What was there before aiorch: its change never landed (a run stopped first) or
                // the user set it back; either way revert has nothing to do and nobody to blame.
                Some(cur) if prior.as_ref() == Some(&cur) => {}
                Some(_) => plan.notes.push(format!(
                    "{}: `{}` was changed by hand; left as it is and no longer managed",
                    real.display(),
                    key.join(".")
                )),
                None => {}
            }
        }

        // Parents aiorch created go once every key under them is gone (siblings retracted in
        // the same run included); one still holding a key of ours passes the duty to that key.
        for (key, created) in &orphaned {
            prune_empty_parents(&mut doc, key, *created)?;
        }
        for (key, created) in &orphaned {
            let Some(parent) = (1..=*created).rev().map(|l| &key[..key.len() - l]).find(|p| doc.get(p).is_some())
            else {
                continue;
            };
            let heir = plan.ledger.entries.iter_mut().filter(|e| e.path == path).find_map(|e| match &mut e.kind {
                Owned::Key { key: k, created_parents, .. } if k.len() > parent.len() && k.starts_with(parent) => {
                    Some((k.len(), created_parents))
                }
                _ => None,
            });
            if let Some((len, c)) = heir {
                *c = (*c).max(len - parent.len());
            }
        }
        let pristine = Doc::parse(format, &text, &real)?;
        let docs = (&mut doc, recovered.as_ref(), &pristine);
        self.plan_members(plan, docs, (path, &real), format, &wanted, &mut keys_changed)?;

        let new_text = doc.text();
        if new_text == text {
            plan.unchanged += 1;
            return Ok(());
        }
        super::preflight::write_through(path, &real, &before)?;
        let drop_file = plan.ledger.created_files.contains(path) && wanted.is_empty() && doc.is_empty();
        let mut backup = None;
        if existed && !plan.ledger.merge_backups.contains_key(path) && !plan.ledger.created_files.contains(path) {
            let b = self.backup_path(&real);
            plan.ledger.merge_backups.insert(path.to_path_buf(), b.clone());
            backup = Some(b);
        }
        if existed && (backup.is_some() || records_theirs) {
            self.refuse_unrecognisable(&real, &pristine)?;
        }
        if !existed {
            plan.ledger.created_files.insert(path.to_path_buf());
        }
        if drop_file {
            plan.ledger.created_files.remove(path);
        }
        let after = if drop_file { Target::Absent } else { Target::File { bytes: new_text.into_bytes(), mode } };
        let action = if wanted.is_empty() { Action::Retract } else { Action::Merge };
        plan.changes.push(Change {
            path: real,
            action,
            before,
            after,
            backup,
            keys: keys_changed,
            merged_from: Some(text.into_bytes()),
        });
        Ok(())
    }
}

impl Planner<'_> {
    /// Why the entries of aiorch's in the file at `path` cannot be undone, when undoing is what
    /// this run would do: a placeholder in what the ledger keeps of the user's text (`prior`,
    /// splices) names a secret that is gone or was rotated. (Placeholders that resolved were
    /// filled in before planning (`fill_in`), so any left here is one of those.)
    fn blocked(&self, path: &Path, real: &Path, wanted: &[Artifact]) -> anyhow::Result<Option<String>> {
        for e in self.old.keys_at(path).chain(self.old.members_at(path)) {
            let Some(key) = e.key() else { continue };
            // A key still declared keeps its record as it is (aiorch's value replaces the whole
            // value, so the placeholder never reaches the file); only undoing needs the value.
            if wanted.iter().any(|a| match &a.desired {
                Desired::Key { key: k, .. } | Desired::Members { key: k, .. } => k == key,
                _ => false,
            }) {
                continue;
            }
            let json = serde_json::to_vec(&e.kind)?;
            if !super::redact::has_placeholder(&json) {
                continue;
            }
            let bad = self.secrets.unredact(&json)?.err().unwrap_or_default();
            let Some(u) = bad.first() else { continue };
            return Ok(Some(format!(
                "{} is not reverted: aiorch's record of the user's `{}` holds a placeholder for a secret, and {}; \
                 the file is left as it is. Store the value it had with {} and run it again (or `aiorch revert \
                 --current-secrets` writes the value the backend has now)",
                real.display(),
                key.join("."),
                u.describe(),
                self.secrets.fix(u.name())
            )));
        }
        Ok(None)
    }

    /// Exit 2 when the user's file holds a literal value under the name of a secret the config
    /// declares but the backend does not have: that value cannot be recognised, so it would
    /// rest in the backup and the ledger. (A literal in a header, under another name, cannot be
    /// told from other text: `aiorch import --store-secrets` stores those.)
    fn refuse_unrecognisable(&self, real: &Path, pristine: &Doc) -> anyhow::Result<()> {
        let missing = self.secrets.missing_declared()?;
        if missing.is_empty() {
            return Ok(());
        }
        let Some(root) = pristine.get(&[]) else { return Ok(()) };
        let mut hits = vec![];
        literals(&root, &missing, &mut vec![], &mut hits);
        let Some((at, name)) = hits.first() else { return Ok(()) };
        let line = pristine.line_of(at).map_or(String::new(), |l| format!(":{l}"));
        Err(CliError::bad_input(format!(
            "{}{line}: `{}` holds a literal value for the secret {name}, which the config declares but the \
             secrets backend does not have: aiorch keeps a copy of this file for revert and could not keep the \
             value out of it",
            real.display(),
            at.join("."),
        ))
        .hint(format!(
            "store it first with {} (the same value), then run aiorch again; nothing was changed",
            self.secrets.fix(name)
        ))
        .into())
    }

    /// Array members: each declared value is made present in its array (appended when
    /// missing, and then aiorch's); values aiorch inserted earlier but no longer declares are
    /// removed; members the user wrote (even ones equal to ours that were there first) stay.
    #[allow(clippy::too_many_arguments)]
    fn plan_members(
        &self,
        plan: &mut Plan,
        // The document being edited, its backup when the ledger was lost, and the file as it
        // was before this run.
        (doc, recovered, pristine): (&mut Doc, Option<&Doc>, &Doc),
        (path, real): (&Path, &Path),
        format: super::DocFormat,
        wanted: &[Artifact],
        keys_changed: &mut Vec<String>,
    ) -> anyhow::Result<()> {
        let mut declared: BTreeMap<Vec<String>, (&'static str, Vec<Value>)> = BTreeMap::new();
        let mut single_ok: BTreeSet<Vec<String>> = BTreeSet::new();
        for a in wanted {
            if let Desired::Members { key, values, single, .. } = &a.desired {
                if *single {
                    single_ok.insert(key.clone());
                }
                let slot = declared.entry(key.clone()).or_insert_with(|| (a.owner, vec![]));
                for v in values {
                    if !slot.1.contains(v) {
                        slot.1.push(v.clone());
                    }
                }
            }
        }
        let mut keys: BTreeSet<Vec<String>> = declared.keys().cloned().collect();
        keys.extend(self.old.members_at(path).filter_map(|e| e.key().map(<[String]>::to_vec)));

        for key in keys {
            let old = self.old.members_at(path).find(|e| e.key() == Some(key.as_slice()));
            let (mut scalar, mut splice, parents) = match old.map(|e| &e.kind) {
                Some(Owned::Members { scalar, splice, created_parents, .. }) => {
                    (scalar.clone(), splice.clone(), *created_parents)
                }
                _ => (None, None, None),
            };
            // Counted against the file as it was, so sibling arrays created in the same run all
            // know the parent is aiorch's, and the last one to go takes it along.
            // (A parent this run removed — a key of aiorch's that used to live there — counts too.)
            let missing = |d: &Doc| (1..key.len()).find(|&n| d.get(&key[..n]).is_none()).map_or(0, |n| key.len() - n);
            let parents = parents
                .or_else(|| (doc.get(&key).is_none() && old.is_none()).then(|| missing(pristine).max(missing(doc))));
            let mut current = doc.get(&key);
            // A single value where the client also takes a list (Gemini's `context.fileName`):
            // it becomes the first member, and comes back as it was when aiorch's last one goes.
            if let Some(Value::String(one)) = &current
                && single_ok.contains(&key)
                && declared.get(&key).is_some_and(|(_, vs)| vs.iter().any(|v| v.as_str() != Some(one)))
            {
                let list = Value::Array(vec![Value::String(one.clone())]);
                let before_text = doc.text();
                doc.set(&key, &list)?;
                splice = Some(splice_of(&before_text, &doc.text()));
                scalar = current.take();
                current = Some(list);
            }
            // Without a ledger, aiorch's members are those the backup's array lacks.
            let guessed: Vec<Value> = match (recovered, &current) {
                (Some(r), Some(Value::Array(now))) => {
                    let then = match r.get(&key) {
                        Some(Value::Array(a)) => a,
                        _ => vec![],
                    };
                    now.iter().filter(|v| !then.contains(v)).cloned().collect()
                }
                _ => vec![],
            };
            let (old_values, old_created) = match old.map(|e| &e.kind) {
                Some(Owned::Members { values, created, .. }) => (values.as_slice(), Some(*created)),
                _ if recovered.is_some() => (guessed.as_slice(), recovered.map(|r| r.get(&key).is_none())),
                _ => (&[][..], None),
            };
            // Retracting a single value that is still as the user had it: the run that would
            // have made it a list stopped before that change landed, so nothing here is ours.
            if !declared.contains_key(&key) && scalar.is_some() && scalar == current {
                continue;
            }
            let before: Vec<Value> = match &current {
                None => vec![],
                Some(Value::Array(a)) => a.clone(),
                Some(other) => {
                    return Err(CliError::bad_input(format!(
                        "{}: `{}` is {}, but aiorch adds entries to it as an array",
                        real.display(),
                        key.join("."),
                        json_kind(other)
                    ))
                    .hint("make it an array (or remove it), then run aiorch again; nothing was changed")
                    .into());
                }
            };
            let created = old_created.unwrap_or(current.is_none());
            let (owner, values) = declared.remove(&key).unwrap_or(("", vec![]));
            let mut owned = vec![];
            let mut add = vec![];
            for v in &values {
                if !before.contains(v) {
                    add.push(v.clone());
                    owned.push(v.clone());
                } else if old_values.contains(v) {
                    owned.push(v.clone());
                }
            }
            let gone: Vec<Value> =
                old_values.iter().filter(|v| !values.contains(v) && before.contains(v)).cloned().collect();
            let mut after: Vec<Value> = before.iter().filter(|x| !gone.contains(x)).cloned().collect();
            let removed = before.len() - after.len();
            after.extend(add.iter().cloned());
            let added = add.len();
            if after != before {
                if after.is_empty() && created && values.is_empty() {
                    doc.remove(&key)?;
                    // The array was aiorch's; so are the empty objects it leaves behind.
                    prune_empty_parents(doc, &key, parents.unwrap_or(usize::MAX))?;
                } else {
                    doc.edit_array(&key, &add, &gone, &after)?;
                }
                if values.is_empty()
                    && let Some(one) = &scalar
                    && after == [one.clone()]
                {
                    let mut want = doc.clone();
                    want.set(&key, one)?;
                    *doc = splice.as_ref().and_then(|sp| doc.unsplice(sp, &want)).unwrap_or(want);
                }
                let mut k = key.join(".");
                if added > 0 {
                    k.push_str(&format!("[+{added}]"));
                }
                if removed > 0 {
                    k.push_str(&format!("[-{removed}]"));
                }
                keys_changed.push(k);
            }
            if !values.is_empty() {
                plan.ledger.entries.push(Entry {
                    path: path.to_path_buf(),
                    owner: owner.to_string(),
                    kind: Owned::Members {
                        format,
                        key,
                        values: owned,
                        created,
                        scalar,
                        splice,
                        created_parents: parents.filter(|_| created),
                    },
                    backup: None,
                });
            }
        }
        Ok(())
    }
}

/// Exit 2 naming every entry of the user's that aiorch would have replaced, and the two ways on.
fn conflict_error(conflicts: &[(String, String)]) -> CliError {
    let mut names: Vec<&str> = conflicts.iter().map(|(_, n)| n.as_str()).collect();
    names.sort();
    names.dedup();
    let adopt: Vec<String> = names.iter().map(|n| format!("--adopt {n}")).collect();
    let list: Vec<&str> = conflicts.iter().map(|(m, _)| m.as_str()).collect();
    CliError::bad_input(format!(
        "the user already defines {} under {} aiorch declares:\n  {}",
        if conflicts.len() == 1 { "an entry" } else { "entries" },
        if names.len() == 1 { "a name" } else { "names" },
        list.join("\n  ")
    ))
    .hint("rename aiorch's where the config declares it (named above), so both exist side by side; or")
    .hint(format!(
        "run `aiorch apply {}` to use aiorch's: the user's is kept in the ledger and `aiorch revert` gives it back \
         byte for byte. Nothing was changed",
        adopt.join(" ")
    ))
}

/// Every string value of at least `redact::MIN_LEN` characters at a key named like one of
/// `names` (an `env` entry), that is not a reference (`${NAME}`, `$NAME`) or a placeholder.
fn literals(v: &Value, names: &[String], at: &mut Vec<String>, hits: &mut Vec<(Vec<String>, String)>) {
    if let Value::Object(m) = v {
        for (k, val) in m {
            at.push(k.clone());
            match val {
                Value::String(s)
                    if names.contains(k)
                        && s.len() >= super::redact::MIN_LEN
                        && !s.starts_with('$')
                        && !super::redact::has_placeholder(s.as_bytes()) =>
                {
                    hits.push((at.clone(), k.clone()))
                }
                other => literals(other, names, at, hits),
            }
            at.pop();
        }
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
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
        match fs_err::read_link(&p) {
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::redact::NoSecrets;
    use super::super::{Artifact, DocFormat, Redactor, converge};
    use crate::paths::Paths;

    fn env() -> (tempfile::TempDir, Paths) {
        let t = tempfile::tempdir().unwrap();
        let paths = Paths {
            home: t.path().join("h"),
            state_dir: t.path().join("s"),
            config_file: t.path().join("c.toml"),
            config_explicit: false,
        };
        fs_err::create_dir_all(&paths.home).unwrap();
        (t, paths)
    }

    fn run(paths: &Paths, arts: Vec<Artifact>) {
        converge(paths, || Ok(arts.clone()), &[], &Default::default(), &Redactor::new(&NoSecrets), |_| {}).unwrap();
    }

    fn allow(paths: &Paths, values: &[&str]) -> Artifact {
        Artifact::members(
            "policy",
            paths.in_home("settings.json"),
            DocFormat::Json,
            &["permissions", "allow"],
            values.iter().map(|v| json!(v)).collect(),
        )
    }

    #[test]
    fn members_keep_user_entries_and_retract_only_ours() {
        let (_t, paths) = env();
        let file = paths.in_home("settings.json");
        let user = "{\n  // mine\n  \"model\": \"opus\",\n  \"permissions\": {\
                    \n    \"allow\": [\"Bash(make:*)\", \"Bash(git status:*)\"]\n  }\n}\n";
        fs_err::write(&file, user).unwrap();

        run(&paths, vec![allow(&paths, &["Bash(git status:*)", "Bash(git diff:*)"])]);
        let v: serde_json::Value = crate::apply::read_key(
            DocFormat::Json,
            &fs_err::read_to_string(&file).unwrap(),
            &file,
            &["permissions".into()],
        )
        .unwrap()
        .unwrap();
        assert_eq!(v["allow"], json!(["Bash(make:*)", "Bash(git status:*)", "Bash(git diff:*)"]));
        assert!(fs_err::read_to_string(&file).unwrap().contains("// mine"));

        // The user adds an entry of their own after aiorch's.
        let text = fs_err::read_to_string(&file)
            .unwrap()
            .replace("\"Bash(git diff:*)\"", "\"Bash(git diff:*)\",\n      \"Bash(cargo test:*)\"");
        fs_err::write(&file, text).unwrap();

        // Declaring fewer values retracts only aiorch's own (git diff), never the user's
        // git status that was there first.
        run(&paths, vec![allow(&paths, &["Bash(git status:*)"])]);
        let v = crate::apply::read_key(
            DocFormat::Json,
            &fs_err::read_to_string(&file).unwrap(),
            &file,
            &["permissions".into(), "allow".into()],
        )
        .unwrap()
        .unwrap();
        assert_eq!(v, json!(["Bash(make:*)", "Bash(git status:*)", "Bash(cargo test:*)"]));

        // Nothing declared (revert): the user's entries all stay.
        run(&paths, vec![]);
        let text = fs_err::read_to_string(&file).unwrap();
        let v = crate::apply::read_key(DocFormat::Json, &text, &file, &["permissions".into(), "allow".into()])
            .unwrap()
            .unwrap();
        assert_eq!(v, json!(["Bash(make:*)", "Bash(git status:*)", "Bash(cargo test:*)"]));
        assert!(text.contains("// mine") && text.contains("\"model\": \"opus\""));
    }

    #[test]
    fn members_keep_comments_inside_the_array() {
        let (_t, paths) = env();
        let file = paths.in_home("settings.json");
        let user = "{\n  \"permissions\": {\n    \"allow\": [\n      // my build\n      \"Bash(make:*)\" // keep\n    ]\
                    \n  }\n}\n";
        fs_err::write(&file, user).unwrap();
        run(&paths, vec![allow(&paths, &["Bash(ls:*)"])]);
        assert_eq!(
            fs_err::read_to_string(&file).unwrap(),
            "{\n  \"permissions\": {\n    \"allow\": [\n      // my build\n      \"Bash(make:*)\", // keep\
             \n      \"Bash(ls:*)\"\n    ]\n  }\n}\n"
        );
        run(&paths, vec![]);
        assert_eq!(fs_err::read_to_string(&file).unwrap(), user, "retraction gives back the user's exact bytes");
    }

    #[test]
    fn members_created_array_and_file_go_on_retraction() {
        let (_t, paths) = env();
        let file = paths.in_home("settings.json");
        run(&paths, vec![allow(&paths, &["Read(~/x)"])]);
        assert_eq!(
            fs_err::read_to_string(&file).unwrap(),
            "{\n  \"permissions\": {\n    \"allow\": [\n      \"Read(~/x)\"\n    ]\n  }\n}\n"
        );
        let ledger = crate::apply::Ledger::load(&paths.ledger()).unwrap();
        assert!(matches!(
            &ledger.entries[0].kind,
            crate::apply::Owned::Members { created: true, values, .. } if values == &vec![json!("Read(~/x)")]
        ));
        run(&paths, vec![]);
        assert!(!file.exists(), "a file aiorch created for its members alone is removed");
    }

    #[test]
    fn members_in_an_existing_file_leave_no_empty_parents() {
        let (_t, paths) = env();
        let file = paths.in_home("settings.json");
        fs_err::write(&file, "{\"theme\": \"dark\"}\n").unwrap();
        run(&paths, vec![allow(&paths, &["WebFetch(domain:example.com)"])]);
        run(&paths, vec![]);
        let v: serde_json::Value = serde_json::from_str(&fs_err::read_to_string(&file).unwrap()).unwrap();
        assert_eq!(v, json!({"theme": "dark"}));
    }

    #[test]
    fn members_in_toml() {
        let (_t, paths) = env();
        let file = paths.in_home("config.toml");
        fs_err::write(&file, "# keep me\n[tools]\nlist = [\"mine\"] # trailing\n").unwrap();
        let art = Artifact::members("policy", file.clone(), DocFormat::Toml, &["tools", "list"], vec![json!("ours")]);
        run(&paths, vec![art]);
        let text = fs_err::read_to_string(&file).unwrap();
        assert!(text.starts_with("# keep me\n[tools]\n"), "{text}");
        assert!(text.contains("list = [\"mine\", \"ours\"] # trailing"), "{text}");
        run(&paths, vec![]);
        assert_eq!(fs_err::read_to_string(&file).unwrap(), "# keep me\n[tools]\nlist = [\"mine\"] # trailing\n");
    }

    #[test]
    fn members_of_a_non_array_are_bad_input_and_nothing_changes() {
        let (_t, paths) = env();
        let file = paths.in_home("settings.json");
        fs_err::write(&file, "{\"permissions\": {\"allow\": \"oops\"}}\n").unwrap();
        let none = Redactor::new(&NoSecrets);
        let err =
            converge(&paths, || Ok(vec![allow(&paths, &["Bash(ls:*)"])]), &[], &Default::default(), &none, |_| {})
                .unwrap_err();
        let e = err.downcast_ref::<crate::error::CliError>().unwrap();
        assert_eq!(e.exit, crate::error::Exit::BadInput);
        assert!(e.message.contains("`permissions.allow` is a string"), "{}", e.message);
        assert_eq!(fs_err::read_to_string(&file).unwrap(), "{\"permissions\": {\"allow\": \"oops\"}}\n");
    }

    #[test]
    fn members_a_removed_owned_entry_comes_back_and_stays_ours() {
        let (_t, paths) = env();
        let file = paths.in_home("settings.json");
        run(&paths, vec![allow(&paths, &["A", "B"])]);
        fs_err::write(&file, "{\"permissions\": {\"allow\": [\"A\", \"mine\"]}}\n").unwrap();
        run(&paths, vec![allow(&paths, &["A", "B"])]);
        let v: serde_json::Value = serde_json::from_str(&fs_err::read_to_string(&file).unwrap()).unwrap();
        assert_eq!(v["permissions"]["allow"], json!(["A", "mine", "B"]));
        run(&paths, vec![]);
        let v: serde_json::Value = serde_json::from_str(&fs_err::read_to_string(&file).unwrap()).unwrap();
        assert_eq!(v["permissions"]["allow"], json!(["mine"]));
    }
}
