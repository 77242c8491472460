//! Preflight: everything that can be known to fail is found before the first change, so a
//! refused apply changes nothing at all (no directory, no backup, no ledger).
//!
//! - Who runs it: root applying into a HOME that belongs to another user would leave root-owned
//!   files the user cannot write; it is refused ("run it as OWNER") before even the state dir
//!   is created. (Creating everything as the HOME's owner instead would need chown after every
//!   write and still leave root's temp files and lock behind on a crash; refusing is simpler,
//!   and activation scripts already run aiorch as the user.)
//! - Links: a settings file aiorch merges into may be a link into the user's dotfiles (written
//!   through, the link kept), but never a dangling link (followed, it would create files
//!   outside HOME), a link into the Nix store (Nix's file), a read-only file, or a file of
//!   another user (writing it would change its owner).
//! - Directories: the parents of every path a change touches either exist as writable
//!   directories (root's own, when root runs it) or will be created in one; a dangling link or a
//!   file on the way is reported with what to do.

use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::fsutil::State;
use super::plan::{Plan, Target};
use crate::error::CliError;
use crate::paths::Paths;

/// Where Nix keeps its store: a file under it belongs to a Nix generation, never to aiorch.
const NIX_STORE: &str = "/nix/store";

const NOTHING_CHANGED: &str = "nothing was changed";

/// Refuse to run as root in another user's HOME (see the module comment).
pub fn runner(paths: &Paths) -> Result<(), CliError> {
    let me = nix::unistd::geteuid();
    if !me.is_root() {
        return Ok(());
    }
    let Ok(meta) = fs_err::metadata(&paths.home) else { return Ok(()) };
    if meta.uid() == 0 {
        return Ok(());
    }
    let owner = user_name(meta.uid());
    Err(CliError::bad_input(format!(
        "{} belongs to {owner}, but aiorch runs as root: the files it writes there would be root's and {owner} \
         could no longer change them",
        paths.home.display()
    ))
    .hint(format!("run it as {owner}: `sudo -u {owner} aiorch …` ({NOTHING_CHANGED})")))
}

/// Where a merge into `path` writes: `path`, or the file its link chain ends at. A dangling
/// link is an error: following it would create the file (and its directories) elsewhere.
pub fn merge_target(path: &Path) -> Result<PathBuf, CliError> {
    let mut p = path.to_path_buf();
    for _ in 0..32 {
        let Ok(t) = fs_err::read_link(&p) else { return Ok(p) };
        let next = if t.is_absolute() { t } else { p.parent().unwrap_or(Path::new("/")).join(t) };
        if fs_err::symlink_metadata(&next).is_err() {
            return Err(dangling(path, &next));
        }
        p = next;
    }
    Err(CliError::bad_input(format!("{} is a loop of links", path.display()))
        .hint(format!("remove the link (`rm {}`); {NOTHING_CHANGED}", path.display())))
}

/// Before a merge writes into the existing file `real` (reached from `path`, maybe through a
/// link): it must not be Nix's, read-only, or another user's.
pub fn write_through(path: &Path, real: &Path, before: &State) -> Result<(), CliError> {
    if !matches!(before, State::File { .. }) {
        return Ok(());
    }
    let via = if real != path { format!(" (a link to {})", real.display()) } else { String::new() };
    if in_nix_store(real) {
        return Err(nix_managed(path, real));
    }
    let meta = fs_err::metadata(real).map_err(|e| CliError::io("read", real, &real.display().to_string(), e))?;
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o200 == 0 {
        return Err(CliError::bad_input(format!(
            "{}{via} is read-only (mode {mode:04o}): aiorch does not write through a file made read-only",
            path.display()
        ))
        .hint(format!(
            "if aiorch may change it, make it writable (`chmod u+w {}`); if another tool manages it, set the \
             setting there; {NOTHING_CHANGED}",
            real.display()
        )));
    }
    not_foreign(path, &via, &meta)
}

/// Check every change of `plan` against the disk before the first one is made.
pub fn check(paths: &Paths, plan: &Plan) -> Result<(), CliError> {
    runner(paths)?;
    let me = nix::unistd::geteuid().as_raw();
    // Changes share directories (53 artifacts sit in about 20): each is checked once.
    let mut checked = std::collections::BTreeSet::new();
    for c in &plan.changes {
        if checked.insert(c.path.parent()) {
            parents(paths, &c.path)?;
        }
        // A file aiorch replaces whole (rename) gets the runner as its owner: only the runner's
        // own files may be replaced.
        if let State::File { .. } = c.before
            && !matches!(c.after, Target::Absent)
            && let Ok(meta) = fs_err::symlink_metadata(&c.path)
            && meta.uid() != me
        {
            not_foreign(&c.path, "", &meta)?;
        }
    }
    parents(paths, &paths.ledger())?;
    Ok(())
}

