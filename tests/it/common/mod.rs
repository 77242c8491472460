//! `TestEnv`: a hermetic sandbox for running the real `aiorch` binary (uv's `TestContext`,
//! jj's `TestEnvironment`). Every run gets a cleared environment, a fake HOME, its own state
//! and config, a fixed clock, and a `bin/` directory first on PATH where tests drop fake
//! client executables. Nothing reads or writes the real home, real clients or the network.
//!
//! Output that mentions the sandbox is filtered (`[TEMP]`) so snapshots are stable, and every
//! assertion helper prints the command, exit code, stdout and stderr when it fails (ripgrep).
//!
//! Every module builds its sandboxes here (no module keeps its own): what a suite needs beyond
//! the basics is a method on `TestEnv` (`with_env_secrets`, `var`, `only_bin_on_path`,
//! `install_fake_security`, `spawn`, …). A prerequisite outside the sandbox (a system tool) goes
//! through `require_tool`, which fails under CI and never skips silently.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fmt;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use sha2::{Digest, Sha256};

/// The binary under test (aiorch writes its own path into the clients' MCP settings).
pub const AIORCH: &str = env!("CARGO_BIN_EXE_aiorch");

/// The fixed clock every run sees (`20261121T102500Z`).
pub const NOW: &str = "1795256700";

/// The system directories on every run's PATH (after the sandbox's `bin/`); `require_tool`
/// looks for system tools in the same places.
pub const SYSTEM_PATH: [&str; 2] = ["/usr/bin", "/bin"];

/// A fake of Apple's `security` for the keychain backend (see the file's header).
pub const FAKE_SECURITY: &str = include_str!("../fixtures/fake-security");

/// A permission policy that uses every rule kind and the deny posture (an agentsmd tree's
/// `permissions/policy.toml`).
pub const POLICY_EVERY_KIND: &str = include_str!("../fixtures/policy-every-kind.toml");

/// Generous: the machine may be loaded. It bounds a hang; it measures nothing.
pub const HANG_LIMIT: Duration = Duration::from_secs(120);

macro_rules! clients_always {
    () => {
        "[clients]\nclaude = \"always\"\ngemini = \"always\"\ncodex = \"always\"\ncopilot = \"always\"\n"
    };
}

pub(crate) use clients_always;

/// `[clients]` managing all four clients whatever is on PATH.
pub const CLIENTS_ALWAYS: &str = clients_always!();

/// A config that manages all four clients whatever is on PATH.
/// aiorch's own MCP server (registered by default) is left out: these suites are about the
/// apply engine, and tests/it/mcp.rs covers the registration.
pub const ALL_CLIENTS: &str = concat!(clients_always!(), "[mcp]\nserve_self = false\n");

/// The secrets backend that reads the process environment (set values with `TestEnv::var`).
pub const ENV_SECRETS: &str = "[secrets]\nbackend = \"env\"\n";

pub struct TestEnv {
    _dir: tempfile::TempDir,
    /// The sandbox root (canonical, so it matches the paths aiorch prints).
    pub root: PathBuf,
    pub home: PathBuf,
    pub state: PathBuf,
    pub config: PathBuf,
    pub bin: PathBuf,
    extra_env: Vec<(String, String)>,
    /// PATH holds `bin/` only, no system directory (`only_bin_on_path`).
    bin_only: bool,
}

/// What a finished run produced.
#[derive(Debug, Clone)]
pub struct Run {
    pub cmdline: String,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "\n--- command ---\n{}\n--- exit code ---\n{:?}\n--- stdout ---\n{}\n--- stderr ---\n{}\n---",
            self.cmdline, self.code, self.stdout, self.stderr
        )
    }
}

impl TestEnv {
    /// A sandbox whose config manages all four clients.
    pub fn new() -> TestEnv {
        TestEnv::with_config(ALL_CLIENTS)
    }

    /// A sandbox with `config/aiorch.toml` holding `config` (see `write_config`).
    pub fn with_config(config: &str) -> TestEnv {
        let env = TestEnv::empty();
        env.write_config(config);
        env
    }

