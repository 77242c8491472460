//! Filesystem primitives with the guarantees the apply engine promises: a file is either its
//! old or its new content, never half-written (temp file in the same directory, fsync, rename,
//! fsync the directory), and the mode of a file we replace is kept.

use fs_err as fs;
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// What is at a path right now (never following a final symlink).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    Absent,
    Link(PathBuf),
    File { bytes: Vec<u8>, mode: u32 },
    Dir,
}

impl State {
    pub fn read(path: &Path) -> io::Result<State> {
        let meta = match fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(State::Absent),
            Err(e) => return Err(e),
        };
        let ft = meta.file_type();
        if ft.is_symlink() {
            Ok(State::Link(fs::read_link(path)?))
        } else if ft.is_dir() {
            Ok(State::Dir)
        } else {
            Ok(State::File { bytes: fs::read(path)?, mode: meta.permissions().mode() & 0o7777 })
        }
    }

    pub fn describe(&self) -> &'static str {
        match self {
            State::Absent => "nothing",
            State::Link(_) => "a symlink",
            State::File { .. } => "a file",
            State::Dir => "a directory",
        }
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// `dir` and its parents that do not exist yet, outermost first.
pub fn missing_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut missing = vec![];
    let mut cur = Some(dir);
    while let Some(d) = cur {
        if fs::symlink_metadata(d).is_ok() {
            break;
        }
        missing.push(d.to_path_buf());
        cur = d.parent();
    }
    missing.reverse();
    missing
}

/// Create `dir` and its missing parents; returns the directories that were created, outermost
/// first, so the ledger can remove exactly those (and only when empty) on revert.
pub fn create_dirs(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let missing = missing_dirs(dir);
    for d in &missing {
        match fs::create_dir(d) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Ok(missing)
}

/// Write `bytes` to `path` atomically with `mode`.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let dir = path.parent().ok_or_else(|| io::Error::other("path has no parent"))?;
    let mut tmp = tempfile::Builder::new().prefix(TEMP_PREFIX).tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().set_permissions(std::fs::Permissions::from_mode(mode))?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    sync_dir(dir);
    Ok(())
}

/// A file's new content, written under a temp name beside its target: `sync` makes the data
/// durable, `commit` renames it into place. The apply engine stages every file of a run, syncs
/// them all at once (one round of concurrent fsyncs the journal can batch, instead of two
/// serial commits per file) and then renames them in order: each rename still lands only after
/// its data is on disk, so a crash leaves the old or the new file, never a torn one.
pub struct Staged {
    tmp: tempfile::NamedTempFile,
    target: PathBuf,
}

pub fn stage(path: &Path, bytes: &[u8], mode: u32) -> io::Result<Staged> {
    let dir = path.parent().ok_or_else(|| io::Error::other("path has no parent"))?;
    let mut tmp = tempfile::Builder::new().prefix(TEMP_PREFIX).tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().set_permissions(std::fs::Permissions::from_mode(mode))?;
    Ok(Staged { tmp, target: path.to_path_buf() })
}

impl Staged {
    /// fsync the data; an error names the target, not the temp file.
    pub fn sync(&self) -> io::Result<()> {
        self.tmp.as_file().sync_all().map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", self.target.display())))
    }

    /// Rename into place; the caller syncs the directory (`sync_dirs`).
    pub fn commit(self, path: &Path) -> io::Result<()> {
        self.tmp.persist(path).map(drop).map_err(|e| e.error)
    }
}

/// fsync every directory once, concurrently: makes the renames and removals in them durable.
pub fn sync_dirs<'a>(dirs: impl IntoIterator<Item = &'a Path>) {
    let dirs: Vec<&Path> = dirs.into_iter().collect();
    let _ = in_parallel(&dirs, |d| {
        sync_dir(d);
        Ok(())
    });
}

