//! Gemini CLI 0.61. Context files are the names in `context.fileName` (the v1 key
//! `contextFileName` is ignored now), loaded from `~/.gemini/` and from projects, so listing
//! AGENTS.md there also makes Gemini read project AGENTS.md files. Commands are TOML with
//! `{{args}}`. `settings.json` is the user's (and `gemini mcp add` rewrites it): merged keys only.

use serde_json::json;

use super::Ctx;
use crate::apply::{Artifact, DocFormat};

pub fn artifacts(ctx: &Ctx) -> anyhow::Result<Vec<Artifact>> {
    let dir = ctx.paths.in_home(".gemini");
    let mut out = vec![
        Artifact::link("gemini", dir.join("AGENTS.md"), ctx.tree.instructions_target(ctx.paths)),
        Artifact::key("gemini", dir.join("settings.json"), DocFormat::Json, &["context", "fileName"], json!(["AGENTS.md", "GEMINI.md"])),
    ];
    for cmd in ctx.tree.commands()? {
        out.push(Artifact::file("gemini", dir.join("commands").join(format!("{}.toml", cmd.name)), cmd.to_gemini_toml()));
    }
    Ok(out)
}