    /// A sandbox whose secrets come from the environment (`var`), with `config` after that.
    pub fn with_env_secrets(config: &str) -> TestEnv {
        TestEnv::with_config(&format!("{ENV_SECRETS}\n{config}"))
    }

    /// (Re)write `config/aiorch.toml`; `@ROOT@` stands for the sandbox root.
    pub fn write_config(&self, config: &str) {
        self.write("config/aiorch.toml", config.replace("@ROOT@", &self.root.display().to_string()));
    }

    /// A sandbox with no config file at all (`config/` exists, `config/aiorch.toml` does not).
    pub fn empty() -> TestEnv {
        TestEnv::empty_in(Path::new(env!("CARGO_TARGET_TMPDIR")))
    }

    /// `empty`, under `parent` instead of the build's temp dir (a run as another user needs a
    /// sandbox that user can reach, wherever the checkout is).
    pub fn empty_in(parent: &Path) -> TestEnv {
        let dir = tempfile::Builder::new().prefix("aiorch-it-").tempdir_in(parent).expect("temp dir");
        let root = dir.path().canonicalize().expect("canonical temp dir");
        let (home, state, config, bin) =
            (root.join("home"), root.join("state"), root.join("config/aiorch.toml"), root.join("bin"));
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(config.parent().unwrap()).unwrap();
        std::fs::create_dir_all(&bin).unwrap();
        TestEnv { _dir: dir, root, home, state, config, bin, extra_env: vec![], bin_only: false }
    }

    /// Set an environment variable for every later run.
    pub fn set_env(&mut self, key: &str, value: &str) {
        self.extra_env.push((key.into(), value.into()));
    }

    /// `set_env`, as a builder.
    pub fn var(mut self, key: &str, value: &str) -> TestEnv {
        self.set_env(key, value);
        self
    }

    /// PATH is `bin/` alone: not even the system's `sh` or `git` is found by name.
    pub fn only_bin_on_path(mut self) -> TestEnv {
        self.bin_only = true;
        self
    }

    /// `~/x` → under the fake home; anything else → under the sandbox root.
    pub fn path(&self, rel: &str) -> PathBuf {
        match rel.strip_prefix("~/") {
            Some(r) => self.home.join(r),
            None => self.root.join(rel),
        }
    }

    pub fn write(&self, rel: &str, text: impl AsRef<[u8]>) {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
    }

    pub fn read(&self, rel: &str) -> String {
        let p = self.path(rel);
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
    }

    pub fn read_bytes(&self, rel: &str) -> Vec<u8> {
        let p = self.path(rel);
        std::fs::read(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
    }

    pub fn exists(&self, rel: &str) -> bool {
        std::fs::symlink_metadata(self.path(rel)).is_ok()
    }

    /// An executable `bin/NAME` (first on PATH) holding `script`; returns its path.
    pub fn install_script(&self, name: &str, script: &str) -> PathBuf {
        let p = self.bin.join(name);
        std::fs::write(&p, script).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    /// A fake client CLI on PATH: prints `version_line` for `--version`, fails otherwise.
    pub fn install_fake_client(&self, name: &str, version_line: &str) {
        let script = format!(
            "#!/bin/sh\nif [ \"$1\" = \"--version\" ]; then\n  echo '{}'\n  exit 0\nfi\necho \"fake {name}: $*\" >&2\n\
             exit 3\n",
            version_line.replace('\'', "'\\''")
        );
        self.install_script(name, &script);
    }

    /// The fake `security` on PATH; it logs every argv to `security.log` in the root.
    pub fn install_fake_security(&mut self) {
        self.install_script("security", FAKE_SECURITY);
        let log = self.root.join("security.log").display().to_string();
        self.set_env("FAKE_SECURITY_LOG", &log);
    }

    /// The environment every run gets (after `env_clear()`).
    pub fn vars(&self) -> Vec<(String, String)> {
        let mut path = vec![self.bin.display().to_string()];
        if !self.bin_only {
            path.extend(SYSTEM_PATH.map(String::from));
        }
        let mut v = vec![
            ("PATH".to_string(), path.join(":")),
            ("HOME".into(), self.home.display().to_string()),
            ("LANG".into(), "C.UTF-8".into()),
            ("NO_COLOR".into(), "1".into()),
            ("AIORCH_NOW".into(), NOW.into()),
        ];
        v.extend(self.extra_env.iter().cloned());
        v
    }

    /// `--home`, `--state-dir` and `--config` pointing into the sandbox.
    pub fn sandbox_args(&self) -> Vec<String> {
        vec![
            "--home".into(),
            self.home.display().to_string(),
            "--state-dir".into(),
            self.state.display().to_string(),
            "--config".into(),
            self.config.display().to_string(),
        ]
    }

    /// `aiorch ARGS` with `--home`, `--state-dir` and `--config` pointing into the sandbox.
    pub fn cmd<I, S>(&self, args: I) -> assert_cmd::Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut c = assert_cmd::Command::from_std(self.std_cmd(args));
        c.timeout(HANG_LIMIT);
        c
    }

    /// `aiorch ARGS` with only the cleared environment: no sandbox flags (for `config path`).
    pub fn bare_cmd<I, S>(&self, args: I) -> assert_cmd::Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut c = assert_cmd::Command::from_std(self.bare_std_cmd(args));
        c.timeout(HANG_LIMIT);
        c
    }

