//! The import written out: aiorch.toml with a comment on every entry saying where it came from,
//! or the same as a `programs.aiorch` attribute set for a home-manager / nix-darwin config.

use serde_json::{Value, json};

use super::Import;
use crate::config::Config;
use crate::config::clients::{Client, Manage};
use crate::config::mcp::McpServer;
use crate::config::policy::RuleSet;

fn toml_value(v: &Value) -> toml_edit::Value {
    match v {
        Value::Bool(b) => (*b).into(),
        Value::Number(n) => n.as_i64().map_or_else(|| n.as_f64().unwrap_or_default().into(), Into::into),
        Value::String(s) => s.as_str().into(),
        Value::Array(a) => toml_edit::Value::Array(a.iter().map(toml_value).collect()),
        Value::Object(m) => {
            let mut t = toml_edit::InlineTable::new();
            for (k, v) in m {
                t.insert(k, toml_value(v));
            }
            toml_edit::Value::InlineTable(t)
        }
        Value::Null => "".into(),
    }
}

fn key(k: &str) -> String {
    toml_edit::Key::new(k).display_repr().to_string()
}

/// `key = value` lines of one table, keys in `order`, absent ones left out.
fn lines(v: &Value, order: &[&str], prefix: &str) -> String {
    let mut out = String::new();
    for k in order {
        if let Some(x) = v.get(*k).filter(|x| !x.is_null()) {
            out.push_str(&format!("{prefix}{} = {}\n", key(k), toml_value(x)));
        }
    }
    out
}

const SERVER_KEYS: &[&str] = &[
    "command",
    "args",
    "env",
    "cwd",
    "url",
    "transport",
    "headers",
    "secrets",
    "timeout",
    "startup_timeout",
    "tools",
    "clients",
];

fn server_lines(s: &McpServer, prefix: &str) -> String {
    lines(&serde_json::to_value(s).expect("server serialises"), SERVER_KEYS, prefix)
}

fn ruleset(r: &RuleSet) -> Option<Value> {
    let v = serde_json::to_value(r).expect("rules serialise");
    let m: serde_json::Map<String, Value> = v
        .as_object()?
        .iter()
        .filter(|(_, x)| x.as_array().is_some_and(|a| !a.is_empty()))
        .map(|(k, x)| (k.clone(), x.clone()))
        .collect();
    (!m.is_empty()).then_some(Value::Object(m))
}

/// `# ` lines, wrapped at 100 columns (a long origin or reason stays readable).
fn comment(text: &str, out: &mut String) {
    for l in wrap(text, 98) {
        out.push_str(&format!("# {l}\n"));
    }
}

fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut out = vec![];
    for line in text.lines() {
        let mut cur = String::new();
        for word in line.split(' ') {
            if !cur.is_empty() && cur.len() + 1 + word.len() > width {
                out.push(std::mem::take(&mut cur));
            }
            if !cur.is_empty() {
                cur.push(' ');
            }
            cur.push_str(word);
        }
        out.push(cur);
    }
    out
}

fn sources(imp: &Import) -> String {
    imp.sources.iter().map(|s| s.name()).collect::<Vec<_>>().join(", ")
}

