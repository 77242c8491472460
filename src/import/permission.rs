//! OpenCode's `permission` as `[policy]` rules. aiorch owns that key whole once the policy is
//! rendered into OpenCode (order decides there), so a translation is only taken when apply's
//! rendering of it (`clients::opencode::policy`) decides every request the way the user's value
//! does; otherwise the user's value stays, with the reason. "Decides the same" is checked the
//! way OpenCode 1.18 decides: its built-in rules, then the config's in file order, the last
//! rule whose permission name and pattern both match wins (`Wildcard.match`: `*` any characters,
//! `?` one, a trailing ` *` optional), probed with every name and pattern either value holds.

use serde_json::Value;

use crate::config::policy::{Decision, Posture, RuleSet};
use crate::paths::Paths;
use crate::policy::{Policy, PolicyFile};

/// The policy an OpenCode `permission` value amounts to.
#[derive(Debug, Clone, PartialEq)]
pub struct Translated {
    pub posture: Posture,
    /// allow, ask, deny.
    pub sets: [RuleSet; 3],
}

fn decision(action: &Value, what: &str) -> Result<Decision, String> {
    match action.as_str() {
        Some("allow") => Ok(Decision::Allow),
        Some("ask") => Ok(Decision::Ask),
        Some("deny") => Ok(Decision::Deny),
        _ => Err(format!("{what}: {action} is not allow, ask or deny")),
    }
}

/// OpenCode's name for a server's tools (`clients::opencode::mcp_permission`'s cleaning).
fn clean(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' }).collect()
}

/// The rules `user` amounts to, when apply's rendering of them gives the same decisions;
/// else why not. `servers`: the imported server names (`SERVER_TOOL` names their tools).
pub fn from_opencode(user: &Value, servers: &[&str], paths: &Paths) -> Result<Translated, String> {
    let Some(obj) = user.as_object() else {
        return Err(format!(
            "`permission: {user}` decides every tool at once: the policy allows reads and asks or denies \
             commands, edits and fetches"
        ));
    };
    let head = |k: &str| obj.get(k).map(|v| if v.is_object() { v.get("*").cloned() } else { Some(v.clone()) });
    let posture = match head("bash") {
        Some(Some(v)) if v == "ask" => Posture::Ask,
        Some(Some(v)) if v == "deny" => Posture::Deny,
        _ => {
            return Err("unlisted shell commands run without asking (`bash` has no `\"*\": \"ask\"` or \"deny\"): \
                        the policy always asks for or refuses them (its posture)"
                .into());
        }
    };
    let mut sets: [RuleSet; 3] = Default::default();
    let at = |d: Decision| match d {
        Decision::Allow => 0,
        Decision::Ask => 1,
        Decision::Deny => 2,
    };
    for (k, v) in obj {
        let patterns: Vec<(&str, &Value)> = match v.as_object() {
            Some(m) => m.iter().filter(|(p, _)| *p != "*").map(|(p, a)| (p.as_str(), a)).collect(),
            None => vec![],
        };
        match k.as_str() {
            "bash" | "edit" | "read" => {
                for (p, a) in patterns {
                    let set = &mut sets[at(decision(a, &format!("{k} `{p}`"))?)];
                    match k.as_str() {
                        // `git status *` is the prefix `git status` (its trailing ` *` is optional).
                        "bash" => set.commands.push(p.strip_suffix(" *").unwrap_or(p).to_string()),
                        "edit" => set.write.push(p.to_string()),
                        _ => set.read.push(p.to_string()),
                    }
                }
            }
            "external_directory" => {
                for (p, a) in patterns {
                    match (decision(a, &format!("{k} `{p}`"))?, p.strip_suffix("/*")) {
                        (Decision::Deny, Some(dir)) => sets[2].read.push(format!("{dir}/**")),
                        _ => {
                            return Err(format!(
                                "external_directory `{p}`: {a}: only refusing a whole directory outside the project \
                                 (`DIR/*`: deny) has a policy rule"
                            ));
                        }
                    }
                }
            }
            // The posture's: checked with the rest below.
            "webfetch" | "*_*" => {}
            name => {
                let tool = servers.iter().find_map(|s| {
                    let rest = name.strip_prefix(&format!("{}_", clean(s)))?;
                    Some(if rest == "*" { s.to_string() } else { format!("{s}/{rest}") })
                });
                match (tool, v.is_string()) {
                    (Some(t), true) => sets[at(decision(v, name)?)].mcp.push(t),
                    _ => {
                        return Err(format!(
                            "`{name}` has no policy rule (the policy has shell commands, file paths, hosts and the \
                             imported servers' MCP tools)"
                        ));
                    }
                }
            }
        }
    }
    let policy =
        Policy::build(&PolicyFile::default(), Some(posture), [&sets[0], &sets[1], &sets[2]], "OpenCode's permission")
            .map_err(|e| e.message)?;
    let rendered = rendered(paths, &policy);
    // Order decides in OpenCode, and apply writes this value whole (an ordered key).
    if let Some(diff) = differs(user, &rendered, &paths.home) {
        return Err(format!("aiorch's rendering of it would decide differently ({diff})"));
    }
    Ok(Translated { posture, sets })
}

