#!/usr/bin/env bash
# runtime-mcp.sh — list and call every tool of `aiorch mcp serve` through two real MCP clients:
# the official Python SDK (`mcp`) and the MCP Inspector CLI (npm). The models are the fake
# model API on 127.0.0.1 (tests/e2e/fakeapi.py, random port, every request recorded), so no
# cloud is needed. clink and `aiorch go --agent claude|codex` run the real Claude Code / Codex
# CLIs against the same fake.
#
# Needs what tests/e2e/install-clients.sh installs under ${AIORCH_E2E_CACHE:-~/.cache/aiorch-e2e}
# (the clients, Node 22, the MCP Inspector, a venv with mcp==2.3.0): without it a failure under
# CI=true, else SKIPPED (exit 77). Ends with `N passed, M failed`; exit 0 = every check passed.
# Env: AIORCH_BIN (default: cargo build, target/debug/aiorch), KEEP=1 (keep the scratch dir).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
require_clients
aiorch_bin
PY=$E2E_PY
NODE=$(command -v node)
INSPECTOR=$E2E_CACHE/inspector/node_modules/@modelcontextprotocol/inspector
INSPECTOR_BIN=$E2E_INSPECTOR_BIN/mcp-inspector
CLAUDE_REAL=$E2E_CLIENTS_BIN/claude
CODEX_REAL=$E2E_CLIENTS_BIN/codex
echo "python: $PY (mcp $("$PY" -c 'import importlib.metadata as m; print(m.version("mcp"))'))"
echo "node:   $NODE ($("$NODE" --version)); inspector $("$NODE" -e "console.log(require('$INSPECTOR/package.json').version)")"

