//! The apply engine: declared artifacts → plan → (dry run | check | execute), in one place.
//!
//! Every feature declares what it wants as `Artifact`s (a link, a rendered file, or one key
//! merged into a file a client also writes). `plan` compares them with the disk and the ledger
//! and runs the preflight (`preflight`): a dangling link, a file in the Nix store, a read-only
//! or foreign file, an unwritable directory are reported before anything changes. `execute`
//! then carries the plan out, in this order:
//!
//! 0. sweep the temp files an interrupted run left;
//! 1. back up everything that is not aiorch's;
//! 2. write a journal: the ledger as it will be, joined with the old one (and the directories
//!    about to be created), so a run killed from here on still knows everything it may own;
//! 3. stage every new file beside its target, make the batch durable (one device flush), then
//!    put each change in place, in order; a merge target a client rewrote meanwhile is never
//!    overwritten (`Staged::replace_unless_changed`): the run stops with `Retry` and `converge`
//!    plans again;
//! 4. make the renames durable, remove directories aiorch created that are now empty;
//! 5. write the final ledger. A run that fails (or retries) after step 2 writes the ledger of
//!    what actually landed instead: new entries for the paths changed, old ones for the rest,
//!    so revert never mistakes aiorch's entries for the user's or the other way round.
//!
//! A lock serialises concurrent runs; root is refused in another user's HOME.

mod doc;
pub mod doctor;
pub mod fsutil;
pub mod jsonc;
pub mod ledger;
pub mod managed;
pub mod plan;
pub mod preflight;
pub mod redact;
pub mod report;
mod yaml;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

pub use ledger::{DocFormat, Ledger, Owned};
pub use plan::Plan;
pub use redact::{Redactor, SecretValues};
pub use report::{Summary, print_plan};

use crate::config::apply::NixManaged;
use crate::error::CliError;
use crate::paths::Paths;

/// One thing a feature wants on disk.
#[derive(Debug, Clone)]
pub struct Artifact {
    pub path: PathBuf,
    /// The feature declaring it, recorded in the ledger (`agentsmd`, `claude`, `mcp`, …).
    pub owner: &'static str,
    pub desired: Desired,
    /// A named entry (an MCP server): a different value the user already keeps under the same
    /// key is a conflict to decide, not a setting to take over. Says where aiorch's is declared.
    pub conflict: Option<String>,
    /// The order of an object's members means something to the client (OpenCode's
    /// `permission`: the last matching rule wins), so a value equal in another order is not
    /// equal, and the whole value is written rather than merged member by member.
    pub ordered: bool,
}

#[derive(Debug, Clone)]
pub enum Desired {
    /// A symlink: for files the clients only read.
    Link { target: PathBuf },
    /// A file aiorch renders and owns whole.
    File { bytes: Vec<u8>, mode: u32 },
    /// One key path in a JSON(C)/TOML file the client also writes; everything else is kept.
    Key { format: DocFormat, key: Vec<String>, value: Value },
    /// These values are present in the array at `key` (created if absent); everything else in
    /// the array is the user's. Retraction removes only the values aiorch inserted.
    Members {
        format: DocFormat,
        key: Vec<String>,
        values: Vec<Value>,
        /// The client also takes a single string here: a user's string becomes the first
        /// member (and is given back as a string by retraction).
        single: bool,
    },
}

impl Artifact {
    pub fn link(owner: &'static str, path: PathBuf, target: PathBuf) -> Artifact {
        Artifact { path, owner, desired: Desired::Link { target }, conflict: None, ordered: false }
    }
    pub fn file(owner: &'static str, path: PathBuf, bytes: impl Into<Vec<u8>>) -> Artifact {
        Artifact {
            path,
            owner,
            desired: Desired::File { bytes: bytes.into(), mode: 0o644 },
            conflict: None,
            ordered: false,
        }
    }
    pub fn key(owner: &'static str, path: PathBuf, format: DocFormat, key: &[&str], value: Value) -> Artifact {
        Artifact {
            path,
            owner,
            desired: Desired::Key { format, key: key.iter().map(|s| s.to_string()).collect(), value },
            conflict: None,
            ordered: false,
        }
    }
    /// A key naming one entry of the user's map (`mcpServers.NAME`); `declared_at` says where
    /// aiorch's comes from, for the conflict message.
    pub fn entry(self, declared_at: String) -> Artifact {
        Artifact { conflict: Some(declared_at), ..self }
    }
    /// See `ordered`.
    pub fn ordered(self) -> Artifact {
        Artifact { ordered: true, ..self }
    }
    /// `values` become members of the array at `key` in a file the user also edits; aiorch
    /// owns exactly the members it inserted.
    pub fn members(
        owner: &'static str,
        path: PathBuf,
        format: DocFormat,
        key: &[&str],
        values: Vec<Value>,
    ) -> Artifact {
        Artifact {
            path,
            owner,
            desired: Desired::Members {
                format,
                key: key.iter().map(|s| s.to_string()).collect(),
                values,
                single: false,
            },
            conflict: None,
            ordered: false,
        }
    }
    /// `members` where the client also accepts one string instead of a list.
    pub fn or_single(mut self) -> Artifact {
        if let Desired::Members { single, .. } = &mut self.desired {
            *single = true;
        }
        self
    }
}

