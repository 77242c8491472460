#!/usr/bin/env bash
# runtime-local.sh — the runtime against real local services, no cloud:
#   1. llama-server (llama.cpp) with Gemma 3 270M answers `aiorch ask --local`
#   2. a local-only consensus over two registry entries served by it (with synthesis)
#   3. the ledger: tokens from the server's usage, cost 0, stats
#   4. through the real LiteLLM gateway (when installed): `local-coding` directly, and
#      `coding-model`, whose cloud deployment (a 401 stub) LiteLLM falls back from to the local model
# Uses the services toolkit (shared/tools/services: install-local-model.sh, start-*.sh); the model
# is a base model, so answers are checked for structure (tokens, model, cost), not wording.
# Env: AIORCH_BIN (default: cargo build), SERVICES_KIT, LLAMA_VENV (default: venv-llama-noamx when
# present — a build without AMX, which this VM's CPU advertises but traps — else venv-llama),
# SKIP_GATEWAY=1. Exit 0 = every check passed.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd); ROOT=$(cd "$HERE/../.." && pwd)
KIT=${SERVICES_KIT:-$(cd "$ROOT/../shared/tools/services" 2>/dev/null && pwd || echo /work/shared/tools/services)}
LAB=${AIORCH_LAB:-$HOME/.cache/aiorch-lab}/services
E2E_CACHE=${AIORCH_E2E_CACHE:-$HOME/.cache/aiorch-e2e}
# The project's own portable llama-server and model (services.sh installs them; run.sh runs it
# first), else the shared toolkit's.
if [ -z "${LLAMA_VENV:-}" ]; then
  if [ -x "$E2E_CACHE/llama-portable/venv/bin/python" ]; then LLAMA_VENV=$E2E_CACHE/llama-portable/venv
  elif [ -x "$LAB/venv-llama-noamx/bin/python" ]; then LLAMA_VENV=$LAB/venv-llama-noamx; else LLAMA_VENV=$LAB/venv-llama; fi
fi
export LLAMA_VENV
GGUF=$E2E_CACHE/models/gemma-3-270m-q4_k_m.gguf
[ -f "$GGUF" ] || GGUF=$LAB/models/gemma-3-270m-q4_k_m.gguf
if [ -z "${AIORCH_BIN:-}" ]; then cargo build --quiet --manifest-path "$ROOT/Cargo.toml"; AIORCH_BIN=$ROOT/target/debug/aiorch; fi
pass=0; fail=0
ok() { echo "ok   $*"; pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }
T=$(mktemp -d); PIDS=()
cleanup() { for p in "${PIDS[@]}"; do "$KIT/stop-by-pid.sh" "$p" >/dev/null 2>&1 || true; done; rm -rf "$T"; }
trap cleanup EXIT
started() { sed -n "s/^$1=//p" "$2" | head -1; }

echo "== llama-server ($LLAMA_VENV)"
LLAMA_START_TIMEOUT=120 "$KIT/start-llama-server.sh" "" "$GGUF" >"$T/llama.out" 2>&1 || { tail -5 "$T/llama.out"; exit 1; }
LPORT=$(started PORT "$T/llama.out"); PIDS+=("$(started PID "$T/llama.out")")
grep healthy "$T/llama.out"
cat >"$T/aiorch.toml" <<EOF
[secrets]
backend = "env"

[runtime]
builtin_models = false
timeout_secs = 120
max_tokens = 32

[runtime.local]
url = "http://127.0.0.1:$LPORT/v1"
model = "gemma-3-270m"

[runtime.models.local]
provider = "openai"
endpoint = "local"
context_window = 4096
max_output = 256
tier = 1
roles = { planning = 0.45, coding = 0.5, review = 0.45, search = 0.55 }

[runtime.models.gemma-b]
provider = "openai"
endpoint = "local"
context_window = 4096
max_output = 256
tier = 1
roles = { planning = 0.4, coding = 0.4, review = 0.4, search = 0.4 }
EOF
A=("$AIORCH_BIN" --config "$T/aiorch.toml" --home "$T/home" --state-dir "$T/state")
jq_py() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

echo; echo "== aiorch ask --local"
t0=$(date +%s.%N)
if out=$("${A[@]}" --json ask --local "What is the capital of France?"); then
  t1=$(date +%s.%N)
  echo "$out" | jq_py '"model=%s tokens=%s->%s cost=%s latency=%sms fallbacks=%d" % (d["model"], d["tokens_in"], d["tokens_out"], d["cost"], d["latency_ms"], len(d["fallbacks"]))'
  echo "text: $(echo "$out" | jq_py 'repr(d["text"][:80])')"
  printf 'wall %.2f s\n' "$(echo "$t1 - $t0" | bc)"
  [ "$(echo "$out" | jq_py 'd["model"] == "local" and d["tokens_out"] > 0 and d["cost"] == 0')" = True ] && ok "ask --local answered by llama-server (usage reported, cost 0)" || bad "ask --local: $out"
