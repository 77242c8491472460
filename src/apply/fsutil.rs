//! Filesystem primitives with the guarantees the apply engine promises: a file is either its
//! old or its new content, never half-written (temp file in the same directory, flushed, renamed,
//! the rename flushed), the mode of a file we replace is kept, and a file a client rewrites
//! while aiorch replaces it loses nothing (`replace_unless_changed`).
//!
//! Durability costs one device flush per batch, not one per file: on Linux one `syncfs` per
//! file system makes every staged file durable before any rename (and once more after them);
//! on macOS each file gets a plain `fsync` (into the drive's cache) and the batch one
//! `F_FULLFSYNC` (the cache to the medium), which is what `sync_all` would pay per file.
//! Directories get a plain `fsync` there too: their renames reach the medium with the next full
//! flush (the ledger's), and a rename that is lost leaves the old file, never a torn one. An
//! apply on macOS thus pays three device flushes (journal, batch, final ledger) whatever its size.

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
            // A file where a parent directory belongs: nothing is at `path` (preflight reports
            // the file in the way).
            Err(e) if matches!(e.kind(), io::ErrorKind::NotFound | io::ErrorKind::NotADirectory) => {
                return Ok(State::Absent);
            }
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

    /// `read`, but an empty file is a file being written (a client that truncates and then
    /// writes, as Node's `writeFileSync` does): it counts as empty only once it has stayed
    /// empty for a moment; content that appears meanwhile is used.
    pub fn read_settled(path: &Path) -> io::Result<State> {
        let mut state = State::read(path)?;
        for _ in 0..SETTLE_CHECKS {
            if !matches!(&state, State::File { bytes, .. } if bytes.is_empty()) {
                break;
            }
            std::thread::sleep(SETTLE_PAUSE);
            state = State::read(path)?;
        }
        Ok(state)
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

/// How long an empty merge target must stay empty to be taken as empty: 10 × 25 ms. A client
/// writes its few KiB within microseconds of truncating; the margin is for a loaded machine.
const SETTLE_CHECKS: u32 = 10;
const SETTLE_PAUSE: std::time::Duration = std::time::Duration::from_millis(25);

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
    keep_group(path, tmp.as_file());
    Ok(Staged { tmp, target: path.to_path_buf() })
}

impl Staged {
    /// Rename into place; the caller syncs the directory (`sync_dirs`).
    pub fn commit(self, path: &Path) -> io::Result<()> {
        self.tmp.persist(path).map(drop).map_err(|e| e.error)
    }

    /// Put the staged file at `path` if `path` still holds `expected` (`None`: nothing), the
    /// text a merge was computed from; `Ok(false)` if a client changed it since (nothing of
    /// the client's is lost: the caller merges again). Where the system can exchange two paths
    /// atomically (Linux `renameat2(RENAME_EXCHANGE)`, macOS `renamex_np(RENAME_SWAP)`) there
    /// is no window between the comparison and the replacement: the new file is swapped in,
    /// what came out is compared, and a client's newer file is swapped back (the client's rename
    /// lands in a window of microseconds only if it came after a last look just before). Elsewhere:
    /// compare, then rename.
    pub fn replace_unless_changed(self, path: &Path, expected: Option<&[u8]>, ours: &[u8]) -> io::Result<bool> {
        let tmp = self.tmp.path().to_path_buf();
        let Some(expected) = expected else {
            // Nothing was there: ours goes in only if there still is nothing.
            return match swap::rename_noreplace(&tmp, path) {
                Ok(()) => {
                    let _ = self.tmp.into_temp_path().keep();
                    Ok(true)
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
                Err(e) if swap::unsupported(&e) => self.compare_then_rename(path, None),
                Err(e) => Err(e),
            };
        };
        // Look once more first: a client that changed the file since the merge was computed
        // (the common case) is noticed before ours is ever visible, so no client reads a
        // merge computed from an older file (and builds its next write on it).
        if fs::read(path).ok().as_deref() != Some(expected) {
            return Ok(false);
        }
        match swap::exchange(&tmp, path) {
            Ok(()) => {}
            // The client removed it meanwhile.
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) if swap::unsupported(&e) => return self.compare_then_rename(path, Some(expected)),
            Err(e) => return Err(e),
        }
        // `path` holds `placed`; what it replaced is at `tmp`. As long as that is not what we
        // expected, a client wrote it after we read: swap it back (and look again at what
        // comes out, in case the client wrote once more in between).
        let (mut expected, mut placed) = (expected.to_vec(), ours.to_vec());
        for _ in 0..16 {
            let out = fs::read(&tmp)?;
            if out == expected {
                // `tmp` (removed when `self` drops) holds what we no longer need.
                return Ok(placed == ours);
            }
            swap::exchange(&tmp, path)?;
            (expected, placed) = (placed, out);
        }
        Err(io::Error::other("the file kept changing while aiorch replaced it; try again when its client is idle"))
    }

