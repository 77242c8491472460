//! Copilot CLI 1.0. Reads `~/.copilot/copilot-instructions.md`; it has no commands directory:
//! skills (`~/.copilot/skills/NAME/SKILL.md`) are its slash commands. `config.json` is rewritten
//! on every run and never touched; `mcp-config.json` gets merged keys only.

use serde_json::{Map, Value, json};

use super::{Client, Ctx};
use crate::apply::{Artifact, DocFormat};
use crate::mcp::registry::{Effect, Entry, Server, Transport};

pub fn artifacts(ctx: &Ctx) -> anyhow::Result<Vec<Artifact>> {
    let dir = ctx.paths.in_home(".copilot");
    let mut out =
        vec![Artifact::link("copilot", dir.join("copilot-instructions.md"), ctx.tree.instructions_target(ctx.paths))];
    out.extend(super::skills("copilot", dir.join("skills"), ctx)?);
    Ok(out)
}

/// `~/.copilot/mcp-config.json` `mcpServers.NAME`, in the shape `copilot mcp add` writes:
/// `type: "local"` for stdio (`http`/`sse` remote), `cwd`, `timeout` in ms, and `tools` (the
/// allow-list; `["*"]` for all). Copilot expands `$VAR`/`${VAR}`.
pub fn mcp_entry(_ctx: &Ctx, s: &Server) -> Entry {
    let c = Client::Copilot;
    let mut e = Entry::default();
    let mut v = Map::new();
    v.insert("tools".into(), json!(s.tools.clone().unwrap_or_else(|| vec!["*".into()])));
    match &s.transport {
        Transport::Stdio { command, args } => {
            v.insert("type".into(), json!("local"));
            v.insert("command".into(), json!(command));
            v.insert("args".into(), json!(args));
            if !s.env.is_empty() {
                v.insert("env".into(), json!(s.env));
            }
            if let Some(cwd) = &s.cwd {
                v.insert("cwd".into(), json!(cwd));
            }
        }
        Transport::Http { url } | Transport::Sse { url } => {
            v.insert("type".into(), json!(if matches!(s.transport, Transport::Sse { .. }) { "sse" } else { "http" }));
            v.insert("url".into(), json!(url));
            if !s.headers.is_empty() {
                v.insert("headers".into(), json!(s.headers));
            }
        }
    }
    if let Some(t) = s.timeout_s {
        v.insert("timeout".into(), json!(t * 1000));
    }
    if s.startup_timeout_s.is_some() {
        e.gap(c, s, "startup_timeout", Effect::Lost, "Copilot has a single `timeout`; set `timeout` instead");
    }
    e.value = Some(Value::Object(v));
    e
}

pub fn mcp_artifacts(ctx: &Ctx, servers: &[Server]) -> Vec<Artifact> {
    super::mcp_keys(
        Client::Copilot,
        ctx,
        servers,
        ctx.paths.in_home(".copilot/mcp-config.json"),
        DocFormat::Json,
        "mcpServers",
    )
}

// ---- Permission policy (src/policy) ----------------------------------------------------------
//
// Copilot CLI 1.0.102 reads user settings from `~/.copilot/settings.json` (config.json is its
// own state). Of its permission keys only `allowedUrls` / `deniedUrls` are user settings:
// `permissions.allow|ask|deny` exist but are `managedOnly` (enterprise-managed settings; the
// settings catalogue in the runtime says so), and tool rules are otherwise only the
// `--allow-tool` / `--deny-tool` flags. So aiorch writes the URL lists (members: the user edits
// them too) and, for everything else, reports what Copilot does instead — in its default manual
// mode it asks before shell commands and writes — and prints the equivalent flags for an alias.

use crate::policy::{Decision, How, Kind, Policy, Posture, Translation};

const SETTINGS: &str = ".copilot/settings.json";

pub fn policy(paths: &crate::paths::Paths, p: &Policy) -> Translation {
    render(paths, p).0
}

/// The policy as Copilot's command-line flags (`--deny-tool=…`, then `--allow-tool=…`): what
/// `aiorch go --agent copilot` passes, since Copilot takes tool rules only as flags.
pub fn tool_flags(paths: &crate::paths::Paths, p: &Policy) -> Vec<String> {
    let (_, deny, allow) = render(paths, p);
    deny.iter().map(|f| format!("--deny-tool={f}")).chain(allow.iter().map(|f| format!("--allow-tool={f}"))).collect()
}

