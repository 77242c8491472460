//! The MCP server registry: `[mcp.servers.NAME]` in the config, validated and resolved into
//! `Server`s that every client translation reads (the translations themselves live in
//! `clients/<client>.rs`, one place per format). aiorch's own server is an entry like any other.
//!
//! Resolution does the parts that are the same for every client: `~/` in `command`/`cwd`
//! against the managed home, and the secrets wrapper (`aiorch secrets exec --only A,B -- CMD…`),
//! so no client file ever holds a secret value, only its name.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::config::Client;
use crate::config::mcp::{McpConfig, McpServer, RemoteTransport};
use crate::error::CliError;
use crate::paths::Paths;

/// How a resolved server is reached.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Transport {
    /// The command line the client runs (already wrapped for secrets).
    Stdio {
        command: String,
        args: Vec<String>,
    },
    Http {
        url: String,
    },
    Sse {
        url: String,
    },
}

/// A validated registry entry, as every client translation sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Server {
    pub name: String,
    /// aiorch's own entry (`mcp.serve_self`), not from `[mcp.servers]`.
    pub builtin: bool,
    pub transport: Transport,
    pub env: BTreeMap<String, String>,
    pub cwd: Option<String>,
    pub headers: BTreeMap<String, String>,
    pub secrets: Vec<String>,
    pub timeout_s: Option<u64>,
    pub startup_timeout_s: Option<u64>,
    pub tools: Option<Vec<String>>,
    pub clients: Option<Vec<Client>>,
}

impl Server {
    /// Does `client` get this server (before "is the client managed")?
    pub fn wants(&self, client: Client) -> bool {
        self.clients.as_ref().is_none_or(|c| c.contains(&client))
    }
    pub fn is_stdio(&self) -> bool {
        matches!(self.transport, Transport::Stdio { .. })
    }
}

/// The name of aiorch's own server.
pub const SELF_NAME: &str = "aiorch";

/// The aiorch binary clients should run: `$AIORCH_SELF` (tests, the Nix store path), else this
/// executable, canonicalised so a symlink on PATH that moves later does not matter.
pub fn self_exe() -> anyhow::Result<PathBuf> {
    if let Some(p) = std::env::var_os("AIORCH_SELF").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe()?;
    Ok(exe.canonicalize().unwrap_or(exe))
}

/// aiorch's argv prefix for a child that must read the same config: `--config FILE` unless it
/// is the default `~/.config/aiorch/aiorch.toml`, which the child finds on its own even in
/// the trimmed environment Codex gives servers (no XDG_CONFIG_HOME, no AIORCH_CONFIG).
pub(crate) fn self_argv_prefix(paths: &Paths) -> Vec<String> {
    let default = paths.home.join(".config/aiorch/aiorch.toml");
    let named = paths.config_explicit || paths.config_file != default && paths.config_file.exists();
    if named { vec!["--config".into(), paths.config_file.display().to_string()] } else { vec![] }
}

/// Every server the config declares, validated and resolved, built-ins first.
pub fn resolve(cfg: &McpConfig, paths: &Paths) -> anyhow::Result<Vec<Server>> {
    resolve_as(cfg, paths, None)
}

/// `resolve`, with the aiorch binary given (tests) instead of `self_exe()`.
pub fn resolve_as(cfg: &McpConfig, paths: &Paths, me: Option<&Path>) -> anyhow::Result<Vec<Server>> {
    let me =
        || -> anyhow::Result<String> { Ok(me.map_or_else(self_exe, |p| Ok(p.to_path_buf()))?.display().to_string()) };
    let mut specs: Vec<(String, bool, McpServer)> = vec![];
    if cfg.serve_self {
        if cfg.servers.contains_key(SELF_NAME) {
            return Err(CliError::bad_input(format!(
                "mcp.servers.{SELF_NAME} clashes with aiorch's own server (mcp.serve_self = true)"
            ))
            .hint("rename your server, or set mcp.serve_self = false")
            .into());
        }
        let mut args = self_argv_prefix(paths);
        args.extend(["mcp".to_string(), "serve".to_string()]);
        specs.push((SELF_NAME.into(), true, McpServer { command: Some(me()?), args, ..Default::default() }));
    }
    specs.extend(cfg.servers.iter().map(|(n, s)| (n.clone(), false, s.clone())));
    specs.into_iter().map(|(name, builtin, spec)| resolve_one(&name, builtin, spec, paths, &me)).collect()
}

