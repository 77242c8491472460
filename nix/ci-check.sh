#!/usr/bin/env bash
# nix/ci-check.sh — the Nix part of CI (.ci/run calls it); runnable from any directory.
#
# 1. nix-instantiate: installs Debian's nix-bin with apt when it is missing. When apt cannot:
#    under CI=true a failure; elsewhere the Nix checks are reported NOT RUN (exit 0).
# 2. Parses every .nix file of the project with `nix-instantiate --parse` (git-tracked and
#    untracked-but-not-ignored files; target/ and result* never).
# 3. Only when the sources that no registry ships are given (MIRRORS, or HM_SRC + DARWIN_SRC +
#    NIXPKGS_LIB_SRC; see nix/README.md; MIRRORS defaults to a `.mirror` folder beside the
#    checkout when that holds the three mirrors) and the Nix tools dir exists: the offline
#    evaluation with real home-manager and nix-darwin and the stub nixpkgs —
#      a. eval-hm-module.sh for x86_64-linux and aarch64-darwin and eval-darwin-module.sh
#         (aarch64-darwin) of nix/tests/{hm,darwin}-test.nix, and of nix/tests/compose-test.nix
#         (programs.claude-code + programs.mcp + programs.aiorch) for both platforms, with
#         home-manager's default branch (master) and, with MIRRORS, its locked release;
#      b. `nix flake check --no-build --all-systems` with home-manager / nix-darwin from those
#         sources (their default branch), plus building two evaluation-only checks;
#      c. with MIRRORS: the same flake check with home-manager and nix-darwin exactly as locked
#         in flake.lock (seeded from the mirrors; the stub claims the locked release).
#    Without them the evaluation is reported as NOT RUN: not a pass, and not a failure either,
#    since no registry provides those sources. Exit 77 of a tool means the same. Evaluation
#    needs Nix >= 2.18 (nixpkgs lib's fileset); with an older one the tools' setup-nix.sh is
#    tried once.
#
# Prints "nix-check: N passed, M failed, K NOT RUN". Exit 0 = nothing failed; 1 = a parse or
# an evaluation failed (or, under CI=true, Nix could not be installed). ~1 s without sources,
# ~1 min with them.
# Environment: AIORCH_NIX_TOOLS (the Nix tools dir, default: ../shared/tools/nix beside the
# checkout), AIORCH_LAB, AIORCH_NIX_BIN, MIRRORS, HM_SRC, DARWIN_SRC, NIXPKGS_LIB_SRC
# (nix/README.md describes them).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS=${AIORCH_NIX_TOOLS:-$(cd "$ROOT/.." && pwd)/shared/tools/nix}
: "${AIORCH_LAB:=$HOME/.cache/aiorch-lab}"
export AIORCH_LAB

passed=0 failed=0 skipped=0
pass() { passed=$((passed + 1)); echo "ok    $*"; }
fail() { failed=$((failed + 1)); echo "FAIL  $*"; }
skip() { skipped=$((skipped + 1)); echo "NOT RUN  $*"; }
finish() {
  echo "nix-check: $passed passed, $failed failed, $skipped NOT RUN"
  [ "$skipped" = 0 ] || echo "nix-check: $skipped step(s) did NOT run and are not counted as passed"
  [ "$failed" = 0 ]
  exit
}
# run NAME CMD...: a step whose exit 77 means skipped; its output is shown when it fails
run() {
  local name=$1 out rc
  shift
  out=$("$@" 2>&1)
  rc=$?
  case $rc in
    0) pass "$name" ;;
    77) skip "$name: $(printf '%s\n' "$out" | grep -m1 SKIP || echo 'sources missing')" ;;
    *)
      fail "$name (exit $rc)"
      printf '%s\n' "$out" | tail -n 60 | sed 's/^/      /'
      ;;
  esac
  return "$rc"
}

# --- 1. nix-instantiate --------------------------------------------------------------------
if ! command -v nix-instantiate >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "nix-instantiate missing: apt-get install nix-bin"
    export DEBIAN_FRONTEND=noninteractive
    { timeout 300 apt-get update -qq >/dev/null 2>&1 && timeout 300 apt-get install -y -qq nix-bin >/dev/null 2>&1; } ||
      echo "apt-get could not install nix-bin"
  fi
fi
if ! command -v nix-instantiate >/dev/null 2>&1; then
  case ${CI:-} in true|1|yes) fail "parse .nix files: no nix-instantiate and apt-get could not install nix-bin (apt-get install nix-bin)" ;; esac
  skip "parse .nix files: no nix-instantiate and apt-get could not install nix-bin"
  skip "offline evaluation: no Nix"
  finish
fi

# --- 2. parse every .nix file ---------------------------------------------------------------
cd "$ROOT" || exit 1
if git rev-parse --git-dir >/dev/null 2>&1; then
  mapfile -t nixfiles < <(git ls-files --cached --others --exclude-standard -- '*.nix' | sort -u)
else
  mapfile -t nixfiles < <(find . -name '*.nix' -not -path './target/*' -not -path './result*' | sort)