    /// The same as `cmd`, as a `std::process::Command` (to spawn and signal it).
    pub fn std_cmd<I, S>(&self, args: I) -> std::process::Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.std_cmd_of(Path::new(AIORCH), args)
    }

    /// `std_cmd`, running the aiorch binary at `program` (a copy another user can execute).
    pub fn std_cmd_of<I, S>(&self, program: &Path, args: I) -> std::process::Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut c = std::process::Command::new(program);
        c.env_clear().envs(self.vars()).current_dir(&self.root).args(self.sandbox_args()).args(args);
        c
    }

    /// `aiorch ARGS` in the sandbox's cleared environment and root, no sandbox flags.
    fn bare_std_cmd<I, S>(&self, args: I) -> std::process::Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut c = std::process::Command::new(AIORCH);
        c.env_clear().envs(self.vars()).current_dir(&self.root).args(args);
        c
    }

    /// `std_cmd(ARGS)` spawned with stdin and stdout piped (stderr inherited: nothing to
    /// drain), killed and reaped when the handle drops. For long-running children.
    pub fn spawn<I, S>(&self, args: I) -> Spawned
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        spawn(self.std_cmd(args).stdin(Stdio::piped()).stdout(Stdio::piped()))
    }

    /// Run `aiorch ARGS` and return what it did (whatever the exit code).
    pub fn run<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        run_cmd(&mut self.cmd(args))
    }

    /// Run `aiorch ARGS` with `stdin` as its standard input (whatever the exit code).
    pub fn run_in<I, S>(&self, args: I, stdin: &str) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        run_cmd(self.cmd(args).write_stdin(stdin.as_bytes().to_vec()))
    }

    /// Run `aiorch --json ARGS`, require exit 0, and parse stdout.
    #[track_caller]
    pub fn json<I, S>(&self, args: I) -> serde_json::Value
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let args: Vec<std::ffi::OsString> =
            std::iter::once("--json".into()).chain(args.into_iter().map(|a| a.as_ref().to_owned())).collect();
        self.ok(args).json()
    }

    /// Run and require exit 0.
    #[track_caller]
    pub fn ok<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.expect(args, 0)
    }

    /// Run and require exit `code`.
    #[track_caller]
    pub fn expect<I, S>(&self, args: I, code: i32) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let r = self.run(args);
        r.assert_code(code);
        r
    }

    /// The forms the sandbox root takes in aiorch's output, longest first: inside a regex
    /// (policy path patterns) quoted twice or once, inside a bare regex, as is,
    /// and without its leading `/` (backups keep the absolute path of what they saved:
    /// `backups/STAMP/[TEMP]/home/...`).
    fn root_forms(&self) -> Vec<String> {
        let root = self.root.display().to_string();
        // How aiorch writes a literal path into a policy regex: it escapes exactly these.
        let in_regex: String =
            root.chars().flat_map(|c| if "\\^$.|+()[]{}".contains(c) { vec!['\\', c] } else { vec![c] }).collect();
        // Quoted once (a JSON or TOML string) or twice (`policy show --json` of a quoted pattern).
        let mut forms = vec![
            in_regex.replace('\\', "\\\\\\\\"),
            in_regex.replace('\\', "\\\\"),
            in_regex,
            root.clone(),
            root.trim_start_matches('/').into(),
        ];
        forms.dedup();
        forms
    }

    /// Replace the sandbox root (in every form it takes) with `[TEMP]`, and the binary under
    /// test with `[AIORCH]`.
    pub fn filter(&self, text: &str) -> String {
        let mut text = text.replace(AIORCH, "[AIORCH]");
        for form in self.root_forms() {
            text = text.replace(&form, "[TEMP]");
        }
        text
    }

    /// insta settings with the sandbox filter; bind them around snapshot assertions.
    pub fn insta(&self) -> insta::Settings {
        let mut s = insta::Settings::clone_current();
        // aiorch registers itself (its MCP server) by the absolute path of its binary.
        s.add_filter(&regex_escape(AIORCH), "[AIORCH]");
        for form in self.root_forms() {
            s.add_filter(&regex_escape(&form), "[TEMP]");
        }
        s.set_prepend_module_to_snapshot(true);
        s
    }

    /// Every path under `home/` and `state/`, sorted, one per line: `dir`, `file` or
    /// `link -> target` (the sandbox root shown as `[TEMP]`).
    pub fn tree(&self) -> String {
        let mut out = String::new();
        for top in ["home", "state"] {
            for (rel, entry) in walk(&self.root, &self.root.join(top)) {
                let rel = self.filter(&rel);
                let line = match entry {
                    Entry::Dir => format!("dir  {rel}"),
                    Entry::File { .. } => format!("file {rel}"),
                    Entry::Link(t) => format!("link {rel} -> {}", self.filter(&t.display().to_string())),
                };
                out.push_str(&line);
                out.push('\n');
            }
        }
        out
    }

    /// A fingerprint of everything under the sandbox root except `bin/`: kind, mode, content
    /// hash, and for files and links inode and mtime. Equal fingerprints mean nothing was
    /// touched.
    pub fn fingerprint(&self) -> BTreeMap<String, String> {
        self.fingerprint_of(&["home", "state", "config"], true)
    }

    /// Kind, mode and content (hash) of every path under `tops`; with `identity`, inode and
    /// mtime too. Links show their target with the root filtered, so two sandboxes compare.
    pub fn fingerprint_of(&self, tops: &[&str], identity: bool) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for top in tops {
            let base = self.root.join(top);
            for (rel, entry) in walk(&self.root, &base) {
                let p = self.root.join(&rel);
                let meta = std::fs::symlink_metadata(&p).unwrap();
                let mut desc = match &entry {
                    Entry::Dir => "dir".to_string(),
                    Entry::File { mode, sha } => format!("file {mode:o} {sha}"),
                    Entry::Link(t) => format!("link {}", self.filter(&t.display().to_string())),
                };
                // A directory's mtime moves whenever an entry comes and goes: compare its
                // contents (listed separately), not its timestamps.
                if identity && !matches!(entry, Entry::Dir) {
                    desc.push_str(&format!(" ino={} mtime={}.{}", meta.ino(), meta.mtime(), meta.mtime_nsec()));
                }
                out.insert(self.filter(&rel), desc);
            }
        }
        out
    }

    /// Every regular file under `top` (relative to the root) with its bytes.
    pub fn files_under(&self, top: &str) -> BTreeMap<String, Vec<u8>> {
        walk(&self.root, &self.root.join(top))
            .into_iter()
            .filter(|(_, e)| matches!(e, Entry::File { .. }))
            .map(|(rel, _)| {
                let bytes = std::fs::read(self.root.join(&rel)).unwrap();
                (rel, bytes)
            })
            .collect()
    }

    /// Every file under `tops` (relative to the root) that holds `needle`, links followed to
    /// the files they point at, `skip` left out: where a secret must never rest.
    pub fn files_holding(&self, tops: &[&str], needle: &[u8], skip: &[PathBuf]) -> Vec<PathBuf> {
        let mut hits = vec![];
        for top in tops {
            for (rel, entry) in walk(&self.root, &self.root.join(top)) {
                let p = self.root.join(&rel);
                if skip.contains(&p) || matches!(entry, Entry::Dir) {
                    continue;
                }
                let link = match &entry {
                    Entry::Link(t) => t.as_os_str().as_encoded_bytes().to_vec(),
                    _ => vec![],
                };
                let bytes = std::fs::read(&p).unwrap_or_default();
                if contains(&link, needle) || contains(&bytes, needle) {
                    hits.push(p);
                }
            }
        }
        hits
    }

    /// The ledger, parsed.
    pub fn ledger(&self) -> serde_json::Value {
        serde_json::from_str(&self.read("state/ledger.json")).expect("the ledger parses")
    }
}

