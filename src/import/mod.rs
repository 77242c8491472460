//! `aiorch import`: bring a home's existing setup under aiorch. Reads every client's user-level
//! MCP servers, instructions, commands, Claude marketplaces, plugins and permission lists
//! (`read`), merges servers defined in several clients by what they run, lifts literal tokens
//! out into secret names, and renders one config (`render`: aiorch.toml or a `programs.aiorch`
//! Nix attribute set) plus an agentsmd tree, chosen so that the next `aiorch apply` leaves
//! every client listing what it listed before.

pub mod permission;
pub mod read;
pub mod render;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde::Serialize;
use serde_json::Value;
use zeroize::Zeroizing;

use crate::config::mcp::McpServer;
use crate::config::plugins::Marketplace;
use crate::config::policy::{Posture, RuleSet};
use crate::config::{Client, Config};
use crate::paths::Paths;
use read::Found;

/// One server of the imported config, with where it came from.
#[derive(Debug, Clone, Serialize)]
pub struct Imported {
    pub name: String,
    pub server: McpServer,
    /// `claude (~/.claude.json)`, one per client that defines it.
    pub from: Vec<String>,
    pub notes: Vec<String>,
}

/// A server under a name already taken by a different server: left where it is, for the user
/// to choose.
#[derive(Debug, Clone, Serialize)]
pub struct Conflict {
    pub name: String,
    pub server: McpServer,
    pub from: Vec<String>,
    /// Why it was not imported.
    pub why: String,
}

/// A literal token lifted out of a server's `env` or `headers`. The value is never serialised.
#[derive(Clone, Serialize)]
pub struct Secret {
    pub name: String,
    /// `env.GITHUB_TOKEN of github (claude)`.
    pub found_in: String,
    #[serde(skip)]
    pub value: Zeroizing<String>,
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret({}, {})", self.name, self.found_in)
    }
}

/// An instruction or command file for the agentsmd tree: path inside the tree, bytes, origin.
#[derive(Debug, Clone, Serialize)]
pub struct TreeFile {
    pub rel: String,
    #[serde(skip)]
    pub bytes: Vec<u8>,
    pub from: String,
}

/// Everything an import found, ready to render.
#[derive(Debug, Default, Serialize)]
pub struct Import {
    pub sources: Vec<Client>,
    pub servers: Vec<Imported>,
    pub conflicts: Vec<Conflict>,
    pub secrets: Vec<Secret>,
    pub tree: Vec<TreeFile>,
    pub marketplaces: BTreeMap<String, (Marketplace, String)>,
    pub enabled_plugins: Vec<String>,
    /// The permission lists found, as policy rules: (allow, ask, deny).
    pub policy: Option<[RuleSet; 3]>,
    /// `deny` when the lists imported refuse what they do not list.
    pub policy_posture: Option<Posture>,
    /// The clients whose lists these are: the policy is rendered into them only.
    pub policy_clients: Vec<Client>,
    /// Where the lists came from.
    pub policy_from: Vec<String>,
    /// Settings found and left where they are because aiorch cannot say them the same way:
    /// `warning: not imported: …`.
    pub not_imported: Vec<String>,
    /// What was found and left as it is, and why.
    pub notes: Vec<String>,
    /// aiorch's own server is registered already (an earlier apply): keep it.
    pub serve_self: bool,
}

enum Wrapped {
    No,
    /// `aiorch [--config F] secrets exec --only A,B -- CMD ARGS`: now `CMD ARGS`, secrets A, B.
    SecretsExec,
    /// `aiorch [--config F] mcp serve`.
    OwnServer,
}

/// Undo what `apply` does to a server's command line (`registry::resolve`).
fn unwrap_aiorch(s: &mut McpServer) -> Wrapped {
    let Some(cmd) = &s.command else { return Wrapped::No };
    if std::path::Path::new(cmd).file_name().is_none_or(|n| n != "aiorch") {
        return Wrapped::No;
    }
    let rest: Vec<String> = match s.args.first().map(String::as_str) {
        Some("--config") => s.args.iter().skip(2).cloned().collect(),
        _ => s.args.clone(),
    };
    if rest == ["mcp", "serve"] {
        return Wrapped::OwnServer;
    }
    match rest.as_slice() {
        [a, b, c, names, dash, cmd, args @ ..] if a == "secrets" && b == "exec" && c == "--only" && dash == "--" => {
            s.secrets = names.split(',').filter(|n| !n.is_empty()).map(str::to_string).collect();
            s.command = Some(cmd.clone());
            s.args = args.to_vec();
            Wrapped::SecretsExec
        }
        _ => Wrapped::No,
    }
}

