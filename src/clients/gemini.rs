//! Gemini CLI 0.61. Context files are the names in `context.fileName` (the v1 key
//! `contextFileName` is ignored now), loaded from `~/.gemini/` and from projects, so listing
//! AGENTS.md there also makes Gemini read project AGENTS.md files. Commands are TOML with
//! `{{args}}`. `settings.json` is the user's (and `gemini mcp add` rewrites it): merged keys only.

use serde_json::{Map, Value, json};

use super::{Client, Ctx};
use crate::apply::{Artifact, DocFormat};
use crate::mcp::registry::{Effect, Entry, Server, Transport};

pub fn artifacts(ctx: &Ctx) -> anyhow::Result<Vec<Artifact>> {
    let dir = ctx.paths.in_home(".gemini");
    let mut out = vec![
        Artifact::link("gemini", dir.join("AGENTS.md"), ctx.tree.instructions_target(ctx.paths)),
        // The user's own context files stay listed: aiorch's two names join them (Gemini takes
        // a string or a list; a string becomes the first of the list).
        Artifact::members(
            "gemini",
            dir.join("settings.json"),
            DocFormat::Json,
            &["context", "fileName"],
            vec![json!("AGENTS.md"), json!("GEMINI.md")],
        )
        .or_single(),
    ];
    for cmd in ctx.tree.commands()? {
        out.push(Artifact::file(
            "gemini",
            dir.join("commands").join(format!("{}.toml", cmd.name)),
            cmd.to_gemini_toml(),
        ));
    }
    Ok(out)
}

