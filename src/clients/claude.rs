//! Claude Code. Reads `~/.claude/CLAUDE.md` (never `~/.claude/AGENTS.md` by itself, so CLAUDE.md
//! imports it: `@AGENTS.md` works in every version) and `~/.claude/commands/**/*.md` in the
//! source format, so commands are links. `~/.claude.json` is rewritten by Claude on every run:
//! it only ever gets merged keys, never a link or a replacement.

use super::Ctx;
use crate::apply::Artifact;

pub const CLAUDE_MD: &str = "<!-- Managed by aiorch: the instructions live in AGENTS.md (agentsmd/). Edit those, not this file. -->\n@AGENTS.md\n";

pub fn artifacts(ctx: &Ctx) -> anyhow::Result<Vec<Artifact>> {
    let dir = ctx.paths.in_home(".claude");
    let mut out = vec![
        Artifact::link("claude", dir.join("AGENTS.md"), ctx.tree.instructions_target(ctx.paths)),
        Artifact::file("claude", dir.join("CLAUDE.md"), CLAUDE_MD),
    ];
    for cmd in ctx.tree.commands()? {
        out.push(Artifact::link("claude", dir.join("commands").join(format!("{}.md", cmd.name)), ctx.tree.link_target(&cmd.rel, ctx.paths)));
    }
    Ok(out)
}