/// Whether `needle` occurs in `hay`.
pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// `text` as lowercase hex (how a value would look hex-encoded on an argv or in a file).
pub fn hex(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

/// A stand-in HTTP/1.1 server on 127.0.0.1 (for what cannot be real here, or fault injection):
/// each connection's request head (lowercased) and body go to `answer`, which returns
/// `(status line, extra header lines, body)`; one response per connection.
pub fn http_stub(answer: impl Fn(&str, &[u8]) -> (&'static str, String, String) + Send + 'static) -> u16 {
    use std::io::{BufRead, BufReader, Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            let mut r = BufReader::new(s);
            let (mut head, mut len) = (String::new(), 0usize);
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                let line = line.to_ascii_lowercase();
                if let Some(v) = line.strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
                head.push_str(&line);
            }
            let mut body = vec![0u8; len];
            let _ = r.read_exact(&mut body);
            let (status, headers, body) = answer(&head, &body);
            let reply = format!(
                "HTTP/1.1 {status}\r\n{headers}content-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = r.into_inner().write_all(reply.as_bytes());
        }
    });
    port
}

/// A port nothing listens on (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Is `CI` set (`true` or `1`) in the environment of the test run?
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// The one rule for a prerequisite outside the sandbox: the system tool `name`, looked up in
/// `SYSTEM_PATH` (where the sandboxed runs find it too). Missing under CI (`CI=true`): the test
/// fails, naming `install` (how to get it). Missing elsewhere: a loud `SKIP:` line on stderr
/// and `None`; the caller returns. A test never passes silently without what it tests.
#[track_caller]
pub fn require_tool(name: &str, install: &str) -> Option<PathBuf> {
    if let Some(p) = SYSTEM_PATH.iter().map(|d| Path::new(d).join(name)).find(|p| p.is_file()) {
        return Some(p);
    }
    let dirs = SYSTEM_PATH.join(", ");
    let caller = std::panic::Location::caller();
    assert!(!in_ci(), "{caller}: `{name}` is not installed (looked in {dirs}); install it: {install}");
    // Straight to the process's stderr: libtest captures `eprintln!` of a passing test.
    let _ = writeln!(
        std::io::stderr(),
        "\n*** SKIP: {caller}: `{name}` is not installed (looked in {dirs}); this test did NOT run. Install it: \
         {install} ***\n"
    );
    None
}