/// Whether `have` is `want`; for an `ordered` artifact every object's members must also come in
/// the same order (serde_json's map equality ignores it).
pub fn same_value(ordered: bool, have: &Value, want: &Value) -> bool {
    have == want && (!ordered || serde_json::to_string(have).ok() == serde_json::to_string(want).ok())
}

/// Hold the state-dir lock for as long as the guard lives.
pub struct Lock(#[allow(dead_code)] std::fs::File);

pub fn lock(paths: &Paths) -> anyhow::Result<Lock> {
    preflight::runner(paths)?;
    fs_err::create_dir_all(&paths.state_dir)?;
    let f = fs_err::OpenOptions::new().create(true).truncate(false).write(true).open(paths.lock())?.into_parts().0;
    if f.try_lock().is_err() {
        tracing::info!("another aiorch run holds {}; waiting", paths.lock().display());
        f.lock()?;
    }
    Ok(Lock(f))
}

/// Compute the plan for `declared` against the current disk and ledger. Nothing at or under a
/// path in `nix_managed` is planned (see `managed`): those files are Nix's. The user's own
/// entries named in `adopt` (`apply --adopt NAME`) are taken over instead of being conflicts.
pub fn plan(
    paths: &Paths,
    declared: Vec<Artifact>,
    nix_managed: &[NixManaged],
    adopt: &BTreeSet<String>,
    secrets: &Redactor,
) -> anyhow::Result<Plan> {
    let old = fill_in(Ledger::load(&paths.ledger())?, &declared, secrets)?;
    let (declared, old, held) = managed::hold_back(&managed::resolve(nix_managed, paths), declared, old);
    let stamp = backup_stamp(&paths.backups());
    // Backups or generated files of an earlier run, but no ledger: it was lost (revert leaves
    // neither a generated dir nor, when nothing was replaced, a backups dir behind).
    let lost_ledger = !paths.ledger().exists() && (paths.backups().is_dir() || paths.generated().is_dir());
    let planner =
        plan::Planner { backups_dir: &paths.backups(), stamp: &stamp, old: &old, adopt, lost_ledger, secrets };
    let mut plan = planner.plan(declared)?;
    plan.held = held;
    preflight::check(paths, &plan)?;
    Ok(plan)
}

/// The ledger with the secret values filled in where this run may need the user's text back: in
/// the merged entries it would undo (no longer declared, or declared with another value). The
/// others keep their placeholders, so a run that undoes nothing reads no secret at all. A
/// placeholder whose secret is gone or was rotated stays one (planning then leaves that file).
fn fill_in(mut old: Ledger, declared: &[Artifact], secrets: &Redactor) -> anyhow::Result<Ledger> {
    for e in old.entries.iter_mut().filter(|e| e.is_merged()) {
        let kept = declared.iter().any(|a| {
            a.path == e.path
                && match (&a.desired, &e.kind) {
                    (Desired::Key { key, value, .. }, Owned::Key { key: k, sha256, .. }) => {
                        key == k && ledger::hash_matches(value, sha256)
                    }
                    (Desired::Members { key, .. }, Owned::Members { key: k, .. }) => key == k,
                    _ => false,
                }
        });
        let json = serde_json::to_vec(&e.kind)?;
        if kept || !redact::has_placeholder(&json) {
            continue;
        }
        e.kind = serde_json::from_slice(&secrets.unredact_partly(&json)?.0)?;
    }
    Ok(old)
}

/// Carry out `plan`. A merge target that changed since it was read (a client rewrote it) makes
/// this return `Err(Retry)`; the caller plans again.
pub fn execute(paths: &Paths, mut plan: Plan, secrets: &Redactor) -> anyhow::Result<Summary> {
    let old = Ledger::load(&paths.ledger())?;
    let summary = Summary::of(&plan);

    // 0. Temp files an interrupted run left next to what aiorch writes.
    let mut dirs: std::collections::BTreeSet<PathBuf> = [paths.state_dir.clone()].into();
    for p in plan.changes.iter().map(|c| &c.path).chain(plan.ledger.entries.iter().chain(&old.entries).map(|e| &e.path))
    {
        dirs.extend(p.parent().map(Path::to_path_buf));
        dirs.extend(plan::resolve_link(p).parent().map(Path::to_path_buf));
    }
    dirs.iter().for_each(|d| fsutil::sweep_temp(d));
    fsutil::sweep_temp_tree(&paths.backups());

    // 1. Backups of everything that is not ours, before anything is replaced, with the secret
    // values in them replaced by placeholders (`redact`).
    // Every I/O error below names the file the user knows (never a temp file) and what to do.
    let io = |what: &'static str, p: &Path| {
        let p = p.to_path_buf();
        move |e: std::io::Error| CliError::io(what, &p, &paths.display(&p), e)
    };
    for c in &plan.changes {
        if let Some(b) = &c.backup
            && !matches!(c.before, fsutil::State::Absent)
        {
            copy_tree(&c.path, b, &|bytes| secrets.redact(bytes), &io("back up", &c.path))?;
        }
    }
    // 2. Journal: own both the old and the new artifacts — and the directories this run is
    // about to create — until the run completes, so an interrupted run still knows them all.
    for c in &plan.changes {
        if let Some(parent) = c.path.parent()
            && !matches!(c.after, plan::Target::Absent)
        {
            plan.ledger.dirs.extend(fsutil::missing_dirs(parent));
        }
    }
    if !plan.changes.is_empty() {
        let mut journal = plan.ledger.clone();
        journal.entries.extend(old.entries.iter().cloned());
        journal.sort();
        journal.save(&paths.ledger(), secrets)?;
    }

    // 3. The changes themselves; retractions last, deepest first.
    plan.changes.sort_by_key(|c| matches!(c.after, plan::Target::Absent));
    let mut landed = 0;
    let mut touched: BTreeSet<PathBuf> = BTreeSet::new();
    let result = change_all(paths, &mut plan, &mut landed, &mut touched, secrets);
    // 3c. Make the renames and removals durable (also those of a run that stopped).
    fsutil::sync_dirs(touched.iter().map(PathBuf::as_path));
    if let Err(e) = result {
        if !plan.changes.is_empty()
            && let Err(save) = landed_ledger(&old, &plan, landed).save(&paths.ledger(), secrets)
        {
            tracing::warn!("could not record what landed in {}: {save:#}", paths.ledger().display());
        }
        return Err(e);
    }
    // 4. Directories aiorch created that are now empty go too.
    let owned_parents: std::collections::BTreeSet<&Path> =
        plan.ledger.entries.iter().filter_map(|e| e.path.parent()).collect();
    let mut dirs: Vec<PathBuf> = plan.ledger.dirs.iter().cloned().collect();
    dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
    for d in dirs {
        if !owned_parents.contains(d.as_path()) && fs_err::remove_dir(&d).is_ok() || !d.exists() {
            plan.ledger.dirs.remove(&d);
        }
    }
    // 5. The ledger as it now is (not rewritten when nothing changed: a no-op apply touches
    // no file at all).
    if plan.ledger != old {
        plan.ledger.save(&paths.ledger(), secrets)?;
    }
    Ok(summary)
}