fn render(paths: &crate::paths::Paths, p: &Policy) -> (Translation, Vec<String>, Vec<String>) {
    let managed_only = "permissions.allow/ask/deny are enterprise-managed only in Copilot; users have \
                        --allow-tool/--deny-tool flags (`aiorch policy show --client copilot` prints them as an alias)";
    let mut rules = vec![];
    let (mut denied, mut allowed) = (vec![], vec![]);
    let (mut deny_flags, mut allow_flags) = (vec![], vec![]);
    let mut flag = |d: Decision, f: String| if d == Decision::Deny { deny_flags.push(f) } else { allow_flags.push(f) };
    for r in &p.rules {
        let how = match (r.kind, r.decision) {
            (Kind::Host, Decision::Deny) => {
                let urls = [format!("https://{}", r.pattern), format!("http://{}", r.pattern)];
                denied.extend(urls.iter().map(|u| serde_json::json!(u)));
                How::Native(format!("deniedUrls {}", urls.join(", ")))
            }
            (Kind::Host, Decision::Allow) => {
                let url = format!("https://{}", r.pattern);
                allowed.push(serde_json::json!(url));
                How::Partial {
                    native: format!("allowedUrls {url}"),
                    caveat: "https only (Copilot's URL rules are protocol-aware)".into(),
                }
            }
            (Kind::Host, Decision::Ask) => How::Default("Copilot asks for URLs that allowedUrls does not list".into()),
            (_, Decision::Ask) => How::Default("Copilot's default manual mode asks".into()),
            (Kind::Command, d) => {
                flag(d, format!("shell({})", copilot_command_id(&r.pattern, d)));
                How::Unexpressed {
                    fallback: Decision::Ask,
                    why: format!("{managed_only}; in manual mode Copilot asks before every shell command"),
                }
            }
            (Kind::Read, d) => {
                let relative = !r.pattern.starts_with('/') && !r.pattern.starts_with('~');
                if d == Decision::Deny && relative {
                    How::Unexpressed {
                        fallback: Decision::Allow,
                        why:
                            "Copilot approves reads inside the working directory by itself and has no user-level read \
                             rule: NOT enforced there"
                                .into(),
                    }
                } else {
                    How::Unexpressed {
                        fallback: Decision::Ask,
                        why:
                            "Copilot has no user-level read rule; it asks before reading outside the working directory"
                                .into(),
                    }
                }
            }
            (Kind::Write, d) => {
                if let Some(f) = copilot_write_flag(&r.pattern) {
                    flag(d, f);
                }
                How::Unexpressed {
                    fallback: Decision::Ask,
                    why: format!("{managed_only}; in manual mode Copilot asks before every write"),
                }
            }
            (Kind::Mcp, d) => {
                flag(
                    d,
                    match crate::policy::model::mcp_parts(&r.pattern) {
                        (s, Some(t)) => format!("{s}({t})"),
                        (s, None) => s.to_string(),
                    },
                );
                How::Unexpressed {
                    fallback: Decision::Ask,
                    why: format!("{managed_only}; in manual mode Copilot asks before MCP tool calls"),
                }
            }
        };
        rules.push((r.clone(), how));
    }
    let file = paths.in_home(SETTINGS);
    let mut artifacts = vec![];
    if !denied.is_empty() {
        artifacts.push(Artifact::members(
            "policy",
            file.clone(),
            crate::apply::DocFormat::Json,
            &["deniedUrls"],
            denied,
        ));
    }
    if !allowed.is_empty() {
        artifacts.push(Artifact::members("policy", file, crate::apply::DocFormat::Json, &["allowedUrls"], allowed));
    }
    let posture = match p.posture {
        Posture::Ask => {
            How::Default("defaultPermissionMode \"manual\": Copilot asks before commands and writes".into())
        }
        Posture::Deny => How::Unexpressed {
            fallback: Decision::Ask,
            why: "Copilot has no deny-by-default mode for users; manual mode asks (the safer side it offers)".into(),
        },
    };
    let defaults = vec![
        (Kind::Command, Decision::Ask, "manual mode: Copilot asks before shell commands".into()),
        (
            Kind::Read,
            Decision::Allow,
            "Copilot reads inside the working directory without asking (outside it, it asks)".into(),
        ),
        (Kind::Write, Decision::Ask, "manual mode: Copilot asks before writes".into()),
        (Kind::Host, Decision::Ask, "Copilot asks for URLs that allowedUrls does not list".into()),
        (Kind::Mcp, Decision::Ask, "manual mode: Copilot asks before MCP tool calls".into()),
    ];
    // A deny flag names a whole command ("git push"); drop it where that would also refuse a
    // command the policy allows or asks about, and say each flag once.
    let kept: Vec<String> = p
        .rules
        .iter()
        .filter(|r| r.kind == Kind::Command && r.decision != Decision::Deny)
        .map(|r| copilot_command_id(&r.pattern, Decision::Deny))
        .collect();
    deny_flags.retain(|f| !kept.iter().any(|k| f == &format!("shell({k})")));
    deny_flags.dedup();
    allow_flags.dedup();
    let mut notes = vec![];
    if !deny_flags.is_empty() || !allow_flags.is_empty() {
        let q = |f: &String| format!("'{f}'");
        let mut line = String::from("alias copilot='command copilot");
        for f in &deny_flags {
            line.push_str(&format!(" --deny-tool={}", q(f).replace('\'', "\"")));
        }
        for f in &allow_flags {
            line.push_str(&format!(" --allow-tool={}", q(f).replace('\'', "\"")));
        }
        line.push('\'');
        notes.push(format!(
            "Copilot takes tool rules only as flags; to carry them, add this alias to your shell profile (deny flags \
             name whole commands, so they are broader than the rules): {line}"
        ));
    }
    (
        Translation { client: super::Client::Copilot, rules, defaults, posture, notes, artifacts },
        deny_flags,
        allow_flags,
    )
}

/// Copilot identifies a shell command by its name, plus the first subcommand for tools such as
/// git and gh ("git push"): a deny names that identifier (broader than the prefix, so safe), an
/// allow keeps the whole prefix (narrower, so at worst Copilot still asks).
fn copilot_command_id(prefix: &str, d: Decision) -> String {
    let words: Vec<&str> = prefix.split(' ').collect();
    match d {
        Decision::Deny => match words.as_slice() {
            [cmd, sub, ..] if !sub.starts_with('-') && matches!(*cmd, "git" | "gh") => format!("{cmd} {sub}"),
            [cmd, ..] => cmd.to_string(),
            [] => String::new(),
        },
        _ => prefix.to_string(),
    }
}

/// `write(path)` matches trailing path components: only globs that are a literal path (after a
/// leading `**/`) translate.
fn copilot_write_flag(glob: &str) -> Option<String> {
    let g = glob.strip_prefix("**/").unwrap_or(glob);
    (!g.contains(['*', '?', '~'])).then(|| format!("write({g})"))
}

pub fn policy_artifacts(ctx: &Ctx, p: &Policy) -> Vec<Artifact> {
    policy(ctx.paths, p).artifacts
}
