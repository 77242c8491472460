//! The policy itself: allow / ask / deny rules over five kinds of action, and a posture for
//! anything unlisted. The same shape is read from `agentsmd/permissions/policy.toml` and from
//! the `[policy]` section of the config (whose lists are added to the source's).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::config::policy::{Decision, Posture, RuleSet};
use crate::error::CliError;

/// A rule set's lists, each with the kind of action it holds.
fn lists(set: &RuleSet) -> [(Kind, &Vec<String>); 5] {
    [
        (Kind::Command, &set.commands),
        (Kind::Read, &set.read),
        (Kind::Write, &set.write),
        (Kind::Host, &set.hosts),
        (Kind::Mcp, &set.mcp),
    ]
}

/// `agentsmd/permissions/policy.toml`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PolicyFile {
    pub posture: Posture,
    pub allow: RuleSet,
    pub ask: RuleSet,
    pub deny: RuleSet,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Command,
    Read,
    Write,
    Host,
    Mcp,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Command => "command",
            Kind::Read => "read",
            Kind::Write => "write",
            Kind::Host => "host",
            Kind::Mcp => "mcp",
        }
    }

    /// The list's name in policy.toml / `[policy]`.
    pub fn list(self) -> &'static str {
        match self {
            Kind::Command => "commands",
            Kind::Read => "read",
            Kind::Write => "write",
            Kind::Host => "hosts",
            Kind::Mcp => "mcp",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rule {
    pub decision: Decision,
    pub kind: Kind,
    pub pattern: String,
}

impl Rule {
    /// How a user would write it: `deny.commands "rm -rf"`.
    pub fn label(&self) -> String {
        format!("{}.{} {:?}", self.decision.name(), self.kind.list(), self.pattern)
    }
}

/// The effective policy: the source file with the config's additions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Policy {
    pub posture: Posture,
    pub rules: Vec<Rule>,
}

impl Policy {
    /// Merge `extra` (the config) over `base` (the source file): lists are joined (duplicates
    /// dropped), the posture is replaced when the config names one.
    pub fn build(
        base: &PolicyFile,
        posture: Option<Posture>,
        extra: [&RuleSet; 3],
        origin: &str,
    ) -> Result<Policy, CliError> {
        let mut rules: Vec<Rule> = vec![];
        let sets = [
            (Decision::Allow, &base.allow, extra[0]),
            (Decision::Ask, &base.ask, extra[1]),
            (Decision::Deny, &base.deny, extra[2]),
        ];
        for (decision, a, b) in sets {
            for set in [a, b] {
                for (kind, list) in lists(set) {
                    for p in list {
                        let pattern = validate(kind, p).map_err(|why| {
                            CliError::bad_input(format!("{origin}: {}.{} {p:?}: {why}", decision.name(), kind.list()))
                                .hint("see docs/permissions.md for the pattern syntax of each list")
                        })?;
                        let rule = Rule { decision, kind, pattern };
                        if !rules.contains(&rule) {
                            rules.push(rule);
                        }
                    }
                }
            }
        }
        Ok(Policy { posture: posture.unwrap_or(base.posture), rules })
    }

    pub fn of(&self, kind: Kind) -> impl Iterator<Item = &Rule> {
        self.rules.iter().filter(move |r| r.kind == kind)
    }

    pub fn with(&self, decision: Decision, kind: Kind) -> impl Iterator<Item = &Rule> {
        self.rules.iter().filter(move |r| r.kind == kind && r.decision == decision)
    }
}