/// Steps 3a and 3b of `execute`; `landed` counts the changes in place.
fn change_all(
    paths: &Paths,
    plan: &mut Plan,
    landed: &mut usize,
    touched: &mut BTreeSet<PathBuf>,
    secrets: &Redactor,
) -> anyhow::Result<()> {
    let io = |what: &'static str, p: &Path| {
        let p = p.to_path_buf();
        move |e: std::io::Error| CliError::io(what, &p, &paths.display(&p), e)
    };
    // 3a. Stage every new file beside its target and make all of them durable at once (one
    // device flush for the batch, instead of two serial journal commits per file). A crash here
    // leaves only temp files, which the next run sweeps.
    let mut staged: Vec<Option<fsutil::Staged>> = Vec::with_capacity(plan.changes.len());
    for c in &plan.changes {
        staged.push(match &c.after {
            plan::Target::File { bytes, mode } => {
                if let Some(parent) = c.path.parent() {
                    plan.ledger
                        .dirs
                        .extend(fsutil::create_dirs(parent).map_err(io("create the directory of", &c.path))?);
                }
                Some(fsutil::stage(&c.path, bytes, *mode).map_err(io("write", &c.path))?)
            }
            _ => None,
        });
    }
    let files: Vec<&fsutil::Staged> = staged.iter().flatten().collect();
    fsutil::flush(&files).map_err(|e| CliError::failed(format!("cannot write {e}")))?;
    // 3b. Put everything in place, in order; each rename lands after its data is durable.
    let fault = FaultHook::from_env();
    for (i, (c, st)) in plan.changes.iter().zip(staged).enumerate() {
        if let Some(from) = &c.merged_from
            && !matches!(c.after, plan::Target::File { .. })
        {
            let now = match fsutil::State::read(&c.path)? {
                fsutil::State::File { bytes, .. } => bytes,
                _ => vec![],
            };
            if &now != from {
                return Err(Retry.into());
            }
        }
        if let Some(parent) = c.path.parent() {
            if !matches!(c.after, plan::Target::Absent) {
                plan.ledger.dirs.extend(fsutil::create_dirs(parent).map_err(io("create the directory of", &c.path))?);
            }
            touched.insert(parent.to_path_buf());
        }
        if matches!(c.before, fsutil::State::Dir) && !matches!(c.after, plan::Target::Absent) {
            // A directory stands where a file or link belongs: it was copied to the backups
            // above; a rename cannot replace a directory, so it goes first.
            fsutil::remove(&c.path).map_err(io("replace", &c.path))?;
        }
        match (&c.after, st) {
            (plan::Target::File { bytes, .. }, Some(st)) => match &c.merged_from {
                // A file a client also writes: replaced only if it still holds what the merge
                // was computed from.
                Some(from) => {
                    let expected = (!matches!(c.before, fsutil::State::Absent)).then_some(from.as_slice());
                    if !st.replace_unless_changed(&c.path, expected, bytes).map_err(io("write", &c.path))? {
                        return Err(Retry.into());
                    }
                }
                None => st.commit(&c.path).map_err(io("write", &c.path))?,
            },
            (plan::Target::Link(t), _) => fsutil::symlink_atomic(t, &c.path).map_err(io("link", &c.path))?,
            (plan::Target::Restore(b), _) => restore(b, &c.path, secrets, &io("restore", &c.path))?,
            (plan::Target::Absent, _) => fsutil::remove(&c.path).map_err(io("remove", &c.path))?,
            (plan::Target::File { .. }, None) => unreachable!("every file was staged"),
        }
        *landed = i + 1;
        fault.after_change(i + 1);
    }
    Ok(())
}

