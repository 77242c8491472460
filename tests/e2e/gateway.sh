#!/usr/bin/env bash
# tests/e2e/gateway.sh — the gateway's budgets against the real LiteLLM proxy 1.106.2, a real
# redis-server (Debian's package; `pkgs.redis` under Nix) and the real llama-server, all started
# by `aiorch services up` on 127.0.0.1 ports picked at run time and stopped by PID:
#   - a zero budget spends nothing: the alias is answered by the local model, the cloud sees no call;
#   - the day's spend lives in Redis: spend past a deployment budget, restart the proxy, the next
#     request still falls back (and gets 429 without fallbacks); a control proxy that keeps its
#     state in memory forgets the spend;
#   - two proxies on one Redis share one budget: a second proxy that never spent refuses too;
#   - Redis' password is on no argv, in no environment but the gateway's, in no file;
#   - Redis stopped: doctor says so and what it means; the gateway carries on from its memory;
#   - the real Claude Code and Codex (route_clients) reach the fake upstream only through LiteLLM,
#     led there by their own settings, the key from the secrets backend (file), never in a file.
# The fake cloud (tests/e2e/fakeapi.py) prices a call with /tokens/100000 (crosses $0.015 at once).
# Needs: python3 with venv, curl, redis-server (apt-get install redis-server); a missing one
# fails under CI=true, else the script is SKIPPED (exit 77). Installs as services.sh (cached).
# Time: ~1.5-2 min with the caches (five LiteLLM starts, two client runs), + ~5 s for the redis-server apt install.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
need_python_venv
need_cmd curl "apt-get install curl"
need_cmd redis-server "apt-get install redis-server"
need_cmd redis-cli "apt-get install redis-server (redis-tools)"
e2e_path
[ -e "$E2E_CLIENTS_BIN/claude" ] || missing "claude under $E2E_CACHE" "tests/e2e/install-clients.sh"
mkdir -p "$E2E_CACHE"
t_start=$(date +%s)
section "installing into $E2E_CACHE"
install_litellm; install_llama
aiorch_bin

T=$(mktemp -d -t aiorch-e2e-gateway-XXXXXX)
A=(--config "$T/a.toml" --home "$T/home" --state-dir "$T/state-a")
B=(--config "$T/b.toml" --home "$T/home" --state-dir "$T/state-b")
C=(--config "$T/c.toml" --home "$T/home" --state-dir "$T/state-c")
D=(--config "$T/d.toml" --home "$T/home-d" --state-dir "$T/state-d")
GD=$(free_port)
RP=$(free_port); LP=$(free_port); GA=$(free_port); GB=$(free_port); GC=$(free_port)
export LITELLM_MASTER_KEY="sk-e2e-master-$RANDOM$RANDOM" OPENAI_API_KEY="sk-oai-e2e-$RANDOM$RANDOM"
export ANTHROPIC_API_KEY="sk-ant-e2e-$RANDOM$RANDOM" REDIS_PASSWORD="redis-e2e-$RANDOM$RANDOM$RANDOM"
a() { "$AIORCH" "${A[@]}" "$@"; }
b() { "$AIORCH" "${B[@]}" "$@"; }
c() { "$AIORCH" "${C[@]}" "$@"; }
d() { "$AIORCH" "${D[@]}" "$@"; }
cleanup() {
  for x in d c b a; do "$x" -q services down >/dev/null 2>&1; done
  stop_fakeapi
  [ "${E2E_KEEP:-0}" = 1 ] && echo "kept $T" >&2 || rm -rf "$T"
}
trap cleanup EXIT
start_fakeapi "$T/cloud" || abort "the fake cloud (fakeapi.py) did not start"
FC=$FAKE_PORT

# config PORT REDIS(true|false) REDIS_SERVICE(true|false) LOCAL_MODEL(true|false)
config() {
  cat <<EOF
[secrets]
backend = "env"
[models]
default_research = "openai/gpt-5"
default_coding = "anthropic/claude-sonnet-4-5"
default_fast = "openai/gpt-5-mini"
[services.litellm]
enable = true
port = $1
command = ["$LITELLM_BIN"]
daily_budget = 0.03
redis = $2
[services.litellm.alias_budgets]
research-model = 0
[services.litellm.api_bases]
anthropic = "http://127.0.0.1:$FC/fail"
openai = "http://127.0.0.1:$FC/tokens/100000/v1"
[services.redis]
enable = $3
port = $RP
[services.local_model]
enable = $4
kind = "llama-server"
port = $LP
model = "$MODEL"
threads = 1
context = 2048
chat_template = "gemma"
command = ["$LLAMA_SERVER"]
EOF
}
config "$GA" true true true >"$T/a.toml"
config "$GB" true false false >"$T/b.toml"
config "$GC" false false false >"$T/c.toml"