fi
bad=0
for f in "${nixfiles[@]}"; do
  [ -f "$f" ] || continue
  if ! err=$(nix-instantiate --parse "$f" 2>&1 >/dev/null); then
    bad=$((bad + 1))
    # shellcheck disable=SC2001
    printf '%s\n' "$err" | sed 's/^/      /'
  fi
done
if [ "$bad" = 0 ]; then
  pass "parse ${#nixfiles[@]} .nix files (nix-instantiate $(nix-instantiate --version | awk '{print $NF}'))"
else
  fail "parse .nix files: $bad of ${#nixfiles[@]} do not parse"
fi

# --- 3. offline evaluation (only with the sources) ----------------------------------------------
# Mirrors beside the checkout (where a developer machine keeps them, like the tools dir)
if [ -z "${MIRRORS:-}" ] && [ -z "${HM_SRC:-}" ]; then
  beside=$(cd "$ROOT/.." && pwd)/.mirror
  if [ -d "$beside/nix-community+home-manager/repo" ] && [ -d "$beside/nix-darwin+nix-darwin/repo" ] &&
    [ -d "$beside/nix-community+nixpkgs.lib/repo" ]; then
    export MIRRORS=$beside
    echo "MIRRORS unset: using the mirrors beside the checkout ($MIRRORS)"
  fi
fi
if [ -z "${MIRRORS:-}" ] && { [ -z "${HM_SRC:-}" ] || [ -z "${DARWIN_SRC:-}" ]; }; then
  skip "offline evaluation: set MIRRORS (bare mirrors of home-manager, nix-darwin, nixpkgs.lib) or HM_SRC + DARWIN_SRC + NIXPKGS_LIB_SRC"
  finish
fi
if [ ! -x "$TOOLS/flake-check-offline.sh" ]; then
  skip "offline evaluation: no Nix tools dir at $TOOLS (set AIORCH_NIX_TOOLS)"
  finish
fi

# the Nix the tools will use (theirs: AIORCH_NIX_BIN, else $AIORCH_LAB/nix/env.sh, else PATH)
nix_dir() {
  (
    # shellcheck disable=SC1091
    if [ -n "${AIORCH_NIX_BIN:-}" ]; then PATH="$AIORCH_NIX_BIN:$PATH"
    elif [ -f "$AIORCH_LAB/nix/env.sh" ]; then . "$AIORCH_LAB/nix/env.sh"; fi
    dirname "$(command -v nix)"
  )
}
nix_ok() { # Nix >= 2.18 in $1
  local v
  v=$("$1/nix" --version 2>/dev/null | grep -oE '[0-9]+\.[0-9]+(\.[0-9]+)?' | head -n1)
  [ -n "$v" ] && [ "$(printf '%s\n2.18\n' "$v" | sort -V | head -n1)" = 2.18 ]
}
NIXBIN=$(nix_dir)
if ! nix_ok "$NIXBIN"; then
  echo "Nix in $NIXBIN is older than 2.18: trying $TOOLS/setup-nix.sh --newer trixie"
  timeout 600 "$TOOLS/setup-nix.sh" --newer trixie >/dev/null 2>&1 || true
  NIXBIN=$(nix_dir)
fi
if ! nix_ok "$NIXBIN"; then
  skip "offline evaluation: needs Nix >= 2.18 ($TOOLS/setup-nix.sh --newer sid provides one)"
  finish
fi
export AIORCH_NIX_BIN=$NIXBIN

# A flake sees only git-tracked files: evaluate a scratch copy holding every file of the work
# tree that git does not ignore (new files included), never target/.
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/aiorch-nix-check.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT
FLAKE=$SCRATCH/flake
mkdir -p "$FLAKE"
if git rev-parse --git-dir >/dev/null 2>&1; then
  git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
    tar -c --null -T - -f - | tar -x -C "$FLAKE"
else
  tar -c --exclude=./target --exclude=./.git --exclude='./result*' -f - . | tar -x -C "$FLAKE"
fi
(cd "$FLAKE" && git init -q && git add -A) || { fail "offline evaluation: could not prepare $FLAKE"; finish; }

# compose-test.nix must evaluate to a config listing ~/.claude/settings.json as Nix's and a
# programs.claude-code.settings holding aiorch's policy (the flake check `compose` checks the rest)
COMPOSE_EXPR='assert cfg.programs.aiorch.finalSettings.apply.nix_managed == [ { path = "~/.claude/settings.json"; by = "programs.claude-code"; } ];
  assert cfg.programs.claude-code.settings.permissions.defaultMode == "dontAsk";
  assert cfg.programs.claude-code.package == null;
  builtins.length cfg.programs.claude-code.settings.permissions.deny'
# compose-clients-test.nix: aiorch's servers in programs.codex / gemini-cli / opencode settings
CLIENTS_EXPR='let m = cfg.programs.aiorch.finalSettings.apply.nix_managed; in
  assert builtins.elem { path = "~/.codex/config.toml"; by = "programs.codex"; } m;
  assert cfg.programs.codex.settings.mcp_servers ? filesystem && cfg.programs.codex.settings.model == "o4-mini";
  assert builtins.any (x: x.path == "~/.gemini/settings.json") m;
  map (x: x.path) m'

