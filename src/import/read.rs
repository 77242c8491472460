//! Reading each client's own files: the inverse of what `clients/` writes. Every reader returns
//! servers in aiorch's schema (`McpServer`), so comparing and rendering them is client-agnostic.
//! A file that does not exist is no error; a file that does not parse is (exit 2, `file:line:col`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::config::clients::Client;
use crate::config::mcp::{McpServer, RemoteTransport};
use crate::error::CliError;
use crate::paths::Paths;

/// One server as a client defines it.
#[derive(Debug, Clone)]
pub struct Found {
    pub source: Client,
    /// The file it is in (`~/.claude.json`).
    pub file: String,
    pub name: String,
    pub server: McpServer,
    /// What could not be carried over (a setting aiorch has no key for).
    pub notes: Vec<String>,
}

/// The file each source keeps its user-level MCP servers in.
pub fn mcp_file(source: Client, paths: &Paths) -> PathBuf {
    match source {
        Client::Claude => paths.in_home(".claude.json"),
        Client::Gemini => paths.in_home(".gemini/settings.json"),
        Client::Codex => crate::clients::codex::config_file(paths),
        Client::Copilot => paths.in_home(".copilot/mcp-config.json"),
        // Where OpenCode itself looks (XDG config dir, `opencode.jsonc` when that is the one kept).
        Client::Opencode => crate::clients::opencode::config_file(paths),
        // Aider has no MCP client: its one config file.
        Client::Aider => crate::clients::aider::conf_file(paths),
    }
}

/// A JSON (with comments) or TOML file as a JSON value; None when it does not exist.
pub fn read_doc(path: &Path, paths: &Paths) -> anyhow::Result<Option<Value>> {
    let text = match fs_err::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let shown = paths.display(path);
    let untouched = "fix the file (or leave its client out with --from); nothing was written";
    if path.extension().is_some_and(|e| e == "yml" || e == "yaml") {
        let v: Value = serde_saphyr::from_str(&text).map_err(|e| {
            let at = e.location().map_or(String::new(), |l| format!(":{}:{}", l.line(), l.column()));
            let msg = e.to_string();
            // "error: line 1 column 7: unclosed bracket" → its last part (the place is said once).
            let msg = msg.lines().next().and_then(|l| l.rsplit(": ").next()).unwrap_or("not YAML");
            CliError::bad_input(format!("{shown}{at}: {msg}")).hint(untouched)
        })?;
        return Ok(Some(if v.is_null() { Value::Object(Default::default()) } else { v }));
    }
    if path.extension().is_some_and(|e| e == "toml") {
        let v: Value = toml::from_str(&text).map_err(|e| {
            let (line, col) = e.span().map(|s| crate::config::load::line_col(&text, s.start)).unwrap_or((1, 1));
            CliError::bad_input(format!("{shown}:{line}:{col}: {}", e.message().trim())).hint(untouched)
        })?;
        return Ok(Some(v));
    }
    if text.trim().is_empty() {
        return Ok(Some(Value::Object(Default::default())));
    }
    let doc = crate::apply::jsonc::JsoncDoc::parse(&text)
        .map_err(|e| CliError::bad_input(format!("{shown}:{}:{}: {}", e.line, e.col, e.msg)).hint(untouched))?;
    Ok(Some(doc.to_value()))
}

/// Every user-level MCP server `source` defines.
pub fn servers(source: Client, paths: &Paths) -> anyhow::Result<Vec<Found>> {
    if source == Client::Aider {
        return Ok(vec![]); // no MCP client
    }
    let path = mcp_file(source, paths);
    // OpenCode merges its global files: read what it resolves, each server named after the
    // last file that defines it.
    let (doc, defined_in) = match source {
        Client::Opencode => match opencode_config(paths)? {
            Some(c) => (c.doc, c.mcp_files),
            None => return Ok(vec![]),
        },
        _ => match read_doc(&path, paths)? {
            Some(d) => (d, BTreeMap::new()),
            None => return Ok(vec![]),
        },
    };
    let key = match source {
        Client::Codex => "mcp_servers",
        Client::Opencode => "mcp",
        _ => "mcpServers",
    };
    let Some(map) = doc.get(key).and_then(Value::as_object) else { return Ok(vec![]) };
    let mut out = vec![];
    for (name, v) in map {
        let file = paths.display(defined_in.get(name).unwrap_or(&path));
        let Some(v) = v.as_object() else { continue };
        let mut notes = vec![];
        let server = match source {
            Client::Claude | Client::Gemini | Client::Copilot => json_server(source, v, &mut notes),
            Client::Codex => codex_server(v, &mut notes),
            Client::Opencode => opencode_server(v, &mut notes),
            Client::Aider => None,
        };
        let disabled = v.get("enabled").and_then(Value::as_bool) == Some(false);
        if defined_in.get(name).is_some_and(|f| *f != path) {
            notes.push(format!(
                "defined in {file}, which OpenCode reads before {}: apply writes aiorch's entry there and OpenCode \
                 merges the two (remove it from {file} to keep one)",
                paths.display(&path)
            ));
        }
        match server {
            Some(server) => {
                out.push(Found { source, file, name: name.clone(), server, notes });
            }
            None => out.push(Found {
                source,
                file,
                name: name.clone(),
                server: McpServer::default(),
                notes: vec![if disabled {
                    "disabled (`enabled: false`): not imported, it stays in its client as it is".into()
                } else {
                    "skipped: it has neither a command nor a URL".into()
                }],
            }),
        }
    }
    Ok(out)
}