else
  bad "ask --local failed"
fi
echo "--- streamed (text mode):"
"${A[@]}" ask --local --max-tokens 16 "Name three colours." && ok "ask --local streams" || bad "streamed ask"

echo; echo "== aiorch consensus --local (2 panel members on llama-server, synthesis by the best local model)"
if out=$("${A[@]}" --json consensus --local --models local,gemma-b "Is Rust memory safe without unsafe blocks? Answer yes or no."); then
  echo "$out" | jq_py '"agreement=%s threshold=%s recommendation=%s votes=%s synthesis_by=%s wall=%sms" % (d["agreement"], d["threshold"], d["recommendation"], [(v["model"], v["verdict"], v["error"]) for v in d["votes"]], d["synthesis_model"], d["wall_ms"])'
  [ "$(echo "$out" | jq_py 'all(v["error"] is None for v in d["votes"]) and d["synthesis_model"] == "local"')" = True ] && ok "local-only consensus: every member answered, synthesis by local" || bad "consensus: $out"
else
  bad "consensus --local failed"
fi
"${A[@]}" consensus --local --no-synthesis --models local,gemma-b "Should we ship? yes or no" 2>"$T/progress.txt" | sed -n 1,6p
grep -q '\[2/2\]' "$T/progress.txt" && ok "consensus progress on stderr" || bad "no progress lines: $(cat "$T/progress.txt")"

echo; echo "== aiorch go --local (no agent CLI in local mode: the builtin feature pipeline on llama-server)"
if "${A[@]}" go --local --out "$T/report.md" "add a --verbose flag to a CLI" 2>"$T/go.err"; then
  sed -n 1,12p "$T/go.err"
  grep -A7 '^## Summary' "$T/report.md"
  [ "$(grep -c '^## [0-9]\. ' "$T/report.md")" = 4 ] && ! grep -q 'Failed' "$T/report.md" && ok "go --local: preflight, local model up, 4 pipeline stages on the local model" || bad "go report: $(cat "$T/report.md")"
else
  cat "$T/go.err"; bad "go --local failed"
fi

echo; echo "== stats"
"${A[@]}" stats | sed -n 1,14p
[ "$("${A[@]}" --json stats | jq_py 'd["total"]["calls"] >= 10 and d["total"]["cost"] == 0 and d["by_model"]["local"]["tokens_out"] > 0')" = True ] && ok "ledger: calls and tokens recorded, cost 0" || bad "stats"

if [ "${SKIP_GATEWAY:-0}" != 1 ] && [ -x "$LAB/venv-litellm/bin/litellm" ]; then
  echo; echo "== through the LiteLLM gateway"
  "$KIT/start-fake-cloud.sh" >"$T/cloud.out" 2>&1 || { bad "fake cloud"; }
  CPORT=$(started PORT "$T/cloud.out"); PIDS+=("$(started PID "$T/cloud.out")")
  export LITELLM_MASTER_KEY=sk-lab-master ANTHROPIC_API_KEY=sk-ant-fake ANTHROPIC_API_BASE=http://127.0.0.1:$CPORT LOCAL_LLM_API_BASE=http://127.0.0.1:$LPORT/v1
  if "$KIT/start-litellm.sh" >"$T/litellm.out" 2>&1; then
    GPORT=$(started PORT "$T/litellm.out"); PIDS+=("$(started PID "$T/litellm.out")")
    grep healthy "$T/litellm.out"
    cat >>"$T/aiorch.toml" <<EOF

[runtime.gateway]
enabled = true
url = "http://127.0.0.1:$GPORT/v1"
key = "LITELLM_MASTER_KEY"
EOF
    # Gateway aliases come from the built-in registry: turn it back on, keep only what we test.
    sed -i 's/^builtin_models = false/builtin_models = true/' "$T/aiorch.toml"
    if out=$("${A[@]}" --json ask --model local-coding "Say hi."); then
      echo "$out" | jq_py '"model=%s tokens_out=%s cost=%s" % (d["model"], d["tokens_out"], d["cost"])'
      ok "gateway alias local-coding answered (aiorch → LiteLLM → llama-server)"
    else bad "ask --model local-coding via the gateway"; fi
    if out=$("${A[@]}" --json ask --model coding-model --max-tokens 16 "Say hi."); then
      echo "$out" | jq_py '"model=%s served_by=%s tokens_out=%s cost=%s" % (d["model"], d.get("served_by"), d["tokens_out"], d["cost"])'
      [ "$(echo "$out" | jq_py 'd.get("served_by") == "local-coding" and d["cost"] == 0')" = True ] \
        && ok "coding-model: LiteLLM fell back from the 401 cloud to local-coding; aiorch recorded who served and its price (0)" \
        || bad "coding-model: $out"
    else bad "ask --model coding-model via the gateway"; fi
    "${A[@]}" route --list | sed -n 1,20p
  else
    tail -5 "$T/litellm.out"; bad "LiteLLM did not start"
  fi
fi
echo; echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