/// Read `sources` and build the import.
pub fn collect(paths: &Paths, sources: &[Client]) -> anyhow::Result<Import> {
    let mut imp = Import { sources: sources.to_vec(), ..Default::default() };
    let mut found: Vec<Found> = vec![];
    for s in sources {
        found.extend(read::servers(*s, paths)?);
    }
    // What an earlier `aiorch apply` registered reads back as the config entry it came from.
    found.retain_mut(|f| match unwrap_aiorch(&mut f.server) {
        Wrapped::OwnServer => {
            imp.serve_self = true;
            false
        }
        Wrapped::No | Wrapped::SecretsExec => true,
    });
    merge(&mut imp, found);
    lift_secrets(&mut imp);
    instructions(&mut imp, paths, sources)?;
    if sources.contains(&Client::Claude) {
        claude_settings(&mut imp, paths)?;
    }
    if sources.contains(&Client::Opencode) {
        opencode_permission(&mut imp, paths)?;
    }
    for (s, dir) in [
        (Client::Codex, crate::clients::codex::home(paths).join("skills")),
        (Client::Copilot, paths.in_home(".copilot/skills")),
        (Client::Claude, paths.in_home(".claude/skills")),
    ] {
        let what = paths.display(&dir);
        if sources.contains(&s) && dir.is_dir() {
            imp.notes.push(format!(
                "{what}: skills stay where they are (aiorch adds its commands' skills next to them and leaves \
                 yours alone)"
            ));
        }
    }
    if sources.contains(&Client::Gemini) && paths.in_home(".gemini/GEMINI.md").is_file() {
        imp.notes.push(
            "~/.gemini/GEMINI.md stays where it is: apply keeps it in Gemini's context.fileName next to AGENTS.md"
                .into(),
        );
    }
    Ok(imp)
}

/// What a server runs: command, args, cwd and the names of its environment (values differ
/// between machines and tokens), or its URL.
fn fingerprint(s: &McpServer) -> String {
    match (&s.command, &s.url) {
        (Some(c), _) => {
            // A secret reaches the server as a variable of its name: the same as an `env` key.
            let mut keys: Vec<&String> = s.env.keys().chain(&s.secrets).collect();
            keys.sort();
            keys.dedup();
            serde_json::json!(["stdio", c, s.args, keys, s.cwd]).to_string()
        }
        (None, Some(u)) => serde_json::json!(["remote", u]).to_string(),
        (None, None) => String::new(),
    }
}

