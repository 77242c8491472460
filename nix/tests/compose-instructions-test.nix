# compose-clients-test.nix with instructions of the user's in the client modules: text for Codex
# and Gemini CLI (aiorch's instructions join it in that file, after it), a file for OpenCode (not
# joined: a warning). aiorch's agentsmd tree is the small nix/tests/fixtures/agentsmd (dot file,
# nested rule, a rule and an AGENTS.md without a final newline); its composed instructions are
# nix/tests/fixtures/compose-instructions.json, which the Rust test nix_fixtures compares with
# what the binary composes from the same tree.
{ options, ... }:
{
  imports = [ ./compose-clients-test.nix ];

  programs.aiorch.agentsmd.source = ./fixtures/agentsmd;

  programs.codex =
    if options.programs.codex ? context then { context = "be brief"; } else { custom-instructions = "be brief"; };
  # (renamed programs.antigravity-cli on home-manager master: an alias definition)
  programs.gemini-cli.context.AGENTS = "be kind";
  programs.opencode =
    if options.programs.opencode ? context then
      { context = ./fixtures/agentsmd/AGENTS.md; }
    else
      { rules = ./fixtures/agentsmd/AGENTS.md; };
}
