#!/usr/bin/env bash
# nix/tests/update-fixtures.sh
# Rewrites nix/tests/fixtures/{hm,darwin}-config.json: the JSON config that the home-manager
# module renders from nix/tests/hm-test.nix and the nix-darwin module from
# nix/tests/darwin-test.nix (the flake check `fixtures` fails while they differ; the Rust tests
# feed these files to `aiorch apply --config`). Evaluates with real home-manager / nix-darwin
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
  printf '%s' "$json" | python3 -c 'import json, sys; print(json.dumps(json.load(sys.stdin), indent=2, sort_keys=True))' > "$out.tmp"
  mv "$out.tmp" "$out"
  echo "wrote $out"
}
render "$HERE/fixtures/hm-config.json" eval-hm-module.sh 'cfg.programs.aiorch.finalSettings' \
  "$NIXDIR/hm-module.nix" "$HERE/hm-test.nix"
render "$HERE/fixtures/darwin-config.json" eval-darwin-module.sh 'cfg.services.aiorch.finalSettings' \
  "$NIXDIR/darwin-module.nix" "$HERE/darwin-test.nix"