# --- scratch world: fake provider, config, a git repo with a pending change -------------------------
T=$(mktemp -d -t aiorch-e2e-runtime-mcp-XXXXXX)
cleanup() {
  stop_fakeapi
  if [ "${KEEP:-0}" = 1 ] || [ "$FAILED" -gt 0 ]; then echo "scratch kept: $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
REQS=$T/requests
start_fakeapi "$REQS" || abort "the fake model API did not start"
PORT=$FAKE_PORT
echo "fake model API: 127.0.0.1:$PORT (pid $FAKE_PID), requests recorded in $REQS"
# nreq: how many requests the fake has recorded so far
nreq() { find "$REQS" -name '[0-9]*.json' | wc -l; }
# requests_py SINCE: a Python prelude giving `reqs`, the recorded requests after the first SINCE,
# each with path, auth, body and `text` (the body as JSON text)
requests_py() {
  printf 'import glob, json, os, re, sys\nreqs = []\nfor f in sorted(glob.glob(os.path.join(%s, "[0-9]*.json"))):\n    r = json.load(open(f))\n    if r["seq"] > %s:\n        r["text"] = json.dumps(r["body"])\n        reqs.append(r)\n' "'$REQS'" "$1"
}

model() { # id tier
  printf '[runtime.models.%s]\nprovider = "openai"\nendpoint = "http://127.0.0.1:%s/v1"\nkey = "FAKE_API_KEY"\ntier = %s\nprice_in = 1.0\nprice_out = 4.0\nroles = { planning = 0.9, coding = 0.9, review = 0.9, search = 0.9 }\n\n' "$1" "$PORT" "$2"
}
cat >"$T/aiorch.toml" <<EOF
[secrets]
backend = "env"

[runtime]
builtin_models = false
timeout_secs = 60

[runtime.clink]
timeout_secs = 120

$(model yes-a 3)
$(model yes-b 2)
$(model no-c 1)
EOF
REPO=$T/repo
mkdir -p "$REPO" && git -C "$REPO" init -q && printf 'fn add(a: i32, b: i32) -> i32 { a + b }\n' >"$REPO/lib.rs"
git -C "$REPO" -c user.name=t -c user.email=t@t add . && git -C "$REPO" -c user.name=t -c user.email=t@t commit -qm init
printf 'fn add(a: i32, b: i32) -> i32 { a - b }\n' >"$REPO/lib.rs"

# clink's CLI: the real Claude Code against the fake model API (which answers "E2E-OK from <model>").
mkdir -p "$T/bin" "$T/claude-home"
ln -s "$CLAUDE_REAL" "$T/bin/claude"
CLINK_EXPECT="E2E-OK"
echo "clink:  real Claude Code $(e2e_client_env timeout 60 "$CLAUDE_REAL" --version 2>/dev/null | head -1)"

# The config comes through AIORCH_CONFIG: the Inspector CLI claims `--config` for itself.
export AIORCH_CONFIG=$T/aiorch.toml
SERVER=("$AIORCH" --home "$T/home" --state-dir "$T/state" mcp serve)
export FAKE_API_KEY=sk-fake-e2e
# For clink's Claude Code: a scratch HOME and the fake provider as its API.
export HOME_FOR_CLAUDE=$T/claude-home
CLAUDE_ENV=(HOME="$T/claude-home" ANTHROPIC_API_KEY=sk-ant-fake "ANTHROPIC_BASE_URL=http://127.0.0.1:$PORT" CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 DISABLE_AUTOUPDATER=1 "PATH=$T/bin:$(dirname "$NODE"):$PATH")

# --- 1. Python SDK: list + call every tool ---------------------------------------------------------
cat >"$T/cases.json" <<'EOF'
{
  "chat":       {"args": {"prompt": "say hello", "role": "hephaestus"}, "expect_text": "continuation_id"},
  "consensus":  {"args": {"question": "Ship the migration?", "models": ["yes-a", "yes-b", "no-c"], "priority": "high"}, "expect_text": "recommendation: proceed with caution", "progress": 4},
  "codereview": {"args": {"paths": ["lib.rs"], "focus": "arithmetic"}, "expect_text": "continuation_id"},
  "precommit":  {"args": {}, "expect_text": "continuation_id"},
  "planner":    {"args": {"task": "add a subtract function"}, "expect_text": "(planning)"},
  "clink":      {"args": {"cli": "claude", "prompt": "say FAKE-OK", "role": "review"}, "expect_text": "CLINK_EXPECT"},
  "route":      {"args": {"task": "review the diff", "role": "oracle"}, "expect_text": "review (oracle)"},
  "listmodels": {"args": {}, "expect_text": "yes-a | openai | 3"},
  "stats":      {"args": {}, "expect_text": "routing saved"},
  "orchestrate": {"args": {"task": "Ship the migration?", "priority": "critical"}, "expect_text": "recommendation:"},
  "memory_store":  {"args": {"text": "the e2e fact lives on port 5433"}, "expect_text": "remembered as"},
  "memory_search": {"args": {"query": "which port"}, "expect_text": "5433"},
  "handoff":    {"args": {"to": "reviewer", "done": "patched lib.rs", "files": ["lib.rs"]}, "expect_text": "recorded"}
}
EOF
sed -i "s/CLINK_EXPECT/$CLINK_EXPECT/" "$T/cases.json"
section "Python mcp SDK"
if (cd "$REPO" && env "${CLAUDE_ENV[@]}" timeout -k 10 600 "$PY" "$E2E_DIR/mcp_sdk_check.py" "$T/cases.json" -- "${SERVER[@]}"); then
  pass "python SDK: every tool listed and called"
else
  fail "python SDK"
fi

# --- 2. MCP Inspector CLI: list + call every tool ---------------------------------------------------
section "MCP Inspector CLI"
# The Inspector passes the server only the variables given with -e.
IENV=(-e "AIORCH_CONFIG=$AIORCH_CONFIG" -e "FAKE_API_KEY=$FAKE_API_KEY")
for kv in "${CLAUDE_ENV[@]}"; do IENV+=(-e "$kv"); done
insp() { (cd "$REPO" && MCP_INSPECTOR_SECRET_STORE=memory HOME="$T/insp-home" timeout 180 "$NODE" "$INSPECTOR_BIN" --cli "${IENV[@]}" "${SERVER[@]}" "$@" 2> >(grep -v '^\[mcp-inspector\]' >&2)); }
if list=$(insp --method tools/list); then
  n=$(printf '%s' "$list" | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)["tools"]))')
  [ "$n" = 13 ] && pass "inspector tools/list: $n tools" || fail "inspector tools/list: $n tools"
