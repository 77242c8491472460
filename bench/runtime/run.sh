#!/usr/bin/env bash
# bench/runtime/run.sh — aiorch's MCP server and runtime against PAL MCP, side by side.
#   1. cold start: spawn → initialize → tools/list answered (median of 20)
#   2. tool schema size: the whole tools/list result, cl100k tokens (tiktoken)
#   3. consensus of 5 fake models that each take 1 s (wall), and 3 models; PAL's sequential
#      multi-step consensus against the same kind of fake for reference
#   4. runtime overhead per call vs a direct HTTP call
# Needs: a release build (`cargo build --release`) and the mcp-bench harness (MCPB: default
# ../shared/tools/mcp-bench beside the checkout; its install.sh provides PAL and tiktoken).
# Env: AIORCH_BIN, MCPB, AIORCH_LAB, REPS, N. Prints a results table.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd); ROOT=$(cd "$HERE/../.." && pwd)
AIORCH_BIN=${AIORCH_BIN:-$ROOT/target/release/aiorch}
MCPB=${MCPB:-$ROOT/../shared/tools/mcp-bench}
[ -f "$MCPB/mcp_coldstart.py" ] || { echo "bench/runtime/run.sh: no mcp-bench harness at $MCPB (set MCPB)" >&2; exit 2; }
MCPB=$(cd "$MCPB" && pwd)
LAB=${AIORCH_LAB:-$HOME/.cache/aiorch-lab}/mcp-bench
N=${N:-20}; REPS=${REPS:-5}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
printf '[secrets]\nbackend = "env"\n' >"$T/aiorch.toml"
SERVER=("$AIORCH_BIN" --home "$T/home" --state-dir "$T/state" mcp serve)
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); aiorch $("$AIORCH_BIN" --version)"

echo; echo "== 1. cold start (spawn -> tools/list answered), n=$N"
python3 "$MCPB/mcp_coldstart.py" -n "$N" --quiet --env "AIORCH_CONFIG=$T/aiorch.toml" -- "${SERVER[@]}" | tail -3
if [ -x "$LAB/venv/bin/pal-mcp-server" ]; then
  echo "-- PAL MCP 11.8.2 (same harness)"
  ( . "$MCPB/pal_env.sh" 9 0; python3 "$MCPB/mcp_coldstart.py" -n "$N" --quiet -- "$LAB/venv/bin/pal-mcp-server" | tail -3 )
fi

echo; echo "== 2. tools/list size"
TOKPY=python3; [ -x "$LAB/toolsvenv/bin/python" ] && TOKPY=$LAB/toolsvenv/bin/python
export TIKTOKEN_CACHE_DIR=$LAB/tiktoken_cache
AIORCH_CONFIG=$T/aiorch.toml "$TOKPY" "$MCPB/mcp_tools_tokens.py" --out "$T/tools_list.json" --per-tool -- "${SERVER[@]}" | tail -12
if [ -x "$LAB/venv/bin/pal-mcp-server" ]; then
  echo "-- PAL MCP 11.8.2 (default tool set)"
  ( . "$MCPB/pal_env.sh" 9 0; "$TOKPY" "$MCPB/mcp_tools_tokens.py" --out "$T/pal_tools_list.json" -- "$LAB/venv/bin/pal-mcp-server" | tail -1 )
fi

if command -v hyperfine >/dev/null; then
  echo; echo "== CLI: aiorch route (process start, config, registry, ledger, routing), hyperfine"
  AIORCH_CONFIG=$T/aiorch.toml hyperfine -N -w 3 -r "${N}" --style basic "$AIORCH_BIN --home $T/home --state-dir $T/state route 'fix the typo in README'" 2>&1 | grep -E 'Time|Range'
fi

echo; echo "== 3+4. consensus wall time and per-call overhead (aiorch)"
python3 "$HERE/consensus_overhead.py" "$AIORCH_BIN" --reps "$REPS" --calls "${CALLS:-300}" --stream
if [ -x "$LAB/venv/bin/pal-mcp-server" ] && [ "${PAL_CONSENSUS:-1}" = 1 ]; then
  echo "-- PAL MCP 11.8.2 consensus (sequential, one model per agent step), models answer in 1 s"
  FAKEAPI=$(cd "$MCPB/../clients/fakeapi" && pwd)/fake_llm_api.py
  python3 -u "$FAKEAPI" 0 "$T/palfake" >"$T/palfake.out" 2>&1 &
  FPID=$!
  for _ in $(seq 50); do grep -q 'fake api on' "$T/palfake.out" 2>/dev/null && break; sleep 0.1; done
  FPORT=$(sed -n 's/.*127.0.0.1:\([0-9]*\).*/\1/p' "$T/palfake.out" | head -1)
  ( . "$MCPB/pal_env.sh" "$FPORT" 1; python3 "$MCPB/pal_consensus_bench.py" --fake-port "$FPORT" --fake-logdir "$T/palfake" --delay 1 --reps "${PAL_REPS:-3}" -- "$LAB/venv/bin/pal-mcp-server" 2>/dev/null | grep -iE 'median|consensus|chat' | tail -6 ) || true
  kill "$FPID" 2>/dev/null || true
fi
