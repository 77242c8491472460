#!/usr/bin/env bash
# runtime-local.sh — the runtime against real local services, no cloud:
#   1. llama-server (llama.cpp) with Gemma 3 270M, started by `aiorch services up local_model`,
#      answers `aiorch ask --local` (JSON and streamed)
#   2. a local-only consensus over two registry entries served by it (with synthesis), progress
#   3. `aiorch go --local`: the builtin pipeline on the local model
#   4. the ledger: tokens from the server's usage, cost 0, stats
#   5. through the real LiteLLM gateway (`aiorch services up litellm`): `local-coding` directly,
#      and `coding-model`, whose cloud deployment (the fake model API's /fail: 401) LiteLLM falls
#      back from to the local model
# The stack is the one services.sh proves, installed by the same lib.sh code (PyPI only; run.sh
# runs services.sh first, so the llama.cpp build is done once). The model is a base model, so
# answers are checked for structure (tokens, model, cost), not wording.
# Ends with `N passed, M failed`; a missing system tool (python3 with venv, curl, a C++
# compiler) fails under CI=true, else the script is SKIPPED (exit 77).
# Env: AIORCH_BIN (default: cargo build), AIORCH_E2E_CACHE, KEEP=1 (keep the scratch dir).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
need_python_venv
need_cmd curl "apt-get install curl"

section "install (idempotent)"
install_litellm
install_llama
aiorch_bin