fn resolve_one(
    name: &str,
    builtin: bool,
    s: McpServer,
    paths: &Paths,
    me: &dyn Fn() -> anyhow::Result<String>,
) -> anyhow::Result<Server> {
    let at = |field: &str| format!("mcp.servers.{name}{}{field}", if field.is_empty() { "" } else { "." });
    let bad =
        |field: &str, msg: String| -> anyhow::Error { CliError::bad_input(format!("{}: {msg}", at(field))).into() };
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(bad(
            "",
            "server names may only contain letters, digits, `-` and `_` (clients build tool names from them)".into(),
        ));
    }
    for secret in &s.secrets {
        if !is_env_name(secret) {
            return Err(bad("secrets", format!("`{secret}` is not an environment variable name")));
        }
    }
    if let Some(t) = &s.tools
        && (t.is_empty() || t.iter().any(String::is_empty))
    {
        return Err(bad("tools", "the allow-list names at least one tool (remove it to allow all)".into()));
    }
    for (field, v) in [("timeout", s.timeout), ("startup_timeout", s.startup_timeout)] {
        if v == Some(0) {
            return Err(bad(field, "must be at least 1 second".into()));
        }
    }
    if let Some(k) = s.env.keys().find(|k| !is_env_name(k)) {
        return Err(bad("env", format!("`{k}` is not an environment variable name")));
    }
    let transport = match (&s.command, &s.url) {
        (Some(_), Some(_)) => return Err(bad("", "set either `command` (stdio) or `url` (remote), not both".into())),
        (None, None) => return Err(bad("", "needs `command` (a stdio server) or `url` (a remote server)".into())),
        (Some(cmd), None) => {
            if cmd.trim().is_empty() {
                return Err(bad("command", "is empty".into()));
            }
            if s.transport.is_some() || !s.headers.is_empty() {
                return Err(bad(
                    if s.transport.is_some() { "transport" } else { "headers" },
                    "only applies to remote servers (`url`)".into(),
                ));
            }
            // A `${SECRET}` reference would be expanded by the client, which never has the value:
            // the server gets the secret as an environment variable of that very name.
            for v in s.args.iter().chain(s.env.values()) {
                if let Some(r) = env_refs(v).into_iter().find(|r| s.secrets.iter().any(|x| x == r.name)) {
                    return Err(CliError::bad_input(format!("{}: references the secret ${{{}}}", at("env"), r.name))
                        .hint(format!(
                            "the server receives {0} in its environment from `aiorch secrets exec`; remove the \
                             reference (or, if the server reads another name, store the secret under that name)",
                            r.name
                        ))
                        .into());
                }
            }
            let command = expand_home(cmd, &paths.home);
            match s.secrets.is_empty() {
                true => Transport::Stdio { command, args: s.args.clone() },
                false => {
                    let mut args = self_argv_prefix(paths);
                    args.extend(crate::secrets::exec_wrapper_args(&s.secrets));
                    args.push(command);
                    args.extend(s.args.iter().cloned());
                    Transport::Stdio { command: me()?, args }
                }
            }
        }
        (None, Some(url)) => {
            if !s.args.is_empty() || !s.env.is_empty() || s.cwd.is_some() {
                let f = if !s.args.is_empty() {
                    "args"
                } else if !s.env.is_empty() {
                    "env"
                } else {
                    "cwd"
                };
                return Err(bad(f, "only applies to stdio servers (`command`)".into()));
            }
            if !(url.starts_with("http://") || url.starts_with("https://") || url.starts_with("${")) {
                return Err(bad("url", format!("`{url}` is not an http(s) URL")));
            }
            match s.transport.unwrap_or(RemoteTransport::Http) {
                RemoteTransport::Http => Transport::Http { url: url.clone() },
                RemoteTransport::Sse => Transport::Sse { url: url.clone() },
            }
        }
    };
    Ok(Server {
        name: name.to_string(),
        builtin,
        transport,
        env: s.env,
        cwd: s.cwd.map(|c| expand_home(&c, &paths.home)),
        headers: s.headers,
        secrets: s.secrets,
        timeout_s: s.timeout,
        startup_timeout_s: s.startup_timeout,
        tools: s.tools,
        clients: s.clients,
    })
}

