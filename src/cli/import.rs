//! `aiorch import`: write the config (and agentsmd tree) that brings the existing setup under
//! aiorch; with `--store-secrets`, put the tokens it found into the secrets backend.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::json;

use super::ImportArgs;
use crate::apply::fsutil::write_atomic;
use crate::config::{self, Client, Config};
use crate::error::{CliError, Exit};
use crate::import::{self, Import, read, render};
use crate::paths::Paths;
use crate::ui::Ui;

pub fn import(ui: &Ui, paths: &Paths, a: ImportArgs) -> anyhow::Result<Exit> {
    let sources: Vec<Client> = match &a.from {
        Some(f) if !f.is_empty() => Client::ALL.into_iter().filter(|s| f.contains(s)).collect(),
        _ => Client::ALL.to_vec(),
    };
    let base = config::load(&paths.config_file, false)?;
    let out: Option<PathBuf> = match (&a.out, a.nix) {
        (Some(o), _) => Some(crate::paths::absolute(o)),
        (None, true) => None,
        (None, false) => Some(paths.config_file.clone()),
    };
    let beside = out.as_deref().unwrap_or(&paths.config_file).parent().map(Path::to_path_buf).unwrap_or_default();
    let tree_dir = crate::paths::absolute(&a.agentsmd.clone().unwrap_or_else(|| beside.join("agentsmd")));
    if !a.dry_run
        && !a.force
        && let Some(o) = &out
        && o.exists()
    {
        return Err(CliError::bad_input(format!("{} already exists", paths.display(o)))
            .hint("write elsewhere with --out FILE, or replace it with --force; nothing was changed")
            .into());
    }

    let mut imp = import::collect(paths, &sources)?;
    import::keep_remote_secrets(&mut imp, &base);
    let cfg = import::to_config(&imp, Some(&paths.display(&tree_dir)), &base);
    let text = if a.nix { render::nix(&imp, &cfg) } else { render::toml(&imp, &cfg) };
    // What apply will read must load: a failure here is aiorch's bug, never the user's files.
    let reparsed = config::parse_str(&render::toml(&imp, &cfg), config::Format::Toml, "imported config")?;
    crate::mcp::registry::resolve(&reparsed.mcp, paths)?;
    let adopt = differing(paths, &reparsed, &sources)?;

    let clashes: Vec<String> = imp
        .tree
        .iter()
        .filter(|f| fs_err::read(tree_dir.join(&f.rel)).is_ok_and(|b| b != f.bytes))
        .map(|f| paths.display(&tree_dir.join(&f.rel)))
        .collect();
    if !a.dry_run && !a.force && !clashes.is_empty() {
        return Err(CliError::bad_input(format!(
            "the agentsmd tree already holds other text in {}",
            clashes.join(", ")
        ))
        .hint("choose another tree with --agentsmd DIR, or overwrite with --force; nothing was changed")
        .into());
    }

    let mut stored = vec![];
    if !a.dry_run {
        for f in &imp.tree {
            let p = tree_dir.join(&f.rel);
            fs_err::create_dir_all(p.parent().expect("a tree file has a directory"))?;
            write_atomic(&p, &f.bytes, 0o644).map_err(|e| CliError::io("write", &p, &paths.display(&p), e))?;
        }
        if !tree_dir.join("AGENTS.md").exists() {
            // The tree needs one; empty, so clients get no instructions they did not have.
            fs_err::create_dir_all(&tree_dir)?;
            write_atomic(&tree_dir.join("AGENTS.md"), b"", 0o644)?;
        }
        if let Some(o) = &out {
            fs_err::create_dir_all(o.parent().expect("a file has a directory"))?;
            write_atomic(o, text.as_bytes(), 0o644).map_err(|e| CliError::io("write", o, &paths.display(o), e))?;
        }
        if a.store_secrets && !imp.secrets.is_empty() {
            let store = crate::secrets::open(&cfg.secrets, paths)?;
            for s in &imp.secrets {
                crate::secrets::validate_value(&s.name, &s.value)?;
                store.set(&s.name, &s.value)?;
                stored.push(s.name.clone());
            }
        }
    }

    if ui.json {
        ui.json(&json!({
            "dry_run": a.dry_run,
            "from": sources,
            "out": out.as_ref().map(|o| o.display().to_string()),
            "agentsmd": tree_dir.display().to_string(),
            "servers": imp.servers,
            "conflicts": imp.conflicts,
            "not_imported": imp.not_imported,
            "secrets": imp.secrets,
            "stored_secrets": stored,
            "tree": imp.tree,
            "adopt": adopt,
            "notes": imp.notes,
            "config": if out.is_none() || a.dry_run { Some(&text) } else { None },
        }));
        return Ok(Exit::Ok);
    }
    if out.is_none() || a.dry_run {
        ui.data(text.trim_end());
    }
    report(ui, paths, &a, &imp, out.as_deref(), &tree_dir, &stored, &adopt);
    Ok(Exit::Ok)
}

