//! Secrets kept out of the state dir.
//!
//! Revert must give a user's files back byte for byte, so apply keeps copies of them (the
//! backups) and of the entries it takes over (the ledger's `prior` and splice text). A user
//! who pasted a token into a client file would find it there too, in a directory that gets
//! synced, backed up and attached to bug reports. So every occurrence of a known secret value
//! is replaced, before anything is written to the state dir, by a placeholder naming the secret
//! and the SHA-256 of its value: `@@aiorch-secret:GITHUB_TOKEN:<sha256>@@`. Revert substitutes
//! the backend's current value back, and refuses (that file only) when the value is gone or
//! no longer hashes the same (the secret was rotated): writing a different token would not be
//! the user's file.
//!
//! Known values are those of the secrets the config declares, read through the configured
//! backend only when something is about to be copied, and only values of at least
//! [`MIN_LEN`] bytes (a short value could match ordinary text and shred the file). The values
//! live in zeroed memory and are never formatted: messages name secrets, never values.
//! `apply` sits below `secrets`, so the caller hands in a [`SecretValues`].

use std::cell::RefCell;
use std::collections::BTreeMap;

use zeroize::Zeroizing;

use super::fsutil::sha256_hex;

/// Shorter values are not redacted: "password" as a value would replace every occurrence of
/// the word in a settings file.
pub const MIN_LEN: usize = 8;

const OPEN: &[u8] = b"@@aiorch-secret:";
const CLOSE: &[u8] = b"@@";

/// Where secret values come from (implemented by `secrets` over the configured backend).
pub trait SecretValues {
    /// The names the config declares: their values are recognised and redacted.
    fn declared(&self) -> Vec<String>;
    /// The backend's current values of `names`, in order (None: the backend has no such secret).
    fn get(&self, names: &[String]) -> anyhow::Result<Vec<Option<Zeroizing<String>>>>;
    /// What to run to store `name` again (`aiorch secrets set NAME`).
    fn fix(&self, name: &str) -> String {
        format!("`aiorch secrets set {name}`")
    }
}

/// No backend at all: nothing is recognised, and a placeholder never resolves.
#[cfg(test)]
pub struct NoSecrets;

#[cfg(test)]
impl SecretValues for NoSecrets {
    fn declared(&self) -> Vec<String> {
        vec![]
    }
    fn get(&self, names: &[String]) -> anyhow::Result<Vec<Option<Zeroizing<String>>>> {
        Ok(names.iter().map(|_| None).collect())
    }
}

/// Why a placeholder cannot be filled in again.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Unresolved {
    /// The backend no longer has the secret.
    Missing(String),
    /// The backend holds a different value than the one the copy was taken with.
    Rotated(String),
}

impl Unresolved {
    pub fn name(&self) -> &str {
        match self {
            Unresolved::Missing(n) | Unresolved::Rotated(n) => n,
        }
    }
    /// "GITHUB_TOKEN is no longer in the secrets backend" / "… has a different value now".
    pub fn describe(&self) -> String {
        match self {
            Unresolved::Missing(n) => format!("the secret {n} is no longer in the secrets backend"),
            Unresolved::Rotated(n) => format!("the secret {n} has a different value now than when the copy was taken"),
        }
    }
}

/// Values read once per run, on first need, and kept (zeroed on drop) for the run.
pub struct Redactor<'a> {
    source: &'a dyn SecretValues,
    values: RefCell<BTreeMap<String, Option<Zeroizing<String>>>>,
    declared_read: RefCell<bool>,
    /// Fill a placeholder with the backend's value even when it is not the one the copy was
    /// taken with (`aiorch revert --current-secrets`: the old token was revoked).
    current: bool,
}

impl std::fmt::Debug for Redactor<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Names only: a value never reaches Debug output.
        f.debug_struct("Redactor").field("names", &self.values.borrow().keys().collect::<Vec<_>>()).finish()
    }
}

impl<'a> Redactor<'a> {
    pub fn new(source: &'a dyn SecretValues) -> Redactor<'a> {
        Redactor { source, values: RefCell::new(BTreeMap::new()), declared_read: RefCell::new(false), current: false }
    }

    /// See `current`.
    pub fn accept_current(self, yes: bool) -> Redactor<'a> {
        Redactor { current: yes, ..self }
    }

