//! The `keychain` backend: a dedicated macOS keychain file (`ai-secrets.keychain-db`, aws-vault's
//! model), driven through Apple's `/usr/bin/security`.
//!
//! Why the `security` tool and not the Security framework: an item's access list names the
//! programs that may read it without a prompt, by code identity. `/usr/bin/security` is signed by
//! Apple and never changes, so items written and read through it keep working across Nix
//! rebuilds of aiorch (each rebuild would be a new identity and a new prompt, see secretspec#438).
//! The in-process framework reader is an opt-in (`secrets.reader = "framework"`).
//!
//! How values stay off argv: reads use `find-generic-password -w` (value on stdout); writes feed
//! `add-generic-password … -X <hex>` to `security -i` on stdin (interactive mode tokenises stdin
//! lines of up to 4096 bytes; `-X` takes the value as hex, so it needs no quoting).
//!
//! Which `security`: `$AIORCH_SECURITY_BIN` when set (tests); else `/usr/bin/security` on macOS
//! (an absolute path, so PATH cannot substitute it); else `security` from PATH (Linux tests use
//! a fake that speaks the same arguments).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use super::{Store, Value};
use crate::config::secrets::{KeychainReader, SecretsConfig};
use crate::error::CliError;
use crate::paths::Paths;

/// `security` exit status for errSecItemNotFound (-25300 as a byte).
const NOT_FOUND: i32 = 44;
/// How long an idle keychain stays unlocked (seconds) after `secrets setup`.
pub const LOCK_AFTER_SECS: u32 = 3600;
/// `security -i` reads lines of at most this many bytes.
const INTERACTIVE_LINE_MAX: usize = 4096;

pub struct Keychain {
    pub path: PathBuf,
    shown: String,
    security: PathBuf,
    reader: KeychainReader,
    account: String,
}

impl Keychain {
    pub fn new(cfg: &SecretsConfig, paths: &Paths) -> anyhow::Result<Keychain> {
        let path = keychain_path(&cfg.keychain, &paths.home);
        if cfg.reader == KeychainReader::Framework && !cfg!(target_os = "macos") {
            return Err(CliError::bad_input("secrets.reader = \"framework\" exists only on macOS")
                .hint("use reader = \"security\" (the default)")
                .into());
        }
        Ok(Keychain {
            shown: paths.display(&path),
            path,
            security: security_bin()?,
            reader: cfg.reader,
            account: account_name(),
        })
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new(&self.security);
        c.stdin(Stdio::null());
        c
    }

    /// Run `security ARGS… <keychain>` capturing its output (stdout may hold a value: callers
    /// zeroize it).
    fn run(&self, args: &[&str]) -> anyhow::Result<Output> {
        self.cmd().args(args).arg(&self.path).output().map_err(|e| self.spawn_err(e))
    }

    fn spawn_err(&self, e: std::io::Error) -> anyhow::Error {
        CliError::failed(format!("keychain backend: cannot run {}: {e}", self.security.display())).into()
    }

    pub fn exists(&self) -> bool {
        self.path.exists()
    }

    fn require_exists(&self) -> anyhow::Result<()> {
        if self.exists() {
            return Ok(());
        }
        Err(CliError::bad_input(format!("keychain backend: the keychain {} does not exist", self.shown))
            .hint(
                "create it with `aiorch secrets setup` (asks for its password), or set secrets.keychain to an existing \
                 one",
            )
            .into())
    }

    /// An error from `security` other than "not found": its own message (never a value).
    fn failure(&self, what: &str, out: &Output) -> anyhow::Error {
        let msg = String::from_utf8_lossy(&out.stderr).trim().to_string();
        let code = out.status.code().unwrap_or(-1);
        let mut e = CliError::failed(format!(
            "keychain backend: {what} in {} failed (security exit {code}): {msg}",
            self.shown
        ));
        // errSecInteractionNotAllowed (-25308), errSecAuthFailed (-25293), userCanceled (-128).
        if matches!(code, 36 | 51 | 128) {
            e = e.hint(format!(
                "the keychain is locked or access was refused: unlock it with `security unlock-keychain {}`",
                self.path.display()
            ));
        }
        e.into()
    }