/// Check one pattern and return it normalised (trimmed, inner whitespace collapsed for
/// commands). Everything a client's renderer relies on is checked here, once.
fn validate(kind: Kind, p: &str) -> Result<String, String> {
    let t = p.trim();
    if t.is_empty() {
        return Err("empty pattern".into());
    }
    match kind {
        Kind::Command => {
            if t.chars().any(|c| {
                matches!(c, ';' | '&' | '|' | '\n' | '`' | '(' | ')' | '<' | '>' | '"' | '\'' | '\\' | '$' | '*')
            }) {
                return Err(
                    "a command prefix is plain words (no quotes, wildcards or shell operators; a prefix already \
                     matches any arguments after it)"
                        .into(),
                );
            }
            Ok(t.split_whitespace().collect::<Vec<_>>().join(" "))
        }
        Kind::Read | Kind::Write => {
            if t.contains('"') || t.contains('\\') || t.contains('\n') || t.contains('(') || t.contains(')') {
                return Err("a path glob may not contain quotes, backslashes or parentheses".into());
            }
            if t.starts_with('~') && !t.starts_with("~/") {
                return Err("only `~/` (your home) is expanded; `~user` is not".into());
            }
            Ok(t.to_string())
        }
        Kind::Host => {
            if t.contains("://") || t.contains('/') || t.contains(':') {
                return Err("a host is a name like example.com or *.example.com (no scheme, port or path)".into());
            }
            let name = t.strip_prefix("*.").unwrap_or(t);
            if name.is_empty()
                || !name.split('.').all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
            {
                return Err("a host is a name like example.com or *.example.com".into());
            }
            Ok(t.to_ascii_lowercase())
        }
        Kind::Mcp => {
            let (server, tool) = t.split_once('/').map_or((t, None), |(s, tl)| (s, Some(tl)));
            let ok = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !ok(server) || tool.is_some_and(|tl| tl != "*" && !ok(tl)) {
                return Err(
                    "an MCP rule is `server` or `server/tool` (letters, digits, `_`, `-`; tool may be `*`)".into()
                );
            }
            Ok(match tool {
                Some("*") | None => server.to_string(),
                Some(tl) => format!("{server}/{tl}"),
            })
        }
    }
}

/// Split an MCP pattern into server and optional tool.
pub fn mcp_parts(pattern: &str) -> (&str, Option<&str>) {
    match pattern.split_once('/') {
        Some((s, t)) => (s, Some(t)),
        None => (pattern, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_merges_and_validates() {
        let base: PolicyFile =
            toml::from_str("posture = \"ask\"\n[allow]\ncommands = [\"git  status\"]\n[deny]\nmcp = [\"gh/*\"]\n")
                .unwrap();
        let extra = RuleSet { commands: vec!["git status".into(), "cargo test".into()], ..Default::default() };
        let p = Policy::build(
            &base,
            Some(Posture::Deny),
            [&extra, &RuleSet::default(), &RuleSet::default()],
            "policy.toml",
        )
        .unwrap();
        assert_eq!(p.posture, Posture::Deny);
        let pats: Vec<_> = p.rules.iter().map(|r| r.label()).collect();
        assert_eq!(pats, ["allow.commands \"git status\"", "allow.commands \"cargo test\"", "deny.mcp \"gh\""]);
    }

    #[test]
    fn bad_patterns_are_bad_input_naming_the_rule() {
        for (kind, p) in [
            (Kind::Command, "rm -rf *"),
            (Kind::Command, "a && b"),
            (Kind::Host, "https://x.com"),
            (Kind::Mcp, "a/b/c"),
            (Kind::Read, "~bob/x"),
            (Kind::Read, " "),
        ] {
            let mut set = RuleSet::default();
            match kind {
                Kind::Command => set.commands.push(p.into()),
                Kind::Read => set.read.push(p.into()),
                Kind::Host => set.hosts.push(p.into()),
                Kind::Mcp => set.mcp.push(p.into()),
                Kind::Write => set.write.push(p.into()),
            }
            let e =
                Policy::build(&PolicyFile::default(), None, [&RuleSet::default(), &RuleSet::default(), &set], "cfg")
                    .unwrap_err();
            assert!(e.message.starts_with(&format!("cfg: deny.{}", kind.list())), "{}", e.message);
        }
    }
}
