//! OpenCode 1.18 (`opencode-ai`). Its global config directory is `$XDG_CONFIG_HOME/opencode`
//! (`~/.config/opencode`): it reads `AGENTS.md` there as the global instructions (before
//! `~/.claude/CLAUDE.md`, which it only reads when the first is missing), commands from
//! `commands/NAME.md` (frontmatter `description`, `$ARGUMENTS` in the body), and merges
//! `config.json`, `opencode.json` and `opencode.jsonc` in that order. OpenCode creates
//! `opencode.json` itself on first run and rewrites it (`opencode mcp add`), so it only ever
//! gets merged keys. `opencode debug config` prints what it loaded (docs/clients.md).

use serde_json::{Map, Value, json};

use super::{Client, Ctx};
use crate::apply::{Artifact, DocFormat};
use crate::mcp::registry::{Effect, Entry, Server, Transport, cwd_wrapper, env_refs};
use crate::paths::Paths;

/// `$XDG_CONFIG_HOME/opencode`, else `~/.config/opencode` (OpenCode's `xdg-basedir`).
pub fn config_dir(paths: &Paths) -> std::path::PathBuf {
    match std::env::var_os("XDG_CONFIG_HOME") {
        Some(v) if std::path::Path::new(&v).is_absolute() => std::path::PathBuf::from(v).join("opencode"),
        _ => paths.in_home(".config/opencode"),
    }
}

/// The file aiorch merges into: the user's `opencode.jsonc` when that is the one they keep,
/// else `opencode.json` (the one OpenCode writes).
pub fn config_file(paths: &Paths) -> std::path::PathBuf {
    let dir = config_dir(paths);
    let (json, jsonc) = (dir.join("opencode.json"), dir.join("opencode.jsonc"));
    if jsonc.exists() && !json.exists() { jsonc } else { json }
}

pub fn artifacts(ctx: &Ctx) -> anyhow::Result<Vec<Artifact>> {
    let dir = config_dir(ctx.paths);
    let mut out = vec![Artifact::link("opencode", dir.join("AGENTS.md"), ctx.tree.instructions_target(ctx.paths))];
    for cmd in ctx.tree.commands()? {
        out.push(Artifact::file("opencode", dir.join("commands").join(format!("{}.md", cmd.name)), cmd.to_opencode()));
    }
    Ok(out)
}

/// `${VAR}` → OpenCode's `{env:VAR}` (substituted across the whole config file when it is
/// read). A default (`${VAR:-d}`) has no OpenCode spelling: the variable alone is used.
fn env_syntax(e: &mut Entry, s: &Server, setting: &str, value: &str) -> String {
    let mut out = String::new();
    let mut at = 0;
    for r in env_refs(value) {
        out.push_str(&value[at..r.span.start]);
        out.push_str(&format!("{{env:{}}}", r.name));
        if r.default.is_some() {
            e.gap(
                Client::Opencode,
                s,
                setting,
                Effect::Lost,
                format!("OpenCode's `{{env:{}}}` has no default: an unset variable becomes empty", r.name),
            );
        }
        at = r.span.end;
    }
    out.push_str(&value[at..]);
    out
}

/// `mcp.NAME` in OpenCode's config: `type: "local"` with `command` as one array (program and
/// arguments) and `environment`, or `type: "remote"` with `url` and `headers` (OpenCode tries
/// streamable HTTP, then SSE, on the same URL). `timeout` (ms) bounds fetching the tool list.
pub fn mcp_entry(_ctx: &Ctx, s: &Server) -> Entry {
    let c = Client::Opencode;
    let mut e = Entry::default();
    let mut v = Map::new();
    match &s.transport {
        Transport::Stdio { command, args } => {
            v.insert("type".into(), json!("local"));
            let (command, args) = match &s.cwd {
                Some(dir) => {
                    e.gap(
                        c,
                        s,
                        "cwd",
                        Effect::Emulated,
                        "OpenCode's local servers have no `cwd`: the server is started through \
                         `/bin/sh -c 'cd -- DIR && exec …'`",
                    );
                    cwd_wrapper(dir, command, args)
                }
                None => (command.clone(), args.clone()),
            };
            let mut argv = vec![env_syntax(&mut e, s, "command", &command)];
            for a in &args {
                argv.push(env_syntax(&mut e, s, "args", a));
            }
            v.insert("command".into(), json!(argv));
            if !s.env.is_empty() {
                let env: Map<String, Value> = s
                    .env
                    .iter()
                    .map(|(k, val)| (k.clone(), json!(env_syntax(&mut e, s, &format!("env.{k}"), val))))
                    .collect();
                v.insert("environment".into(), Value::Object(env));
            }
        }
        Transport::Http { url } | Transport::Sse { url } => {
            v.insert("type".into(), json!("remote"));
            v.insert("url".into(), json!(env_syntax(&mut e, s, "url", url)));
            if !s.headers.is_empty() {
                let h: Map<String, Value> = s
                    .headers
                    .iter()
                    .map(|(k, val)| (k.clone(), json!(env_syntax(&mut e, s, &format!("headers.{k}"), val))))
                    .collect();
                v.insert("headers".into(), Value::Object(h));
            }
        }
    }
    v.insert("enabled".into(), json!(true));
    if let Some(t) = s.timeout_s.or(s.startup_timeout_s) {
        v.insert("timeout".into(), json!(t * 1000));
    }
    if s.timeout_s.is_some() && s.startup_timeout_s.is_some() {
        e.gap(
            c,
            s,
            "startup_timeout",
            Effect::Lost,
            "OpenCode has one `timeout` per server (for listing its tools); `timeout` is used",
        );
    }
    if s.tools.is_some() {
        e.gap(
            c,
            s,
            "tools",
            Effect::Lost,
            format!(
                "OpenCode has no per-server tool allow-list: every tool is offered (deny tools in the policy: \
                 `deny.mcp = [\"{}/TOOL\"]`)",
                s.name
            ),
        );
    }
    e.value = Some(Value::Object(v));
    e
}