    fn compare_then_rename(self, path: &Path, expected: Option<&[u8]>) -> io::Result<bool> {
        let now = match State::read(path)? {
            State::File { bytes, .. } => Some(bytes),
            State::Absent => None,
            _ => return Ok(false),
        };
        if now.as_deref() != expected {
            return Ok(false);
        }
        self.commit(path).map(|()| true)
    }
}

/// The replacement of an existing file keeps its group (its owner is the runner, which the
/// preflight checked; its mode comes with the plan). Best effort: a group the runner is not in
/// cannot be given, and then the file gets the runner's.
fn keep_group(path: &Path, new: &std::fs::File) {
    use std::os::unix::fs::MetadataExt;
    if let (Ok(old), Ok(now)) = (fs::symlink_metadata(path), new.metadata())
        && old.is_file()
        && old.gid() != now.gid()
    {
        let _ = nix::unistd::fchown(new, None, Some(nix::unistd::Gid::from_raw(old.gid())));
    }
}

/// Atomic exchange of two paths and rename-unless-the-target-exists, where the system has them.
mod swap {
    use std::ffi::CString;
    use std::io;
    use std::os::unix::ffi::OsStrExt;
    use std::path::Path;

    fn c(p: &Path) -> io::Result<CString> {
        CString::new(p.as_os_str().as_bytes()).map_err(|_| io::Error::other("path holds a NUL byte"))
    }

    /// The file system (or system) cannot do it: fall back to compare-then-rename.
    pub fn unsupported(e: &io::Error) -> bool {
        e.kind() == io::ErrorKind::Unsupported
            || matches!(e.raw_os_error(), Some(nix::libc::EINVAL | nix::libc::ENOSYS | nix::libc::EOPNOTSUPP))
    }

    #[cfg(target_os = "linux")]
    fn rename2(a: &Path, b: &Path, flags: nix::libc::c_uint) -> io::Result<()> {
        use nix::libc::{AT_FDCWD, renameat2};
        let (a, b) = (c(a)?, c(b)?);
        // SAFETY: two valid NUL-terminated paths, resolved against the working directory.
        let r = unsafe { renameat2(AT_FDCWD, a.as_ptr(), AT_FDCWD, b.as_ptr(), flags) };
        if r == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
    }

    #[cfg(target_os = "macos")]
    fn rename2(a: &Path, b: &Path, flags: nix::libc::c_uint) -> io::Result<()> {
        let (a, b) = (c(a)?, c(b)?);
        // SAFETY: two valid NUL-terminated paths.
        let r = unsafe { nix::libc::renamex_np(a.as_ptr(), b.as_ptr(), flags) };
        if r == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
    }

    #[cfg(not(any(target_os = "linux", target_os = "macos")))]
    fn rename2(a: &Path, b: &Path, _flags: u32) -> io::Result<()> {
        let _ = (c(a)?, c(b)?);
        Err(io::ErrorKind::Unsupported.into())
    }

