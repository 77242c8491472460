//! Copilot CLI 1.0. Reads `~/.copilot/copilot-instructions.md`; it has no commands directory:
//! skills (`~/.copilot/skills/NAME/SKILL.md`) are its slash commands. `config.json` is rewritten
//! on every run and never touched; `mcp-config.json` gets merged keys only.

use super::Ctx;
use crate::apply::Artifact;

pub fn artifacts(ctx: &Ctx) -> anyhow::Result<Vec<Artifact>> {
    let dir = ctx.paths.in_home(".copilot");
    let mut out = vec![Artifact::link("copilot", dir.join("copilot-instructions.md"), ctx.tree.instructions_target(ctx.paths))];
    out.extend(super::skills("copilot", dir.join("skills"), ctx)?);
    Ok(out)
}