fn expand_home(p: &str, home: &Path) -> String {
    crate::paths::expand_tilde(p, home).display().to_string()
}

pub fn is_env_name(s: &str) -> bool {
    let mut c = s.chars();
    c.next().is_some_and(|f| f.is_ascii_alphabetic() || f == '_') && c.all(|x| x.is_ascii_alphanumeric() || x == '_')
}

/// A `${NAME}` or `${NAME:-default}` reference inside a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvRef<'a> {
    pub name: &'a str,
    pub default: Option<&'a str>,
    /// Byte range of the whole `${…}` in the value.
    pub span: std::ops::Range<usize>,
}

/// Every `${…}` reference in `s`, in order (a bare `$VAR` is not one: Claude would not expand it).
pub fn env_refs(s: &str) -> Vec<EnvRef<'_>> {
    let mut out = vec![];
    let mut from = 0;
    while let Some(i) = s[from..].find("${").map(|i| i + from) {
        let Some(end) = s[i..].find('}').map(|e| e + i) else { break };
        let inner = &s[i + 2..end];
        let (name, default) = match inner.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (inner, None),
        };
        if is_env_name(name) {
            out.push(EnvRef { name, default, span: i..end + 1 });
        }
        from = end + 1;
    }
    out
}

/// `Some(NAME)` when the whole value is exactly `${NAME}`.
pub fn whole_ref(s: &str) -> Option<&str> {
    match env_refs(s).as_slice() {
        [r] if r.span == (0..s.len()) && r.default.is_none() => Some(r.name),
        _ => None,
    }
}

/// Expand `${VAR}` / `${VAR:-d}` from `lookup` (`aiorch doctor` gives a server the environment
/// a client would). Unset without a default: empty here, while Gemini CLI and Copilot CLI leave
/// the reference as text (docs/clients.md §3.1, §5.1).
pub fn expand_refs(s: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::new();
    let mut last = 0;
    for r in env_refs(s) {
        out.push_str(&s[last..r.span.start]);
        out.push_str(
            &lookup(r.name).filter(|v| !v.is_empty()).or_else(|| r.default.map(str::to_string)).unwrap_or_default(),
        );
        last = r.span.end;
    }
    out.push_str(&s[last..]);
    out
}

/// Something in the registry a client cannot express exactly: `apply` prints these as notes and
/// `doctor` as warnings (Lost) or information (Emulated), instead of silently dropping them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Gap {
    pub client: Client,
    pub server: String,
    /// The registry setting concerned (`cwd`, `tools`, `headers.X`, …).
    pub setting: String,
    pub effect: Effect,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    /// The client gets the same behaviour another way (e.g. `cwd` through `sh -c 'cd …'`).
    Emulated,
    /// The setting does not take effect in that client.
    Lost,
}

impl std::fmt::Display for Gap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: MCP server `{}`: {}: {}", self.client.name(), self.server, self.setting, self.detail)
    }
}

