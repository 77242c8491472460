#!/usr/bin/env bash
# nix/tests/update-fixtures.sh
# Rewrites nix/tests/fixtures/{hm,darwin,compose}-config.json: the JSON config that the
# home-manager module renders from nix/tests/hm-test.nix (and compose-test.nix) and the
# nix-darwin module from nix/tests/darwin-test.nix, compose-claude.json (what compose-test.nix
# hands to programs.claude-code), and compose-clients-config.json +
# compose-{codex,gemini,opencode,aider}.json (compose-clients-test.nix: what programs.codex /
# gemini-cli / opencode / aider-chat get), and compose-instructions.json / compose-commands.json
# (aiorch's instructions and commands as Nix reads them from fixtures/agentsmd,
# compose-instructions-test.nix). The flake check
# `fixtures` fails while they differ;
# the Rust tests feed the configs to `aiorch apply --config` and `aiorch render`.
# Store paths are written as /nix/store/…/REST, so the files hold on any nixpkgs. Evaluates with real home-manager / nix-darwin
# and the offline stub nixpkgs of the Nix tools dir (AIORCH_NIX_TOOLS, default
# ../shared/tools/nix beside the checkout): needs the sources (MIRRORS, or HM_SRC, DARWIN_SRC,
# NIXPKGS_LIB_SRC; see nix/README.md) fetched by its get-sources.sh. Exit 77 (nothing written)
# when they are missing. ~2 s.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NIXDIR=$(dirname "$HERE")
TOOLS=${AIORCH_NIX_TOOLS:-$(cd "$NIXDIR/../.." && pwd)/shared/tools/nix}
[ -x "$TOOLS/eval-hm-module.sh" ] || { echo "SKIP (nothing written): no Nix tools dir at $TOOLS (set AIORCH_NIX_TOOLS)" >&2; exit 77; }
render() { # OUT EVAL-SCRIPT EXPR MODULE...
  local out=$1 script=$2 expr=$3; shift 3
  local json
  json=$("$TOOLS/$script" -e "$expr" "$@")
  printf '%s' "$json" | python3 -c '
import json, re, sys
def unstore(v):
    if isinstance(v, dict): return {k: unstore(x) for k, x in v.items()}
    if isinstance(v, list): return [unstore(x) for x in v]
    if isinstance(v, str): return re.sub(r"^/nix/store/[^/]+", "/nix/store/\u2026", v)
    return v
print(json.dumps(unstore(json.load(sys.stdin)), indent=2, sort_keys=True, ensure_ascii=False))' > "$out.tmp"
  mv "$out.tmp" "$out"
  echo "wrote $out"
}
render "$HERE/fixtures/hm-config.json" eval-hm-module.sh 'cfg.programs.aiorch.finalSettings' \
  "$NIXDIR/hm-module.nix" "$HERE/hm-test.nix"
render "$HERE/fixtures/darwin-config.json" eval-darwin-module.sh 'cfg.services.aiorch.finalSettings' \
  "$NIXDIR/darwin-module.nix" "$HERE/darwin-test.nix"
render "$HERE/fixtures/compose-config.json" eval-hm-module.sh 'cfg.programs.aiorch.finalSettings' \
  "$NIXDIR/hm-module.nix" "$HERE/compose-test.nix"
render "$HERE/fixtures/compose-claude.json" eval-hm-module.sh 'cfg.programs.aiorch.claudeSettingsFragment' \
  "$NIXDIR/hm-module.nix" "$HERE/compose-test.nix"
render "$HERE/fixtures/compose-clients-config.json" eval-hm-module.sh 'cfg.programs.aiorch.finalSettings' \
  "$NIXDIR/hm-module.nix" "$HERE/compose-clients-test.nix"
for c in codex gemini opencode aider; do
  render "$HERE/fixtures/compose-$c.json" eval-hm-module.sh "cfg.programs.aiorch.clientSettingsFragments.$c" \
    "$NIXDIR/hm-module.nix" "$HERE/compose-clients-test.nix"
done
render "$HERE/fixtures/compose-instructions.json" eval-hm-module.sh 'cfg.programs.aiorch.instructionsText' \
  "$NIXDIR/hm-module.nix" "$HERE/compose-instructions-test.nix"
render "$HERE/fixtures/compose-commands.json" eval-hm-module.sh 'cfg.programs.aiorch.commandsFragments' \
  "$NIXDIR/hm-module.nix" "$HERE/compose-instructions-test.nix"