#[allow(clippy::too_many_arguments)]
fn report(
    ui: &Ui,
    paths: &Paths,
    a: &ImportArgs,
    imp: &Import,
    out: Option<&Path>,
    tree_dir: &Path,
    stored: &[String],
    adopt: &[String],
) {
    let say = |m: &str| if a.dry_run || out.is_none() { ui.note(m) } else { ui.out(m) };
    let merged = imp.servers.iter().filter(|s| s.from.len() > 1).count();
    let commands = imp.tree.iter().filter(|t| t.rel.starts_with("commands/")).count();
    let rules = imp.policy.as_ref().map_or(0, |p| {
        p.iter().map(|r| r.commands.len() + r.read.len() + r.write.len() + r.hosts.len() + r.mcp.len()).sum()
    });
    say(&format!(
        "{}{} MCP server(s) ({merged} defined in several clients, merged), {} instruction file(s), {commands} \
         command(s), {} marketplace(s), {} plugin(s), {rules} permission rule(s)",
        if a.dry_run { "would import " } else { "imported " },
        imp.servers.len(),
        imp.tree.len() - commands,
        imp.marketplaces.len(),
        imp.enabled_plugins.len(),
    ));
    if !a.dry_run {
        if let Some(o) = out {
            say(&format!("wrote {}", paths.display(o)));
        }
        say(&format!("wrote the agentsmd tree {} ({} file(s))", paths.display(tree_dir), imp.tree.len()));
    }
    for c in &imp.conflicts {
        ui.warn(&format!("not imported: `{}` from {}: {}", c.name, c.from.join(", "), c.why));
    }
    for n in &imp.not_imported {
        ui.warn(&format!("not imported: {n}"));
    }
    for n in &imp.notes {
        ui.note(n);
    }
    for s in &imp.secrets {
        if stored.contains(&s.name) {
            say(&format!("stored secret {} (from {}) in the secrets backend", s.name, s.found_in));
        } else {
            ui.note(&format!(
                "secret {} (from {}) is not in the config: store it with `aiorch secrets set {}`{}",
                s.name,
                s.found_in,
                s.name,
                if a.dry_run { "" } else { ", or run the import again with --store-secrets --force" }
            ));
        }
    }
    if !a.dry_run && out.is_some() {
        let adopt: Vec<String> = adopt.iter().map(|n| format!(" --adopt {n}")).collect();
        say(&format!(
            "next: `aiorch apply --dry-run`, then `aiorch apply{}` (each adopted entry is kept in the ledger: \
             `aiorch revert` gives the home back as it is now)",
            adopt.join("")
        ));
    }
}

/// Servers whose entry aiorch will write differs from what a client has under that name now
/// (secrets lifted out, a spelling aiorch normalises): the `--adopt` names apply needs.
fn differing(paths: &Paths, cfg: &Config, sources: &[Client]) -> anyhow::Result<Vec<String>> {
    let tree = crate::agentsmd::Tree::embedded();
    let ctx = crate::clients::Ctx { paths, config: cfg, tree: &tree };
    let servers = crate::mcp::registry::resolve(&cfg.mcp, paths)?;
    let mut out = BTreeSet::new();
    // Only the clients read: the servers go to no other (and another's file may not even parse).
    for &c in sources.iter().filter(|s| **s != Client::Aider) {
        let Some(doc) = read::read_doc(&read::mcp_file(c, paths), paths)? else { continue };
        let root = match c {
            Client::Codex => "mcp_servers",
            Client::Opencode => "mcp",
            _ => "mcpServers",
        };
        for s in servers.iter().filter(|s| s.wants(c)) {
            let Some(theirs) = doc.get(root).and_then(|m| m.get(&s.name)) else { continue };
            if crate::clients::mcp_entry(c, &ctx, s).value.as_ref() != Some(theirs) {
                out.insert(s.name.clone());
            }
        }
        // OpenCode's `permission` is one value aiorch owns whole: the user's is taken over.
        if c == Client::Opencode
            && cfg.policy.enable
            && cfg.policy.clients.opencode
            && let Some(theirs) = doc.get("permission")
        {
            let p = &cfg.policy;
            let policy = crate::policy::Policy::build(
                &crate::policy::PolicyFile::default(),
                p.posture,
                [&p.allow, &p.ask, &p.deny],
                "the imported config",
            )?;
            if crate::import::permission::rendered(paths, &policy) != *theirs {
                out.insert("permission".into());
            }
        }
    }
    Ok(out.into_iter().collect())
}