/// What a client's translation of one server produced: the value to merge (None: the client
/// cannot run this server at all) and what it could not express.
#[derive(Debug, Clone, Default)]
pub struct Entry {
    pub value: Option<serde_json::Value>,
    pub gaps: Vec<Gap>,
}

impl Entry {
    pub fn gap(
        &mut self,
        client: Client,
        server: &Server,
        setting: impl Into<String>,
        effect: Effect,
        detail: impl Into<String>,
    ) {
        self.gaps.push(Gap {
            client,
            server: server.name.clone(),
            setting: setting.into(),
            effect,
            detail: detail.into(),
        });
    }
}

/// The `sh -c` wrapper that gives a client without `cwd` support a working directory:
/// `sh -c 'cd -- "$1" && shift && exec "$@"' aiorch-cwd DIR CMD ARGS…`. The directory and the
/// command are positional parameters, never spliced into the script, so no quoting can break.
pub fn cwd_wrapper(dir: &str, command: &str, args: &[String]) -> (String, Vec<String>) {
    let mut a = vec![
        "-c".to_string(),
        r#"cd -- "$1" && shift && exec "$@""#.to_string(),
        "aiorch-cwd".to_string(),
        dir.to_string(),
        command.to_string(),
    ];
    a.extend(args.iter().cloned());
    ("/bin/sh".to_string(), a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths() -> Paths {
        Paths {
            home: "/h".into(),
            state_dir: "/s".into(),
            config_file: "/h/.config/aiorch/aiorch.toml".into(),
            config_explicit: false,
        }
    }

    fn cfg(toml: &str) -> crate::config::Config {
        crate::config::parse_str(toml, crate::config::Format::Toml, "t.toml").unwrap()
    }

    fn err(toml: &str) -> String {
        let e = resolve_as(&cfg(toml).mcp, &paths(), Some(Path::new("/x/aiorch"))).unwrap_err();
        e.downcast_ref::<CliError>().expect("a CliError").message.clone()
    }

    #[test]
    fn refs_are_found_with_defaults() {
        let r = env_refs("Bearer ${TOKEN} ${X:-d} $BARE ${bad-name} ${");
        assert_eq!(r.iter().map(|r| (r.name, r.default)).collect::<Vec<_>>(), vec![("TOKEN", None), ("X", Some("d"))]);
        assert_eq!(whole_ref("${A}"), Some("A"));
        assert_eq!(whole_ref("${A:-x}"), None);
        assert_eq!(whole_ref("x${A}"), None);
        let env = |n: &str| (n == "A").then(|| "1".to_string());
        assert_eq!(expand_refs("a=${A} b=${B:-two} c=${C}.", env), "a=1 b=two c=.");
    }

    #[test]
    fn secrets_wrap_the_command_with_the_self_binary() {
        let me = Some(Path::new("/nix/store/x-aiorch/bin/aiorch"));
        let s = resolve_as(
            &cfg("[mcp.servers.gh]\ncommand = \"~/bin/gh-mcp\"\nargs = [\"stdio\"]\n\
                  secrets = [\"GITHUB_TOKEN\", \"B\"]\n")
            .mcp,
            &paths(),
            me,
        )
        .unwrap();
        let gh = s.iter().find(|x| x.name == "gh").unwrap();
        assert_eq!(
            gh.transport,
            Transport::Stdio {
                command: "/nix/store/x-aiorch/bin/aiorch".into(),
                args: ["secrets", "exec", "--only", "GITHUB_TOKEN,B", "--", "/h/bin/gh-mcp", "stdio"]
                    .map(String::from)
                    .to_vec()
            }
        );
        let mut p = paths();
        p.config_explicit = true;
        p.config_file = "/nix/store/y-aiorch.json".into();
        let s = resolve_as(&cfg("[mcp]\nserve_self = true\n").mcp, &p, me).unwrap();
        assert!(s[0].builtin);
        assert_eq!(
            s[0].transport,
            Transport::Stdio {
                command: "/nix/store/x-aiorch/bin/aiorch".into(),
                args: ["--config", "/nix/store/y-aiorch.json", "mcp", "serve"].map(String::from).to_vec()
            }
        );
    }

    #[test]
    fn bad_entries_are_bad_input_naming_the_key() {
        assert_eq!(
            err("[mcp.servers.x]\nargs = []\n"),
            "mcp.servers.x: needs `command` (a stdio server) or `url` (a remote server)"
        );
        assert_eq!(
            err("[mcp.servers.x]\ncommand = \"a\"\nurl = \"http://h\"\n"),
            "mcp.servers.x: set either `command` (stdio) or `url` (remote), not both"
        );
        assert_eq!(
            err("[mcp.servers.x]\nurl = \"http://h\"\ncwd = \"/\"\n"),
            "mcp.servers.x.cwd: only applies to stdio servers (`command`)"
        );
        assert_eq!(
            err("[mcp.servers.x]\ncommand = \"a\"\nheaders = { A = \"b\" }\n"),
            "mcp.servers.x.headers: only applies to remote servers (`url`)"
        );
        assert_eq!(
            err("[mcp.servers.\"a.b\"]\ncommand = \"a\"\n"),
            "mcp.servers.a.b: server names may only contain letters, digits, `-` and `_` (clients build tool names \
             from them)"
        );
        assert_eq!(
            err("[mcp.servers.x]\ncommand = \"a\"\nsecrets = [\"NOT-A-NAME\"]\n"),
            "mcp.servers.x.secrets: `NOT-A-NAME` is not an environment variable name"
        );
        assert_eq!(
            err("[mcp.servers.x]\ncommand = \"a\"\ntools = []\n"),
            "mcp.servers.x.tools: the allow-list names at least one tool (remove it to allow all)"
        );
        assert_eq!(
            err("[mcp.servers.x]\ncommand = \"a\"\ntimeout = 0\n"),
            "mcp.servers.x.timeout: must be at least 1 second"
        );
        assert_eq!(err("[mcp.servers.x]\nurl = \"ftp://h\"\n"), "mcp.servers.x.url: `ftp://h` is not an http(s) URL");
        assert_eq!(
            err("[mcp.servers.x]\ncommand = \"a\"\nsecrets = [\"K\"]\nenv = { A = \"${K}\" }\n"),
            "mcp.servers.x.env: references the secret ${K}"
        );
        assert_eq!(
            err("[mcp]\nserve_self = true\n[mcp.servers.aiorch]\ncommand = \"a\"\n"),
            "mcp.servers.aiorch clashes with aiorch's own server (mcp.serve_self = true)"
        );
        // Unknown keys are caught by the config loader, with a suggestion.
        let e = crate::config::parse_str(
            "[mcp.servers.x]\ncommand = \"a\"\nheader = {}\n",
            crate::config::Format::Toml,
            "t.toml",
        )
        .unwrap_err();
        assert!(e.to_string().contains("headers"), "{e}");
    }

    #[test]
    fn cwd_wrapper_passes_everything_as_parameters() {
        let (cmd, args) = cwd_wrapper("/", "/bin/echo", &["a b".into()]);
        let out = std::process::Command::new(cmd).args(&args).output().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "a b\n");
        let dir = tempfile::tempdir().unwrap();
        let odd = dir.path().join("it's $HOME \"here\"");
        fs_err::create_dir(&odd).unwrap();
        let (cmd, args) = cwd_wrapper(odd.to_str().unwrap(), "/bin/pwd", &[]);
        let out = std::process::Command::new(cmd).args(&args).output().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim_end(), odd.to_str().unwrap());
        let (cmd, args) = cwd_wrapper("/nonexistent-dir", "/bin/true", &[]);
        assert!(
            !std::process::Command::new(cmd)
                .args(&args)
                .stderr(std::process::Stdio::null())
                .status()
                .unwrap()
                .success()
        );
    }
}
