//! "What happens to this action?" — the matcher behind `aiorch policy check`, with the
//! semantics the clients apply to the rules aiorch renders for them:
//!
//! - commands: word prefixes (`Bash(git diff:*)`, Gemini's `commandPrefix`, Codex's
//!   `prefix_rule` all match a command that starts with the prefix's words); a compound command
//!   is split at `;`, `&&`, `||`, `|`, `&` and newlines, each part is judged, the strictest wins
//!   (all three clients split compound commands the same way before matching);
//! - paths: globs with `*` (within a segment), `**` (any segments) and `?`, `~/` = home, a
//!   relative glob is relative to the working directory;
//! - hosts: `example.com` exactly, `*.example.com` any subdomain;
//! - MCP: `server` = every tool of that server, `server/tool` one tool;
//! - precedence: deny over ask over allow; nothing matches → the posture.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::model::{Kind, Policy, Rule, mcp_parts};
use super::{How, Translation};
use crate::config::policy::Decision;

/// An action to judge.
#[derive(Debug, Clone)]
pub struct Request {
    pub kind: Kind,
    pub subject: String,
}

/// Where relative paths and `~/` resolve.
pub struct Env<'a> {
    pub home: &'a Path,
    pub cwd: &'a Path,
}

#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub decision: Decision,
    /// Why, in one line: the rule that matched (and its native form), or the default.
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The client's own spelling of the rule, when the client expresses it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub native: Option<String>,
    /// For a compound command: the part that decided.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub part: Option<String>,
}

/// Judge `req` by the policy as `client` (a translation) enforces it, or — with `None` — as
/// the policy itself says.
pub fn judge(policy: &Policy, client: Option<&Translation>, req: &Request, env: &Env) -> Verdict {
    let parts: Vec<String> = match req.kind {
        Kind::Command => split_command(&req.subject).into_iter().map(|w| w.join(" ")).collect(),
        _ => vec![req.subject.clone()],
    };
    let parts = if parts.is_empty() { vec![String::new()] } else { parts };
    let compound = parts.len() > 1;
    let mut worst: Option<Verdict> = None;
    for part in parts {
        let mut v = judge_one(policy, client, req.kind, &part, env);
        if compound {
            v.part = Some(part);
        }
        if worst.as_ref().is_none_or(|w| v.decision > w.decision) {
            worst = Some(v);
        }
    }
    worst.expect("at least one part")
}

fn judge_one(policy: &Policy, client: Option<&Translation>, kind: Kind, subject: &str, env: &Env) -> Verdict {
    let mut best: Option<(Decision, &Rule, Option<&How>)> = None;
    for rule in policy.of(kind).filter(|r| matches(r, subject, env)) {
        let how = client.map(|t| t.how(rule));
        let effective = match how {
            Some(How::Unexpressed { fallback, .. }) => *fallback,
            _ => rule.decision,
        };
        // The strictest wins; on a tie, prefer a rule the client really expresses.
        let better = match &best {
            None => true,
            Some((d, _, h)) => {
                effective > *d
                    || effective == *d
                        && matches!(h, Some(How::Unexpressed { .. }))
                        && !matches!(how, Some(How::Unexpressed { .. }))
            }
        };
        if better {
            best = Some((effective, rule, how));
        }
    }
    match best {
        Some((decision, rule, how)) => {
            let (reason, native) = match how {
                None => (format!("matches {}", rule.label()), None),
                Some(How::Native(n)) => (format!("matches {} → {n}", rule.label()), Some(n.clone())),
                Some(How::Partial { native, caveat }) => {
                    (format!("matches {} → {native} ({caveat})", rule.label()), Some(native.clone()))
                }
                Some(How::Default(why)) => (format!("matches {} → nothing to write: {why}", rule.label()), None),
                Some(How::Unexpressed { fallback, why }) => (
                    format!(
                        "matches {}, which this client cannot express \
                         ({why}) → {}",
                        rule.label(),
                        fallback.name()
                    ),
                    None,
                ),
            };
            Verdict { decision, reason, rule: Some(rule.label()), native, part: None }
        }
        None => {
            let (decision, reason) = match client {
                None => (
                    policy.posture.decision(),
                    format!("no rule matches: posture {}", policy.posture.decision().name()),
                ),
                Some(t) => {
                    let (d, why) = t.default(kind);
                    (d, format!("no rule matches: {why}"))
                }
            };
            Verdict { decision, reason, rule: None, native: None, part: None }
        }
    }
}

pub fn matches(rule: &Rule, subject: &str, env: &Env) -> bool {
    match rule.kind {
        Kind::Command => {
            let prefix: Vec<&str> = rule.pattern.split(' ').collect();
            let words: Vec<String> = split_words(subject);
            words.len() >= prefix.len() && prefix.iter().zip(&words).all(|(p, w)| p == w)
        }
        Kind::Read | Kind::Write => path_matches(&rule.pattern, subject, env),
        Kind::Host => host_matches(&rule.pattern, &host_of(subject)),
        Kind::Mcp => {
            let (rs, rt) = mcp_parts(&rule.pattern);
            let (s, t) = mcp_parts(subject);
            rs == s && rt.is_none_or(|rt| Some(rt) == t)
        }
    }
}