/// `~/.gemini/settings.json` `mcpServers.NAME`. Gemini expands `$VAR`, `${VAR}` and
/// `${VAR:-d}` across the whole file, knows `cwd`, `includeTools` and one `timeout` (ms); a
/// stdio server has no `type`, a remote one `type: "http" | "sse"`.
pub fn mcp_entry(ctx: &Ctx, s: &Server) -> Entry {
    let c = Client::Gemini;
    let mut e = Entry::default();
    let mut v = Map::new();
    match &s.transport {
        Transport::Stdio { command, args } => {
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
    if let Some(tools) = &s.tools {
        v.insert("includeTools".into(), json!(tools));
    }
    if s.startup_timeout_s.is_some() {
        e.gap(
            c,
            s,
            "startup_timeout",
            Effect::Lost,
            "Gemini has a single `timeout` (tool calls; `gemini mcp list` waits for it too); set `timeout` instead",
        );
    }
    // Gemini strips inherited variables with secret-looking names before it starts a stdio
    // server, so the env backend's values never reach `aiorch secrets exec`.
    if s.is_stdio() && ctx.config.secrets.backend == crate::config::secrets::Backend::Env {
        for name in s.secrets.iter().filter(|n| secret_looking(n)) {
            e.gap(
                c,
                s,
                format!("secrets.{name}"),
                Effect::Lost,
                format!(
                    "Gemini removes inherited variables named like {name} from a server's environment, so the `env` \
                     secrets backend cannot pass it; use the keychain, file or command backend"
                ),
            );
        }
    }
    e.value = Some(Value::Object(v));
    e
}

/// Gemini 0.61's sanitisation pattern for inherited variable names.
fn secret_looking(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    ["TOKEN", "SECRET", "PASSWORD", "KEY", "AUTH", "CREDENTIAL", "CREDS", "PRIVATE", "CERT"]
        .iter()
        .any(|p| n.contains(p))
}

pub fn mcp_artifacts(ctx: &Ctx, servers: &[Server]) -> Vec<Artifact> {
    super::mcp_keys(
        Client::Gemini,
        ctx,
        servers,
        ctx.paths.in_home(".gemini/settings.json"),
        DocFormat::Json,
        "mcpServers",
    )
}

// ---- Permission policy (src/policy) ----------------------------------------------------------
//
// Gemini CLI 0.61 decides every tool call with its policy engine: TOML files of `[[rule]]`
// (`toolName`, `commandPrefix` / `argsPattern`, `mcpName`, `decision` allow|ask_user|deny,
// `priority` 0–999; highest priority wins) from `~/.gemini/policies/*.toml` at the *user* tier
// (above Gemini's defaults and workspace policies). aiorch owns one whole file there. The
// settings keys `tools.allowed` / `tools.exclude` are not used: they feed the same engine but
// `tools.allowed = ["run_shell_command(git)"]` also adds a deny for every other shell command,
// and `tools.exclude` takes tool names only (packages/core/src/policy/config.ts in the bundle).

use crate::policy::{Decision, How, Kind, Policy, Posture, Translation, eval::expand_home, quoted};

pub const POLICY_FILE: &str = ".gemini/policies/aiorch.toml";

fn gemini_decision(d: Decision) -> &'static str {
    match d {
        Decision::Allow => "allow",
        Decision::Ask => "ask_user",
        Decision::Deny => "deny",
    }
}

/// Deny beats ask beats allow, all above the posture.
fn priority(d: Decision) -> u32 {
    match d {
        Decision::Deny => 900,
        Decision::Ask => 800,
        Decision::Allow => 700,
    }
}

pub fn policy(paths: &crate::paths::Paths, p: &Policy) -> Translation {
    let mut rules = vec![];
    let mut out = String::from(
        "# Managed by aiorch: the permission policy (agentsmd/permissions/policy.toml + [policy]).\n\
         # Edit the policy, not this file; `aiorch policy show --client gemini` explains every rule.\n",
    );
    for d in [Decision::Deny, Decision::Ask, Decision::Allow] {
        let cmds: Vec<&str> = p.with(d, Kind::Command).map(|r| r.pattern.as_str()).collect();
        if !cmds.is_empty() {
            let list: Vec<String> = cmds.iter().map(|c| quoted(c)).collect();
            out.push_str(&format!(
                "\n[[rule]]\ntoolName = \"run_shell_command\"\ncommandPrefix = [{}]\ndecision = \"{}\"\n\
                 priority = {}\n",
                list.join(", "),
                gemini_decision(d),
                priority(d)
            ));
            if d == Decision::Deny {
                out.push_str("denyMessage = \"refused by the aiorch permission policy\"\n");
            }
        }
    }
    for r in &p.rules {
        let d = gemini_decision(r.decision);
        let pr = priority(r.decision);
        let how = match r.kind {
            Kind::Command => How::Native(format!("run_shell_command commandPrefix {}", quoted(&r.pattern))),
            Kind::Read | Kind::Write => {
                let (re, broadened) = path_args_pattern(&r.pattern, &paths.home);
                let tools = if r.kind == Kind::Read { "\"read_file\"" } else { "[\"write_file\", \"replace\"]" };
                if broadened && r.decision == Decision::Allow {
                    // The model may pass absolute paths, so a relative glob can only be matched
                    // anywhere — broader than the rule. Fine for deny/ask, not for allow.
                    How::Unexpressed {
                        fallback: Decision::Ask,
                        why:
                            "Gemini's file tools take absolute paths, so a relative glob could only be matched in any \
                             directory — too broad to allow; Gemini asks"
                                .into(),
                    }
                } else {
                    out.push_str(&format!(
                        "\n[[rule]]\ntoolName = {tools}\nargsPattern = {}\ndecision = \"{d}\"\npriority = {pr}\n",
                        quoted(&re)
                    ));
                    let native = format!("{} argsPattern {}", tools.replace('"', ""), quoted(&re));
                    let caveat = if r.kind == Kind::Read {
                        "read_file only: read_many_files and grep_search take globs that cannot be matched"
                    } else {
                        "write_file and replace"
                    };
                    How::Partial {
                        native,
                        caveat: if broadened { format!("{caveat}; matched in any directory") } else { caveat.into() },
                    }
                }
            }
            Kind::Host => {
                if r.decision == Decision::Allow {
                    How::Unexpressed {
                        fallback: Decision::Ask,
                        why:
                            "web_fetch takes URLs inside a free-text prompt; allowing on a host match could approve a \
                             prompt that also names other hosts"
                                .into(),
                    }
                } else {
                    let re = host_args_pattern(&r.pattern);
                    out.push_str(&format!(
                        "\n[[rule]]\ntoolName = \"web_fetch\"\nargsPattern = {}\ndecision = \"{d}\"\npriority = {pr}\n",
                        quoted(&re)
                    ));
                    How::Partial {
                        native: format!("web_fetch argsPattern {}", quoted(&re)),
                        caveat: "web_fetch only; shell commands such as curl are judged by the command rules".into(),
                    }
                }
            }
            Kind::Mcp => {
                let (server, tool) = crate::policy::model::mcp_parts(&r.pattern);
                let tool = tool.unwrap_or("*");
                out.push_str(&format!(
                    "\n[[rule]]\nmcpName = {}\ntoolName = {}\ndecision = \"{d}\"\npriority = {pr}\n",
                    quoted(server),
                    quoted(tool)
                ));
                How::Native(format!("mcpName {} toolName {}", quoted(server), quoted(tool)))
            }
        };
        rules.push((r.clone(), how));
    }
    let (posture, unlisted) = match p.posture {
        Posture::Ask => (
            How::Default("Gemini asks before tools that need approval (in headless -p runs it refuses them)".into()),
            Decision::Ask,
        ),
        Posture::Deny => {
            out.push_str(
                "\n# posture = \"deny\": refuse what no rule above allows.\n[[rule]]\n\
                 toolName = [\"run_shell_command\", \"write_file\", \"replace\", \"web_fetch\"]\ndecision = \"deny\"\n\
                 priority = 100\n\n[[rule]]\nmcpName = \"*\"\ntoolName = \"*\"\ndecision = \"deny\"\npriority = 100\n",
            );
            (
                How::Native(
                    "deny rules at priority 100 for run_shell_command, write_file, replace, web_fetch and every MCP \
                     tool"
                        .into(),
                ),
                Decision::Deny,
            )
        }
    };
    let why =
        if unlisted == Decision::Deny { "the posture rule refuses it" } else { "Gemini asks (headless -p: refuses)" };
    let defaults = vec![
        (Kind::Command, unlisted, why.to_string()),
        (Kind::Read, Decision::Allow, "Gemini's read-only tools run without asking".into()),
        (Kind::Write, unlisted, why.to_string()),
        (Kind::Host, unlisted, why.to_string()),
        (Kind::Mcp, unlisted, why.to_string()),
    ];
    let artifacts = if p.rules.is_empty() && p.posture == Posture::Ask {
        vec![]
    } else {
        vec![Artifact::file("policy", paths.in_home(POLICY_FILE), out)]
    };
    Translation { client: super::Client::Gemini, rules, defaults, posture, notes: vec![], artifacts }
}

/// A regex over Gemini's stringified tool arguments (`"file_path":"…"`) for a path glob, and
/// whether it had to be broadened (relative globs match under any directory). Written without a
/// quantified group: Gemini rejects those as ReDoS risks (`isSafeRegExp`).
fn path_args_pattern(glob: &str, home: &std::path::Path) -> (String, bool) {
    let g = expand_home(glob, home);
    let absolute = g.starts_with('/');
    // A relative glob is matched under any directory already: a leading `**/` adds nothing.
    let g = if absolute { g.as_str() } else { g.trim_start_matches("**/") };
    let segs: Vec<&str> = g.split('/').filter(|s| !s.is_empty()).collect();
    let mut body = String::new();
    for (i, seg) in segs.iter().enumerate() {
        let last = i + 1 == segs.len();
        if *seg == "**" {
            body.push_str(if last { "[^\"]*" } else { "(?:[^\"]*/|)" });
            continue;
        }
        for c in seg.chars() {
            match c {
                '*' => body.push_str("[^\"/]*"),
                '?' => body.push_str("[^\"/]"),
                c if "\\^$.|+()[]{}".contains(c) => {
                    body.push('\\');
                    body.push(c);
                }
                c => body.push(c),
            }
        }
        if !last {
            body.push('/');
        }
    }
    if absolute {
        (format!("\"file_path\":\"/{body}\""), false)
    } else {
        (format!("\"file_path\":\"(?:[^\"]*/|){body}\""), true)
    }
}

/// A regex finding a URL with this host in web_fetch's prompt (deny/ask only: it errs broad).
fn host_args_pattern(host: &str) -> String {
    let esc = |s: &str| s.replace('.', "\\.");
    match host.strip_prefix("*.") {
        Some(domain) => format!("//[^/\" ]*\\.{}[^a-z0-9-]", esc(domain)),
        None => format!("//(?:[^/\" ]*@|){}[^a-z0-9-]", esc(host)),
    }
}

pub fn policy_artifacts(ctx: &Ctx, p: &Policy) -> Vec<Artifact> {
    policy(ctx.paths, p).artifacts
}
