//! The `file` backend: a dotenv-style file (`NAME=value`, `export NAME=value`, `# comments`,
//! '…' literal or "…" with `\n \t \" \\ \$` escapes) that must be mode 0600 (or stricter) and
//! owned by the user. For CI, containers and headless Linux; agenix/sops-nix outputs fit as-is.

use fs_err as fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::PathBuf;

use zeroize::Zeroizing;

use super::{Store, Value};
use crate::config::secrets::SecretsConfig;
use crate::error::CliError;
use crate::paths::Paths;

pub struct FileStore {
    path: PathBuf,
    shown: String,
}

impl FileStore {
    pub fn new(cfg: &SecretsConfig, paths: &Paths) -> FileStore {
        let path = match &cfg.file {
            Some(p) => crate::paths::absolute(&crate::paths::expand_tilde(p, &paths.home)),
            None => paths.home.join(".config/aiorch/secrets.env"),
        };
        FileStore { shown: paths.display(&path), path }
    }

    /// The file's text, or None when it does not exist. Refuses a file others can read or that
    /// someone else owns, naming the fix.
    fn read(&self) -> anyhow::Result<Option<Zeroizing<String>>> {
        let meta = match fs::metadata(&self.path) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(CliError::io("read the secrets file", &self.path, &self.shown, e).into()),
        };
        self.check_meta(&meta)?;
        let mut bytes = Zeroizing::new(Vec::with_capacity(meta.len() as usize + 1));
        io::Read::read_to_end(&mut fs::File::open(&self.path)?, &mut bytes)
            .map_err(|e| CliError::io("read the secrets file", &self.path, &self.shown, e))?;
        match String::from_utf8(std::mem::take(&mut *bytes)) {
            Ok(s) => Ok(Some(Zeroizing::new(s))),
            Err(e) => {
                drop(Zeroizing::new(e.into_bytes()));
                Err(CliError::bad_input(format!("the secrets file {} is not UTF-8 text", self.shown)).into())
            }
        }
    }

    /// Create the file (0600, in a 0700 directory) if it is missing; check it otherwise.
    pub fn setup(&self, ui: &crate::ui::Ui) -> anyhow::Result<()> {
        match self.read()? {
            Some(text) => {
                let n = self.parse(&text)?.len();
                ui.out(&format!("{} exists ({n} entries) and only you can read it", self.shown));
            }
            None => {
                self.write(b"# aiorch secrets: NAME=value lines. Keep this file mode 0600.\n")?;
                ui.out(&format!("created {} (mode 0600)", self.shown));
            }
        }
        Ok(())
    }

    fn check_meta(&self, meta: &std::fs::Metadata) -> anyhow::Result<()> {
        let mode = meta.permissions().mode() & 0o777;
        let me = nix::unistd::geteuid().as_raw();
        if meta.uid() != me {
            return Err(CliError::bad_input(format!(
                "the secrets file {} is owned by uid {}, not by you (uid {me})",
                self.shown,
                meta.uid()
            ))
            .hint(format!("take it over: chown \"$(id -u)\" {}", self.path.display()))
            .into());
        }
        if mode & 0o077 != 0 {
            return Err(CliError::bad_input(format!(
                "the secrets file {} has mode {mode:04o}: other users can read it",
                self.shown
            ))
            .hint(format!("chmod 600 {}", self.path.display()))
            .into());
        }
        Ok(())
    }

    fn parse(&self, text: &str) -> anyhow::Result<Vec<Entry>> {
        parse(text).map_err(|line| {
            CliError::bad_input(format!("{}:{line}: not a NAME=value line", self.shown))
                .hint("each line is NAME=value, export NAME=value, or a # comment")
                .into()
        })
    }

    /// Write `text` atomically with mode 0600, creating the directory (0700) if needed.
    fn write(&self, text: &[u8]) -> anyhow::Result<()> {
        if fs::symlink_metadata(&self.path).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(CliError::bad_input(format!("the secrets file {} is a symlink", self.shown))
                .hint("aiorch does not write through links: edit the file it points to, or set secrets.file to it")
                .into());
        }
        if let Some(dir) = self.path.parent() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| CliError::io("create the directory of", &self.path, &self.shown, e))?;
        }
        crate::apply::fsutil::write_atomic(&self.path, text, 0o600)
            .map_err(|e| CliError::io("write the secrets file", &self.path, &self.shown, e))?;
        Ok(())
    }
}

impl Store for FileStore {
    fn describe(&self) -> String {
        format!("file backend ({})", self.shown)
    }