/// The directories above `path`: the nearest existing one must be a writable directory outside
/// the Nix store (and, for root, root's own); links on the way must lead somewhere.
fn parents(paths: &Paths, path: &Path) -> Result<(), CliError> {
    let shown = paths.display(path);
    let mut cur = path.parent();
    while let Some(dir) = cur {
        let meta = match fs_err::symlink_metadata(dir) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                cur = dir.parent();
                continue;
            }
            Err(e) => return Err(CliError::io("read", dir, &paths.display(dir), e)),
        };
        if meta.file_type().is_symlink() {
            let real = fs_err::canonicalize(dir).map_err(|_| {
                let target = fs_err::read_link(dir).unwrap_or_default();
                let target = if target.is_absolute() { target } else { dir.parent().unwrap_or(dir).join(target) };
                dangling(dir, &target)
            })?;
            return existing_dir(paths, path, &shown, dir, &real);
        }
        return existing_dir(paths, path, &shown, dir, dir);
    }
    Ok(())
}

fn existing_dir(paths: &Paths, path: &Path, shown: &str, dir: &Path, real: &Path) -> Result<(), CliError> {
    let meta = fs_err::metadata(real).map_err(|e| CliError::io("read", dir, &paths.display(dir), e))?;
    if !meta.is_dir() {
        return Err(CliError::bad_input(format!(
            "{} is a file, but {shown} needs it to be a directory",
            paths.display(dir)
        ))
        .hint(format!("move it away (it is not aiorch's), then run aiorch again; {NOTHING_CHANGED}")));
    }
    if in_nix_store(real) {
        return Err(nix_managed(path, real));
    }
    if let Err(e) = nix::unistd::access(real, nix::unistd::AccessFlags::W_OK) {
        // The kind, not the raw OS error: the message names the target, the hint what to check.
        let kind = match e {
            nix::errno::Errno::EROFS => io::ErrorKind::ReadOnlyFilesystem,
            _ => io::ErrorKind::PermissionDenied,
        };
        return Err(CliError::io("write", path, shown, io::Error::new(kind, e.desc())));
    }
    // Root creating files in another user's directory leaves them root's; anyone else creates
    // their own files wherever the system lets them write (a shared /tmp for --state-dir).
    if nix::unistd::geteuid().is_root() && meta.uid() != 0 {
        let via = if real != dir { format!(" (a link to {})", real.display()) } else { String::new() };
        return not_foreign(&PathBuf::from(paths.display(dir)), &via, &meta);
    }
    Ok(())
}

fn not_foreign(path: &Path, via: &str, meta: &std::fs::Metadata) -> Result<(), CliError> {
    let me = nix::unistd::geteuid().as_raw();
    if meta.uid() == me {
        return Ok(());
    }
    let (owner, runner) = (user_name(meta.uid()), user_name(me));
    Err(CliError::bad_input(format!(
        "{}{via} belongs to {owner}, not to {runner} who runs aiorch: writing it would make it {runner}'s",
        path.display()
    ))
    .hint(format!(
        "run aiorch as {owner} (`sudo -u {owner} aiorch …`), or, if it is yours, `chown {runner}` it; \
         {NOTHING_CHANGED}"
    )))
}

fn in_nix_store(real: &Path) -> bool {
    let real = fs_err::canonicalize(real).unwrap_or_else(|_| real.to_path_buf());
    real.starts_with(NIX_STORE)
}

fn nix_managed(path: &Path, real: &Path) -> CliError {
    CliError::bad_input(format!(
        "{} is managed by Nix (it resolves into {}) — set it in your Nix config or let aiorch's module compose \
         with it (programs.aiorch)",
        path.display(),
        real.display()
    ))
    .hint(format!(
        "aiorch never writes into the Nix store: move the setting into the home-manager option that writes this \
         file, or enable programs.aiorch so the module composes both (without the module: list the file under \
         `[apply] nix_managed` and apply leaves it alone); {NOTHING_CHANGED}"
    ))
}

fn dangling(link: &Path, target: &Path) -> CliError {
    CliError::bad_input(format!(
        "{} is a link to {}, which does not exist: aiorch does not follow it to create files there",
        link.display(),
        target.display()
    ))
    .hint(format!(
        "restore {} (a dotfiles checkout that is missing?), or remove the link (`rm {}`) so aiorch manages a \
         file of its own; {NOTHING_CHANGED}",
        target.display(),
        link.display()
    ))
}

fn user_name(uid: u32) -> String {
    match nix::unistd::User::from_uid(uid.into()) {
        Ok(Some(u)) => u.name,
        _ => format!("uid {uid}"),
    }
}
