//! Doctor checks for MCP servers and Claude plugins: every server handshakes (in parallel, with
//! the environment a client would give it), every setting a client cannot express is named,
//! and every declared plugin is installed or about to be.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use super::probe::{self, Outcome};
use super::registry::{Effect, Entry, Server, Transport};
use super::{plugins, remote_secrets_note};
use crate::check::Check;
use crate::config::Client;
use crate::config::plugins::Source;
use crate::paths::Paths;

const G: &str = "mcp servers";
const P: &str = "claude plugins";

/// `no_connect`: start or contact no server (config-level checks only).
/// `translated`: each managed client's translation of each server it gets; `plugins`: the
/// declared Claude plugins when Claude is managed.
pub fn checks(
    translated: &[(Client, Server, Entry)],
    plugins: Option<&plugins::Declared>,
    paths: &Paths,
    no_connect: bool,
) -> Vec<Check> {
    let mut out = vec![];
    // Each server once, with the clients that get it.
    let mut servers: BTreeMap<String, (Server, Vec<Client>)> = BTreeMap::new();
    for (client, s, _) in translated {
        servers.entry(s.name.clone()).or_insert_with(|| (s.clone(), vec![])).1.push(*client);
    }
    let env: HashMap<String, String> = std::env::vars().collect();
    let to_probe: Vec<Server> = if no_connect { vec![] } else { servers.values().map(|(s, _)| s.clone()).collect() };
    let probes = probe::probe_all(&to_probe, &env);
    for p in probes {
        let (s, clients) = &servers[&p.server];
        let who = clients.iter().map(|c| c.name()).collect::<Vec<_>>().join(", ");
        let name = format!("{} ({}; {who})", p.server, p.transport);
        out.push(match p.outcome {
            Outcome::Connected { server_info, tools, schema_tokens } => Check::ok(
                G,
                name,
                format!(
                    "connected to {}: {tools} tool{}, ~{schema_tokens} tokens of tool schemas",
                    if server_info.is_empty() { "the server".into() } else { server_info },
                    if tools == 1 { "" } else { "s" }
                ),
            ),
            Outcome::Failed { reason } => Check::fail(G, name, reason, fix_for(s)),
            Outcome::Skipped { reason } => {
                Check::warn(G, name, reason, "check it in a client: `claude mcp list`, `gemini mcp list`")
            }
        });
    }
    if no_connect && !servers.is_empty() {
        out.push(Check::warn(
            G,
            "handshakes",
            format!("skipped for {} server(s) (--no-connect)", servers.len()),
            "run `aiorch doctor` without --no-connect",
        ));
    }
    for (_, (s, _)) in servers.iter() {
        if let Some(note) = remote_secrets_note(s) {
            out.push(Check::ok(G, format!("{} secrets", s.name), note));
        }
    }
    for (_, _, entry) in translated {
        for g in &entry.gaps {
            let name = format!("{} in {}: {}", g.server, g.client.name(), g.setting);
            out.push(match g.effect {
                Effect::Emulated => Check::ok(G, name, &g.detail),
                Effect::Lost => Check::warn(
                    G,
                    name,
                    &g.detail,
                    "change the server's config, or limit it to clients that support the setting (`clients = [...]`)",
                ),
            });
        }
    }
    if let Some(d) = plugins {
        out.extend(plugin_checks(d, paths));
    }
    out
}

fn fix_for(s: &Server) -> String {
    match &s.transport {
        Transport::Stdio { command, args } => {
            let line = std::iter::once(command.as_str())
                .chain(args.iter().map(String::as_str))
                .map(shell_word)
                .collect::<Vec<_>>()
                .join(" ");
            format!("run it by hand to see why: {line}")
        }
        Transport::Http { url } | Transport::Sse { url } => format!("is the server running at {url}?"),
    }
}

fn shell_word(w: &str) -> String {
    if !w.is_empty() && w.chars().all(|c| c.is_ascii_alphanumeric() || "/._-=,:@+".contains(c)) {
        w.to_string()
    } else {
        format!("'{}'", w.replace('\'', r"'\''"))
    }
}

fn plugin_checks(d: &plugins::Declared, paths: &Paths) -> Vec<Check> {
    let mut out = vec![];
    for (name, m) in &d.marketplaces {
        if let Source::Directory { path } = &m.source {
            out.push(match directory_marketplace_name(Path::new(path)) {
                Ok(n) if &n == name => Check::ok(P, format!("marketplace {name}"), path.as_str()),
                Ok(n) => Check::fail(
                    P,
                    format!("marketplace {name}"),
                    format!("{path} is the marketplace `{n}`"),
                    format!("name it `{n}` in [plugins.marketplaces]"),
                ),
                Err(e) => Check::fail(
                    P,
                    format!("marketplace {name}"),
                    e,
                    "point `path` at a directory holding .claude-plugin/marketplace.json",
                ),
            });
        }
    }
    let installed = installed_plugins(&paths.in_home(".claude/plugins/installed_plugins.json"));
    let declared_mkts: BTreeSet<&str> = d.marketplaces.keys().map(String::as_str).collect();
    for id in &d.enabled {
        let name = format!("plugin {id}");
        out.push(if !declared_mkts.contains(id.marketplace.as_str()) {
            Check::warn(
                P,
                name,
                format!("marketplace `{}` is not in [plugins.marketplaces]", id.marketplace),
                "declare the marketplace, or Claude will skip the plugin",
            )
        } else if installed.contains(&id.to_string()) {
            Check::ok(P, name, "installed")
        } else {
            Check::warn(
                P,
                name,
                "declared, not installed yet (Claude installs it during its next two sessions)",
                "run `aiorch plugins sync` to install it now",
            )
        });
    }
    out
}

/// The `name` of the marketplace in `dir`.
pub fn directory_marketplace_name(dir: &Path) -> Result<String, String> {
    let f = dir.join(".claude-plugin/marketplace.json");
    let text = fs_err::read_to_string(&f).map_err(|e| format!("{}: {e}", f.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", f.display()))?;
    v.get("name").and_then(|n| n.as_str()).map(str::to_string).ok_or_else(|| format!("{}: no `name`", f.display()))
}

/// Plugin ids Claude has installed (`~/.claude/plugins/installed_plugins.json`, read only).
pub fn installed_plugins(file: &Path) -> BTreeSet<String> {
    fs_err::read_to_string(file)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v.get("plugins").and_then(|p| p.as_object()).map(|o| o.keys().cloned().collect()))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixes_name_what_to_run() {
        let remote = |url: &str| Server {
            name: "x".into(),
            builtin: false,
            transport: Transport::Http { url: url.into() },
            env: Default::default(),
            cwd: None,
            headers: Default::default(),
            secrets: vec![],
            timeout_s: None,
            startup_timeout_s: None,
            tools: None,
            clients: None,
        };
        assert_eq!(
            fix_for(&remote("http://127.0.0.1:8080/mcp")),
            "is the server running at http://127.0.0.1:8080/mcp?"
        );
        assert_eq!(shell_word("/a b/it's"), r"'/a b/it'\''s'");
    }
}