    fn get(&self, name: &str) -> anyhow::Result<Option<Value>> {
        Ok(self.get_many(&[name.to_string()])?.pop().flatten())
    }

    fn get_many(&self, names: &[String]) -> anyhow::Result<Vec<Option<Value>>> {
        let Some(text) = self.read()? else { return Ok(names.iter().map(|_| None).collect()) };
        let entries = self.parse(&text)?;
        // The last definition wins, as when the file is sourced by a shell.
        Ok(names.iter().map(|n| entries.iter().rev().find(|e| e.name == *n).map(|e| e.value(&text))).collect())
    }

    fn set(&self, name: &str, value: &str) -> anyhow::Result<()> {
        let text = self.read()?.unwrap_or_default();
        let entries = self.parse(&text)?;
        // Every buffer below is sized up front: a reallocation would free a copy unzeroed.
        let quoted = quote(value);
        let mut line = Zeroizing::new(String::with_capacity(name.len() + 1 + quoted.len()));
        line.push_str(name);
        line.push('=');
        line.push_str(&quoted);
        let mut out = Zeroizing::new(String::with_capacity(text.len() + line.len() + 2));
        let mut placed = false;
        for (i, raw) in text.split_inclusive('\n').enumerate() {
            match entries.iter().find(|e| e.line == i + 1) {
                Some(e) if e.name == name => {
                    if !placed {
                        out.push_str(&line);
                        out.push('\n');
                        placed = true;
                    }
                }
                _ => out.push_str(raw),
            }
        }
        if !placed {
            if !out.is_empty() && !out.ends_with('\n') {
                out.push('\n');
            }
            out.push_str(&line);
            out.push('\n');
        }
        self.write(out.as_bytes())
    }

    fn remove(&self, name: &str) -> anyhow::Result<bool> {
        let Some(text) = self.read()? else { return Ok(false) };
        let entries = self.parse(&text)?;
        let drop_lines: Vec<usize> = entries.iter().filter(|e| e.name == name).map(|e| e.line).collect();
        if drop_lines.is_empty() {
            return Ok(false);
        }
        let mut out = Zeroizing::new(String::with_capacity(text.len()));
        for (_, l) in text.split_inclusive('\n').enumerate().filter(|(i, _)| !drop_lines.contains(&(i + 1))) {
            out.push_str(l);
        }
        self.write(out.as_bytes())?;
        Ok(true)
    }

    fn list(&self) -> anyhow::Result<Vec<String>> {
        let Some(text) = self.read()? else { return Ok(vec![]) };
        let mut names: Vec<String> = self.parse(&text)?.into_iter().map(|e| e.name).collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    fn fix_missing(&self, name: &str) -> String {
        format!(
            "store it with `aiorch secrets set {name}` (writes {} with mode 0600), or add a `{name}=…` line to it",
            self.shown
        )
    }
}

/// One `NAME=value` line: where its value sits in the text (so it is decoded only on demand).
#[derive(Debug)]
struct Entry {
    name: String,
    line: usize,
    start: usize,
    end: usize,
    quote: Option<char>,
}

impl Entry {
    fn value(&self, text: &str) -> Value {
        let raw = &text[self.start..self.end];
        match self.quote {
            Some('"') => {
                let mut out = Zeroizing::new(String::with_capacity(raw.len()));
                let mut chars = raw.chars();
                while let Some(c) = chars.next() {
                    if c != '\\' {
                        out.push(c);
                        continue;
                    }
                    match chars.next() {
                        Some('n') => out.push('\n'),
                        Some('r') => out.push('\r'),
                        Some('t') => out.push('\t'),
                        Some(o) => out.push(o),
                        None => out.push('\\'),
                    }
                }
                out
            }
            _ => Zeroizing::new(raw.to_string()),
        }
    }
}

/// Entries of a dotenv text; Err(line number) for a line that is not one.
fn parse(text: &str) -> Result<Vec<Entry>, usize> {
    let mut out = vec![];
    let mut offset = 0;
    for (i, raw) in text.split_inclusive('\n').enumerate() {
        let line_start = offset;
        offset += raw.len();
        let body = raw.trim_end_matches(['\n', '\r']);
        let trimmed = body.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let lead = body.len() - trimmed.len();
        let (rest, skipped) = match trimmed.strip_prefix("export ") {
            Some(r) => {
                let r2 = r.trim_start();
                (r2, trimmed.len() - r2.len())
            }
            None => (trimmed, 0),
        };
        let Some(eq) = rest.find('=') else { return Err(i + 1) };
        let name = rest[..eq].trim_end();
        if super::validate_name(name).is_err() {
            return Err(i + 1);
        }
        let value_at = line_start + lead + skipped + eq + 1;
        let v = &text[value_at..line_start + body.len()];
        let v_trim = v.trim_start();
        let v_at = value_at + (v.len() - v_trim.len());
        let (start, end, quote) = match v_trim.chars().next() {
            Some(q @ ('"' | '\'')) => {
                let inner = &v_trim[1..];
                let close = if q == '"' { find_unescaped_quote(inner) } else { inner.find('\'') };
                let Some(close) = close else { return Err(i + 1) };
                if !inner[close + 1..].trim().is_empty() && !inner[close + 1..].trim_start().starts_with('#') {
                    return Err(i + 1);
                }
                (v_at + 1, v_at + 1 + close, Some(q))
            }
            _ => (v_at, v_at + v_trim.trim_end().len(), None),
        };
        out.push(Entry { name: name.to_string(), line: i + 1, start, end, quote });
    }
    Ok(out)
}

fn find_unescaped_quote(s: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return Some(i),
            _ => {}
        }
    }
    None
}