/// The ledger of a run that stopped after its first `landed` changes: the new entries of the
/// paths changed, the old entries of the paths not reached (the files there are as they were).
fn landed_ledger(old: &Ledger, plan: &Plan, landed: usize) -> Ledger {
    let pending: BTreeSet<&Path> = plan.changes[landed..].iter().map(|c| c.path.as_path()).collect();
    // A merge's change names the file its link leads to; the ledger names the link.
    let is_pending = |p: &Path| pending.contains(p) || pending.contains(plan::resolve_link(p).as_path());
    let entry_pending =
        |e: &ledger::Entry| if e.is_merged() { is_pending(&e.path) } else { pending.contains(&*e.path) };
    let mut ledger = plan.ledger.clone();
    ledger.entries.retain(|e| !entry_pending(e));
    ledger.entries.extend(old.entries.iter().filter(|e| entry_pending(e)).cloned());
    for p in plan.ledger.created_files.iter().chain(&old.created_files) {
        if is_pending(p) && !old.created_files.contains(p) {
            ledger.created_files.remove(p);
        } else if is_pending(p) {
            ledger.created_files.insert(p.clone());
        }
    }
    ledger.sort();
    ledger
}

/// A merge target changed between planning and writing.
#[derive(Debug)]
pub struct Retry;
impl std::fmt::Display for Retry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a file changed while aiorch was writing it")
    }
}
impl std::error::Error for Retry {}

/// Plan and execute, planning again (up to 8 times) when a client rewrote a file underneath us.
/// `show` sees the plan that is about to be carried out.
pub fn converge(
    paths: &Paths,
    declare: impl Fn() -> anyhow::Result<Vec<Artifact>>,
    nix_managed: &[NixManaged],
    adopt: &BTreeSet<String>,
    secrets: &Redactor,
    mut show: impl FnMut(&Plan),
) -> anyhow::Result<Summary> {
    for attempt in 0..8u32 {
        if attempt > 0 {
            // Let a client that is writing finish; the jitter keeps us out of its rhythm.
            let jitter =
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
            std::thread::sleep(std::time::Duration::from_micros(u64::from(attempt * 2000 + jitter % 3000)));
        }
        let p = plan(paths, declare()?, nix_managed, adopt, secrets)?;
        show(&p);
        match execute(paths, p, secrets) {
            Err(e) if e.is::<Retry>() => continue,
            other => return other,
        }
    }
    Err(CliError::failed("files kept changing while aiorch was writing them")
        .hint("is a client rewriting its config in a loop? try again when it is idle")
        .into())
}