    pub fn fix(&self, name: &str) -> String {
        self.source.fix(name)
    }

    fn fetch(&self, names: &[String]) -> anyhow::Result<()> {
        let want: Vec<String> = names.iter().filter(|n| !self.values.borrow().contains_key(*n)).cloned().collect();
        if want.is_empty() {
            return Ok(());
        }
        let got = self.source.get(&want)?;
        self.values.borrow_mut().extend(want.into_iter().zip(got));
        Ok(())
    }

    fn read_declared(&self) -> anyhow::Result<()> {
        if !*self.declared_read.borrow() {
            self.fetch(&self.source.declared())?;
            *self.declared_read.borrow_mut() = true;
        }
        Ok(())
    }

    /// Declared secrets the backend does not have: their literals cannot be recognised.
    pub fn missing_declared(&self) -> anyhow::Result<Vec<String>> {
        self.read_declared()?;
        let values = self.values.borrow();
        Ok(self.source.declared().into_iter().filter(|n| values.get(n).is_some_and(Option::is_none)).collect())
    }

    /// `bytes` with every known value replaced by its placeholder.
    pub fn redact(&self, bytes: &[u8]) -> anyhow::Result<Vec<u8>> {
        self.read_declared()?;
        let values = self.values.borrow();
        let mut known: Vec<(&String, &Zeroizing<String>)> =
            values.iter().filter_map(|(n, v)| v.as_ref().map(|v| (n, v))).filter(|(_, v)| v.len() >= MIN_LEN).collect();
        // A value that contains another is replaced first, whole.
        known.sort_by_key(|(_, v)| std::cmp::Reverse(v.len()));
        let mut out = bytes.to_vec();
        for (name, value) in known {
            if find(&out, value.as_bytes(), 0).is_some() {
                let ph = placeholder(name, value);
                out = replace_all(&out, value.as_bytes(), ph.as_bytes());
            }
        }
        Ok(out)
    }

    /// `bytes` with every placeholder filled in with the backend's value, or what stands in the
    /// way (each secret once). Text without placeholders is returned as it is, reading nothing.
    pub fn unredact(&self, bytes: &[u8]) -> anyhow::Result<Result<Vec<u8>, Vec<Unresolved>>> {
        let (out, bad) = self.unredact_partly(bytes)?;
        Ok(if bad.is_empty() { Ok(out) } else { Err(bad) })
    }

    /// Fill in what can be filled in and leave the rest as placeholders (the ledger: entries
    /// whose secret is gone stay as they are, the others are usable).
    pub fn unredact_partly(&self, bytes: &[u8]) -> anyhow::Result<(Vec<u8>, Vec<Unresolved>)> {
        let found = placeholders(bytes);
        if found.is_empty() {
            return Ok((bytes.to_vec(), vec![]));
        }
        let names: Vec<String> = found.iter().map(|(n, _)| n.clone()).collect();
        self.fetch(&names)?;
        let values = self.values.borrow();
        let mut out = bytes.to_vec();
        let mut bad = vec![];
        for (name, hash) in &found {
            match values.get(name).and_then(Option::as_ref) {
                None => bad.push(Unresolved::Missing(name.clone())),
                Some(v) if !self.current && &sha256_hex(v.as_bytes()) != hash => {
                    bad.push(Unresolved::Rotated(name.clone()))
                }
                Some(v) => out = replace_all(&out, placeholder_with(name, hash).as_bytes(), v.as_bytes()),
            }
        }
        bad.sort();
        bad.dedup();
        Ok((out, bad))
    }
}

/// Does `bytes` hold a placeholder?
pub fn has_placeholder(bytes: &[u8]) -> bool {
    find(bytes, OPEN, 0).is_some()
}

/// The secret names of the placeholders in `text` (each once, in order).
#[cfg(test)]
pub fn placeholder_names(bytes: &[u8]) -> Vec<String> {
    let mut names: Vec<String> = placeholders(bytes).into_iter().map(|(n, _)| n).collect();
    names.dedup();
    names
}

fn placeholder(name: &str, value: &str) -> String {
    placeholder_with(name, &sha256_hex(value.as_bytes()))
}

fn placeholder_with(name: &str, hash: &str) -> String {
    format!("@@aiorch-secret:{name}:{hash}@@")
}