/// Run `f` over `items` on a few threads (fsyncs wait on the disk, not the CPU, so a handful in
/// flight lets the journal commit them together); the first error wins.
pub fn in_parallel<T: Sync>(items: &[T], f: impl Fn(&T) -> io::Result<()> + Sync) -> io::Result<()> {
    const WORKERS: usize = 8;
    if items.len() <= 1 {
        return items.iter().try_for_each(&f);
    }
    let per = items.len().div_ceil(WORKERS);
    std::thread::scope(|s| {
        let f = &f;
        let handles: Vec<_> = items.chunks(per).map(|chunk| s.spawn(move || chunk.iter().try_for_each(f))).collect();
        handles.into_iter().try_for_each(|h| h.join().expect("fsync worker"))
    })
}

/// The prefix of every temp file `write_atomic` and `symlink_atomic` create.
pub const TEMP_PREFIX: &str = ".aiorch-tmp-";

/// Remove the temp files a killed run left in `dir` (a crash between creating a temp file and
/// renaming it over its target). Only aiorch uses the prefix; callers hold the apply lock.
pub fn sweep_temp(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        if e.file_name().to_string_lossy().starts_with(TEMP_PREFIX) && e.file_type().is_ok_and(|t| !t.is_dir()) {
            let _ = fs::remove_file(e.path());
        }
    }
}

/// `sweep_temp` in `dir` and every directory below it (for aiorch's own trees: backups).
pub fn sweep_temp_tree(dir: &Path) {
    sweep_temp(dir);
    let Ok(entries) = fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            sweep_temp_tree(&e.path());
        }
    }
}

/// Point `path` at `target` atomically (a new link under a temp name, renamed over). The caller
/// syncs the directory (`sync_dirs`).
pub fn symlink_atomic(target: &Path, path: &Path) -> io::Result<()> {
    let dir = path.parent().ok_or_else(|| io::Error::other("path has no parent"))?;
    for attempt in 0..16u32 {
        let tmp = dir.join(format!("{TEMP_PREFIX}link-{}-{attempt}", std::process::id()));
        match std::os::unix::fs::symlink(target, &tmp) {
            Ok(()) => {
                if let Err(e) = fs::rename(&tmp, path) {
                    let _ = fs::remove_file(&tmp);
                    return Err(e);
                }
                return Ok(());
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("could not create a temporary symlink"))
}

/// Remove a file, link or directory tree; the caller syncs the directory (`sync_dirs`).
pub fn remove(path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Copy whatever is at `from` (file, symlink or directory tree) to `to`, creating parents.
pub fn copy_any(from: &Path, to: &Path) -> io::Result<()> {
    if let Some(p) = to.parent() {
        fs::create_dir_all(p)?;
    }
    let meta = fs::symlink_metadata(from)?;
    if meta.file_type().is_symlink() {
        std::os::unix::fs::symlink(fs::read_link(from)?, to)
    } else if meta.is_dir() {
        fs::create_dir_all(to)?;
        for entry in fs::read_dir(from)? {
            let entry = entry?;
            copy_any(&entry.path(), &to.join(entry.file_name()))?;
        }
        Ok(())
    } else {
        let bytes = fs::read(from)?;
        write_atomic(to, &bytes, meta.permissions().mode() & 0o7777)
    }
}

/// Put a backup back at `path` (replacing whatever is there now).
pub fn restore(backup: &Path, path: &Path) -> io::Result<()> {
    match State::read(backup)? {
        State::Link(t) => symlink_atomic(&t, path),
        State::File { bytes, mode } => write_atomic(path, &bytes, mode),
        State::Dir => {
            remove(path)?;
            copy_any(backup, path)
        }
        State::Absent => {
            Err(io::Error::new(io::ErrorKind::NotFound, format!("backup {} is missing", backup.display())))
        }
    }
}

fn sync_dir(dir: &Path) {
    // Make the rename durable; best effort (some filesystems refuse to fsync directories).
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}
