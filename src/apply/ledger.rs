//! The ledger: every artifact aiorch owns, so that apply can tell its own files from the
//! user's, retract what is no longer declared, and revert restores exactly.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::fsutil;
use super::redact::Redactor;
use crate::error::CliError;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Ledger {
    pub version: u32,
    pub entries: Vec<Entry>,
    /// Directories aiorch created; removed on retraction when they end up empty.
    #[serde(default)]
    pub dirs: BTreeSet<PathBuf>,
    /// Files that did not exist before aiorch merged keys into them (removed on revert when
    /// nothing else is left in them).
    #[serde(default)]
    pub created_files: BTreeSet<PathBuf>,
    /// One whole-file copy of every pre-existing file aiorch merged into, taken before the
    /// first change: a last resort that `revert` reports but does not blindly restore (the
    /// client may have written newer state since).
    #[serde(default)]
    pub merge_backups: std::collections::BTreeMap<PathBuf, PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Entry {
    pub path: PathBuf,
    /// The feature that declared it (`agentsmd`, `claude`, `mcp`, …).
    pub owner: String,
    #[serde(flatten)]
    pub kind: Owned,
    /// Where the user's previous content was saved, if aiorch replaced something.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Owned {
    Link {
        target: PathBuf,
    },
    File {
        sha256: String,
    },
    /// One key path inside a JSON or TOML file that clients also write.
    Key {
        format: DocFormat,
        key: Vec<String>,
        /// Hash of the canonical JSON of the value aiorch wrote.
        sha256: String,
        /// The value before aiorch took the key over (absent: it did not exist). On disk, the
        /// values of declared secrets in it (and in `splice`) are placeholders (`redact`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prior: Option<serde_json::Value>,
        /// How many of the key's parent objects/tables aiorch created (innermost first) and
        /// may remove again when they end up empty; a parent the user had stays, even empty.
        #[serde(default, skip_serializing_if = "is_zero")]
        created_parents: usize,
        /// The text aiorch's edit replaced and the text it wrote, so revert puts the user's
        /// own bytes back (comments, layout, table style) instead of re-rendering `prior`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        splice: Option<Splice>,
    },
    /// Entries aiorch added to an array inside a JSON or TOML file that the user also edits
    /// (`permissions.allow`): only these members are aiorch's, never the whole array.
    Members {
        format: DocFormat,
        key: Vec<String>,
        /// The members aiorch inserted (a member the user already had is not listed: it stays
        /// the user's and is never removed).
        values: Vec<serde_json::Value>,
        /// The array did not exist before aiorch: it goes when aiorch's last member goes.
        #[serde(default)]
        created: bool,
        /// The user's single value aiorch turned into a one-item array (Gemini accepts a string
        /// or a list), given back with its own bytes when aiorch's last member goes.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        scalar: Option<serde_json::Value>,
        /// How many parents of a created array aiorch created too (absent in ledgers from
        /// before this was recorded: then every parent left empty goes).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        created_parents: Option<usize>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        splice: Option<Splice>,
    },
}

/// One edit aiorch made to a file it shares: `theirs` is the text it replaced, `ours` the text it
/// put there. Undoing it is splicing `theirs` back where `ours` still stands.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Splice {
    pub theirs: String,
    pub ours: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum DocFormat {
    Json,
    Toml,
    /// Top-level keys only (src/apply/yaml.rs).
    Yaml,
}

pub const VERSION: u32 = 1;

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Ledger {
    /// The ledger as stored: secret values in it are still placeholders (see `redact`).
    pub fn load(path: &Path) -> anyhow::Result<Ledger> {
        match fs_err::read(path) {
            Ok(b) => Ledger::parse(b, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Ledger { version: VERSION, ..Default::default() }),
            Err(e) => Err(e.into()),
        }
    }

    fn parse(bytes: Vec<u8>, path: &Path) -> anyhow::Result<Ledger> {
        const HINT: &str = "the ledger is aiorch's record of what it owns: restore it from your own backup, or move \
                            it aside and run `aiorch apply` (aiorch recognises the files it generated and takes \
                            the user's originals from its backups again)";
        let text = String::from_utf8(bytes).map_err(|e| {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let (line, col) = crate::config::load::line_col(std::str::from_utf8(valid).unwrap_or(""), valid.len());
            CliError::bad_input(format!("{}:{line}:{col}: the ledger is not UTF-8 text", path.display())).hint(HINT)
        })?;
        let ledger: Ledger = serde_json::from_str(&text).map_err(|e| {
            let (line, col) = crate::config::load::json_line_col(&text, &e);
            let full = e.to_string();
            let msg = full.rfind(" at line ").map_or(full.as_str(), |i| &full[..i]);
            CliError::bad_input(format!("{}:{line}:{col}: the ledger does not parse: {msg}", path.display())).hint(HINT)
        })?;
        if ledger.version != VERSION {
            // A newer aiorch may record things this one would misread, and act on them wrongly.
            return Err(CliError::bad_input(format!(
                "{}: the ledger is version {}, this aiorch reads version {VERSION}",
                path.display(),
                ledger.version
            ))
            .hint("run the aiorch that wrote it (a newer release), or restore the ledger from your own backup")
            .hint(HINT)
            .into());
        }
        Ok(ledger)
    }

    /// Save atomically (0600), with every known secret value replaced by its placeholder: the
    /// user's text the ledger keeps for revert (`prior`, splices) never rests in the state dir.
    pub fn save(&self, path: &Path, secrets: &Redactor) -> anyhow::Result<()> {
        if let Some(dir) = path.parent() {
            fs_err::create_dir_all(dir)?;
        }
        let mut text = serde_json::to_string_pretty(self)?;
        text.push('\n');
        // Only the user's text can hold a secret, and what the ledger on disk already holds
        // is redacted: only text recorded (or filled in) by this run needs the backend.
        let bytes = if self.new_user_text(path) { secrets.redact(text.as_bytes())? } else { text.into_bytes() };
        fsutil::write_atomic(path, &bytes, 0o600)?;
        Ok(())
    }

    /// Does an entry keep text or values of the user's (what revert puts back) that the ledger
    /// stored at `path` does not hold as it is?
    fn new_user_text(&self, path: &Path) -> bool {
        let stored = Ledger::load(path).unwrap_or_default();
        self.entries.iter().any(|e| {
            let user_text = match &e.kind {
                Owned::Key { prior, splice, .. } => prior.is_some() || splice.is_some(),
                Owned::Members { scalar, splice, .. } => scalar.is_some() || splice.is_some(),
                _ => false,
            };
            user_text && !stored.entries.contains(e)
        })
    }

    pub fn sort(&mut self) {
        self.entries.sort_by(|a, b| (&a.path, a.key()).cmp(&(&b.path, b.key())));
        self.entries.dedup_by(|a, b| a.path == b.path && a.key() == b.key());
    }

    /// The entry owning the whole file or link at `path`.
    pub fn whole(&self, path: &Path) -> Option<&Entry> {
        self.entries.iter().find(|e| e.path == path && !e.is_merged())
    }

    pub fn keys_at<'a>(&'a self, path: &'a Path) -> impl Iterator<Item = &'a Entry> + 'a {
        self.entries.iter().filter(move |e| e.path == path && matches!(e.kind, Owned::Key { .. }))
    }

    /// Array members aiorch owns in the file at `path`.
    pub fn members_at<'a>(&'a self, path: &'a Path) -> impl Iterator<Item = &'a Entry> + 'a {
        self.entries.iter().filter(move |e| e.path == path && matches!(e.kind, Owned::Members { .. }))
    }
}