py() { python3 -c "$1" "${@:2}"; }
H=$T/headers
chat() { # PORT MODEL [EXTRA_JSON]: body in $T/body, headers in $H, status in $T/code
  curl -s -D "$H" -o "$T/body" -w '%{http_code}' --max-time 180 "http://127.0.0.1:$1/v1/chat/completions" \
    -H "authorization: Bearer $LITELLM_MASTER_KEY" -H 'content-type: application/json' \
    -d "{\"model\":\"$2\",\"messages\":[{\"role\":\"user\",\"content\":\"Say hi\"}],\"max_tokens\":8,\"temperature\":0${3:+,$3}}" >"$T/code"
}
hdr() { grep -i "^$1:" "$H" | head -1 | cut -d' ' -f2- | tr -d '\r'; }
code() { cat "$T/code"; }
cloud_calls() { grep -l "\"model\": \"$1\"" "$T/cloud"/*.json 2>/dev/null | wc -l; }
served_locally() { test "$(code)" = 200 -a "$(hdr x-litellm-model-api-base)" = "http://127.0.0.1:$LP/v1"; }
rcli() { REDISCLI_AUTH=$REDIS_PASSWORD redis-cli -h 127.0.0.1 -p "$RP" --no-auth-warning "$@"; }
# gone PID: no such process, or a zombie nobody reaped yet (PID 1 of a container may not reap)
gone() { ! kill -0 "$1" 2>/dev/null || [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]; }
spend_in_redis() {
  local k
  for k in $(rcli --scan --pattern '*spend*'); do
    python3 -c 'import sys; assert float(sys.argv[1]) > 0.015' "$(rcli GET "$k")" 2>/dev/null && return 0
  done
  return 1
}

section "render"
check "services render" a services render
check "zero budget: research-model is not rendered as max_budget 0 but as the local model" \
  "$E2E_CACHE/venv-litellm/bin/python" - "$T/state-a/services/litellm.yaml" <<'PY'
import sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
m = {x["model_name"]: x["litellm_params"] for x in c["model_list"]}
assert "max_budget" not in m["research-model"] and m["research-model"]["model"].startswith("openai/gemma"), m
assert all(p.get("max_budget", 1) > 0 for p in m.values()), m
r = c["router_settings"]
assert r["redis_password"] == "os.environ/REDIS_PASSWORD" and r["redis_port"] > 0, r
PY

section "up: redis, llama-server, LiteLLM (state in Redis)"
t0=$(date +%s)
a services up >"$T/up.out" 2>&1; rc=$?; cat "$T/up.out" >&2
check "services up (exit $rc) in $(( $(date +%s) - t0 ))s" test "$rc" = 0
RPID=$(py 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$T/state-a/services/run/redis.json")
GPID=$(py 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$T/state-a/services/run/litellm.json")
check "redis-server listens on loopback and wants the password" bash -c "redis-cli -p $RP PING 2>&1 | grep -q NOAUTH && test \"\$(REDISCLI_AUTH=$REDIS_PASSWORD redis-cli -p $RP --no-auth-warning PING)\" = PONG"
check "redis-server bound to 127.0.0.1 only" bash -c "test \"\$(REDISCLI_AUTH=$REDIS_PASSWORD redis-cli -p $RP --no-auth-warning CONFIG GET bind | tail -1)\" = 127.0.0.1"
check "Redis' password on no argv and not in redis-server's environment" bash -c \
  "! tr '\0' ' ' </proc/$RPID/cmdline | grep -q '$REDIS_PASSWORD' && ! tr '\0' ' ' </proc/$GPID/cmdline | grep -q '$REDIS_PASSWORD' && ! tr '\0' '\n' </proc/$RPID/environ | grep -q '$REDIS_PASSWORD'"
check "the gateway's environment holds Redis' password" bash -c "tr '\0' '\n' </proc/$GPID/environ | grep -qx 'REDIS_PASSWORD=$REDIS_PASSWORD'"
check "no secret in the state dir" bash -c "! grep -rqE '$REDIS_PASSWORD|$LITELLM_MASTER_KEY|$OPENAI_API_KEY' '$T/state-a'"
a --json services status >"$T/status.json"
check "services status: redis healthy (PING answered, password required)" py '
import json,sys
r = {x["service"]: x for x in json.load(open(sys.argv[1]))}
assert r["redis"]["state"] == "healthy" and "password required" in r["redis"]["checks"][0]["detail"], r["redis"]' "$T/status.json"
a --json doctor >"$T/doctor.json" 2>/dev/null
check "doctor: budget state in Redis, survives restarts, shared" py '
import json,sys
s = {c["name"]: c for c in json.load(open(sys.argv[1]))["checks"] if c["group"] == "services"}
b = s["budget state"]; e = s["budget enforced"]
assert b["status"] == "ok" and "in Redis" in b["detail"] and "survives" in b["detail"], b
assert "research-model $0 (served by local-research)" in e["detail"], e' "$T/doctor.json"

section "a zero budget spends nothing"
chat "$GA" research-model
check "research-model (budget 0) answered by llama-server (api-base $(hdr x-litellm-model-api-base))" served_locally
check "the cloud saw no call for research-model's model (gpt-5)" test "$(cloud_calls gpt-5)" = 0

section "spend past a deployment budget, restart, still over"
chat "$GA" fast-model
check "fast-model first call: priced cloud (cost $(hdr x-litellm-response-cost) > budget 0.015)" \
  bash -c "test '$(code)' = 200 -a '$(hdr x-litellm-model-group)' = fast-model && python3 -c 'import sys; assert float(sys.argv[1]) > 0.015' '$(hdr x-litellm-response-cost)'"
sleep 3   # spend is recorded after the response and synced to Redis every second
check "the spend is in Redis (a *spend* key over the budget)" spend_in_redis
chat "$GA" fast-model
check "fast-model over budget -> fallback (group $(hdr x-litellm-model-group))" test "$(code)" = 200 -a "$(hdr x-litellm-model-group)" = local-coding
a -q services down litellm >/dev/null 2>&1
check "gateway stopped" gone "$GPID"
a -q services up litellm >/dev/null 2>&1; rc=$?
check "gateway restarted (exit $rc)" test "$rc" = 0
calls=$(cloud_calls gpt-5-mini)
chat "$GA" fast-model
check "after the restart: fast-model still over budget -> fallback (group $(hdr x-litellm-model-group), fallbacks $(hdr x-litellm-attempted-fallbacks))" \
  test "$(code)" = 200 -a "$(hdr x-litellm-model-group)" = local-coding -a "$(hdr x-litellm-attempted-fallbacks)" = 1
chat "$GA" fast-model '"disable_fallbacks":true'
check "after the restart without fallbacks -> HTTP $(code) (budget)" bash -c "test '$(code)' = 429 && grep -q budget '$T/body'"
check "the cloud got no call after the restart" test "$(cloud_calls gpt-5-mini)" = "$calls"

section "two proxies on one Redis share one budget"
b -q services up >"$T/up-b.out" 2>&1; rc=$?
check "second proxy up on the same Redis (exit $rc)" test "$rc" = 0
chat "$GB" fast-model '"disable_fallbacks":true'
check "second proxy, never spent itself: fast-model refused, HTTP $(code)" bash -c "test '$(code)' = 429 && grep -q budget '$T/body'"
check "combined cloud calls stayed at one" test "$(cloud_calls gpt-5-mini)" = 1
c -q services up >"$T/up-c.out" 2>&1; rc=$?
check "control proxy with its state in memory up (exit $rc)" test "$rc" = 0
chat "$GC" fast-model '"disable_fallbacks":true'
check "control (memory): a fresh proxy does not know the day's spend, the cloud answers (HTTP $(code))" \
  test "$(code)" = 200 -a "$(cloud_calls gpt-5-mini)" = 2
c -q services down >/dev/null 2>&1

section "Redis stopped"
a -q services down redis >/dev/null 2>&1
check "redis stopped" gone "$RPID"
a --json doctor >"$T/doctor2.json" 2>/dev/null; rc=$?
check "doctor exit 1, names the Redis outage and what it means for the budget" py '
import json,sys
s = {c["name"]: c for c in json.load(open(sys.argv[1]))["checks"] if c["group"] == "services"}
b = s["budget state"]
assert b["status"] == "fail" and "does not answer" in b["detail"] and "memory" in b["detail"], b
assert s["redis healthy"]["status"] == "fail", s["redis healthy"]' "$T/doctor2.json"
check "(doctor exit $rc)" test "$rc" = 1
chat "$GA" local-coding
check "the gateway carries on without Redis: local-coding HTTP $(code)" served_locally
chat "$GA" fast-model '"disable_fallbacks":true'
check "without Redis the gateway still refuses the over-budget alias from its memory (HTTP $(code))" test "$(code)" = 429

section "Claude Code through the gateway (route_clients)"
# Its own gateway in front of a working fake Anthropic; the key in the file backend, so
# Claude's environment holds no key and no base URL: only its settings lead it to the gateway.
cat >"$T/d.toml" <<EOF
[secrets]
backend = "file"
file = "$T/secrets.env"
[clients]
claude = "always"
gemini = "never"
codex = "always"
copilot = "never"
[agentsmd]
home_agents_md = false
[plugins]
defaults = false
[mcp]
serve_self = false
[policy]
enable = false
[models]
default_coding = "anthropic/claude-sonnet-4-5"
[services.litellm]
enable = true
port = $GD
command = ["$LITELLM_BIN"]
[services.litellm.api_bases]
anthropic = "http://127.0.0.1:$FC"
[gateway]
route_clients = ["claude", "codex"]
EOF
printf '%s' "$LITELLM_MASTER_KEY" | d -q secrets set LITELLM_MASTER_KEY >/dev/null 2>&1
printf '%s' "$ANTHROPIC_API_KEY" | d -q secrets set ANTHROPIC_API_KEY >/dev/null 2>&1
d -q services up >"$T/up-d.out" 2>&1; rc=$?
check "gateway for Claude up (exit $rc)" test "$rc" = 0
d apply >"$T/apply-d.out" 2>&1; rc=$?
check "apply routes Claude (exit $rc): base URL and key helper in ~/.claude/settings.json" py '
import json,sys
s = json.load(open(sys.argv[1]))
assert s["env"]["ANTHROPIC_BASE_URL"] == "http://127.0.0.1:" + sys.argv[2], s
assert "secrets exec --only LITELLM_MASTER_KEY" in s["apiKeyHelper"], s' "$T/home-d/.claude/settings.json" "$GD"
check "no key value in the home" bash -c "! grep -rqE '$LITELLM_MASTER_KEY|$ANTHROPIC_API_KEY' '$T/home-d'"
before=$(ls "$T/cloud" | wc -l)
mkdir -p "$T/tmp-d"
(cd "$T/home-d" && timeout -k 10 "${CLIENT_TIMEOUT:-120}" env -i PATH="$PATH" HOME="$T/home-d" TMPDIR="$T/tmp-d" LANG=C.UTF-8 TERM=dumb \
  NO_COLOR=1 CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 DISABLE_AUTOUPDATER=1 DISABLE_TELEMETRY=1 \
  claude -p "e2e-probe" </dev/null >"$T/claude.out" 2>"$T/claude.err"); rc=$?
check "claude -p through the gateway (exit $rc): $(head -c 80 "$T/claude.out")" grep -q "E2E-OK" "$T/claude.out"
[ "$rc" = 0 ] || tail -5 "$T/claude.err" >&2
req=$(ls "$T/cloud"/*v1_messages.json 2>/dev/null | tail -1)
check "the upstream got Claude's request from LiteLLM (the gateway's provider key, model claude-sonnet-4-5)" py '
import json,sys
r = json.load(open(sys.argv[1]))
assert r["auth"] == "x-api-key" and r["body"]["model"] == "claude-sonnet-4-5", (r["auth"], r["body"].get("model"))' "${req:-/nonexistent}"
check "the gateway served Claude's /v1/messages ($(( $(ls "$T/cloud" | wc -l) - before )) upstream calls)" \
  grep -q "POST /v1/messages" "$T/state-d/services/logs/litellm.log"
section "Codex through the gateway (route_clients)"
check "apply routes Codex: model_providers.aiorch at the gateway, env_key, no key value" py '
import sys, tomllib
c = tomllib.load(open(sys.argv[1], "rb"))
p = c["model_providers"]["aiorch"]
assert c["model_provider"] == "aiorch" and c["model"] == "coding-model", c
assert p["base_url"] == "http://127.0.0.1:" + sys.argv[2] + "/v1" and p["wire_api"] == "responses" and p["env_key"] == "LITELLM_MASTER_KEY", p' \
  "$T/home-d/.codex/config.toml" "$GD"
before=$(ls "$T/cloud" | wc -l)
mkdir -p "$T/work-d"
# The key reaches Codex only through `aiorch secrets exec` (env_key), from the file backend.
(cd "$T/work-d" && timeout -k 10 "${CLIENT_TIMEOUT:-120}" env -i PATH="$PATH" HOME="$T/home-d" TMPDIR="$T/tmp-d" LANG=C.UTF-8 TERM=dumb NO_COLOR=1 \
  "$AIORCH" --config "$T/d.toml" secrets exec --only LITELLM_MASTER_KEY -- codex exec --skip-git-repo-check "e2e-probe" \
  </dev/null >"$T/codex.out" 2>"$T/codex.err"); rc=$?
check "codex exec through the gateway (exit $rc): $(grep -m1 E2E-OK "$T/codex.out")" grep -q "E2E-OK" "$T/codex.out"
[ "$rc" = 0 ] || tail -5 "$T/codex.err" >&2
check "the gateway served Codex's /v1/responses ($(( $(ls "$T/cloud" | wc -l) - before )) upstream calls)" \
  grep -q "POST /v1/responses" "$T/state-d/services/logs/litellm.log"
d -q services down >/dev/null 2>&1

echo "gateway.sh took $(( $(date +%s) - t_start ))s"
summary
