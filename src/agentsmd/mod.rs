//! The agentsmd source tree: AGENTS.md, rules/, workflows/, docs/, commands/. Either the tree
//! embedded in the binary (so `aiorch apply` works with no checkout) or a live checkout named by
//! `agentsmd.source`, whose files clients then link to directly.

mod command;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use command::{Command, RENDERED_MARK};

use crate::apply::Artifact;
use crate::config::Agentsmd;
use crate::error::CliError;
use crate::paths::{Paths, expand_tilde};

static EMBEDDED: include_dir::Dir<'static> = include_dir::include_dir!("$CARGO_MANIFEST_DIR/agentsmd");

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Embedded,
    Dir(PathBuf),
}

pub struct Tree {
    pub origin: Origin,
    /// Relative path (with `/`) → content.
    files: BTreeMap<String, Vec<u8>>,
}

impl Tree {
    pub fn load(cfg: &Agentsmd, paths: &Paths) -> anyhow::Result<Tree> {
        match &cfg.source {
            None => Ok(Tree::embedded()),
            Some(src) => Tree::from_dir(&expand_tilde(src, &paths.home)),
        }
    }

    pub fn embedded() -> Tree {
        let mut files = BTreeMap::new();
        collect_embedded(&EMBEDDED, &mut files);
        Tree { origin: Origin::Embedded, files }
    }

    pub fn from_dir(root: &Path) -> anyhow::Result<Tree> {
        let root = crate::paths::absolute(root);
        if !root.join("AGENTS.md").is_file() {
            return Err(CliError::bad_input(format!("agentsmd.source {} has no AGENTS.md", root.display()))
                .hint(
                    "point agentsmd.source at a directory with AGENTS.md (and optionally rules/, workflows/, docs/, \
                     commands/), or remove it to use the built-in tree",
                )
                .into());
        }
        let mut files = BTreeMap::new();
        collect_dir(&root, &root, &mut files)?;
        Ok(Tree { origin: Origin::Dir(root), files })
    }

    pub fn get(&self, rel: &str) -> Option<&[u8]> {
        self.files.get(rel).map(Vec::as_slice)
    }

    pub fn files(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.files.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }

    fn under<'a>(&'a self, dir: &'a str, ext: &'a str) -> impl Iterator<Item = (&'a str, &'a [u8])> + 'a {
        self.files().filter(move |(p, _)| p.starts_with(dir) && p.ends_with(ext))
    }

    pub fn commands(&self) -> anyhow::Result<Vec<Command>> {
        self.under("commands/", ".md").map(|(rel, bytes)| Command::parse(rel, bytes)).collect()
    }

    /// A workflow's text (e.g. `orchestrator-prompt`).
    pub fn workflow(&self, name: &str) -> Option<String> {
        self.get(&format!("workflows/{name}.md")).map(|b| String::from_utf8_lossy(b).into_owned())
    }

    /// The file a client should link to for `rel`: the live checkout, or aiorch's copy of the
    /// embedded tree in the state dir.
    pub fn link_target(&self, rel: &str, paths: &Paths) -> PathBuf {
        match &self.origin {
            Origin::Dir(root) => root.join(rel),
            Origin::Embedded => materialized_root(paths).join(rel),
        }
    }

    /// The instructions every client reads: AGENTS.md, followed by each rule file. With no
    /// rules this is AGENTS.md itself (so a live checkout's edits show up at once); with rules
    /// it is composed into the state dir and re-composed by `apply` (`doctor` says when stale).
    pub fn instructions_target(&self, paths: &Paths) -> PathBuf {
        if self.under("rules/", ".md").next().is_none() {
            self.link_target("AGENTS.md", paths)
        } else {
            paths.generated().join("instructions/AGENTS.md")
        }
    }

    fn composed_instructions(&self) -> Vec<u8> {
        let mut out = self.get("AGENTS.md").unwrap_or_default().to_vec();
        for (rel, body) in self.under("rules/", ".md") {
            if !out.ends_with(b"\n") {
                out.push(b'\n');
            }
            out.extend_from_slice(format!("\n<!-- aiorch: {rel} -->\n").as_bytes());
            out.extend_from_slice(body);
        }
        out
    }

    /// What the tree itself needs on disk: the embedded files (link targets) and the composed
    /// instructions.
    pub fn artifacts(&self, paths: &Paths) -> Vec<Artifact> {
        let mut out = vec![];
        if self.origin == Origin::Embedded {
            let root = materialized_root(paths);
            out.extend(self.files().map(|(rel, bytes)| Artifact::file("agentsmd", root.join(rel), bytes)));
        }
        let target = self.instructions_target(paths);
        if target.starts_with(paths.generated().join("instructions")) {
            out.push(Artifact::file("agentsmd", target, self.composed_instructions()));
        }
        out
    }
}

fn materialized_root(paths: &Paths) -> PathBuf {
    paths.generated().join("agentsmd")
}

fn collect_embedded(dir: &include_dir::Dir<'static>, out: &mut BTreeMap<String, Vec<u8>>) {
    for f in dir.files() {
        out.insert(f.path().to_string_lossy().replace('\\', "/"), f.contents().to_vec());
    }
    for d in dir.dirs() {
        collect_embedded(d, out);
    }
}

fn collect_dir(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) -> anyhow::Result<()> {
    let mut entries: Vec<_> = fs_err::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let path = e.path();
        if path.is_dir() {
            collect_dir(root, &path, out)?;
        } else if path.is_file() {
            let rel = path.strip_prefix(root).expect("under root").to_string_lossy().replace('\\', "/");
            out.insert(rel, fs_err::read(&path)?);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_tree_has_the_required_content() {
        let t = Tree::embedded();
        for f in [
            "AGENTS.md",
            "workflows/orchestrator-prompt.md",
            "workflows/benchmark-guide.md",
            "docs/keychain-setup.md",
            "docs/command-comparison.md",
        ] {
            assert!(t.get(f).is_some(), "missing {f}");
        }
        let names: Vec<String> = t.commands().unwrap().into_iter().map(|c| c.name).collect();
        for c in ["ai-go", "review", "consensus"] {
            assert!(names.iter().any(|n| n == c), "missing command {c}");
        }
        assert!(t.workflow("orchestrator-prompt").unwrap().contains("{{task}}"));
    }
}
