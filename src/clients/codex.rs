//! Codex CLI 0.169. Reads `~/.codex/AGENTS.md`; `~/.codex/prompts/` is no longer loaded, so
//! commands become skills (`~/.codex/skills/NAME/SKILL.md`). `config.toml` is written by the TUI
//! too (trust entries, `[tui]`): merged tables only, comments kept.

use super::Ctx;
use crate::apply::Artifact;

pub fn artifacts(ctx: &Ctx) -> anyhow::Result<Vec<Artifact>> {
    let dir = ctx.paths.in_home(".codex");
    let mut out = vec![Artifact::link("codex", dir.join("AGENTS.md"), ctx.tree.instructions_target(ctx.paths))];
    out.extend(super::skills("codex", dir.join("skills"), ctx)?);
    Ok(out)
}