/// A value as written by `set`: bare when it is plainly safe, else double-quoted with escapes
/// (also safe to `source` from a shell: `$` and backquotes are escaped).
fn quote(value: &str) -> Zeroizing<String> {
    if !value.is_empty() && value.chars().all(|c| c.is_ascii_alphanumeric() || "_-./:@+,%^~".contains(c)) {
        return Zeroizing::new(value.to_string());
    }
    let mut out = Zeroizing::new(String::with_capacity(2 * value.len() + 2));
    out.push('"');
    for c in value.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '"' | '\\' | '$' | '`' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(dir: &std::path::Path) -> FileStore {
        let paths = Paths {
            home: dir.to_path_buf(),
            state_dir: dir.join("state"),
            config_file: dir.join("c.toml"),
            config_explicit: false,
        };
        FileStore::new(&SecretsConfig::default(), &paths)
    }

    fn values(text: &str) -> Vec<(String, String)> {
        parse(text).unwrap().iter().map(|e| (e.name.clone(), e.value(text).to_string())).collect()
    }

    #[test]
    fn parses_dotenv_forms() {
        let text = "# c\n\nA=1\nexport B = two words \nC='lit $x \\n'\nD=\"esc \\\"q\\\" \\n \\$\" # trailing\r\nE=\n";
        assert_eq!(
            values(text),
            [("A", "1"), ("B", "two words"), ("C", "lit $x \\n"), ("D", "esc \"q\" \n $"), ("E", "")]
                .map(|(a, b)| (a.to_string(), b.to_string()))
        );
        assert_eq!(parse("A=1\nnot a line\n").unwrap_err(), 2);
        assert_eq!(parse("A=\"open\n").unwrap_err(), 1);
        assert_eq!(parse("1A=x\n").unwrap_err(), 1);
    }

    #[test]
    fn quoting_round_trips() {
        for v in
            ["plain", "sk-abc_123./:@+", "with space", "q\"uo'te", "back\\slash", "$HOME `x`", "multi\nline\ttab", ""]
        {
            let line = format!("X={}\n", &*quote(v));
            assert_eq!(values(&line), [("X".to_string(), v.to_string())], "{line}");
        }
    }

    #[test]
    fn set_list_rm_keep_other_lines() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        assert!(s.list().unwrap().is_empty());
        assert!(s.get("A").unwrap().is_none());
        s.set("A", "one").unwrap();
        let path = dir.path().join(".config/aiorch/secrets.env");
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        fs::write(&path, "# keep me\nA=one\nB=two\nA=dup\n").unwrap();
        s.set("A", "new value").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "# keep me\nA=\"new value\"\nB=two\n");
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(s.list().unwrap(), ["A", "B"]);
        assert_eq!(&*s.get("A").unwrap().unwrap(), "new value");
        assert!(s.remove("A").unwrap());
        assert!(!s.remove("A").unwrap());
        assert_eq!(fs::read_to_string(&path).unwrap(), "# keep me\nB=two\n");
    }

    #[test]
    fn refuses_a_file_others_can_read() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        s.set("A", "v").unwrap();
        let path = dir.path().join(".config/aiorch/secrets.env");
        fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = s.get("A").unwrap_err();
        let c = e.downcast_ref::<CliError>().unwrap();
        assert!(c.message.contains("mode 0644"), "{}", c.message);
        assert!(c.hints[0].starts_with("chmod 600 "));
        assert!(s.set("B", "w").is_err(), "set must refuse too");
        fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
        assert_eq!(&*s.get("A").unwrap().unwrap(), "v");
    }
}