    #[cfg(target_os = "linux")]
    const EXCHANGE: u32 = nix::libc::RENAME_EXCHANGE;
    #[cfg(target_os = "linux")]
    const NOREPLACE: u32 = nix::libc::RENAME_NOREPLACE;
    #[cfg(target_os = "macos")]
    const EXCHANGE: u32 = nix::libc::RENAME_SWAP;
    #[cfg(target_os = "macos")]
    const NOREPLACE: u32 = nix::libc::RENAME_EXCL;
    #[cfg(not(any(target_os = "linux", target_os = "macos")))]
    const EXCHANGE: u32 = 0;
    #[cfg(not(any(target_os = "linux", target_os = "macos")))]
    const NOREPLACE: u32 = 0;

    pub fn exchange(a: &Path, b: &Path) -> io::Result<()> {
        rename2(a, b, EXCHANGE)
    }

    pub fn rename_noreplace(a: &Path, b: &Path) -> io::Result<()> {
        rename2(a, b, NOREPLACE)
    }
}

/// Make a batch of staged files durable before any of them is renamed into place: one device
/// flush for the batch (see the module comment); an error names a target, not a temp file.
pub fn flush(files: &[&Staged]) -> io::Result<()> {
    fn named(st: &Staged) -> impl Fn(io::Error) -> io::Error + '_ {
        move |e| io::Error::new(e.kind(), format!("{}: {e}", st.target.display()))
    }
    #[cfg(target_os = "linux")]
    {
        // One syncfs per file system writes back every dirty page and inode on it.
        use std::os::unix::fs::MetadataExt;
        let mut devices = std::collections::BTreeSet::new();
        for st in files {
            let f = st.tmp.as_file();
            if devices.insert(f.metadata().map_err(named(st))?.dev()) {
                nix::unistd::syncfs(f).map_err(io::Error::from).map_err(named(st))?;
            }
        }
        Ok(())
    }
    #[cfg(target_os = "macos")]
    {
        for st in files {
            nix::unistd::fsync(st.tmp.as_file()).map_err(io::Error::from).map_err(named(st))?;
        }
        if let Some(st) = files.first() {
            full_fsync(st.tmp.as_file()).map_err(named(st))?;
        }
        Ok(())
    }
    #[cfg(not(any(target_os = "linux", target_os = "macos")))]
    in_parallel(files, |st| st.tmp.as_file().sync_all().map_err(named(st)))
}

/// The drive's write cache to the medium (what macOS's `sync_all` does for every file).
#[cfg(target_os = "macos")]
fn full_fsync(f: &std::fs::File) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: a valid open descriptor; F_FULLFSYNC takes no argument.
    if unsafe { nix::libc::fcntl(f.as_raw_fd(), nix::libc::F_FULLFSYNC) } == 0 { Ok(()) } else { f.sync_all() }
}

/// Make the renames and removals in `dirs` durable: on Linux one `syncfs` per file system, on
/// macOS a plain `fsync` per directory (see the module comment), elsewhere an fsync per directory.
pub fn sync_dirs<'a>(dirs: impl IntoIterator<Item = &'a Path>) {
    let dirs: Vec<&Path> = dirs.into_iter().collect();
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::MetadataExt;
        let mut devices = std::collections::BTreeSet::new();
        for d in dirs {
            if let Ok(f) = std::fs::File::open(d)
                && f.metadata().is_ok_and(|m| devices.insert(m.dev()))
            {
                let _ = nix::unistd::syncfs(&f);
            }
        }
    }
    #[cfg(target_os = "macos")]
    for d in dirs {
        sync_dir(d);
    }
    #[cfg(not(any(target_os = "linux", target_os = "macos")))]
    {
        let _ = in_parallel(&dirs, |d| {
            sync_dir(d);
            Ok(())
        });
    }
}

/// Run `f` over `items` on a few threads (fsyncs wait on the disk, not the CPU, so a handful in
/// flight lets the journal commit them together); the first error wins.
#[cfg_attr(any(target_os = "linux", target_os = "macos"), allow(dead_code))]
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
        // macOS: into the drive's cache only (see the module comment).
        #[cfg(target_os = "macos")]
        let _ = nix::unistd::fsync(&d);
        #[cfg(not(target_os = "macos"))]
        let _ = d.sync_all();
    }
}