fn valid_name(n: &str) -> bool {
    !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Group servers by what they run; the first name (in source order) wins; a name taken by a
/// different server is a conflict.
fn merge(imp: &mut Import, found: Vec<Found>) {
    let mut groups: Vec<(String, Vec<Found>)> = vec![];
    for f in found {
        if f.server.command.is_none() && f.server.url.is_none() {
            imp.notes.push(format!("{} in {} ({}): {}", f.name, f.source.name(), f.file, f.notes.join("; ")));
            continue;
        }
        let fp = fingerprint(&f.server);
        match groups.iter_mut().find(|(k, _)| *k == fp) {
            Some((_, g)) => g.push(f),
            None => groups.push((fp, vec![f])),
        }
    }
    let mut taken: BTreeSet<String> = BTreeSet::new();
    for (_, g) in groups {
        let first = &g[0];
        let from: Vec<String> = g.iter().map(|f| format!("{} ({})", f.source.name(), f.file)).collect();
        let mut notes: Vec<String> =
            g.iter().flat_map(|f| f.notes.iter().map(|n| format!("{}: {n}", f.source.name()))).collect();
        let clients: BTreeSet<Client> = g.iter().map(|f| f.source).collect();
        let mut server = first.server.clone();
        let name = first.name.clone();
        if !valid_name(&name) {
            imp.conflicts.push(Conflict {
                name: name.clone(),
                server,
                from,
                why: "aiorch server names may only hold letters, digits, `-` and `_`: rename it to import it".into(),
            });
            continue;
        }
        if taken.contains(&name) {
            imp.conflicts.push(Conflict {
                name,
                server,
                from,
                why: "the name is taken by a different server above (other command, args, environment or URL): it \
                      stays in its client as it is; choose one"
                    .into(),
            });
            continue;
        }
        for f in &g[1..] {
            if f.name != name {
                notes.push(format!(
                    "{} calls it `{}`: after apply it lists both until you remove `{}` there",
                    f.source.name(),
                    f.name,
                    f.name
                ));
            }
            if f.server.env != first.server.env {
                notes.push(format!(
                    "{}'s environment values differ: {}'s are used",
                    f.source.name(),
                    first.source.name()
                ));
            }
        }
        // Only the clients that had it get it, so apply changes no client's list.
        server.clients = (clients.len() < Client::ALL.len()).then(|| clients.into_iter().collect());
        taken.insert(name.clone());
        imp.servers.push(Imported { name, server, from, notes });
    }
}

/// Variable and header names that hold credentials.
fn secret_name_like(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    [
        "TOKEN",
        "SECRET",
        "PASSWORD",
        "PASSWD",
        "API_KEY",
        "APIKEY",
        "API-KEY",
        "ACCESS_KEY",
        "PRIVATE",
        "CREDENTIAL",
        "AUTH",
        "_PAT",
    ]
    .iter()
    .any(|p| n.contains(p))
        || n.ends_with("_KEY")
        || n == "KEY"
}

/// Values that are tokens whatever they are called.
fn token_like(v: &str) -> bool {
    ["ghp_", "gho_", "ghu_", "ghs_", "github_pat_", "glpat-", "xoxb-", "xoxp-", "sk-", "sk_live_", "AKIA"]
        .iter()
        .any(|p| v.starts_with(p) && v.len() >= 16)
}

fn is_literal(v: &str) -> bool {
    !v.is_empty() && crate::mcp::registry::env_refs(v).is_empty()
}

fn env_name(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect()
}

/// Replace every literal token in `env` and `headers` by a secret name the server references.
fn lift_secrets(imp: &mut Import) {
    let mut values: BTreeMap<String, Zeroizing<String>> = BTreeMap::new();
    let mut out: Vec<Secret> = vec![];
    for srv in &mut imp.servers {
        let s = &mut srv.server;
        let origin = srv.from.first().map_or(String::new(), |f| f.split(' ').next().unwrap_or("").to_string());
        let keys: Vec<String> = s.env.keys().cloned().collect();
        for k in keys {
            let v = s.env[&k].clone();
            if !is_literal(&v) || !(secret_name_like(&k) || token_like(&v)) {
                continue;
            }
            // `aiorch secrets exec` puts a secret in the environment under its own name, so a
            // stdio server's secret is named like the variable it reads.
            match values.get(&k) {
                Some(old) if old.as_str() != v => {
                    srv.notes.push(format!(
                        "env.{k} holds a different value than the secret {k} another server uses: it was left out; \
                         a server can only receive one {k} (store the right one with `aiorch secrets set {k}`)"
                    ));
                    s.env.remove(&k);
                    s.secrets.push(k.clone());
                    continue;
                }
                Some(_) => {}
                None => {
                    values.insert(k.clone(), Zeroizing::new(v.clone()));
                    out.push(Secret {
                        name: k.clone(),
                        found_in: format!("env.{k} of {} ({origin})", srv.name),
                        value: Zeroizing::new(v),
                    });
                }
            }
            s.env.remove(&k);
            s.secrets.push(k);
        }
        let headers: Vec<String> = s.headers.keys().cloned().collect();
        for h in headers {
            let v = s.headers[&h].clone();
            let bearer = h.eq_ignore_ascii_case("authorization").then(|| {
                let scheme_len = v.find(' ').map_or(0, |i| i + 1);
                (v[..scheme_len].to_string(), v[scheme_len..].to_string())
            });
            let (prefix, token) = bearer.unwrap_or((String::new(), v.clone()));
            if !is_literal(&token) || !(secret_name_like(&h) || token_like(&token)) {
                continue;
            }
            let base = if h.eq_ignore_ascii_case("authorization") {
                format!("{}_TOKEN", env_name(&srv.name))
            } else {
                format!("{}_{}", env_name(&srv.name), env_name(&h))
            };
            let mut name = base.clone();
            let mut n = 2;
            while values.get(&name).is_some_and(|old| old.as_str() != token) {
                name = format!("{base}_{n}");
                n += 1;
            }
            if !values.contains_key(&name) {
                values.insert(name.clone(), Zeroizing::new(token.clone()));
                out.push(Secret {
                    name: name.clone(),
                    found_in: format!("headers.{h} of {} ({origin})", srv.name),
                    value: Zeroizing::new(token),
                });
            }
            s.headers.insert(h, format!("{prefix}${{{name}}}"));
            if !s.secrets.contains(&name) {
                s.secrets.push(name);
            }
        }
        s.secrets.sort();
        s.secrets.dedup();
    }
    // A conflicting server is only ever shown commented out: its tokens are masked too.
    for c in &mut imp.conflicts {
        for (k, v) in c.server.env.iter_mut() {
            if is_literal(v) && (secret_name_like(k) || token_like(v)) {
                *v = "<secret: not copied>".into();
            }
        }
        for (h, v) in c.server.headers.iter_mut() {
            if is_literal(v) && (secret_name_like(h) || token_like(v) || h.eq_ignore_ascii_case("authorization")) {
                *v = "<secret: not copied>".into();
            }
        }
    }
    imp.secrets = out;
}

/// Instruction files (and what they import) and commands, for the agentsmd tree.
fn instructions(imp: &mut Import, paths: &Paths, sources: &[Client]) -> anyhow::Result<()> {
    let mut texts: Vec<(Client, PathBuf, Vec<u8>)> = vec![];
    for s in sources {
        let Some(file) = read::instructions_file(*s, paths) else { continue };
        // aiorch's own (an earlier apply): the tree it comes from is the user's text already.
        if std::fs::read_link(&file).is_ok_and(|t| t.starts_with(&paths.state_dir)) {
            imp.notes
                .push(format!("{}: linked by an earlier `aiorch apply`, not imported again", paths.display(&file)));
            continue;
        }
        let Ok(bytes) = fs_err::read(&file) else { continue };
        if bytes == crate::clients::claude::CLAUDE_MD.as_bytes() {
            continue;
        }
        if texts.iter().any(|(_, _, b)| *b == bytes) {
            imp.notes
                .push(format!("{}: the same text as an earlier instruction file, taken once", paths.display(&file)));
            continue;
        }
        texts.push((*s, file, bytes));
    }
    if sources.contains(&Client::Aider) {
        // Aider has no instructions file: its conventions are the files `read:` adds to every chat.
        let entries = read::aider_reads(paths)?;
        extra_instructions(imp, &mut texts, paths, Client::Aider, "~/.aider.conf.yml `read:`", "Aider", entries)?;
    }
    if sources.contains(&Client::Opencode) {
        let cfg = format!("{} `instructions`", paths.display(&read::mcp_file(Client::Opencode, paths)));
        let entries = read::opencode_instructions(paths)?;
        extra_instructions(imp, &mut texts, paths, Client::Opencode, &cfg, "OpenCode", entries)?;
    }
    let mut rule = 0;
    for (i, (s, file, bytes)) in texts.iter().enumerate() {
        // The first file becomes AGENTS.md; the others follow it as rules, each text unchanged.
        let rel = if i == 0 {
            "AGENTS.md".to_string()
        } else {
            rule += 10;
            format!("rules/{rule}-{}-{}", s.name(), file.file_name().unwrap_or_default().to_string_lossy())
        };
        imp.tree.push(TreeFile { rel, bytes: bytes.clone(), from: paths.display(file) });
        if *s == Client::Claude {
            let text = String::from_utf8_lossy(bytes);
            let dir = file.parent().expect("a file has a directory");
            for (written, target) in read::claude_imports(&text, dir, &paths.home) {
                // Relative imports resolve the same from the tree; the originals stay too.
                if written.starts_with('/') || written.starts_with("~/") || written.contains("..") {
                    imp.notes.push(format!(
                        "{}: `@{written}` is kept as written (it points outside ~/.claude)",
                        paths.display(file)
                    ));
                    continue;
                }
                if written.starts_with("rules/") || written.starts_with("commands/") || written == "AGENTS.md" {
                    imp.notes.push(format!("{}: `@{written}` stays in ~/.claude only", paths.display(file)));
                    continue;
                }
                imp.tree.push(TreeFile {
                    rel: written.clone(),
                    bytes: fs_err::read(&target)?,
                    from: paths.display(&target),
                });
            }
        }
    }
    if sources.contains(&Client::Claude) {
        for (rel, bytes) in read::claude_commands(paths)? {
            let tree_rel = format!("commands/{rel}");
            if let Err(e) = crate::agentsmd::Command::parse(&tree_rel, &bytes) {
                imp.notes.push(format!("~/.claude/commands/{rel}: not imported ({e})"));
                continue;
            }
            imp.tree.push(TreeFile { rel: tree_rel, bytes, from: format!("~/.claude/commands/{rel}") });
        }
    }
    if sources.contains(&Client::Gemini) {
        for (name, description, prompt) in read::gemini_commands(paths)? {
            let rel = format!("commands/{name}.md");
            if imp.tree.iter().any(|t| t.rel == rel) {
                imp.notes.push(format!(
                    "~/.gemini/commands/{name}.toml: Claude has a command of that name; Claude's is used"
                ));
                continue;
            }
            let mut text = String::new();
            if let Some(d) = description {
                text.push_str(&format!("---\ndescription: {}\n---\n", serde_json::to_string(&d)?));
            }
            text.push_str(&prompt.replace("{{args}}", "$ARGUMENTS"));
            if !text.ends_with('\n') {
                text.push('\n');
            }
            imp.tree.push(TreeFile { rel, bytes: text.into_bytes(), from: format!("~/.gemini/commands/{name}.toml") });
        }
    }
    if sources.contains(&Client::Opencode) {
        opencode_commands(imp, paths)?;
    }
    Ok(())
}

/// Files a client's config adds to every chat (Aider's `read:`, OpenCode's `instructions`): each
/// new text joins the tree as a rule, and the client goes on reading its own entry too.
fn extra_instructions(
    imp: &mut Import,
    texts: &mut Vec<(Client, PathBuf, Vec<u8>)>,
    paths: &Paths,
    source: Client,
    setting: &str,
    client: &str,
    entries: Vec<(String, Result<PathBuf, &'static str>)>,
) -> anyhow::Result<()> {
    for (entry, file) in entries {
        let file = match file {
            Ok(f) if f.starts_with(&paths.state_dir) => continue, // aiorch's own (an earlier apply)
            Ok(f) => f,
            Err(why) => {
                imp.notes.push(format!("{setting} entry `{entry}`: {why}, not imported ({client} goes on reading it)"));
                continue;
            }
        };
        let bytes = fs_err::read(&file)?;
        if texts.iter().any(|(_, _, b)| *b == bytes) {
            continue;
        }
        imp.notes.push(format!(
            "{setting} entry `{entry}`: in the tree as a rule, so every client reads it; {client} also reads it \
             through that entry (remove the entry to read it once)"
        ));
        texts.push((source, file, bytes));
    }
    Ok(())
}

/// OpenCode's commands (`commands/` and `command/` in its config directory). Their format is
/// the tree's (frontmatter `description`, `$ARGUMENTS`); one with OpenCode-only keys (`agent`,
/// `model`, `subtask`) would lose them when apply renders it back, so it stays as it is.
fn opencode_commands(imp: &mut Import, paths: &Paths) -> anyhow::Result<()> {
    let dir = paths.display(&crate::clients::opencode::config_dir(paths));
    for (rel, bytes) in read::opencode_commands(paths)? {
        let from = format!("{dir}/{rel}");
        let name = rel.split_once('/').map_or(rel.as_str(), |(_, n)| n);
        let tree_rel = format!("commands/{name}");
        if String::from_utf8_lossy(&bytes).contains(crate::agentsmd::RENDERED_MARK) {
            imp.notes.push(format!("{from}: written by an earlier `aiorch apply`, not imported again"));
            continue;
        }
        if let Some(t) = imp.tree.iter().find(|t| t.rel == tree_rel) {
            if t.bytes != bytes {
                imp.notes.push(format!(
                    "{from}: {} is a command of that name too; that one is used (apply replaces this file with it, \
                     keeping a backup)",
                    t.from
                ));
            }
            continue;
        }
        // `argument-hint` is the tree's too (OpenCode ignores it); the others are OpenCode's alone.
        let own: Vec<String> =
            frontmatter_keys(&bytes).into_iter().filter(|k| k != "description" && k != "argument-hint").collect();
        if !own.is_empty() {
            imp.not_imported.push(format!(
                "{from}: `{}` in its frontmatter has no agentsmd key (a command there goes to every client); it \
                 stays in OpenCode as it is",
                own.join("`, `")
            ));
            continue;
        }
        if let Err(e) = crate::agentsmd::Command::parse(&tree_rel, &bytes) {
            imp.notes.push(format!("{from}: not imported ({e})"));
            continue;
        }
        imp.tree.push(TreeFile { rel: tree_rel, bytes, from });
    }
    Ok(())
}

/// The top-level keys of a Markdown file's `---` frontmatter.
fn frontmatter_keys(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    let mut lines = text.lines();
    if lines.next().map(str::trim_end) != Some("---") {
        return vec![];
    }
    lines
        .take_while(|l| l.trim_end() != "---")
        .filter(|l| !l.starts_with([' ', '\t', '#', '-']))
        .filter_map(|l| l.split_once(':').map(|(k, _)| k.trim().to_string()))
        .filter(|k| !k.is_empty())
        .collect()
}

/// OpenCode's `permission`: imported when apply's rendering of the rules gives the same
/// decisions (`permission`), else left in OpenCode's file with the reason.
fn opencode_permission(imp: &mut Import, paths: &Paths) -> anyhow::Result<()> {
    let Some((user, files)) = read::opencode_permission(paths)? else { return Ok(()) };
    let written = read::mcp_file(Client::Opencode, paths);
    let file = paths.display(&written);
    if files != [written.clone()] {
        let shown: Vec<String> = files.iter().map(|f| paths.display(f)).collect();
        imp.not_imported.push(format!(
            "OpenCode's `permission` ({}): OpenCode merges it member by member with the one apply writes into \
             {file}, so what it would decide cannot be the policy's; it stays as it is (`policy.clients.opencode = \
             false`)",
            shown.join(", ")
        ));
        return Ok(());
    }
    let names: Vec<&str> = imp.servers.iter().map(|s| s.name.as_str()).collect();
    let sorted = |sets: &[RuleSet; 3]| {
        sets.iter()
            .map(|r| {
                [&r.commands, &r.read, &r.write, &r.hosts, &r.mcp]
                    .map(|l| l.iter().cloned().collect::<BTreeSet<String>>())
                    .to_vec()
            })
            .collect::<Vec<_>>()
    };
    let why = match permission::from_opencode(&user, &names, paths) {
        Err(why) => why,
        Ok(t) => match &imp.policy {
            None => {
                imp.policy = Some(t.sets);
                imp.policy_posture = (t.posture == Posture::Deny).then_some(Posture::Deny);
                imp.policy_clients.push(Client::Opencode);
                imp.policy_from.push(format!("{file} permission"));
                return Ok(());
            }
            Some(theirs) if sorted(theirs) == sorted(&t.sets) && t.posture == Posture::Ask => {
                imp.policy_clients.push(Client::Opencode);
                imp.policy_from.push(format!("{file} permission"));
                return Ok(());
            }
            Some(_) => "one policy serves every client, and [policy] holds Claude's lists, which say something else"
                .to_string(),
        },
    };
    imp.not_imported.push(format!(
        "OpenCode's `permission` ({file}): {why}; it stays as it is (`policy.clients.opencode = false`)"
    ));
    Ok(())
}

/// Claude's `settings.json`: marketplaces, enabled plugins, permission lists; and the
/// marketplaces added with `/plugin marketplace add` (`plugins/known_marketplaces.json`).
fn claude_settings(imp: &mut Import, paths: &Paths) -> anyhow::Result<()> {
    let settings_path = paths.in_home(".claude/settings.json");
    let settings = read::read_doc(&settings_path, paths)?.unwrap_or(Value::Null);
    let known_path = paths.in_home(".claude/plugins/known_marketplaces.json");
    let known = read::read_doc(&known_path, paths)?.unwrap_or(Value::Null);
    for (doc, path) in [(&settings["extraKnownMarketplaces"], &settings_path), (&known, &known_path)] {
        let Some(map) = doc.as_object() else { continue };
        for (name, v) in map {
            if imp.marketplaces.contains_key(name) {
                continue;
            }
            let source = serde_json::json!({ "source": v.get("source").cloned().unwrap_or(Value::Null) });
            match serde_json::from_value::<Marketplace>(source) {
                Ok(m) => {
                    imp.marketplaces.insert(name.clone(), (m, paths.display(path)));
                }
                Err(e) => imp.notes.push(format!("marketplace {name} in {}: not imported ({e})", paths.display(path))),
            }
        }
    }
    if let Some(map) = settings["enabledPlugins"].as_object() {
        imp.enabled_plugins = map.iter().filter(|(_, v)| v.as_bool() == Some(true)).map(|(k, _)| k.clone()).collect();
    }
    let perms = &settings["permissions"];
    let mut sets: [RuleSet; 3] = Default::default();
    let mut any = false;
    for (i, list) in ["allow", "ask", "deny"].iter().enumerate() {
        for rule in perms[*list].as_array().into_iter().flatten().filter_map(Value::as_str) {
            match claude_rule(rule, &mut sets[i]) {
                true => any = true,
                false => imp.notes.push(format!(
                    "~/.claude/settings.json permissions.{list} `{rule}`: no aiorch policy rule says this; it stays in \
                     Claude's settings (aiorch only adds its own members)"
                )),
            }
        }
    }
    if any {
        imp.policy = Some(sets);
        imp.policy_clients.push(Client::Claude);
        imp.policy_from.push("~/.claude/settings.json permissions".into());
    }
    Ok(())
}

/// One Claude permission rule as a policy rule; false when it has no policy equivalent.
fn claude_rule(rule: &str, set: &mut RuleSet) -> bool {
    let inner = |p: &str| rule.strip_prefix(p).and_then(|r| r.strip_suffix(')')).map(str::to_string);
    if let Some(c) = inner("Bash(") {
        match c.strip_suffix(":*") {
            Some(prefix) if !prefix.is_empty() => set.commands.push(prefix.to_string()),
            _ => return false, // an exact command: the policy only has prefixes
        }
    } else if let Some(p) = inner("Read(") {
        set.read.push(p.strip_prefix('/').filter(|p| p.starts_with('/')).unwrap_or(&p).to_string());
    } else if let Some(p) = inner("Edit(").or_else(|| inner("Write(")) {
        set.write.push(p.strip_prefix('/').filter(|p| p.starts_with('/')).unwrap_or(&p).to_string());
    } else if let Some(h) = inner("WebFetch(domain:") {
        set.hosts.push(h);
    } else if let Some(m) = rule.strip_prefix("mcp__") {
        match m.split_once("__") {
            Some((s, t)) => set.mcp.push(format!("{s}/{t}")),
            None => set.mcp.push(m.to_string()),
        }
    } else {
        return false;
    }
    true
}

/// A remote server's secrets are not in the client's entry (only `${NAME}` in a header is):
/// when the current config already names them for that server, they stay named.
pub fn keep_remote_secrets(imp: &mut Import, base: &Config) {
    for s in imp.servers.iter_mut().filter(|s| s.server.url.is_some() && s.server.secrets.is_empty()) {
        let Some(old) = base.mcp.servers.get(&s.name) else { continue };
        let used: Vec<String> = s
            .server
            .headers
            .values()
            .flat_map(|v| crate::mcp::registry::env_refs(v))
            .map(|r| r.name.to_string())
            .collect();
        s.server.secrets = old.secrets.iter().filter(|n| used.contains(n)).cloned().collect();
    }
}

/// The config the import amounts to (what `render` writes, and what is validated before).
pub fn to_config(imp: &Import, agentsmd: Option<&str>, base: &Config) -> Config {
    // The backend and the clients the user already chose stay chosen.
    let mut cfg = Config { secrets: base.secrets.clone(), clients: base.clients.clone(), ..Config::default() };
    // A client left out (`--from`) was not read: on `auto` the next apply would give it the
    // imported instructions and commands, a visible change. aiorch takes over the clients read.
    let c = &mut cfg.clients;
    for (m, s) in [
        (&mut c.claude, Client::Claude),
        (&mut c.gemini, Client::Gemini),
        (&mut c.codex, Client::Codex),
        (&mut c.copilot, Client::Copilot),
        (&mut c.opencode, Client::Opencode),
        (&mut c.aider, Client::Aider),
    ] {
        if !imp.sources.contains(&s) && *m == crate::config::clients::Manage::Auto {
            *m = crate::config::clients::Manage::Never;
        }
    }
    cfg.mcp.serve_self = imp.serve_self;
    cfg.agentsmd.source = agentsmd.map(str::to_string);
    cfg.agentsmd.home_agents_md = false;
    cfg.plugins.defaults = false;
    for s in &imp.servers {
        cfg.mcp.servers.insert(s.name.clone(), s.server.clone());
    }
    cfg.plugins.marketplaces = imp.marketplaces.iter().map(|(k, (m, _))| (k.clone(), m.clone())).collect();
    cfg.plugins.enabled = imp.enabled_plugins.clone();
    match &imp.policy {
        Some([allow, ask, deny]) => {
            cfg.policy.allow = allow.clone();
            cfg.policy.ask = ask.clone();
            cfg.policy.deny = deny.clone();
            cfg.policy.posture = imp.policy_posture;
            let c = &mut cfg.policy.clients;
            for (on, client) in [
                (&mut c.claude, Client::Claude),
                (&mut c.gemini, Client::Gemini),
                (&mut c.codex, Client::Codex),
                (&mut c.copilot, Client::Copilot),
                (&mut c.opencode, Client::Opencode),
                (&mut c.aider, Client::Aider),
            ] {
                *on = imp.policy_clients.contains(&client);
            }
        }
        None => cfg.policy.enable = false,
    }
    cfg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claude_rules_become_policy_rules() {
        let mut set = RuleSet::default();
        for r in ["Bash(git diff:*)", "Read(//etc/hosts)", "Edit(src/**)", "WebFetch(domain:docs.rs)", "mcp__gh__get"] {
            assert!(claude_rule(r, &mut set), "{r}");
        }
        assert!(!claude_rule("Bash(ls)", &mut set));
        assert!(!claude_rule("WebSearch", &mut set));
        assert_eq!(set.commands, ["git diff"]);
        assert_eq!(set.read, ["/etc/hosts"]);
        assert_eq!(set.write, ["src/**"]);
        assert_eq!(set.hosts, ["docs.rs"]);
        assert_eq!(set.mcp, ["gh/get"]);
    }

    fn found(source: Client, name: &str, json: serde_json::Value) -> Found {
        Found {
            source,
            file: "f".into(),
            name: name.into(),
            server: serde_json::from_value(json).unwrap(),
            notes: vec![],
        }
    }

    #[test]
    fn merged_by_what_runs_and_conflicts_by_name() {
        let mut imp = Import { sources: Client::ALL.to_vec(), ..Default::default() };
        let token = "ghp_0123456789abcdef0123";
        let gh = serde_json::json!({"command": "gh-mcp", "args": ["stdio"], "env": {"GITHUB_TOKEN": token}});
        merge(
            &mut imp,
            vec![
                found(Client::Claude, "github", gh.clone()),
                found(Client::Codex, "gh", gh),
                found(Client::Gemini, "github", serde_json::json!({"command": "gh-mcp", "args": ["stdio", "-v"]})),
                found(Client::Opencode, "only-oc", serde_json::json!({"url": "https://x/mcp"})),
            ],
        );
        lift_secrets(&mut imp);
        assert_eq!(imp.servers.len(), 2);
        // OpenCode is a client like the others: its own server goes to it alone.
        assert_eq!(
            (imp.servers[1].name.as_str(), &imp.servers[1].server.clients),
            ("only-oc", &Some(vec![Client::Opencode]))
        );
        let s = &imp.servers[0];
        assert_eq!(s.server.clients, Some(vec![Client::Claude, Client::Codex]));
        assert!(s.notes.iter().any(|n| n.contains("codex calls it `gh`")), "{:?}", s.notes);
        assert_eq!(s.server.secrets, ["GITHUB_TOKEN"]);
        assert!(s.server.env.is_empty());
        let names: Vec<&str> = imp.conflicts.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["github"]);
        assert_eq!(imp.secrets.len(), 1);
        assert!(!format!("{imp:?}").contains("ghp_0123"), "Debug never shows a value");
    }

    #[test]
    fn frontmatter_keys_are_the_top_level_ones() {
        let md = b"---\ndescription: x\nagent: build\ntools:\n  - a\n# a comment: no\n---\nbody: no\n";
        assert_eq!(frontmatter_keys(md), ["description", "agent", "tools"]);
        assert!(frontmatter_keys(b"no front: matter\n").is_empty());
    }

    #[test]
    fn a_client_left_out_is_not_managed() {
        use crate::config::clients::Manage;
        let base = Config::default();
        let imp = Import { sources: vec![Client::Claude, Client::Opencode], ..Default::default() };
        let cfg = to_config(&imp, None, &base);
        assert_eq!((cfg.clients.aider, cfg.clients.gemini), (Manage::Never, Manage::Never));
        assert_eq!((cfg.clients.claude, cfg.clients.opencode), (Manage::Auto, Manage::Auto));
        let imp = Import { sources: Client::ALL.to_vec(), ..Default::default() };
        assert_eq!(to_config(&imp, None, &base).clients, base.clients, "nothing to say: no [clients]");
    }

    #[test]
    fn what_apply_registered_reads_back_as_the_config_entry() {
        let mut s: McpServer = serde_json::from_value(serde_json::json!({"command": "/nix/store/x/bin/aiorch",
            "args": ["--config", "/c.toml", "secrets", "exec", "--only", "A,B", "--", "srv", "stdio"]}))
        .unwrap();
        assert!(matches!(unwrap_aiorch(&mut s), Wrapped::SecretsExec));
        assert_eq!(
            (s.command.as_deref(), s.args.as_slice(), s.secrets.as_slice()),
            (Some("srv"), &["stdio".to_string()][..], &["A".to_string(), "B".into()][..])
        );
        let mut own: McpServer =
            serde_json::from_value(serde_json::json!({"command": "aiorch", "args": ["mcp", "serve"]})).unwrap();
        assert!(matches!(unwrap_aiorch(&mut own), Wrapped::OwnServer));
        let mut other: McpServer =
            serde_json::from_value(serde_json::json!({"command": "npx", "args": ["aiorch"]})).unwrap();
        assert!(matches!(unwrap_aiorch(&mut other), Wrapped::No));
    }

    #[test]
    fn tokens_are_recognised_by_name_or_shape() {
        assert!(
            secret_name_like("GITHUB_TOKEN") && secret_name_like("X-Api-Key") && secret_name_like("OPENAI_API_KEY")
        );
        assert!(!secret_name_like("LOG_LEVEL") && !secret_name_like("GITHUB_TOOLSETS"));
        assert!(token_like("ghp_0123456789abcdef0123"));
        assert!(!token_like("ghp_") && !token_like("hello"));
    }
}