fn str_of(v: &serde_json::Map<String, Value>, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).map(str::to_string)
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

fn string_map(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_string))).collect())
        .unwrap_or_default()
}

/// Milliseconds to whole seconds (rounded up: a timeout never gets shorter).
fn ms_to_s(v: Option<&Value>, notes: &mut Vec<String>) -> Option<u64> {
    let ms = v?.as_f64()?;
    let s = (ms / 1000.0).ceil().max(1.0) as u64;
    if (s as f64) * 1000.0 != ms {
        notes.push(format!("timeout {ms} ms rounded up to {s} s"));
    }
    Some(s)
}

/// Claude (`~/.claude.json`), Gemini (`settings.json`) and Copilot (`mcp-config.json`) share
/// the `mcpServers` shape, with small differences in `type` and the tool allow-list.
fn json_server(source: Client, v: &serde_json::Map<String, Value>, notes: &mut Vec<String>) -> Option<McpServer> {
    let mut s = McpServer { timeout: ms_to_s(v.get("timeout"), notes), ..Default::default() };
    let ty = str_of(v, "type").unwrap_or_default();
    if let Some(cmd) = str_of(v, "command") {
        s.command = Some(cmd);
        s.args = strings(v.get("args"));
        s.env = string_map(v.get("env"));
        s.cwd = str_of(v, "cwd");
    } else {
        // Gemini: `httpUrl` is streamable HTTP, `url` alone is SSE unless `type` says otherwise.
        let (url, transport) = match (str_of(v, "httpUrl"), str_of(v, "url")) {
            (Some(u), _) => (u, RemoteTransport::Http),
            (None, Some(u)) => {
                let sse = ty == "sse" || (source == Client::Gemini && ty.is_empty());
                (u, if sse { RemoteTransport::Sse } else { RemoteTransport::Http })
            }
            (None, None) => return None,
        };
        s.url = Some(url);
        s.transport = (transport == RemoteTransport::Sse).then_some(RemoteTransport::Sse);
        s.headers = string_map(v.get("headers"));
    }
    let tools = match source {
        Client::Gemini => v.get("includeTools"),
        Client::Copilot => v.get("tools"),
        _ => None,
    };
    let tools = strings(tools);
    if !tools.is_empty() && tools != ["*"] {
        s.tools = Some(tools);
    }
    if source == Client::Gemini && v.get("excludeTools").is_some() {
        notes.push("`excludeTools` has no aiorch key (list the tools to keep in `tools`)".into());
    }
    Some(s)
}