    /// Create the keychain (with a password prompt), make it lock on sleep and after an idle
    /// hour, and add it to the user's search list. Safe to run again.
    pub fn setup(&self, ui: &crate::ui::Ui) -> anyhow::Result<()> {
        if self.exists() {
            ui.out(&format!("keychain {} exists", self.shown));
        } else {
            if let Some(dir) = self.path.parent() {
                fs_err::create_dir_all(dir)?;
            }
            ui.note(&format!(
                "creating {}: security asks for its password twice. Choose a real one; it guards every AI key stored \
                 there.",
                self.shown
            ));
            // No -p: `security` prompts on the terminal itself, so the password never passes
            // through aiorch or an argv.
            let status = Command::new(&self.security)
                .arg("create-keychain")
                .arg(&self.path)
                .status()
                .map_err(|e| self.spawn_err(e))?;
            if !status.success() {
                return Err(CliError::failed(format!(
                    "keychain backend: `security create-keychain` failed ({status})"
                ))
                .into());
            }
            ui.out(&format!("created keychain {}", self.shown));
        }
        let t = LOCK_AFTER_SECS.to_string();
        let out = self.run(&["set-keychain-settings", "-l", "-u", "-t", &t])?;
        if !out.status.success() {
            return Err(self.failure("set-keychain-settings", &out));
        }
        ui.out(&format!("locks on sleep and after {} min idle", LOCK_AFTER_SECS / 60));
        let list = self.search_list()?;
        if list.iter().any(|p| same_path(p, &self.path)) {
            ui.out("already in the keychain search list");
        } else {
            let status = self
                .cmd()
                .args(["list-keychains", "-d", "user", "-s"])
                .args(&list)
                .arg(&self.path)
                .status()
                .map_err(|e| self.spawn_err(e))?;
            if !status.success() {
                return Err(CliError::failed(format!(
                    "keychain backend: `security list-keychains -s` failed ({status})"
                ))
                .into());
            }
            ui.out("added to the keychain search list (Keychain Access shows it)");
        }
        if self.has_empty_password()? {
            // Everything else is in place; this one only the user can fix (it needs the password).
            return Err(CliError::failed(format!(
                "the keychain {} has an empty password: anything running as you can read every key in it",
                self.shown
            ))
            .hint(format!("set one: security set-keychain-password {}", self.path.display()))
            .into());
        }
        Ok(())
    }

    /// The user's keychain search list.
    pub fn search_list(&self) -> anyhow::Result<Vec<PathBuf>> {
        let out = self.cmd().args(["list-keychains", "-d", "user"]).output().map_err(|e| self.spawn_err(e))?;
        if !out.status.success() {
            return Err(self.failure("list-keychains", &out));
        }
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.trim().trim_matches('"'))
            .filter(|l| !l.is_empty())
            .map(PathBuf::from)
            .collect())
    }

    /// (lock on sleep, lock after N seconds idle) from `security show-keychain-info`.
    pub fn settings(&self) -> anyhow::Result<(bool, Option<u32>)> {
        let out = self.run(&["show-keychain-info"])?;
        if !out.status.success() {
            return Err(self.failure("show-keychain-info", &out));
        }
        // `Keychain "<path>" lock-on-sleep timeout=300s` or `… no-timeout` (printed to stderr).
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        let timeout = text
            .split_whitespace()
            .find_map(|w| w.strip_prefix("timeout="))
            .and_then(|t| t.trim_end_matches('s').parse().ok());
        Ok((text.contains("lock-on-sleep"), timeout))
    }

    /// Whether the keychain opens with an empty password (the seed setup's `-p ""`).
    pub fn has_empty_password(&self) -> anyhow::Result<bool> {
        Ok(self.run(&["unlock-keychain", "-p", ""])?.status.success())
    }

    /// The longest value one `security -i` line can carry.
    fn max_value_len(&self, account: &str, name: &str) -> usize {
        let (head, tail) = add_line_parts(account, name, &self.path);
        let fixed = head.len() + tail.len() + 1;
        INTERACTIVE_LINE_MAX.saturating_sub(fixed + 1) / 2
    }

    fn find(&self, name: &str, with_value: bool) -> anyhow::Result<Option<Output>> {
        self.require_exists()?;
        let args: &[&str] = if with_value {
            &["find-generic-password", "-s", name, "-w"]
        } else {
            &["find-generic-password", "-s", name]
        };
        let out = self.run(args)?;
        match out.status.code() {
            Some(0) => Ok(Some(out)),
            Some(NOT_FOUND) => Ok(None),
            _ => {
                let mut out = out;
                zeroize::Zeroize::zeroize(&mut out.stdout);
                Err(self.failure("find-generic-password", &out))
            }
        }
    }
}

impl Store for Keychain {
    fn describe(&self) -> String {
        let via = match self.reader {
            KeychainReader::Security => self.security.display().to_string(),
            KeychainReader::Framework => "the Security framework".into(),
        };
        format!("keychain backend ({}, read through {via})", self.shown)
    }