/// aiorch.toml.
pub fn toml(imp: &Import, cfg: &Config) -> String {
    let mut out = String::new();
    comment(
        &format!(
            "aiorch configuration, written by `aiorch import` from: {}.\nEvery entry names the file it came from; \
             those files are unchanged. `aiorch apply --dry-run` shows\nwhat apply would do, \
             `aiorch config schema` every key.",
            sources(imp)
        ),
        &mut out,
    );
    out.push_str("\n[agentsmd]\n");
    comment("The instruction files and commands found, copied unchanged (the originals stay).", &mut out);
    if let Some(src) = &cfg.agentsmd.source {
        out.push_str(&format!("source = {}\n", toml_value(&json!(src))));
    }
    comment("~/AGENTS.md was not linked before the import: true links it too.", &mut out);
    out.push_str("home_agents_md = false\n");
    if cfg.clients != Config::default().clients {
        out.push_str("\n[clients]\n");
        let left: Vec<&str> = Client::ALL
            .iter()
            .filter(|s| !imp.sources.contains(s) && s.manage(cfg) == Manage::Never)
            .map(|s| s.name())
            .collect();
        if !left.is_empty() {
            comment(
                &format!(
                    "{} not read (--from): `never` leaves them as they are; `auto` would give them the \
                     imported instructions and commands.",
                    left.join(", ")
                ),
                &mut out,
            );
        }
        out.push_str(&toml::to_string(&cfg.clients).expect("clients serialise"));
    }
    if cfg.secrets != Config::default().secrets {
        out.push_str("\n[secrets]\n");
        out.push_str(&toml::to_string(&cfg.secrets).expect("secrets serialise"));
    }
    out.push_str("\n[mcp]\n");
    if cfg.mcp.serve_self {
        comment("aiorch's own MCP server was registered already (by an earlier apply).", &mut out);
        out.push_str("serve_self = true\n");
    } else {
        comment("aiorch's own MCP server was in no client before the import: true adds it to every client.", &mut out);
        out.push_str("serve_self = false\n");
    }
    for s in &imp.servers {
        out.push('\n');
        comment(&format!("from {}", s.from.join(", ")), &mut out);
        if s.server.clients.is_some() {
            comment("only the clients that had it get it: remove `clients` to give it to every client", &mut out);
        }
        for n in &s.notes {
            comment(&format!("note: {n}"), &mut out);
        }
        out.push_str(&format!("[mcp.servers.{}]\n", key(&s.name)));
        out.push_str(&server_lines(&s.server, ""));
    }
    for c in &imp.conflicts {
        out.push('\n');
        comment(&format!("NOT IMPORTED: `{}` from {}: {}", c.name, c.from.join(", "), c.why), &mut out);
        out.push_str(&format!("# [mcp.servers.{}]\n", key(&c.name)));
        out.push_str(&server_lines(&c.server, "# "));
    }
    out.push_str("\n[plugins]\n");
    comment("Anthropic's default marketplaces are not added: only what Claude had.", &mut out);
    out.push_str("defaults = false\n");
    if !cfg.plugins.enabled.is_empty() {
        comment("from ~/.claude/settings.json enabledPlugins", &mut out);
        out.push_str(&format!("enabled = {}\n", toml_value(&json!(cfg.plugins.enabled))));
    }
    for (name, (m, from)) in &imp.marketplaces {
        out.push('\n');
        comment(&format!("from {from}"), &mut out);
        out.push_str(&format!("[plugins.marketplaces.{}]\n", key(name)));
        out.push_str(&lines(&serde_json::to_value(m).expect("marketplace serialises"), &["source"], ""));
    }
    out.push_str("\n[policy]\n");
    if cfg.policy.enable {
        let names: Vec<&str> = imp.policy_clients.iter().map(|c| c.name()).collect();
        comment(
            &format!(
                "from {}. Rendered into {} only, where they already are: set a client below to true to give it \
                 the same rules.",
                imp.policy_from.join(", "),
                names.join(" and ")
            ),
            &mut out,
        );
        out.push_str("enable = true\n");
        if let Some(p) = cfg.policy.posture {
            comment("what no rule lists was refused before the import, and still is", &mut out);
            out.push_str(&format!("posture = {}\n", toml_value(&json!(p))));
        }
        for (name, r) in [("allow", &cfg.policy.allow), ("ask", &cfg.policy.ask), ("deny", &cfg.policy.deny)] {
            if let Some(v) = ruleset(r) {
                out.push_str(&format!("{name} = {}\n", toml_value(&v)));
            }
        }
        out.push_str("\n[policy.clients]\n");
        out.push_str(&toml::to_string(&cfg.policy.clients).expect("policy clients serialise"));
    } else {
        comment(
            "No permission list was found: aiorch writes no permission settings. true renders the\n\
             agentsmd tree's permissions/policy.toml and [policy] lists into every client.",
            &mut out,
        );
        out.push_str("enable = false\n");
    }
    out
}

// ---- Nix ----------------------------------------------------------------------------------------

fn nix_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '$' => out.push_str("\\$"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn nix_attr(k: &str) -> String {
    let bare = k.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '\'')
        && !["if", "then", "else", "let", "in", "with", "rec", "inherit", "assert", "or"].contains(&k);
    if bare { k.to_string() } else { nix_string(k) }
}

