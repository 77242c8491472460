//! Where things live. Every path aiorch touches is derived from `Paths`, so `--home`,
//! `--state-dir` and `--config` redirect everything (tests and dry runs rely on it).

use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Paths {
    /// The home under which every client path resolves (`--home`, default `$HOME`).
    pub home: PathBuf,
    /// aiorch's own state: ledger, backups, generated files, logs, databases.
    pub state_dir: PathBuf,
    /// The config file to read (it may not exist: defaults apply).
    pub config_file: PathBuf,
    /// Whether `config_file` was named explicitly (then it must exist).
    pub config_explicit: bool,
}

impl Paths {
    pub fn resolve(
        home: Option<PathBuf>,
        state_dir: Option<PathBuf>,
        config: Option<PathBuf>,
    ) -> anyhow::Result<Paths> {
        let env_home = std::env::home_dir();
        let home = match home.or_else(|| env_home.clone()) {
            Some(h) => absolute(&h),
            None => anyhow::bail!("cannot find the home directory: set HOME or pass --home DIR"),
        };
        // XDG everywhere, macOS included (etcetera's base strategy), but rooted at --home when
        // one is given so a redirected home never reaches into the real one.
        let xdg = |var: &str, default: &str| -> PathBuf {
            match std::env::var_os(var) {
                Some(v) if !v.is_empty() && Path::new(&v).is_absolute() => PathBuf::from(v),
                _ => home.join(default),
            }
        };
        let state_dir =
            state_dir.map(|p| absolute(&p)).unwrap_or_else(|| xdg("XDG_STATE_HOME", ".local/state").join("aiorch"));
        let config_explicit = config.is_some() || std::env::var_os("AIORCH_CONFIG").is_some_and(|v| !v.is_empty());
        let config_file = config
            .or_else(|| std::env::var_os("AIORCH_CONFIG").filter(|v| !v.is_empty()).map(PathBuf::from))
            .map(|p| absolute(&p))
            .unwrap_or_else(|| xdg("XDG_CONFIG_HOME", ".config").join("aiorch/aiorch.toml"));
        Ok(Paths { home, state_dir, config_file, config_explicit })
    }

    /// `~/rel` under the managed home.
    pub fn in_home(&self, rel: &str) -> PathBuf {
        self.home.join(rel)
    }

    pub fn ledger(&self) -> PathBuf {
        self.state_dir.join("ledger.json")
    }

    pub fn lock(&self) -> PathBuf {
        self.state_dir.join("apply.lock")
    }

    pub fn backups(&self) -> PathBuf {
        self.state_dir.join("backups")
    }

    /// Files aiorch renders for itself (the embedded agentsmd tree, composed instructions).
    pub fn generated(&self) -> PathBuf {
        self.state_dir.join("generated")
    }

    /// `path` shown relative to the managed home (`~/.claude/CLAUDE.md`) when it is inside it.
    pub fn display(&self, path: &Path) -> String {
        match path.strip_prefix(&self.home) {
            Ok(rel) => format!("~/{}", rel.display()),
            Err(_) => path.display().to_string(),
        }
    }
}

pub fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Expand a leading `~/` against the managed home.
pub fn expand_tilde(p: &str, home: &Path) -> PathBuf {
    match p.strip_prefix("~/") {
        Some(rest) => home.join(rest),
        None if p == "~" => home.to_path_buf(),
        None => PathBuf::from(p),
    }
}