impl Entry {
    pub fn key(&self) -> Option<&[String]> {
        match &self.kind {
            Owned::Key { key, .. } | Owned::Members { key, .. } => Some(key),
            _ => None,
        }
    }

    /// A key or array members merged into a shared file (not a whole file or link).
    pub fn is_merged(&self) -> bool {
        matches!(self.kind, Owned::Key { .. } | Owned::Members { .. })
    }
}

/// The hash of a JSON value in canonical form (object keys sorted at every level): the order a
/// client or the user keeps the keys in does not make aiorch's own value look edited.
pub fn value_hash(v: &serde_json::Value) -> String {
    fsutil::sha256_hex(serde_json::to_string(&canonical(v)).expect("json value serialises").as_bytes())
}

/// Is `v` the value recorded as `sha256`? Ledgers written before hashes were canonical hold the
/// hash of the value in aiorch's key order, which is also accepted.
pub fn hash_matches(v: &serde_json::Value, sha256: &str) -> bool {
    value_hash(v) == sha256
        || fsutil::sha256_hex(serde_json::to_string(v).expect("json value serialises").as_bytes()) == sha256
}

fn canonical(v: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(keys.into_iter().map(|k| (k.clone(), canonical(&m[k]))).collect())
        }
        Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hashes_ignore_key_order() {
        let a = json!({"command": "x", "env": {"B": "1", "A": "2"}});
        let b = json!({"env": {"A": "2", "B": "1"}, "command": "x"});
        assert_eq!(value_hash(&a), value_hash(&b));
        assert_ne!(value_hash(&a), value_hash(&json!({"command": "y", "env": {"A": "2", "B": "1"}})));
        // A hash an older aiorch recorded (aiorch's key order) still matches.
        let legacy = fsutil::sha256_hex(serde_json::to_string(&b).unwrap().as_bytes());
        assert!(hash_matches(&b, &legacy));
    }
}