/// The `permission` value apply writes for `policy`.
pub fn rendered(paths: &Paths, policy: &Policy) -> Value {
    let t = crate::clients::opencode::policy(paths, policy);
    t.artifacts
        .into_iter()
        .find_map(|a| match a.desired {
            crate::apply::Desired::Key { value, .. } => Some(value),
            _ => None,
        })
        .unwrap_or(Value::Null)
}

type Rule = (String, String, String);

/// `permission` as OpenCode's rule list (`Permission.fromConfig`: object order kept, a string
/// is pattern `*`, `~/` in a pattern is the home).
fn flatten(v: &Value, home: &str) -> Vec<Rule> {
    let expand = |p: &str| match p.strip_prefix("~/") {
        Some(rest) => format!("{home}/{rest}"),
        None => p.to_string(),
    };
    match v {
        Value::String(a) => vec![("*".into(), "*".into(), a.clone())],
        Value::Object(m) => m
            .iter()
            .flat_map(|(k, x)| match x {
                Value::Object(pats) => pats
                    .iter()
                    .map(|(p, a)| (k.clone(), expand(p), a.as_str().unwrap_or_default().to_string()))
                    .collect::<Vec<_>>(),
                a => vec![(k.clone(), "*".into(), a.as_str().unwrap_or_default().to_string())],
            })
            .collect(),
        _ => vec![],
    }
}

/// OpenCode's built-in rules, before the config's (agent `build`).
fn builtin() -> Vec<Rule> {
    [
        ("*", "*", "allow"),
        ("doom_loop", "*", "ask"),
        ("external_directory", "*", "ask"),
        ("question", "*", "allow"),
        ("plan_enter", "*", "allow"),
        ("plan_exit", "*", "deny"),
        ("read", "*", "allow"),
        ("read", "*.env", "ask"),
        ("read", "*.env.*", "ask"),
        ("read", "*.env.example", "allow"),
    ]
    .iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    .collect()
}

/// OpenCode's `Wildcard.match`.
pub fn wildcard(s: &str, pattern: &str) -> bool {
    fn glob(s: &[char], p: &[char]) -> bool {
        // Iterative `*`/`?` matching with one backtrack point.
        let (mut i, mut j, mut star, mut mark) = (0, 0, None, 0);
        while i < s.len() {
            if j < p.len() && (p[j] == '?' || p[j] == s[i]) && p[j] != '*' {
                i += 1;
                j += 1;
            } else if j < p.len() && p[j] == '*' {
                star = Some(j);
                mark = i;
                j += 1;
            } else if let Some(st) = star {
                j = st + 1;
                mark += 1;
                i = mark;
            } else {
                return false;
            }
        }
        p[j..].iter().all(|c| *c == '*')
    }
    let s: Vec<char> = s.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    match pattern.strip_suffix(" *") {
        Some(base) => {
            let b: Vec<char> = base.chars().collect();
            glob(&s, &b) || glob(&s, &p)
        }
        None => glob(&s, &p),
    }
}

fn decide<'a>(rules: &'a [Rule], perm: &str, pattern: &str) -> &'a str {
    rules.iter().rev().find(|(n, p, _)| wildcard(perm, n) && wildcard(pattern, p)).map_or("ask", |(.., a)| a)
}

