//! Claude Code plugin marketplaces and plugins (`[plugins]`). The settings.json translation is in
//! `clients/claude.rs`; `aiorch plugins sync` (install now through `claude plugin …`) is in
//! `mcp/sync.rs`. Claude's own files under `~/.claude/plugins/` are only ever read.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::plugins::{Marketplace, PluginsConfig, Source};
use crate::error::CliError;
use crate::paths::Paths;

pub const SKILLS_MKT: &str = "anthropic-agent-skills";
pub const OFFICIAL_MKT: &str = "claude-plugins-official";

/// The marketplaces and plugins `defaults = true` adds (names from the repositories'
/// `.claude-plugin/marketplace.json`).
fn default_set() -> (Vec<(String, Marketplace)>, Vec<String>) {
    let gh = |repo: &str| Marketplace { source: Source::Github { repo: repo.into(), git_ref: None, path: None } };
    (
        vec![
            (SKILLS_MKT.into(), gh("anthropics/skills")),
            (OFFICIAL_MKT.into(), gh("anthropics/claude-plugins-official")),
        ],
        vec![format!("document-skills@{SKILLS_MKT}"), format!("example-skills@{SKILLS_MKT}")],
    )
}

/// A plugin to enable, split.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct PluginId {
    pub plugin: String,
    pub marketplace: String,
}

impl std::fmt::Display for PluginId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}", self.plugin, self.marketplace)
    }
}

/// The declared set, defaults included, validated; user entries override defaults of the same name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Declared {
    pub marketplaces: BTreeMap<String, Marketplace>,
    pub enabled: Vec<PluginId>,
}

pub fn declared(cfg: &PluginsConfig, paths: &Paths) -> Result<Declared, CliError> {
    let mut d = Declared::default();
    let mut enabled: Vec<String> = vec![];
    if cfg.defaults {
        let (m, e) = default_set();
        d.marketplaces.extend(m);
        enabled.extend(e);
    }
    for (name, m) in &cfg.marketplaces {
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.') {
            return Err(CliError::bad_input(format!(
                "plugins.marketplaces.{name}: marketplace names are kebab-case (the `name` in its marketplace.json)"
            )));
        }
        let source = match &m.source {
            Source::Directory { path } => {
                let p = crate::paths::expand_tilde(path, &paths.home);
                if !p.is_absolute() {
                    return Err(CliError::bad_input(format!(
                        "plugins.marketplaces.{name}.source.path: `{path}` must be absolute (or start with ~/)"
                    )));
                }
                Source::Directory { path: p.display().to_string() }
            }
            Source::Github { repo, .. } if repo.split('/').count() != 2 || repo.split('/').any(str::is_empty) => {
                return Err(CliError::bad_input(format!(
                    "plugins.marketplaces.{name}.source.repo: `{repo}` is not `owner/repo`"
                )));
            }
            other => other.clone(),
        };
        d.marketplaces.insert(name.clone(), Marketplace { source });
    }
    enabled.extend(cfg.enabled.iter().cloned());
    for e in enabled {
        let id = match e.split_once('@') {
            Some((p, m)) if !p.is_empty() && !m.is_empty() && !m.contains('@') => {
                PluginId { plugin: p.into(), marketplace: m.into() }
            }
            _ => return Err(CliError::bad_input(format!("plugins.enabled: `{e}` is not `plugin@marketplace`"))),
        };
        if !d.enabled.contains(&id) {
            d.enabled.push(id);
        }
    }
    Ok(d)
}

impl Marketplace {
    /// The value Claude keeps in `extraKnownMarketplaces.NAME`.
    pub fn to_claude(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("marketplace serialises")
    }

    /// The argument `claude plugin marketplace add` accepts for this source, if any
    /// (it refuses `file://` git URLs; `owner/repo` and https URLs are fine).
    pub fn add_argument(&self) -> Option<String> {
        match &self.source {
            Source::Directory { path } => Some(path.clone()),
            Source::Github { repo, git_ref: None, path: None } => Some(repo.clone()),
            Source::Git { url, git_ref: None, path: None } if !url.starts_with("file://") => Some(url.clone()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths() -> Paths {
        Paths { home: "/h".into(), state_dir: "/s".into(), config_file: "/c".into(), config_explicit: false }
    }

    #[test]
    fn defaults_are_the_anthropic_marketplaces_with_document_and_example_skills() {
        let d = declared(&PluginsConfig::default(), &paths()).unwrap();
        assert_eq!(d.marketplaces.keys().collect::<Vec<_>>(), ["anthropic-agent-skills", "claude-plugins-official"]);
        assert_eq!(
            d.marketplaces["anthropic-agent-skills"].to_claude(),
            serde_json::json!({"source": {"source": "github", "repo": "anthropics/skills"}})
        );
        assert_eq!(
            d.enabled.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["document-skills@anthropic-agent-skills", "example-skills@anthropic-agent-skills"]
        );
    }

    #[test]
    fn sources_parse_and_translate() {
        let cfg: crate::config::Config = crate::config::parse_str(
            "[plugins]\ndefaults = false\nenabled = [\"hello@demo\"]\n[plugins.marketplaces.demo]\n\
             source = { source = \"directory\", path = \"~/mkt\" }\n[plugins.marketplaces.g.source]\nsource = \"git\"\n\
             url = \"file:///x.git\"\nref = \"main\"\n",
            crate::config::Format::Toml,
            "t.toml",
        )
        .unwrap();
        let d = declared(&cfg.plugins, &paths()).unwrap();
        assert_eq!(
            d.marketplaces["demo"].to_claude(),
            serde_json::json!({"source": {"source": "directory", "path": "/h/mkt"}})
        );
        assert_eq!(
            d.marketplaces["g"].to_claude(),
            serde_json::json!({"source": {"source": "git", "url": "file:///x.git", "ref": "main"}})
        );
        assert_eq!(d.marketplaces["demo"].add_argument().as_deref(), Some("/h/mkt"));
        assert_eq!(d.marketplaces["g"].add_argument(), None);
        let bad = crate::config::parse_str(
            "[plugins.marketplaces.x]\nsource = { source = \"github\", repo = \"a/b\", branch = \"x\" }\n",
            crate::config::Format::Toml,
            "t.toml",
        );
        assert!(bad.is_err());
        // The JSON the Nix modules write: Claude's own shape.
        let j = crate::config::parse_str(
            r#"{"plugins": {"marketplaces": {"m": {"source": {"repo": "a/b", "source": "github"}}}}}"#,
            crate::config::Format::Json,
            "c.json",
        )
        .unwrap();
        assert_eq!(
            j.plugins.marketplaces["m"].source,
            Source::Github { repo: "a/b".into(), git_ref: None, path: None }
        );
        let e = declared(&PluginsConfig { enabled: vec!["nope".into()], ..Default::default() }, &paths()).unwrap_err();
        assert_eq!(e.message, "plugins.enabled: `nope` is not `plugin@marketplace`");
    }
}