else
  fail "inspector tools/list failed"
fi
call() { # tool expect args...
  local tool=$1 expect=$2; shift 2
  local targs=() out
  for a in "$@"; do targs+=(--tool-arg "$a"); done
  if out=$(insp --method tools/call --tool-name "$tool" "${targs[@]}"); then
    if printf '%s' "$out" | "$PY" -c 'import json,sys; r=json.load(sys.stdin); t="".join(c.get("text","") for c in r["content"]); sys.exit(0 if (not r.get("isError") and sys.argv[1] in t) else 1)' "$expect"; then
      pass "inspector tools/call $tool"
    else
      fail "inspector tools/call $tool: $(printf '%s' "$out" | head -c 600)"
    fi
  else
    fail "inspector tools/call $tool: exit $?"
  fi
}
call chat "continuation_id" "prompt=hello from the inspector"
call consensus "agreement:" 'question=Merge it?' 'models=["yes-a","yes-b","no-c"]' "synthesize=false"
call codereview "continuation_id" 'code=fn f() { unwrap() }'
call precommit "continuation_id" "staged=false"
call planner "continuation_id" "task=write the docs"
call clink "$CLINK_EXPECT" "cli=claude" "prompt=answer FAKE-OK"
call route "choice:" "task=fix a typo"
call listmodels "no-c" 
call stats "yes-a"
call memory_store "remembered as" "text=inspector fact: the cache is warm"
call memory_search "cache is warm" "query=cache warm"
call handoff "recorded" "to=reviewer" "done=checked the tools"
call orchestrate "continuation_id" "task=rename a variable" "priority=low"

# --- 3. Claude Code: registered as a user MCP server, `claude mcp list` connects -------------------------
section "claude mcp list"
(export "${CLAUDE_ENV[@]}"; cd "$REPO" && timeout 60 claude mcp add -s user aiorch -e "AIORCH_CONFIG=$AIORCH_CONFIG" -e "FAKE_API_KEY=$FAKE_API_KEY" -- "${SERVER[@]}" >/dev/null)
listing=$(export "${CLAUDE_ENV[@]}"; cd "$REPO" && MCP_TIMEOUT=15000 timeout 120 claude mcp list 2>&1)
printf '%s\n' "$listing" | grep aiorch || true
printf '%s' "$listing" | grep -q 'aiorch:.*Connected' && pass "claude mcp list: aiorch connected" || fail "claude mcp list: $listing"

# --- 4. aiorch go: Claude Code headless with the orchestrator prompt and aiorch's MCP tools ---------------
section "aiorch go --agent claude"
before=$(nreq)
if (export "${CLAUDE_ENV[@]}"; cd "$REPO" && timeout 300 "$AIORCH" --home "$T/home" --state-dir "$T/state" go --agent claude "add a subtract function" >"$T/go.out" 2>"$T/go.err"); then
  sed -n 1,12p "$T/go.err"; echo "agent said: $(head -c 200 "$T/go.out")"
  "$PY" - <<PY && pass "go: Claude Code got the orchestrator prompt and aiorch's MCP tools" || fail "go --agent claude: the requests lack the prompt or the tools"