/// The first request `a` and `b` decide differently, over probes built from both values.
pub fn differs(a: &Value, b: &Value, home: &std::path::Path) -> Option<String> {
    let home = home.display().to_string();
    let (ra, rb) = (flatten(a, &home), flatten(b, &home));
    let fill = |s: &str| -> Vec<String> {
        let mut out = vec![s.replace('*', "").replace('?', "x")];
        for f in ["x", "x/y z", "a-b_c"] {
            out.push(s.replace('*', f).replace('?', "x"));
        }
        out
    };
    let mut perms: Vec<String> =
        ["bash", "edit", "read", "webfetch", "websearch", "external_directory", "task", "todowrite", "glob", "grep"]
            .iter()
            .map(|s| s.to_string())
            .collect();
    let mut pats: Vec<String> =
        ["", "x", "ls", "git status", ".env", "src/main.rs", "/etc/hosts"].iter().map(|s| s.to_string()).collect();
    for (n, p, _) in ra.iter().chain(&rb) {
        perms.extend(fill(n));
        for q in fill(p) {
            pats.push(format!("{q} --more"));
            pats.push(format!("{q}/sub/file.txt"));
            pats.push(q);
        }
    }
    perms.sort();
    perms.dedup();
    pats.sort();
    pats.dedup();
    let base = builtin();
    let with = |r: &[Rule]| base.iter().cloned().chain(r.iter().cloned()).collect::<Vec<_>>();
    let (fa, fb) = (with(&ra), with(&rb));
    for perm in &perms {
        for pat in &pats {
            let (x, y) = (decide(&fa, perm, pat), decide(&fb, perm, pat));
            if x != y {
                return Some(format!("`{perm}` on `{pat}`: {x} now, {y} after apply"));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wildcard_is_opencodes() {
        assert!(wildcard("git status", "git status *") && wildcard("git status -s", "git status *"));
        assert!(!wildcard("git statusx", "git status *"));
        assert!(wildcard("src/a/b.rs", "src/*") && wildcard("a", "?") && !wildcard("ab", "?"));
        assert!(wildcard("github_get_me", "github_*") && wildcard("x_y", "*_*") && !wildcard("xy", "*_*"));
    }

    fn paths() -> Paths {
        Paths {
            home: "/h".into(),
            state_dir: "/h/.local/state/aiorch".into(),
            config_file: "/h/.config/aiorch/aiorch.toml".into(),
            config_explicit: false,
        }
    }

    #[test]
    fn a_permission_aiorch_can_render_comes_back_as_rules() {
        let user = json!({
            "bash": {"*": "ask", "git status *": "allow", "git push *": "deny"},
            "edit": "ask",
            "read": {"*": "allow", "secrets/*": "deny"},
            "webfetch": "ask",
            "github_delete_repo": "deny",
        });
        let t = from_opencode(&user, &["github"], &paths()).unwrap();
        assert_eq!(t.posture, Posture::Ask);
        assert_eq!(t.sets[0].commands, ["git status"]);
        assert_eq!(t.sets[2].commands, ["git push"]);
        assert_eq!(t.sets[2].read, ["secrets/*"]);
        assert_eq!(t.sets[2].mcp, ["github/delete_repo"]);
    }

    #[test]
    fn what_aiorch_cannot_render_is_refused_with_the_reason() {
        let p = paths();
        // OpenCode's default: everything allowed.
        assert!(from_opencode(&json!({"edit": "deny"}), &[], &p).unwrap_err().contains("posture"));
        // Order: a later, broader deny after an allow would be reordered by the renderer.
        let e = from_opencode(
            &json!({"bash": {"*": "ask", "git *": "deny", "git status *": "allow"}, "edit": "ask", "webfetch": "ask"}),
            &[],
            &p,
        )
        .unwrap_err();
        assert!(e.contains("`bash` on `git status"), "{e}");
        // Rendered in aiorch's order this decides the same, and apply writes the value whole
        // (a member-by-member merge would have left `git *` ahead of `git log *`).
        let user = json!({"bash": {"*": "ask", "git log": "allow", "git *": "deny"}, "edit": "ask", "webfetch": "ask"});
        assert!(from_opencode(&user, &[], &p).is_ok());
        // webfetch allowed while the posture asks.
        let e = from_opencode(&json!({"bash": "ask", "edit": "ask"}), &[], &p).unwrap_err();
        assert!(e.contains("`webfetch`"), "{e}");
        assert!(
            from_opencode(&json!({"bash": "ask", "edit": "ask", "webfetch": "ask", "task": "deny"}), &[], &p)
                .unwrap_err()
                .contains("`task`")
        );
        assert!(from_opencode(&json!("ask"), &[], &p).is_err());
    }
}