pub fn mcp_artifacts(ctx: &Ctx, servers: &[Server]) -> Vec<Artifact> {
    super::mcp_keys(Client::Opencode, ctx, servers, config_file(ctx.paths), DocFormat::Json, "mcp")
}

// ---- Permission policy (src/policy) ----------------------------------------------------------
//
// OpenCode 1.18 decides tool calls with `permission` in its config: per permission name
// (`bash`, `edit`, `read`, `webfetch`, MCP tools as `SERVER_TOOL`, wildcards allowed in the
// name) an action (`allow` | `ask` | `deny`) or, for bash/edit/read, an object of patterns →
// action in which the LAST matching pattern wins. `*` matches any characters, `/` included;
// edit/read patterns are matched against the path relative to the project's worktree, bash
// patterns against the command; `webfetch` takes an action only (no URL patterns). Unlisted
// tools are allowed, except paths outside the project (`external_directory`, which asks).
// Because order decides, aiorch owns the whole `permission` key (one value, written in the
// order allow → ask → deny) rather than merging members into a user's rules.

use crate::policy::{Decision, How, Kind, Policy, Posture, Translation};

fn action(d: Decision) -> &'static str {
    match d {
        Decision::Allow => "allow",
        Decision::Ask => "ask",
        Decision::Deny => "deny",
    }
}

/// OpenCode's name for an MCP tool: server and tool with every character outside
/// `[A-Za-z0-9_-]` replaced by `_`, joined by `_`.
fn mcp_permission(server: &str, tool: Option<&str>) -> String {
    let clean = |s: &str| {
        s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' }).collect::<String>()
    };
    format!("{}_{}", clean(server), tool.map_or_else(|| "*".to_string(), clean))
}

/// A relative policy glob as OpenCode patterns (its `*` already crosses `/`, so `**` is `*`
/// and a leading `**/` also needs the top-level form); None for a path outside the project.
fn path_patterns(glob: &str) -> Option<Vec<String>> {
    if glob.starts_with('/') || glob.starts_with('~') {
        return None;
    }
    let g = glob.replace("**", "*");
    let mut out = vec![g.clone()];
    if let Some(top) = g.strip_prefix("*/") {
        out.push(top.to_string());
    }
    Some(out)
}

