//! Roles (planning, coding, review, search — the seed plan's sisyphus, hephaestus, oracle,
//! librarian) and the keyword classifier that maps a task to a role and a difficulty.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Planning,
    Coding,
    Review,
    Search,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Planning, Role::Coding, Role::Review, Role::Search];

    pub fn name(self) -> &'static str {
        match self {
            Role::Planning => "planning",
            Role::Coding => "coding",
            Role::Review => "review",
            Role::Search => "search",
        }
    }

    /// The seed plan's agent name for the role.
    pub fn seed_name(self) -> &'static str {
        match self {
            Role::Planning => "sisyphus",
            Role::Coding => "hephaestus",
            Role::Review => "oracle",
            Role::Search => "librarian",
        }
    }

    /// A one-line instruction sent as the system prompt when a role has no better one.
    pub fn system_prompt(self) -> &'static str {
        match self {
            Role::Planning => {
                "You are the strategic lead. Break the task into ordered, verifiable steps; name files, risks and \
                 acceptance criteria. Be concise."
            }
            Role::Coding => {
                "You are a senior software engineer. Produce correct, minimal, idiomatic code and say how to verify \
                 it. Be concise."
            }
            Role::Review => {
                "You are a rigorous reviewer. Find defects, risks and missing tests; rate each finding high, medium or \
                 low. Be concise."
            }
            Role::Search => {
                "You are a librarian. Find and summarise the relevant facts precisely, citing where they come from. Be \
                 concise."
            }
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Role, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "planning" | "planner" | "plan" | "sisyphus" | "lead" => Ok(Role::Planning),
            "coding" | "coder" | "code" | "hephaestus" => Ok(Role::Coding),
            "review" | "reviewer" | "validator" | "oracle" => Ok(Role::Review),
            "search" | "research" | "librarian" => Ok(Role::Search),
            other => {
                let names = ["planning", "coding", "review", "search", "sisyphus", "hephaestus", "oracle", "librarian"];
                let hint = crate::error::did_you_mean(other, names)
                    .map(|n| format!(" (did you mean `{n}`?)"))
                    .unwrap_or_default();
                Err(format!(
                    "unknown role `{other}`{hint}: use planning|coding|review|search or \
                     sisyphus|hephaestus|oracle|librarian"
                ))
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Difficulty {
    Simple,
    Normal,
    Complex,
}

impl Difficulty {
    pub fn name(self) -> &'static str {
        match self {
            Difficulty::Simple => "simple",
            Difficulty::Normal => "normal",
            Difficulty::Complex => "complex",
        }
    }
}

/// Keyword stems per role. A stem matches a word that starts with it ("implement" matches
/// "implementation"); entries with a space match as a phrase.
const ROLE_KEYWORDS: &[(Role, &[&str])] = &[
    (
        Role::Planning,
        &[
            "plan",
            "design",
            "architect",
            "roadmap",
            "strateg",
            "break down",
            "decompos",
            "trade-off",
            "tradeoff",
            "approach",
            "propos",
            "milestone",
            "prioriti",
            "scope",
            "spec",
        ],
    ),
    (
        Role::Coding,
        &[
            "implement",
            "code",
            "write",
            "fix",
            "bug",
            "refactor",
            "add",
            "function",
            "test",
            "compile",
            "build",
            "patch",
            "port",
            "rename",
            "script",
            "endpoint",
            "migrat",
            "optimi",
            "typo",
        ],
    ),
    (
        Role::Review,
        &[
            "review",
            "audit",
            "validat",
            "verify",
            "critique",
            "check",
            "secur",
            "vulnerab",
            "regression",
            "diff",
            "approve",
            "precommit",
            "lint",
            "assess",
        ],
    ),
    (
        Role::Search,
        &[
            "find",
            "search",
            "locate",
            "where is",
            "look up",
            "lookup",
            "grep",
            "summar",
            "list",
            "docs",
            "documentation",
            "explain",
            "what is",
            "which",
            "research",
            "compare",
        ],
    ),
];

const COMPLEX: &[&str] = &[
    "architect",
    "design",
    "secur",
    "concurren",
    "distributed",
    "migrat",
    "race",
    "deadlock",
    "performance",
    "scalab",
    "cryptograph",
    "whole",
    "entire",
    "across",
    "system",
    "protocol",
    "invariant",
];
const SIMPLE: &[&str] = &[
    "typo", "rename", "list", "summar", "format", "small", "quick", "simple", "trivial", "one-line", "oneliner",
    "lookup", "look up", "what is", "spelling",
];

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Classification {
    pub role: Role,
    /// The stems that decided the role (empty when it was given or defaulted).
    pub role_keywords: Vec<String>,
    pub role_given: bool,
    pub difficulty: Difficulty,
    pub difficulty_keywords: Vec<String>,
}

/// Classify `task`; `given` (an explicit `--role`) wins over keywords.
pub fn classify(task: &str, given: Option<Role>) -> Classification {
    let text = normalise(task);
    let words: Vec<&str> = text.split(' ').filter(|w| !w.is_empty()).collect();
    let hits = |stems: &[&str]| -> Vec<String> {
        stems.iter().filter(|s| matches(&text, &words, s)).map(|s| s.to_string()).collect()
    };
    let (role, role_keywords) = match given {
        Some(r) => (r, vec![]),
        None => {
            // Highest hit count wins; ties go to the earlier role in ROLE_KEYWORDS order, except
            // that a task with no hits at all is treated as coding (the common case).
            let mut best = (Role::Coding, vec![]);
            for (role, stems) in ROLE_KEYWORDS {
                let h = hits(stems);
                if h.len() > best.1.len() {
                    best = (*role, h);
                }
            }
            best
        }
    };
    let complex = hits(COMPLEX);
    let simple = hits(SIMPLE);
    let long = task.len() > 600;
    let (difficulty, difficulty_keywords) = if complex.len() > simple.len() || (long && complex.len() >= simple.len()) {
        let mut k = complex;
        if long {
            k.push(format!("{} chars", task.len()));
        }
        (Difficulty::Complex, k)
    } else if simple.len() > complex.len() {
        (Difficulty::Simple, simple)
    } else {
        (Difficulty::Normal, vec![])
    };
    Classification { role, role_keywords, role_given: given.is_some(), difficulty, difficulty_keywords }
}

fn normalise(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().flat_map(char::to_lowercase) {
        out.push(if c.is_alphanumeric() || c == '-' { c } else { ' ' });
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn matches(text: &str, words: &[&str], stem: &str) -> bool {
    if stem.contains(' ') {
        return format!(" {text} ").contains(&format!(" {stem} "));
    }
    words.iter().any(|w| w.starts_with(stem))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_names_and_role_names_parse() {
        for (a, b) in [
            ("sisyphus", Role::Planning),
            ("hephaestus", Role::Coding),
            ("oracle", Role::Review),
            ("librarian", Role::Search),
            ("validator", Role::Review),
            ("Coding", Role::Coding),
        ] {
            assert_eq!(a.parse::<Role>().unwrap(), b);
        }
        let err = "reviw".parse::<Role>().unwrap_err();
        assert!(err.contains("did you mean `review`"), "{err}");
    }

    #[test]
    fn keywords_pick_roles() {
        assert_eq!(classify("Implement a retry helper in src/net.rs", None).role, Role::Coding);
        assert_eq!(classify("Review this diff for security regressions", None).role, Role::Review);
        assert_eq!(classify("Plan the roadmap and break down the milestones", None).role, Role::Planning);
        assert_eq!(classify("Where is the config loaded? find it", None).role, Role::Search);
        assert_eq!(classify("hello", None).role, Role::Coding);
        assert_eq!(classify("Review this", Some(Role::Search)).role, Role::Search);
    }

    #[test]
    fn difficulty_from_keywords() {
        assert_eq!(classify("fix a typo in README", None).difficulty, Difficulty::Simple);
        assert_eq!(
            classify("design the distributed cache invalidation protocol", None).difficulty,
            Difficulty::Complex
        );
        assert_eq!(classify("add a flag to the CLI", None).difficulty, Difficulty::Normal);
    }
}