    fn get(&self, name: &str) -> anyhow::Result<Option<Value>> {
        #[cfg(target_os = "macos")]
        if self.reader == KeychainReader::Framework {
            self.require_exists()?;
            return super::framework::get(&self.path, name, &self.account);
        }
        match self.find(name, true)? {
            None => Ok(None),
            Some(out) => super::value_from_stdout(out.stdout, &|| format!("keychain item {name}")).map(Some),
        }
    }

    fn contains(&self, name: &str) -> anyhow::Result<bool> {
        // Attributes only: the value is never decrypted for a presence check.
        Ok(self.find(name, false)?.is_some())
    }

    fn set(&self, name: &str, value: &str) -> anyhow::Result<()> {
        self.require_exists()?;
        // Update the item reads find (service NAME, whatever its account: the seed setup used
        // $USER, other tools their own), rather than adding a second one beside it.
        let account = match self.find(name, false)? {
            Some(out) => {
                attribute(&String::from_utf8_lossy(&out.stdout), "acct").unwrap_or_else(|| self.account.clone())
            }
            None => self.account.clone(),
        };
        let max = self.max_value_len(&account, name);
        if value.len() > max {
            return Err(CliError::bad_input(format!(
                "keychain backend: the value is {} bytes; at most {max} fit through `security -i`",
                value.len()
            ))
            .hint("store a file path or a shorter token, or use the file or command backend for large values")
            .into());
        }
        // Built in place at its final size, so no reallocation leaves a copy behind.
        let (head, tail) = add_line_parts(&account, name, &self.path);
        let mut line = zeroize::Zeroizing::new(String::with_capacity(head.len() + 2 * value.len() + tail.len() + 1));
        line.push_str(&head);
        for b in value.bytes() {
            line.push(char::from(HEX[usize::from(b >> 4)]));
            line.push(char::from(HEX[usize::from(b & 15)]));
        }
        line.push_str(&tail);
        line.push('\n');
        let mut child = Command::new(&self.security)
            .arg("-i")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| self.spawn_err(e))?;
        let mut stdin = child.stdin.take().expect("piped stdin");
        let _ = stdin.write_all(line.as_bytes());
        drop(stdin);
        let mut out = child.wait_with_output()?;
        if !out.status.success() || !self.contains(name)? {
            // Should `security` ever echo the failing line, the value (or its hex) must not
            // reach our message.
            let hex = &line[head.len()..line.len() - tail.len() - 1];
            let text = zeroize::Zeroizing::new(String::from_utf8_lossy(&out.stderr).into_owned());
            if !value.is_empty() {
                out.stderr = text.replace(hex, "<redacted>").replace(value, "<redacted>").into_bytes();
            }
            return Err(self.failure("add-generic-password", &out));
        }
        Ok(())
    }

    fn remove(&self, name: &str) -> anyhow::Result<bool> {
        self.require_exists()?;
        // Delete every item for this service (there may be one per account).
        let mut removed = false;
        for _ in 0..16 {
            let out = self.run(&["delete-generic-password", "-s", name])?;
            match out.status.code() {
                Some(0) => removed = true,
                Some(NOT_FOUND) => break,
                _ => return Err(self.failure("delete-generic-password", &out)),
            }
        }
        Ok(removed)
    }

    fn list(&self) -> anyhow::Result<Vec<String>> {
        self.require_exists()?;
        // `dump-keychain` without -d prints attributes only, never secret data.
        let out = self.run(&["dump-keychain"])?;
        if !out.status.success() {
            return Err(self.failure("dump-keychain", &out));
        }
        Ok(parse_dump(&String::from_utf8_lossy(&out.stdout)))
    }

    fn fix_missing(&self, name: &str) -> String {
        if self.exists() {
            format!("store it with `aiorch secrets set {name}` (prompts without echo, or reads stdin)")
        } else {
            format!("create the keychain with `aiorch secrets setup`, then `aiorch secrets set {name}`")
        }
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// The `security -i` line that stores an item (`-U`: replace an existing one), around the hex
/// value: (before, after).
fn add_line_parts(account: &str, name: &str, path: &Path) -> (String, String) {
    (
        format!("add-generic-password -U -a {} -s {name} -X ", sec_quote(account)),
        format!(" {}", sec_quote(&path.to_string_lossy())),
    )
}

#[cfg(test)]
fn add_line(account: &str, name: &str, hex: &str, path: &Path) -> String {
    let (head, tail) = add_line_parts(account, name, path);
    format!("{head}{hex}{tail}")
}

/// Quote one argument for `security -i`'s tokenizer (whitespace-separated; "…" with \ escapes).
fn sec_quote(arg: &str) -> String {
    if !arg.is_empty() && !arg.chars().any(|c| c.is_whitespace() || c == '"' || c == '\'' || c == '\\') {
        return arg.to_string();
    }
    let mut out = String::from("\"");
    for c in arg.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// A string attribute (`"acct"<blob>="me"`) from `find-generic-password` output.
fn attribute(text: &str, key: &str) -> Option<String> {
    let prefix = format!("\"{key}\"<blob>=\"");
    text.lines().find_map(|l| l.trim().strip_prefix(&prefix).and_then(|v| v.strip_suffix('"')).map(String::from))
}

/// Service names of the generic-password items in `security dump-keychain` output.
fn parse_dump(text: &str) -> Vec<String> {
    let mut names = vec![];
    let mut generic = false;
    for line in text.lines().map(str::trim) {
        if let Some(class) = line.strip_prefix("class: ") {
            generic = class.trim_matches('"') == "genp";
        } else if generic && let Some(v) = line.strip_prefix("\"svce\"<blob>=") {
            let v = v.trim();
            if let Some(s) = v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
                names.push(s.to_string());
            }
        }
    }
    names.sort();
    names.dedup();
    names
}

/// `ai-secrets` → `~/Library/Keychains/ai-secrets.keychain-db`; a value with `/` is a path.
pub fn keychain_path(name: &str, home: &Path) -> PathBuf {
    if name.contains('/') {
        return crate::paths::absolute(&crate::paths::expand_tilde(name, home));
    }
    let file = if name.ends_with(".keychain-db") || name.ends_with(".keychain") {
        name.to_string()
    } else {
        format!("{name}.keychain-db")
    };
    home.join("Library/Keychains").join(file)
}

fn security_bin() -> anyhow::Result<PathBuf> {
    if let Some(p) = std::env::var_os("AIORCH_SECURITY_BIN").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    if cfg!(target_os = "macos") {
        return Ok(PathBuf::from("/usr/bin/security"));
    }
    which::which("security").map_err(|_| {
        CliError::bad_input("the keychain backend needs Apple's `security` tool, which this system does not have")
            .hint(
                "on Linux set secrets.backend = \"file\" (a 0600 dotenv file) or \"command\" (e.g. pass, secret-tool)",
            )
            .into()
    })
}

/// The account items are stored under: the login name, as the seed setup (`-a "$USER"`) did.
fn account_name() -> String {
    nix::unistd::User::from_uid(nix::unistd::geteuid())
        .ok()
        .flatten()
        .map(|u| u.name)
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "aiorch".into())
}