/// A spawned child that is killed and reaped when dropped, so a failing test leaves no
/// process behind. Derefs to the `Child`.
pub struct Spawned(Option<Child>);

/// Spawn `cmd` (set up its stdio first) as a `Spawned`.
pub fn spawn(cmd: &mut std::process::Command) -> Spawned {
    Spawned(Some(cmd.spawn().unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"))))
}

impl Spawned {
    /// Wait for the child and collect what is left of its piped output.
    pub fn wait_with_output(mut self) -> std::process::Output {
        self.0.take().unwrap().wait_with_output().unwrap()
    }
}

impl std::ops::Deref for Spawned {
    type Target = Child;
    fn deref(&self) -> &Child {
        self.0.as_ref().unwrap()
    }
}

impl std::ops::DerefMut for Spawned {
    fn deref_mut(&mut self) -> &mut Child {
        self.0.as_mut().unwrap()
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take()
            && c.try_wait().ok().flatten().is_none()
        {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// PATH is `bin:/usr/bin:/bin`: tests that rely on a client being absent call this first, so
/// a machine with a client installed system-wide (`npm -g` with prefix /usr) fails clearly.
#[track_caller]
pub fn assert_no_system_clients() {
    let found: Vec<String> = ["claude", "gemini", "codex", "copilot"]
        .iter()
        .flat_map(|c| ["/usr/bin", "/bin"].map(|d| format!("{d}/{c}")))
        .filter(|p| Path::new(p).exists())
        .collect();
    assert!(found.is_empty(), "this test needs the AI CLIs absent from /usr/bin and /bin, found {found:?}");
}

#[derive(Debug, Clone)]
pub enum Entry {
    Dir,
    File { mode: u32, sha: String },
    Link(PathBuf),
}

/// Every path under `dir` (not `dir` itself), depth first, sorted, relative to `root`.
pub fn walk(root: &Path, dir: &Path) -> Vec<(String, Entry)> {
    let mut out = vec![];
    let Ok(rd) = std::fs::read_dir(dir) else { return out };
    let mut entries: Vec<_> = rd.map(|e| e.unwrap().path()).collect();
    entries.sort();
    for p in entries {
        let rel = p.strip_prefix(root).unwrap().display().to_string();
        let meta = std::fs::symlink_metadata(&p).unwrap();
        if meta.file_type().is_symlink() {
            out.push((rel, Entry::Link(std::fs::read_link(&p).unwrap())));
        } else if meta.is_dir() {
            out.push((rel, Entry::Dir));
            out.extend(walk(root, &p));
        } else {
            let bytes = std::fs::read(&p).unwrap();
            out.push((rel, Entry::File { mode: meta.permissions().mode() & 0o7777, sha: sha256_hex(&bytes) }));
        }
    }
    out
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

pub fn run_cmd(cmd: &mut assert_cmd::Command) -> Run {
    let cmdline = format!("{cmd:?}");
    let out = cmd.output().expect("aiorch runs");
    Run {
        cmdline,
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

impl Run {
    /// stdout and stderr together (for "appears nowhere in the output" checks).
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Run {
        assert_eq!(self.code, Some(code), "expected exit {code}{self}");
        self
    }

    #[track_caller]
    pub fn assert_stdout_contains(&self, needle: &str) -> &Run {
        assert!(self.stdout.contains(needle), "stdout lacks {needle:?}{self}");
        self
    }

    #[track_caller]
    pub fn assert_stderr_contains(&self, needle: &str) -> &Run {
        assert!(self.stderr.contains(needle), "stderr lacks {needle:?}{self}");
        self
    }

    /// stdout parsed as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON: {e}{self}"))
    }

    /// The `N created, N updated, N removed, N unchanged` numbers of an apply/revert summary.
    #[track_caller]
    pub fn summary(&self) -> (usize, usize, usize, usize) {
        let line = self
            .stdout
            .lines()
            .rev()
            .find(|l| l.contains(" created, "))
            .unwrap_or_else(|| panic!("no summary line{self}"));
        let nums: Vec<usize> =
            line.split(|c: char| !c.is_ascii_digit()).filter(|s| !s.is_empty()).map(|s| s.parse().unwrap()).collect();
        (nums[0], nums[1], nums[2], nums[3])
    }
}

/// Assert two fingerprints are equal, listing every path that differs.
#[track_caller]
pub fn assert_same(before: &BTreeMap<String, String>, after: &BTreeMap<String, String>, what: &str) {
    if before == after {
        return;
    }
    let mut diff = String::new();
    for k in before.keys().chain(after.keys()).collect::<std::collections::BTreeSet<_>>() {
        match (before.get(k), after.get(k)) {
            (Some(a), Some(b)) if a == b => {}
            (a, b) => diff.push_str(&format!("  {k}:\n    before: {a:?}\n    after:  {b:?}\n")),
        }
    }
    panic!("{what}: the sandbox changed\n{diff}");
}

fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A small deterministic PRNG (splitmix64) for fault-injection schedules.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}