/// (name, hash) of every well-formed placeholder, each pair once.
fn placeholders(bytes: &[u8]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = vec![];
    let mut from = 0;
    while let Some(at) = find(bytes, OPEN, from) {
        let rest = &bytes[at + OPEN.len()..];
        from = at + OPEN.len();
        let name_len = rest.iter().take_while(|b| b.is_ascii_alphanumeric() || **b == b'_').count();
        let after = &rest[name_len..];
        if name_len == 0 || after.first() != Some(&b':') || after.len() < 1 + 64 + CLOSE.len() {
            continue;
        }
        let hash = &after[1..65];
        if !hash.iter().all(|b| b.is_ascii_hexdigit()) || &after[65..65 + CLOSE.len()] != CLOSE {
            continue;
        }
        let pair =
            (String::from_utf8_lossy(&rest[..name_len]).into_owned(), String::from_utf8_lossy(hash).into_owned());
        if !out.contains(&pair) {
            out.push(pair);
        }
    }
    out
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() || from > hay.len() - needle.len() {
        return None;
    }
    hay[from..].windows(needle.len()).position(|w| w == needle).map(|i| i + from)
}

fn replace_all(hay: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hay.len());
    let mut from = 0;
    while let Some(at) = find(hay, needle, from) {
        out.extend_from_slice(&hay[from..at]);
        out.extend_from_slice(with);
        from = at + needle.len();
    }
    out.extend_from_slice(&hay[from..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(Vec<(&'static str, Option<&'static str>)>);
    impl SecretValues for Fixed {
        fn declared(&self) -> Vec<String> {
            self.0.iter().map(|(n, _)| n.to_string()).collect()
        }
        fn get(&self, names: &[String]) -> anyhow::Result<Vec<Option<Zeroizing<String>>>> {
            Ok(names
                .iter()
                .map(|n| {
                    self.0.iter().find(|(k, _)| k == n).and_then(|(_, v)| v.map(|v| Zeroizing::new(v.to_string())))
                })
                .collect())
        }
    }

    #[test]
    fn round_trip_is_exact_and_short_values_stay() {
        let src = Fixed(vec![("A_TOKEN", Some("ghp_CANARYaaaaaaaa")), ("SHORT", Some("abc")), ("GONE", None)]);
        let r = Redactor::new(&src);
        let text = b"{\"env\": {\"A\": \"ghp_CANARYaaaaaaaa\"}, \"b\": \"abc Bearer ghp_CANARYaaaaaaaa\"}\r\n";
        let red = r.redact(text).unwrap();
        assert!(find(&red, b"ghp_CANARY", 0).is_none(), "{}", String::from_utf8_lossy(&red));
        assert!(find(&red, b"abc", 0).is_some(), "values shorter than MIN_LEN are left");
        assert_eq!(placeholder_names(&red), ["A_TOKEN"]);
        assert_eq!(r.unredact(&red).unwrap().unwrap(), text);
        assert_eq!(r.missing_declared().unwrap(), ["GONE"]);
        assert!(!format!("{r:?}").contains("CANARY"));
    }

    #[test]
    fn a_rotated_or_missing_secret_is_reported_not_guessed() {
        let old = Fixed(vec![("A_TOKEN", Some("ghp_CANARYaaaaaaaa")), ("B_TOKEN", Some("CANARY-bbbbbbbb"))]);
        let red = Redactor::new(&old).redact(b"x=ghp_CANARYaaaaaaaa y=CANARY-bbbbbbbb").unwrap();
        let new = Fixed(vec![("A_TOKEN", Some("ghp_CANARYrotated0"))]);
        let r = Redactor::new(&new);
        assert_eq!(
            r.unredact(&red).unwrap().unwrap_err(),
            [Unresolved::Missing("B_TOKEN".into()), Unresolved::Rotated("A_TOKEN".into())]
        );
        let (part, bad) = r.unredact_partly(&red).unwrap();
        assert_eq!(bad.len(), 2);
        assert_eq!(part, red);
        // Asked for, today's value is written where the old one was; a missing one stays.
        let r = Redactor::new(&new).accept_current(true);
        let (part, bad) = r.unredact_partly(&red).unwrap();
        assert_eq!(bad, [Unresolved::Missing("B_TOKEN".into())]);
        assert!(String::from_utf8(part).unwrap().starts_with("x=ghp_CANARYrotated0 y=@@aiorch-secret:B_TOKEN:"));
    }
}