/// Codex's `[mcp_servers.NAME]`: variables by name (`env_vars`, `bearer_token_env_var`,
/// `env_http_headers`) become the `${VAR}` references aiorch writes them back from.
fn codex_server(v: &serde_json::Map<String, Value>, notes: &mut Vec<String>) -> Option<McpServer> {
    if v.get("enabled").and_then(Value::as_bool) == Some(false) {
        return None;
    }
    let secs = |k: &str| v.get(k).and_then(Value::as_f64).map(|f| f.ceil().max(1.0) as u64);
    let mut s = McpServer {
        timeout: secs("tool_timeout_sec"),
        startup_timeout: secs("startup_timeout_sec"),
        ..Default::default()
    };
    let tools = strings(v.get("enabled_tools"));
    if !tools.is_empty() {
        s.tools = Some(tools);
    }
    if v.get("disabled_tools").is_some() {
        notes.push("`disabled_tools` has no aiorch key (list the tools to keep in `tools`)".into());
    }
    if let Some(cmd) = str_of(v, "command") {
        s.command = Some(cmd);
        s.args = strings(v.get("args"));
        s.env = string_map(v.get("env"));
        for name in strings(v.get("env_vars")) {
            s.env.insert(name.clone(), format!("${{{name}}}"));
        }
        s.cwd = str_of(v, "cwd");
    } else if let Some(url) = str_of(v, "url") {
        s.url = Some(url);
        s.headers = string_map(v.get("http_headers"));
        for (h, var) in string_map(v.get("env_http_headers")) {
            s.headers.insert(h, format!("${{{var}}}"));
        }
        if let Some(var) = str_of(v, "bearer_token_env_var") {
            s.headers.insert("Authorization".into(), format!("Bearer ${{{var}}}"));
        }
    } else {
        return None;
    }
    Some(s)
}