/// Split a shell command into its simple commands (as word lists, quotes removed).
pub fn split_command(cmd: &str) -> Vec<Vec<String>> {
    let mut parts = vec![];
    let mut words: Vec<String> = vec![];
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = cmd.chars().peekable();
    let flush_word = |word: &mut String, in_word: &mut bool, words: &mut Vec<String>| {
        if *in_word {
            words.push(std::mem::take(word));
            *in_word = false;
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    word.push(c);
                }
            }
            '"' => {
                in_word = true;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => {
                            if let Some(n) = chars.next() {
                                word.push(n);
                            }
                        }
                        c => word.push(c),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(n) = chars.next()
                    && n != '\n'
                {
                    word.push(n);
                }
            }
            ';' | '&' | '|' | '\n' => {
                flush_word(&mut word, &mut in_word, &mut words);
                if matches!(chars.peek(), Some('&' | '|')) && c != ';' && c != '\n' {
                    chars.next();
                }
                if !words.is_empty() {
                    parts.push(std::mem::take(&mut words));
                }
            }
            c if c.is_whitespace() => flush_word(&mut word, &mut in_word, &mut words),
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    flush_word(&mut word, &mut in_word, &mut words);
    if !words.is_empty() {
        parts.push(words);
    }
    parts
}

fn split_words(s: &str) -> Vec<String> {
    split_command(s).into_iter().flatten().collect()
}

/// `~/x` → home/x; anything else as written.
pub fn expand_home(pattern: &str, home: &Path) -> String {
    match pattern.strip_prefix("~/") {
        Some(rest) => format!("{}/{rest}", home.display()),
        None if pattern == "~" => home.display().to_string(),
        None => pattern.to_string(),
    }
}

fn path_matches(pattern: &str, subject: &str, env: &Env) -> bool {
    let pat = expand_home(pattern, env.home);
    let sub = expand_home(subject, env.home);
    let abs: PathBuf = if Path::new(&sub).is_absolute() { PathBuf::from(&sub) } else { env.cwd.join(&sub) };
    let abs = normalize(&abs);
    if pat.starts_with('/') {
        glob_match(&pat, &abs.display().to_string())
    } else {
        // Relative globs are relative to the working directory.
        match abs.strip_prefix(normalize(env.cwd)) {
            Ok(rel) => glob_match(&pat, &rel.display().to_string()),
            Err(_) => false,
        }
    }
}

/// Lexically drop `.` and resolve `..` (no filesystem access: paths need not exist).
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Glob over `/`-separated paths: `**` any number of segments, `*` any characters within a
/// segment, `?` one character.
pub fn glob_match(pattern: &str, path: &str) -> bool {
    let p: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
    let s: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    segs(&p, &s)
}

fn segs(p: &[&str], s: &[&str]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some((&"**", rest)) => (0..=s.len()).any(|i| segs(rest, &s[i..])),
        Some((first, rest)) => !s.is_empty() && seg(first.as_bytes(), s[0].as_bytes()) && segs(rest, &s[1..]),
    }
}

fn seg(p: &[u8], s: &[u8]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some((b'*', rest)) => (0..=s.len()).any(|i| seg(rest, &s[i..])),
        Some((b'?', rest)) => !s.is_empty() && seg(rest, &s[1..]),
        Some((c, rest)) => s.first() == Some(c) && seg(rest, &s[1..]),
    }
}

/// The host of a URL or bare host name, lowercased.
pub fn host_of(s: &str) -> String {
    let s = s.split_once("://").map_or(s, |(_, r)| r);
    let s = s.rsplit_once('@').map_or(s, |(_, r)| r);
    let end = s.find(['/', ':', '?', '#']).unwrap_or(s.len());
    s[..end].to_ascii_lowercase()
}