fn same_path(a: &Path, b: &Path) -> bool {
    a == b || fs_err::canonicalize(a).ok().is_some_and(|ca| fs_err::canonicalize(b).ok().is_some_and(|cb| ca == cb))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keychain_names_become_paths() {
        let home = Path::new("/h");
        assert_eq!(keychain_path("ai-secrets", home), Path::new("/h/Library/Keychains/ai-secrets.keychain-db"));
        assert_eq!(keychain_path("x.keychain", home), Path::new("/h/Library/Keychains/x.keychain"));
        assert_eq!(keychain_path("~/k/a.keychain-db", home), Path::new("/h/k/a.keychain-db"));
    }

    #[test]
    fn dump_lists_generic_passwords_only() {
        let dump = r#"keychain: "/h/Library/Keychains/ai-secrets.keychain-db"
version: 512
class: "genp"
attributes:
    0x00000007 <blob>="GITHUB_TOKEN"
    "acct"<blob>="me"
    "svce"<blob>="GITHUB_TOKEN"
class: "inet"
attributes:
    "svce"<blob>="NOT_ME"
class: 0x00000010
class: "genp"
attributes:
    "svce"<blob>="A_KEY"
    "svce"<blob>=<NULL>
"#;
        assert_eq!(parse_dump(dump), ["A_KEY", "GITHUB_TOKEN"]);
        assert_eq!(attribute(dump, "acct").as_deref(), Some("me"));
        assert_eq!(attribute(dump, "nope"), None);
    }

    #[test]
    fn interactive_lines_quote_only_when_needed() {
        assert_eq!(
            add_line("me", "K", "6869", Path::new("/h/k.keychain-db")),
            "add-generic-password -U -a me -s K -X 6869 /h/k.keychain-db"
        );
        assert_eq!(sec_quote("/Users/a b/x\"y"), "\"/Users/a b/x\\\"y\"");
    }
}