fn nix_value(v: &Value, indent: usize) -> String {
    let pad = "  ".repeat(indent + 1);
    let end = "  ".repeat(indent);
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => nix_string(s),
        Value::Array(a) if a.is_empty() => "[ ]".into(),
        Value::Array(a) => {
            let items: Vec<String> = a.iter().map(|x| nix_value(x, indent + 1)).collect();
            let one = format!("[ {} ]", items.join(" "));
            if one.len() <= 80 && !one.contains('\n') {
                one
            } else {
                format!("[\n{}\n{end}]", items.iter().map(|i| format!("{pad}{i}")).collect::<Vec<_>>().join("\n"))
            }
        }
        Value::Object(m) if m.is_empty() => "{ }".into(),
        Value::Object(m) => {
            let body: Vec<String> =
                m.iter().map(|(k, x)| format!("{pad}{} = {};", nix_attr(k), nix_value(x, indent + 1))).collect();
            format!("{{\n{}\n{end}}}", body.join("\n"))
        }
    }
}

/// `programs.aiorch = { … };`, to paste into a home-manager configuration (nix-darwin's module
/// takes the same options as `services.aiorch`).
pub fn nix(imp: &Import, cfg: &Config) -> String {
    let mut out = String::new();
    let c = |t: &str, out: &mut String, indent: usize| {
        for l in wrap(t, 96 - 2 * indent) {
            out.push_str(&format!("{}# {l}\n", "  ".repeat(indent)));
        }
    };
    c(
        &format!(
            "Written by `aiorch import` from: {}. Paste into a home-manager configuration\n(with nix-darwin: \
             `services.aiorch` takes the same options).",
            sources(imp)
        ),
        &mut out,
        0,
    );
    out.push_str("{\n  programs.aiorch = {\n    enable = true;\n");
    if let Some(src) = &cfg.agentsmd.source {
        c("the instruction files and commands found, copied unchanged", &mut out, 2);
        out.push_str(&format!("    agentsmd.source = {};\n", nix_string(src)));
    }
    out.push_str("    agentsmd.homeAgentsMd = false;\n");
    out.push_str("    mcpServers = {\n");
    for s in &imp.servers {
        c(&format!("from {}", s.from.join(", ")), &mut out, 3);
        for n in &s.notes {
            c(&format!("note: {n}"), &mut out, 3);
        }
        let v = serde_json::to_value(&s.server).expect("server serialises");
        out.push_str(&format!("      {} = {};\n", nix_attr(&s.name), nix_value(&v, 3)));
    }
    for k in &imp.conflicts {
        c(&format!("NOT IMPORTED: `{}` from {}: {}", k.name, k.from.join(", "), k.why), &mut out, 3);
        let v = serde_json::to_value(&k.server).expect("server serialises");
        c(&format!("{} = {};", nix_attr(&k.name), nix_value(&v, 0)), &mut out, 3);
    }
    out.push_str("    };\n");
    if !imp.marketplaces.is_empty() {
        out.push_str("    marketplaces = {\n");
        for (name, (m, from)) in &imp.marketplaces {
            c(&format!("from {from}"), &mut out, 3);
            let v = serde_json::to_value(m).expect("marketplace serialises");
            out.push_str(&format!("      {} = {};\n", nix_attr(name), nix_value(&v, 3)));
        }
        out.push_str("    };\n");
    }
    if !cfg.plugins.enabled.is_empty() {
        out.push_str(&format!("    plugins = {};\n", nix_value(&json!(cfg.plugins.enabled), 2)));
    }
    let mut settings = json!({
        "mcp": { "serve_self": cfg.mcp.serve_self },
        "plugins": { "defaults": false },
    });
    if cfg.clients != Config::default().clients {
        settings["clients"] = serde_json::to_value(&cfg.clients).expect("clients serialise");
    }
    if cfg.secrets != Config::default().secrets {
        settings["secrets"] = serde_json::to_value(&cfg.secrets).expect("secrets serialise");
    }
    let mut policy = json!({ "enable": cfg.policy.enable });
    if cfg.policy.enable {
        for (name, r) in [("allow", &cfg.policy.allow), ("ask", &cfg.policy.ask), ("deny", &cfg.policy.deny)] {
            if let Some(v) = ruleset(r) {
                policy[name] = v;
            }
        }
        if let Some(p) = cfg.policy.posture {
            policy["posture"] = json!(p);
        }
        policy["clients"] = serde_json::to_value(&cfg.policy.clients).expect("policy clients serialise");
    }
    settings["policy"] = policy;
    c(
        "aiorch's own server, Anthropic's default marketplaces and the permission policy stay\nas they were \
         before the import (see the comments in `aiorch import`'s TOML output)",
        &mut out,
        2,
    );
    out.push_str(&format!("    settings = {};\n", nix_value(&settings, 2)));
    out.push_str("  };\n}\n");
    out
}