/// OpenCode's `{env:VAR}` (substituted anywhere in its file) as aiorch's `${VAR}`: the inverse
/// of `clients::opencode`'s `env_syntax`.
fn from_opencode_env(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("{env:") {
        let after = &rest[i + 5..];
        match after.find('}') {
            Some(end) if crate::mcp::registry::env_refs(&format!("${{{}}}", &after[..end])).len() == 1 => {
                out.push_str(&rest[..i]);
                out.push_str(&format!("${{{}}}", &after[..end]));
                rest = &after[end + 1..];
            }
            _ => {
                out.push_str(&rest[..i + 5]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// OpenCode's `mcp.NAME`: `local` (`command` is the whole argv, `environment`) or `remote`.
fn opencode_server(v: &serde_json::Map<String, Value>, notes: &mut Vec<String>) -> Option<McpServer> {
    if v.get("enabled").and_then(Value::as_bool) == Some(false) {
        return None;
    }
    let timeout = ms_to_s(v.get("timeout"), notes);
    let map = |m: BTreeMap<String, String>| m.into_iter().map(|(k, v)| (k, from_opencode_env(&v))).collect();
    match str_of(v, "type").as_deref() {
        Some("remote") => {
            if v.get("oauth").is_some() {
                notes.push("`oauth` has no aiorch key: it is not carried over".into());
            }
            Some(McpServer {
                url: Some(from_opencode_env(&str_of(v, "url")?)),
                headers: map(string_map(v.get("headers"))),
                timeout,
                ..Default::default()
            })
        }
        _ => {
            let mut argv = strings(v.get("command")).into_iter().map(|a| from_opencode_env(&a));
            Some(McpServer {
                command: Some(argv.next()?),
                args: argv.collect(),
                env: map(string_map(v.get("environment"))),
                timeout,
                ..Default::default()
            })
        }
    }
}

// ---- Instructions and commands ----------------------------------------------------------------

/// The user-level instruction file each client reads (Gemini's GEMINI.md stays where it is:
/// `apply` keeps it in Gemini's `context.fileName`, so Gemini goes on reading it).
pub fn instructions_file(source: Client, paths: &Paths) -> Option<PathBuf> {
    match source {
        Client::Claude => Some(paths.in_home(".claude/CLAUDE.md")),
        Client::Codex => Some(crate::clients::codex::home(paths).join("AGENTS.md")),
        Client::Copilot => Some(paths.in_home(".copilot/copilot-instructions.md")),
        Client::Opencode => Some(crate::clients::opencode::config_dir(paths).join("AGENTS.md")),
        Client::Gemini | Client::Aider => None,
    }
}

/// The files `~/.aider.conf.yml`'s `read:` (a list, or one string) adds to every Aider chat:
/// `~/` and absolute paths; a relative one is relative to where Aider runs.
pub fn aider_reads(paths: &Paths) -> anyhow::Result<Vec<(String, Result<PathBuf, &'static str>)>> {
    let Some(doc) = read_doc(&crate::clients::aider::conf_file(paths), paths)? else { return Ok(vec![]) };
    let entries = match doc.get("read") {
        Some(Value::String(s)) => vec![s.clone()],
        v => strings(v),
    };
    Ok(entries
        .into_iter()
        .map(|entry| {
            let file = match entry.strip_prefix("~/") {
                Some(rest) => Ok(paths.home.join(rest)),
                None if entry.starts_with('/') => Ok(PathBuf::from(&entry)),
                None => Err("a path relative to where Aider runs"),
            };
            let file = file.and_then(|f| if f.is_file() { Ok(f) } else { Err("no such file") });
            (entry, file)
        })
        .collect())
}

/// OpenCode's global config as it resolves it.
pub struct OpencodeConfig {
    /// `config.json`, `opencode.json`, `opencode.jsonc` merged in that order (objects member by
    /// member, later files winning; `instructions` arrays joined), as OpenCode does.
    pub doc: Value,
    /// Per `mcp` server, the last file that defines it.
    pub mcp_files: BTreeMap<String, PathBuf>,
    /// The files that set `permission`.
    pub permission_files: Vec<PathBuf>,
}

fn merge_deep(into: &mut Value, from: &Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(k) {
                    Some(old) => merge_deep(old, v),
                    None => {
                        a.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (a, b) => *a = b.clone(),
    }
}

pub fn opencode_config(paths: &Paths) -> anyhow::Result<Option<OpencodeConfig>> {
    let dir = crate::clients::opencode::config_dir(paths);
    let mut out: Option<OpencodeConfig> = None;
    for f in ["config.json", "opencode.json", "opencode.jsonc"] {
        let path = dir.join(f);
        let Some(doc) = read_doc(&path, paths)? else { continue };
        let c = out.get_or_insert_with(|| OpencodeConfig {
            doc: Value::Object(Default::default()),
            mcp_files: BTreeMap::new(),
            permission_files: vec![],
        });
        for name in doc.get("mcp").and_then(Value::as_object).into_iter().flat_map(|m| m.keys()) {
            c.mcp_files.insert(name.clone(), path.clone());
        }
        if doc.get("permission").is_some() {
            c.permission_files.push(path.clone());
        }
        let mut instructions = strings(c.doc.get("instructions"));
        merge_deep(&mut c.doc, &doc);
        for i in strings(doc.get("instructions")) {
            if !instructions.contains(&i) {
                instructions.push(i);
            }
        }
        if !instructions.is_empty() {
            c.doc["instructions"] = serde_json::json!(instructions);
        }
    }
    Ok(out)
}

/// The files OpenCode's `instructions` array names that a home import can take: `~/` and
/// absolute paths to one file. Globs, relative paths (searched upwards from each project) and
/// URLs are per project or fetched: (entry as written, file or why not).
pub fn opencode_instructions(paths: &Paths) -> anyhow::Result<Vec<(String, Result<PathBuf, &'static str>)>> {
    let Some(c) = opencode_config(paths)? else { return Ok(vec![]) };
    let mut out = vec![];
    for entry in strings(c.doc.get("instructions")) {
        let file = if entry.contains("://") {
            Err("a URL OpenCode fetches")
        } else if entry.contains(['*', '?', '[', '{']) {
            Err("a glob")
        } else if let Some(rest) = entry.strip_prefix("~/") {
            Ok(paths.home.join(rest))
        } else if entry.starts_with('/') {
            Ok(PathBuf::from(&entry))
        } else {
            Err("a path relative to each project")
        };
        let file = file.and_then(|f| if f.is_file() { Ok(f) } else { Err("no such file") });
        out.push((entry, file));
    }
    Ok(out)
}

/// OpenCode's commands: `commands/NAME.md`, then `command/NAME.md` (it reads both), as
/// (path under the config dir, bytes).
pub fn opencode_commands(paths: &Paths) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let dir = crate::clients::opencode::config_dir(paths);
    let mut out = vec![];
    for sub in ["commands", "command"] {
        let root = dir.join(sub);
        let mut files = vec![];
        walk(&root, &root, "md", &mut files)?;
        out.extend(files.into_iter().map(|(rel, b)| (format!("{sub}/{rel}"), b)));
    }
    Ok(out)
}

/// OpenCode's `permission` as it resolves it, and the files that set it.
pub fn opencode_permission(paths: &Paths) -> anyhow::Result<Option<(Value, Vec<PathBuf>)>> {
    Ok(opencode_config(paths)?.and_then(|c| c.doc.get("permission").cloned().map(|p| (p, c.permission_files))))
}

/// The files a Claude memory file imports (`@path` outside code), relative to its directory
/// or `~/`, that exist: (path as written, file).
pub fn claude_imports(text: &str, dir: &Path, home: &Path) -> Vec<(String, PathBuf)> {
    let mut out = vec![];
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        // Odd pieces between backticks are inline code.
        for (i, word) in line.split('`').enumerate() {
            if i % 2 == 1 {
                continue;
            }
            for tok in word.split_whitespace() {
                let Some(p) = tok.strip_prefix('@') else { continue };
                if p.is_empty() || p.contains("://") {
                    continue;
                }
                let file = match p.strip_prefix("~/") {
                    Some(rest) => home.join(rest),
                    None if p.starts_with('/') => PathBuf::from(p),
                    None => dir.join(p),
                };
                if file.is_file() && !out.iter().any(|(w, _)| w == p) {
                    out.push((p.to_string(), file));
                }
            }
        }
    }
    out
}

/// Claude's commands: every `~/.claude/commands/**/*.md`, as (path under commands/, bytes).
pub fn claude_commands(paths: &Paths) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let root = paths.in_home(".claude/commands");
    let mut out = vec![];
    walk(&root, &root, "md", &mut out)?;
    Ok(out)
}

/// Gemini's TOML commands: (name, description, prompt).
pub fn gemini_commands(paths: &Paths) -> anyhow::Result<Vec<(String, Option<String>, String)>> {
    let root = paths.in_home(".gemini/commands");
    let mut files = vec![];
    walk(&root, &root, "toml", &mut files)?;
    let mut out = vec![];
    for (rel, bytes) in files {
        let path = root.join(&rel);
        let _ = bytes; // read again as TOML, with `file:line:col` on a parse error
        let Some(v) = read_doc(&path, paths)? else { continue };
        let Some(prompt) = v.get("prompt").and_then(Value::as_str) else { continue };
        let name = rel.trim_end_matches(".toml").to_string();
        out.push((name, v.get("description").and_then(Value::as_str).map(str::to_string), prompt.to_string()));
    }
    Ok(out)
}

fn walk(root: &Path, dir: &Path, ext: &str, out: &mut Vec<(String, Vec<u8>)>) -> anyhow::Result<()> {
    let Ok(rd) = fs_err::read_dir(dir) else { return Ok(()) };
    let mut entries: Vec<_> = rd.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        if e.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            walk(root, &path, ext, out)?;
        } else if path.is_file() && path.extension().is_some_and(|x| x == ext) {
            let rel = path.strip_prefix(root).expect("under root").to_string_lossy().replace('\\', "/");
            out.push((rel, fs_err::read(&path)?));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codex_variables_become_references() {
        let v: Value = toml::from_str(
            "url = \"https://x/mcp\"\nbearer_token_env_var = \"TOK\"\nenv_http_headers = { X-Org = \"ORG\" }\n",
        )
        .unwrap();
        let s = codex_server(v.as_object().unwrap(), &mut vec![]).unwrap();
        assert_eq!(s.headers["Authorization"], "Bearer ${TOK}");
        assert_eq!(s.headers["X-Org"], "${ORG}");
    }

    #[test]
    fn opencode_local_and_remote() {
        let v: Value = serde_json::from_str(
            r#"{"type": "local", "command": ["npx", "-y", "srv"], "environment": {"A": "1"}, "timeout": 1500}"#,
        )
        .unwrap();
        let s = opencode_server(v.as_object().unwrap(), &mut vec![]).unwrap();
        assert_eq!((s.command.as_deref(), s.args.as_slice()), (Some("npx"), &["-y".to_string(), "srv".into()][..]));
        assert_eq!((s.env["A"].as_str(), s.timeout), ("1", Some(2)));
        let v: Value =
            serde_json::from_str(r#"{"type": "remote", "url": "https://x/mcp", "headers": {"H": "v"}}"#).unwrap();
        let s = opencode_server(v.as_object().unwrap(), &mut vec![]).unwrap();
        assert_eq!((s.url.as_deref(), s.headers["H"].as_str()), (Some("https://x/mcp"), "v"));
        let off: Value = serde_json::from_str(r#"{"type": "remote", "url": "https://x", "enabled": false}"#).unwrap();
        assert!(opencode_server(off.as_object().unwrap(), &mut vec![]).is_none());
    }

    #[test]
    fn imports_outside_code_only() {
        let dir = tempfile::tempdir().unwrap();
        fs_err::write(dir.path().join("a.md"), "x").unwrap();
        fs_err::write(dir.path().join("b.md"), "x").unwrap();
        let text = "See @a.md please\n```\n@b.md\n```\n`@b.md` and @missing.md\n";
        let got: Vec<String> = claude_imports(text, dir.path(), dir.path()).into_iter().map(|(w, _)| w).collect();
        assert_eq!(got, ["a.md"]);
    }
}