pub fn policy(paths: &Paths, p: &Policy) -> Translation {
    let unlisted = match p.posture {
        Posture::Ask => Decision::Ask,
        Posture::Deny => Decision::Deny,
    };
    let mut rules = vec![];
    // pattern → action, in the order written (last match wins in OpenCode).
    let mut bash: Vec<(String, Decision)> = vec![("*".into(), unlisted)];
    let mut edit: Vec<(String, Decision)> = vec![("*".into(), unlisted)];
    let mut read: Vec<(String, Decision)> = vec![("*".into(), Decision::Allow)];
    let mut tools: Vec<(String, Decision)> = vec![];
    let mut outside: Vec<(String, Decision)> = vec![("*".into(), Decision::Ask)];
    for r in &p.rules {
        let how = match r.kind {
            Kind::Command => {
                // `git status *` also matches `git status` alone; both are written so either
                // reading of the trailing wildcard holds.
                bash.push((r.pattern.clone(), r.decision));
                bash.push((format!("{} *", r.pattern), r.decision));
                How::Native(format!("permission.bash \"{} *\": \"{}\"", r.pattern, action(r.decision)))
            }
            Kind::Read | Kind::Write => match path_patterns(&r.pattern) {
                Some(pats) => {
                    let (key, list) = if r.kind == Kind::Read { ("read", &mut read) } else { ("edit", &mut edit) };
                    let native = format!("permission.{key} {:?}: \"{}\"", pats[0], action(r.decision));
                    list.extend(pats.into_iter().map(|pt| (pt, r.decision)));
                    How::Partial {
                        native,
                        caveat: "matched against the path relative to the project (OpenCode's `*` also crosses `/`)"
                            .into(),
                    }
                }
                None if r.decision == Decision::Deny && (r.pattern.ends_with("/**") || r.pattern.ends_with("/*")) => {
                    // Outside the project every tool asks `external_directory` first, by
                    // directory: a deny there refuses reads and writes alike (the safer side).
                    let pt = r.pattern.replace("**", "*");
                    outside.push((pt.clone(), Decision::Deny));
                    How::Partial {
                        native: format!("permission.external_directory {pt:?}: \"deny\""),
                        caveat: "outside the project OpenCode judges the directory, not the tool: reading and \
                                 writing there are both refused"
                            .into(),
                    }
                }
                None => How::Unexpressed {
                    fallback: Decision::Ask,
                    why: "OpenCode matches read/edit patterns against the path relative to the project; outside it \
                          `external_directory` judges whole directories (`DIR/**`), and asks"
                        .into(),
                },
            },
            Kind::Host => How::Unexpressed {
                fallback: unlisted,
                why: format!(
                    "OpenCode's `webfetch` permission takes no URL patterns: every fetch gets the posture ({})",
                    action(unlisted)
                ),
            },
            Kind::Mcp => {
                let (server, tool) = crate::policy::model::mcp_parts(&r.pattern);
                let name = mcp_permission(server, tool);
                tools.push((name.clone(), r.decision));
                How::Native(format!("permission.{name}: \"{}\"", action(r.decision)))
            }
        };
        rules.push((r.clone(), how));
    }
    let order = |list: &mut Vec<(String, Decision)>| {
        // Keep the first (the catch-all), then allow → ask → deny so the strictest is last.
        let head = list.remove(0);
        list.sort_by_key(|(_, d)| *d);
        list.insert(0, head);
    };
    order(&mut bash);
    order(&mut edit);
    order(&mut read);
    tools.sort_by_key(|(_, d)| *d);
    let obj = |list: &[(String, Decision)]| {
        let mut m = Map::new();
        for (pt, d) in list {
            // A later duplicate overrides; re-inserting moves it to the end (last wins).
            m.shift_remove(pt);
            m.insert(pt.clone(), json!(action(*d)));
        }
        Value::Object(m)
    };
    let mut perm = Map::new();
    perm.insert("bash".into(), obj(&bash));
    perm.insert("edit".into(), obj(&edit));
    if read.len() > 1 {
        perm.insert("read".into(), obj(&read));
    }
    perm.insert("webfetch".into(), json!(action(unlisted)));
    if outside.len() > 1 {
        perm.insert("external_directory".into(), obj(&outside));
    }
    if p.posture == Posture::Deny {
        // Unlisted MCP tools too: a wildcard name before the tool rules.
        perm.insert("*_*".into(), json!("deny"));
    }
    for (name, d) in &tools {
        perm.shift_remove(name);
        perm.insert(name.clone(), json!(action(*d)));
    }
    let posture = How::Native(format!(
        "permission.bash/edit \"*\": \"{0}\", webfetch: \"{0}\"{1}",
        action(unlisted),
        if p.posture == Posture::Deny { ", and \"*_*\" (MCP tools): \"deny\"" } else { "" }
    ));
    let mcp_default = if p.posture == Posture::Deny {
        (Decision::Deny, "the `*_*` rule refuses unlisted MCP tools".to_string())
    } else {
        (Decision::Allow, "OpenCode runs MCP tools without asking unless a rule names them".to_string())
    };
    let why = format!("the `\"*\": \"{}\"` rule aiorch writes", action(unlisted));
    let defaults = vec![
        (Kind::Command, unlisted, why.clone()),
        (Kind::Read, Decision::Allow, "OpenCode reads files in the project without asking".into()),
        (Kind::Write, unlisted, why.clone()),
        (Kind::Host, unlisted, format!("`webfetch: \"{}\"`", action(unlisted))),
        (Kind::Mcp, mcp_default.0, mcp_default.1),
    ];
    let mut notes = vec![];
    if p.posture == Posture::Ask {
        notes.push(
            "OpenCode allows unlisted MCP tools (there is no catch-all for them that leaves its own tools alone); \
             name the tools to ask for or deny in the policy"
                .into(),
        );
    }
    // A `permission` of the user's own is a decision for them (`--adopt permission`, or
    // `policy.clients.opencode = false`), never silently replaced.
    let artifacts = vec![
        Artifact::key("policy", config_file(paths), DocFormat::Json, &["permission"], Value::Object(perm))
            .entry("the permission policy; `policy.clients.opencode = false` leaves OpenCode's alone".into())
            .ordered(),
    ];
    Translation { client: Client::Opencode, rules, defaults, posture, notes, artifacts }
}

pub fn policy_artifacts(ctx: &Ctx, p: &Policy) -> Vec<Artifact> {
    policy(ctx.paths, p).artifacts
}