pub fn host_matches(pattern: &str, host: &str) -> bool {
    match pattern.strip_prefix("*.") {
        Some(domain) => {
            host.len() > domain.len() + 1
                && host.ends_with(domain)
                && host.as_bytes()[host.len() - domain.len() - 1] == b'.'
        }
        None => pattern == host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::policy::RuleSet;
    use crate::policy::model::PolicyFile;

    fn policy(toml_text: &str) -> Policy {
        let f: PolicyFile = toml::from_str(toml_text).unwrap();
        let e = RuleSet::default();
        Policy::build(&f, None, [&e, &e, &e], "t").unwrap()
    }

    fn check(p: &Policy, kind: Kind, s: &str) -> Decision {
        let env = Env { home: Path::new("/home/u"), cwd: Path::new("/home/u/proj") };
        judge(p, None, &Request { kind, subject: s.into() }, &env).decision
    }

    #[test]
    fn split_compound_commands() {
        assert_eq!(
            split_command("git status && rm -rf / ; ls | wc -l & echo 'a;b' \"c d\""),
            vec![
                vec!["git", "status"],
                vec!["rm", "-rf", "/"],
                vec!["ls"],
                vec!["wc", "-l"],
                vec!["echo", "a;b", "c d"],
            ]
        );
        assert_eq!(split_command("a || b\nc"), vec![vec!["a"], vec!["b"], vec!["c"]]);
        assert!(split_command("  ").is_empty());
    }

    #[test]
    fn command_prefixes_are_word_prefixes() {
        let p = policy(
            "[allow]\ncommands = [\"git diff\", \"ls\"]\n[deny]\ncommands = [\"rm -rf\", \"git push --force\"]\n[ask]\n\
             commands = [\"git push\"]\n",
        );
        assert_eq!(check(&p, Kind::Command, "git diff --stat"), Decision::Allow);
        assert_eq!(check(&p, Kind::Command, "git difftool"), Decision::Ask, "not a word prefix: posture");
        assert_eq!(check(&p, Kind::Command, "git push origin main"), Decision::Ask);
        assert_eq!(check(&p, Kind::Command, "git push --force origin"), Decision::Deny, "deny beats ask");
        assert_eq!(check(&p, Kind::Command, "rm -rf /"), Decision::Deny);
        assert_eq!(check(&p, Kind::Command, "ls && rm -rf /"), Decision::Deny, "the strictest part wins");
        assert_eq!(check(&p, Kind::Command, "ls | git diff"), Decision::Allow);
        assert_eq!(check(&p, Kind::Command, "ls; curl x"), Decision::Ask);
        assert_eq!(check(&p, Kind::Command, "'rm' -rf /"), Decision::Deny, "quotes do not hide a word");
    }

    #[test]
    fn path_globs() {
        let p = policy("[deny]\nread = [\"**/.env\", \"~/.ssh/**\", \"/etc/shadow\"]\nwrite = [\"*.lock\"]\n");
        assert_eq!(check(&p, Kind::Read, ".env"), Decision::Deny);
        assert_eq!(check(&p, Kind::Read, "sub/dir/.env"), Decision::Deny);
        assert_eq!(check(&p, Kind::Read, "/home/u/proj/a/.env"), Decision::Deny);
        assert_eq!(
            check(&p, Kind::Read, "/tmp/.env"),
            Decision::Ask,
            "relative globs stay under the working directory"
        );
        assert_eq!(check(&p, Kind::Read, "~/.ssh/id_ed25519"), Decision::Deny);
        assert_eq!(check(&p, Kind::Read, "/home/u/.ssh/config"), Decision::Deny);
        assert_eq!(check(&p, Kind::Read, "../.ssh/config"), Decision::Deny, "`..` resolves before matching");
        assert_eq!(check(&p, Kind::Read, "/etc/shadow"), Decision::Deny);
        assert_eq!(check(&p, Kind::Read, ".envrc"), Decision::Ask);
        assert_eq!(check(&p, Kind::Write, "Cargo.lock"), Decision::Deny);
        assert_eq!(check(&p, Kind::Write, "sub/Cargo.lock"), Decision::Ask, "`*` stays within a segment");
    }

    #[test]
    fn hosts_and_mcp() {
        let p = policy(
            "[allow]\nhosts = [\"docs.rs\"]\nmcp = [\"echo\"]\n[deny]\nhosts = [\"*.evil.test\"]\n\
             mcp = [\"echo/rm\"]\n",
        );
        assert_eq!(check(&p, Kind::Host, "https://docs.rs/serde"), Decision::Allow);
        assert_eq!(check(&p, Kind::Host, "a.evil.test"), Decision::Deny);
        assert_eq!(check(&p, Kind::Host, "https://user@x.a.evil.test:8443/p"), Decision::Deny);
        assert_eq!(check(&p, Kind::Host, "evil.test"), Decision::Ask, "`*.` is subdomains only");
        assert_eq!(check(&p, Kind::Host, "notevil.test"), Decision::Ask);
        assert_eq!(check(&p, Kind::Mcp, "echo/echo"), Decision::Allow);
        assert_eq!(check(&p, Kind::Mcp, "echo/rm"), Decision::Deny);
        assert_eq!(check(&p, Kind::Mcp, "other/echo"), Decision::Ask);
    }

    #[test]
    fn posture_deny() {
        let p = policy("posture = \"deny\"\n[allow]\ncommands = [\"ls\"]\n");
        assert_eq!(check(&p, Kind::Command, "ls -la"), Decision::Allow);
        assert_eq!(check(&p, Kind::Command, "make"), Decision::Deny);
    }
}