/// Copy the file, link or directory tree at `from` to `to` (creating parents), passing every
/// file's bytes through `f` (redaction into the backups, filling in on the way back).
fn copy_tree(
    from: &Path,
    to: &Path,
    f: &dyn Fn(&[u8]) -> anyhow::Result<Vec<u8>>,
    io: &dyn Fn(std::io::Error) -> CliError,
) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta = fs_err::symlink_metadata(from).map_err(io)?;
    if meta.is_file() {
        let bytes = f(&fs_err::read(from).map_err(io)?)?;
        if let Some(p) = to.parent() {
            fs_err::create_dir_all(p).map_err(io)?;
        }
        fsutil::write_atomic(to, &bytes, meta.permissions().mode() & 0o7777).map_err(io)?;
    } else if meta.is_dir() {
        fs_err::create_dir_all(to).map_err(io)?;
        for entry in fs_err::read_dir(from).map_err(io)? {
            let entry = entry.map_err(io)?;
            copy_tree(&entry.path(), &to.join(entry.file_name()), f, io)?;
        }
    } else {
        fsutil::copy_any(from, to).map_err(io)?;
    }
    Ok(())
}

/// Put the backup `b` back at `path`, with the secret values its placeholders name filled in
/// (planning checked that each still resolves to the value the copy was taken with).
fn restore(b: &Path, path: &Path, secrets: &Redactor, io: &dyn Fn(std::io::Error) -> CliError) -> anyhow::Result<()> {
    let fill = |bytes: &[u8]| match secrets.unredact(bytes)? {
        Ok(b) => Ok(b),
        Err(bad) => Err(anyhow::Error::from(
            CliError::failed(format!("{}: {}", path.display(), bad[0].describe()))
                .hint(format!("store the value it had with {} and run it again", secrets.fix(bad[0].name()))),
        )),
    };
    match fsutil::State::read(b).map_err(io)? {
        fsutil::State::File { bytes, mode } if redact::has_placeholder(&bytes) => {
            fsutil::write_atomic(path, &fill(&bytes)?, mode).map_err(io)?
        }
        fsutil::State::Dir => {
            fsutil::remove(path).map_err(io)?;
            copy_tree(b, path, &fill, io)?;
        }
        _ => fsutil::restore(b, path).map_err(io)?,
    }
    Ok(())
}

/// A directory name for this run's backups: a UTC timestamp (from `AIORCH_NOW` in tests),
/// made unique if an earlier run in the same second used it.
fn backup_stamp(backups: &Path) -> String {
    let base = crate::ui::utc_stamp(crate::ui::now_unix());
    let mut stamp = base.clone();
    let mut n = 2;
    while backups.join(&stamp).exists() {
        stamp = format!("{base}-{n}");
        n += 1;
    }
    stamp
}

/// Test-only fault injection, read from the environment: `AIORCH_FAULT_ABORT_AFTER=N` aborts
/// the process (no destructors, like a crash) after N changes; `AIORCH_FAULT_DELAY_MS=M`
/// sleeps M ms after each change so a test can kill the process mid-run with a real signal.
struct FaultHook {
    abort_after: Option<usize>,
    delay_ms: u64,
}

impl FaultHook {
    fn from_env() -> FaultHook {
        let num = |k: &str| std::env::var(k).ok().and_then(|v| v.parse().ok());
        FaultHook {
            abort_after: num("AIORCH_FAULT_ABORT_AFTER").map(|n: u64| n as usize),
            delay_ms: num("AIORCH_FAULT_DELAY_MS").unwrap_or(0),
        }
    }
    fn after_change(&self, n: usize) {
        if self.abort_after == Some(n) {
            std::process::abort();
        }
        if self.delay_ms > 0 {
            std::thread::sleep(std::time::Duration::from_millis(self.delay_ms));
        }
    }
}

/// The value at `key` in a JSON(C)/TOML text (for doctor's checks).
pub fn read_key(format: DocFormat, text: &str, path: &Path, key: &[String]) -> Result<Option<Value>, CliError> {
    Ok(doc::Doc::parse(format, text, path)?.get(key))
}