hm_label=${HM_REF:-}
if [ -z "$hm_label" ] && [ -n "${MIRRORS:-}" ] && [ -z "${HM_SRC:-}" ]; then
  hm_label=$(git --git-dir="$MIRRORS/nix-community+home-manager/repo" rev-parse --abbrev-ref HEAD 2>/dev/null)
fi
hm_label=${hm_label:-as given in HM_SRC}

# a. + b.: the sources as given (their default branches)
if run "sources + stub nixpkgs (get-sources.sh)" "$TOOLS/get-sources.sh" "$ROOT"; then
  run "home-manager module, x86_64-linux (eval-hm-module.sh)" \
    "$TOOLS/eval-hm-module.sh" -s x86_64-linux "$ROOT/nix/hm-module.nix" "$ROOT/nix/tests/hm-test.nix"
  run "home-manager module, aarch64-darwin (eval-hm-module.sh)" \
    "$TOOLS/eval-hm-module.sh" -s aarch64-darwin "$ROOT/nix/hm-module.nix" "$ROOT/nix/tests/hm-test.nix"
  run "nix-darwin module, aarch64-darwin (eval-darwin-module.sh)" \
    "$TOOLS/eval-darwin-module.sh" "$ROOT/nix/darwin-module.nix" "$ROOT/nix/tests/darwin-test.nix"
  for sys in x86_64-linux aarch64-darwin; do
    run "programs.claude-code + programs.mcp + programs.aiorch, $sys, home-manager $hm_label (eval-hm-module.sh)" \
      "$TOOLS/eval-hm-module.sh" -s "$sys" -e "$COMPOSE_EXPR" "$ROOT/nix/hm-module.nix" "$ROOT/nix/tests/compose-test.nix"
    run "programs.codex + gemini-cli + opencode + claude-code + mcp + aiorch, $sys, home-manager $hm_label" \
      "$TOOLS/eval-hm-module.sh" -s "$sys" -e "$CLIENTS_EXPR" "$ROOT/nix/hm-module.nix" \
      "$ROOT/nix/tests/compose-clients-test.nix"
  done
  run "nix flake check --no-build --all-systems (home-manager, nix-darwin from the sources)" \
    "$TOOLS/flake-check-offline.sh" "$FLAKE" \
    --build checks.x86_64-linux.fixtures --build checks.x86_64-linux.hm-module-darwin \
    --build checks.x86_64-linux.compose \
    -- --all-systems
fi

# c. home-manager and nix-darwin as locked in flake.lock (needs the mirrors to seed them)
if [ -n "${MIRRORS:-}" ]; then
  locked() { # NODE FIELD
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["nodes"][sys.argv[2]][sys.argv[3]][sys.argv[4]])' \
      "$ROOT/flake.lock" "$1" "$2" "$3"
  }
  release=$(locked nix-darwin original ref | grep -oE '[0-9]{2}\.[0-9]{2}$' || true)
  if (
    AIORCH_LAB=$AIORCH_LAB/aiorch-locked HM_SRC='' DARWIN_SRC='' STUB_RELEASE=$release
    HM_REF=$(locked home-manager locked rev) || exit 77
    DARWIN_REF=$(locked nix-darwin locked rev) || exit 77
    export AIORCH_LAB HM_SRC DARWIN_SRC STUB_RELEASE HM_REF DARWIN_REF
    "$TOOLS/get-sources.sh" "$ROOT" >/dev/null 2>&1 || exit 77
    for sys in x86_64-linux aarch64-darwin; do
      echo "compose-test.nix, $sys, home-manager $HM_REF:"
      "$TOOLS/eval-hm-module.sh" -s "$sys" -e "$COMPOSE_EXPR" "$ROOT/nix/hm-module.nix" \
        "$ROOT/nix/tests/compose-test.nix" || exit 1
      echo "compose-clients-test.nix, $sys, home-manager $HM_REF:"
      "$TOOLS/eval-hm-module.sh" -s "$sys" -e "$CLIENTS_EXPR" "$ROOT/nix/hm-module.nix" \
        "$ROOT/nix/tests/compose-clients-test.nix" || exit 1
    done
    "$TOOLS/flake-check-offline.sh" "$FLAKE" --locked -- --all-systems
  ) >"$SCRATCH/locked.log" 2>&1; then
    pass "compose-test.nix + compose-clients-test.nix on both platforms + nix flake check --no-build --all-systems (home-manager, nix-darwin as locked; stub nixpkgs ${release:-?})"
  else
    rc=$?
    if [ "$rc" = 77 ]; then
      skip "locked flake check: MIRRORS has no home-manager / nix-darwin / nixpkgs.lib mirror with the locked revisions"
    else
      fail "locked flake check (exit $rc)"
      tail -n 60 "$SCRATCH/locked.log" | sed 's/^/      /'
    fi
  fi
else
  skip "locked flake check: needs MIRRORS to seed the locked home-manager / nix-darwin"
fi

finish