T=$(mktemp -d -t aiorch-e2e-runtime-local-XXXXXX)
A=("$AIORCH" --config "$T/aiorch.toml" --home "$T/home" --state-dir "$T/state")
cleanup() {
  "${A[@]}" -q services down >/dev/null 2>&1
  stop_fakeapi
  if [ "${KEEP:-0}" = 1 ] || [ "$FAILED" -gt 0 ]; then echo "scratch kept: $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
start_fakeapi "$T/cloud" || abort "the fake cloud (fakeapi.py) did not start"
LP=$(free_port); GP=$(free_port)
export LITELLM_MASTER_KEY="sk-e2e-master-$RANDOM$RANDOM" ANTHROPIC_API_KEY=sk-ant-fake OPENAI_API_KEY=sk-oai-fake
cat >"$T/aiorch.toml" <<EOF
[secrets]
backend = "env"

[models]
default_research = "anthropic/claude-sonnet-4-6"
default_coding = "anthropic/claude-sonnet-4-6"
default_fast = "openai/gpt-5-mini"

[services.local_model]
enable = true
kind = "llama-server"
port = $LP
model = "$MODEL"
threads = 1
context = 4096
chat_template = "gemma"
command = ["$LLAMA_SERVER"]

[services.litellm]
enable = true
port = $GP
command = ["$LITELLM_BIN"]
[services.litellm.api_bases]
anthropic = "http://127.0.0.1:$FAKE_PORT/fail"
openai = "http://127.0.0.1:$FAKE_PORT/fail/v1"

[services.open_webui]
enable = false

[runtime]
builtin_models = false
timeout_secs = 120
max_tokens = 32

[runtime.local]
url = "http://127.0.0.1:$LP/v1"
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
jq_py() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

section "llama-server (aiorch services up local_model)"
"${A[@]}" services up local_model >"$T/up-llama.out" 2>&1 || { cat "$T/up-llama.out"; abort "aiorch services up local_model failed"; }
cat "$T/up-llama.out"

section "aiorch ask --local"
t0=$(date +%s.%N)
if out=$("${A[@]}" --json ask --local "What is the capital of France?"); then
  t1=$(date +%s.%N)
  echo "$out" | jq_py '"model=%s tokens=%s->%s cost=%s latency=%sms fallbacks=%d" % (d["model"], d["tokens_in"], d["tokens_out"], d["cost"], d["latency_ms"], len(d["fallbacks"]))'
  echo "text: $(echo "$out" | jq_py 'repr(d["text"][:80])')"
  python3 -c 'import sys; print("wall %.2f s" % (float(sys.argv[2]) - float(sys.argv[1])))' "$t0" "$t1"
  [ "$(echo "$out" | jq_py 'd["model"] == "local" and d["tokens_out"] > 0 and d["cost"] == 0')" = True ] && pass "ask --local answered by llama-server (usage reported, cost 0)" || fail "ask --local: $out"
else
  fail "ask --local failed"
fi
echo "--- streamed (text mode):"
"${A[@]}" ask --local --max-tokens 16 "Name three colours." && pass "ask --local streams" || fail "streamed ask"

section "aiorch consensus --local (2 panel members on llama-server, synthesis by the best local model)"
if out=$("${A[@]}" --json consensus --local --models local,gemma-b "Is Rust memory safe without unsafe blocks? Answer yes or no."); then
  echo "$out" | jq_py '"agreement=%s threshold=%s recommendation=%s votes=%s synthesis_by=%s wall=%sms" % (d["agreement"], d["threshold"], d["recommendation"], [(v["model"], v["verdict"], v["error"]) for v in d["votes"]], d["synthesis_model"], d["wall_ms"])'
  [ "$(echo "$out" | jq_py 'all(v["error"] is None for v in d["votes"]) and d["synthesis_model"] == "local"')" = True ] && pass "local-only consensus: every member answered, synthesis by local" || fail "consensus: $out"
else
  fail "consensus --local failed"
fi
"${A[@]}" consensus --local --no-synthesis --models local,gemma-b "Should we ship? yes or no" 2>"$T/progress.txt" | sed -n 1,6p
grep -q '\[2/2\]' "$T/progress.txt" && pass "consensus progress on stderr" || fail "no progress lines: $(cat "$T/progress.txt")"

section "aiorch go --local (no agent CLI in local mode: the builtin feature pipeline on llama-server)"
if "${A[@]}" go --local --out "$T/report.md" "add a --verbose flag to a CLI" 2>"$T/go.err"; then
  sed -n 1,12p "$T/go.err"
  grep -A7 '^## Summary' "$T/report.md"
  [ "$(grep -c '^## [0-9]\. ' "$T/report.md")" = 4 ] && ! grep -q 'Failed' "$T/report.md" && pass "go --local: preflight, local model up, 4 pipeline stages on the local model" || fail "go report: $(cat "$T/report.md")"
else
  cat "$T/go.err"; fail "go --local failed"
fi

section "aiorch go --queue --local (two small tasks in a project, the second after the first; then the report)"
mkdir -p "$T/proj"
Q=(--project "$T/proj")
t1=$("${A[@]}" --json task add "${Q[@]}" "Write a one-line docstring for a function add(a, b)." | jq_py 'd["id"]')
"${A[@]}" --json task add "${Q[@]}" --after "$t1" "Write a one-line docstring for a function sub(a, b)." >/dev/null
if "${A[@]}" --json go --queue --local --max-tasks 2 "${Q[@]}" >"$T/queue.json" 2>"$T/queue.err"; then
  sed -n 1,6p "$T/queue.err"
  [ "$(jq_py '[t["status"] for t in d["tasks"]] == ["done", "done"] and d["stopped"] == "max-tasks"' <"$T/queue.json")" = True ] \
    && pass "go --queue --local: two tasks done in dependency order on llama-server" || fail "go --queue: $(cat "$T/queue.json")"
  "${A[@]}" report "${Q[@]}" --out "$T/morning.md" 2>/dev/null
  grep -q '^## Done (2)' "$T/morning.md" && [ "$("${A[@]}" --json handoff list "${Q[@]}" | jq_py 'len(d)')" = 8 ] \
    && pass "report lists both; 8 handoffs (4 stage changes per task)" || fail "report: $(cat "$T/morning.md")"
else
  cat "$T/queue.err"; fail "go --queue --local failed"
fi

section "stats"
"${A[@]}" stats | sed -n 1,14p
[ "$("${A[@]}" --json stats | jq_py 'd["total"]["calls"] >= 10 and d["total"]["cost"] == 0 and d["by_model"]["local"]["tokens_out"] > 0')" = True ] && pass "ledger: calls and tokens recorded, cost 0" || fail "stats"

section "through the LiteLLM gateway (aiorch services up litellm)"
if "${A[@]}" services up litellm >"$T/up-litellm.out" 2>&1; then
  cat "$T/up-litellm.out"
  cat >>"$T/aiorch.toml" <<EOF

[runtime.gateway]
enabled = true
url = "http://127.0.0.1:$GP/v1"
key = "LITELLM_MASTER_KEY"
EOF
  # Gateway aliases come from the built-in registry: turn it back on, keep only what we test.
  sed -i 's/^builtin_models = false/builtin_models = true/' "$T/aiorch.toml"
  if out=$("${A[@]}" --json ask --model local-coding "Say hi."); then
    echo "$out" | jq_py '"model=%s tokens_out=%s cost=%s" % (d["model"], d["tokens_out"], d["cost"])'
    [ "$(echo "$out" | jq_py 'd["model"] == "local-coding" and d["tokens_out"] > 0')" = True ] \
      && pass "gateway alias local-coding answered (aiorch → LiteLLM → llama-server)" || fail "local-coding: $out"
  else fail "ask --model local-coding via the gateway"; fi
  if out=$("${A[@]}" --json ask --model coding-model --max-tokens 16 "Say hi."); then
    echo "$out" | jq_py '"model=%s served_by=%s tokens_out=%s cost=%s" % (d["model"], d.get("served_by"), d["tokens_out"], d["cost"])'
    [ "$(echo "$out" | jq_py 'd.get("served_by") == "local-coding" and d["cost"] == 0')" = True ] \
      && pass "coding-model: LiteLLM fell back from the 401 cloud to local-coding; aiorch recorded who served and its price (0)" \
      || fail "coding-model: $out"
  else fail "ask --model coding-model via the gateway"; fi
  "${A[@]}" route --list | sed -n 1,20p
else
  tail -20 "$T/up-litellm.out"; fail "LiteLLM did not start"
fi
summary