$(requests_py "$before")
# MCP tools a client announces by name anywhere in the request (Claude Code defers them behind
# its ToolSearch tool)
msgs = [r for r in reqs if r["path"].split("?")[0] == "/v1/messages" and "aiorch go: orchestrator instructions" in r["text"]]
tools = sorted({t for r in msgs for t in re.findall(r"mcp__aiorch__[a-z_]+", r["text"])})
print(f"{len(reqs)} requests, {len(msgs)} with the orchestrator prompt; aiorch tools offered to the model: {', '.join(tools)}")
sys.exit(0 if msgs and len(tools) == 13 else 1)
PY
else
  cat "$T/go.err"; fail "aiorch go --agent claude failed"
fi

section "aiorch go --agent codex ($(e2e_client_env timeout 60 "$CODEX_REAL" --version 2>/dev/null | head -1))"
# Codex's own model is the fake (a Responses API provider, given through runtime.clink.args,
# which go also applies); aiorch's server is required, so a server that fails to start fails the run.
cp "$T/aiorch.toml" "$T/aiorch-codex.toml"
{
  echo
  echo '[runtime.clink.args]'
  printf 'codex = ["-m", "gpt-5", "-c", "model_provider=fake", "-c", %s, "-c", "mcp_servers.aiorch.required=true"]\n' \
    "'model_providers.fake={name=\"fake\",base_url=\"http://127.0.0.1:$PORT/v1\",wire_api=\"responses\",env_key=\"FAKE_API_KEY\"}'"
} >>"$T/aiorch-codex.toml"
mkdir -p "$T/codex-home/.codex" "$T/bin-codex" && ln -sf "$CODEX_REAL" "$T/bin-codex/codex"
before=$(nreq)
if (cd "$REPO" && HOME="$T/codex-home" CODEX_HOME="$T/codex-home/.codex" PATH="$T/bin-codex:$(dirname "$NODE"):$PATH" AIORCH_CONFIG="$T/aiorch-codex.toml" \
      timeout 300 "$AIORCH" --home "$T/home" --state-dir "$T/state" go --agent codex "add a subtract function" >"$T/codex.out" 2>"$T/codex.err"); then
  "$PY" - <<PY && pass "go: Codex got the orchestrator prompt and aiorch's MCP tools (server required)" || fail "go --agent codex: the requests lack the prompt or the tools"
$(requests_py "$before")
hits = [r for r in reqs if r["path"].split("?")[0].endswith("/responses")]
# Codex sends MCP tools as a namespace of plain names
names = {n for r in hits for n in re.findall(r'"name": ?"([a-z_]+)"', r["text"])}
prompt = any("aiorch go: orchestrator instructions" in r["text"] for r in hits)
want = {"chat", "consensus", "codereview", "precommit", "planner", "clink", "route", "listmodels", "stats",
        "orchestrate", "handoff", "memory_store", "memory_search"}
print(f"{len(hits)} Responses requests, orchestrator prompt: {prompt}; aiorch tools offered: {', '.join(sorted(want & names))}")
sys.exit(0 if hits and want <= names and prompt else 1)
PY
else
  tail -5 "$T/codex.err"; fail "aiorch go --agent codex failed"
fi

# --- 5. what reached the provider --------------------------------------------------------------------
section "what reached the fake model API"
"$PY" - <<PY && pass "runtime calls reached the OpenAI-compatible endpoint with a bearer key" || fail "no runtime call to /v1/chat/completions with a bearer key"
$(requests_py 0)
chat = [r for r in reqs if r["path"].split("?")[0] == "/v1/chat/completions"]
print(f"the fake saw {len(reqs)} requests ({sum(r['auth'] == 'none' for r in reqs)} without a key); "
      f"{len(chat)} chat completions, {sum(r['auth'] == 'bearer' for r in chat)} with a bearer key")
sys.exit(0 if chat and all(r["auth"] == "bearer" for r in chat) else 1)
PY
ls "$REQS" | grep -q -- '-v1_messages\.json$' && pass "clink: Claude Code called the fake Anthropic API" || fail "clink: no /v1/messages request from Claude Code"
grep -rq "sk-fake-e2e" "$T/state" && fail "the API key was written to the state dir" || pass "no API key in the state dir"
summary
