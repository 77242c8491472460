#!/usr/bin/env bash
# tests/e2e/agents.sh
# Proves aiorch's OpenCode and Aider output against the REAL OpenCode (npm opencode-ai) and Aider
# (PyPI aider-chat), the versions docs/clients.md §1 names, offline, in a scratch HOME (never
# the real one):
#   a user's ~/.config/opencode/opencode.jsonc with comments and a server of their own
#   apply (OpenCode managed) -> `opencode debug config` (what OpenCode resolved from its config
#     files) shows aiorch's MCP servers (local command arrays with environment, a remote URL with
#     headers), the permission policy, the commands; the user's server and comments are kept
#   `opencode mcp list` connects to aiorch's own server and to a secret-wrapped stdio server
#     (the secret reaches it through `aiorch secrets exec`, never the config file)
#   Aider: a user's ~/.aider.conf.yml with comments gets the instructions as a `read:` member and
#     (gateway enabled) `openai-api-base` and `alias:` members; `aider --verbose --exit` shows it
#     loaded them and added the instructions to the chat read-only
#   a second apply changes nothing; revert restores both user files byte for byte
#   ai-go finishes work: in a scratch git repository with a failing test, `aiorch go --agent
#     opencode "make the test pass"` drives the real OpenCode against the fake tool-calling model
#     API, which first tries `rm -rf keep` (denied by the policy: refused, the directory stays),
#     then fixes the file and runs the test; afterwards the change is there, the test passes, and
#     the run is in aiorch's ledger; the same with the real Codex (approvals and sandbox
#     bypassed on purpose: aiorch's execpolicy rules still refuse `rm -rf`) and the real Claude
#     Code (aiorch's permissions.allow/deny in ~/.claude/settings.json) and Gemini CLI (aiorch's
#     policy file) and Copilot CLI (the policy as --deny-tool/--allow-tool flags); `go --local`
#     with OpenCode drives the local server's model; `go --agent aider` runs Aider headless
# Ends with `N passed, M failed`; exit 1 on any failure. Without OpenCode or Aider from
# tests/e2e/install-clients.sh: a failure under CI=true, else SKIPPED (exit 77). ~1 min.
# Env: AIORCH_BIN (skip the build), KEEP=1 (keep the scratch dir), CLIENT_TIMEOUT (s per call).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
e2e_path
OPENCODE=$E2E_OPENCODE_BIN/opencode
[ -x "$OPENCODE" ] || missing "opencode under $E2E_CACHE/opencode" "tests/e2e/install-clients.sh"
AIDER=$E2E_AIDER_VENV/bin/aider
[ -x "$AIDER" ] || missing "aider under $E2E_AIDER_VENV" "tests/e2e/install-clients.sh"
for c in codex claude gemini copilot; do
  [ -e "$E2E_CLIENTS_BIN/$c" ] || missing "$c under $E2E_CACHE/clients" "tests/e2e/install-clients.sh"
done
[ -x "$E2E_PY" ] || missing "the Python venv with $MCP_PY_SPEC under $E2E_CACHE" "tests/e2e/install-clients.sh"

CLIENT_TIMEOUT=${CLIENT_TIMEOUT:-120}
WORK=$(mktemp -d -t aiorch-e2e-agents-XXXXXX)
H=$WORK/home S=$WORK/state P=$WORK/project LOGS=$WORK/logs
mkdir -p "$H/.config/opencode" "$S" "$P" "$LOGS" "$WORK/tmp"
cleanup() {
  stop_fakeapi
  if [ "${KEEP:-0}" = 1 ] || [ "$FAILED" -gt 0 ]; then echo "scratch kept: $WORK (logs in $LOGS)"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

section "build"
aiorch_bin
echo "opencode: $OPENCODE ($(e2e_client_env "$OPENCODE" --version 2>/dev/null))"
base_env "$H" "$WORK/tmp"
# OpenCode: no self-update, no model catalogue download, no project config from the scratch dir.
BASE_ENV+=(OPENCODE_DISABLE_AUTOUPDATE=1 OPENCODE_DISABLE_MODELS_FETCH=1 OPENCODE_DISABLE_LSP_DOWNLOAD=1)
ECHO=$E2E_DIR/mcp_echo_server.py
CANARY=canary-$RANDOM$RANDOM
cat >"$WORK/aiorch.toml" <<TOML
[clients]
claude = "never"
gemini = "never"
codex = "never"
copilot = "never"
opencode = "always"
aider = "always"
[runtime]
builtin_models = false
[runtime.gateway]
enabled = true
[runtime.models.gw-coder]
provider = "openai"
endpoint = "gateway"
model = "qwen-coder"
roles = { coding = 0.8 }
[secrets]
backend = "file"
file = "$WORK/secrets.env"
[mcp.servers.secret-echo]
command = "$E2E_PY"
args = ["$ECHO"]
secrets = ["ECHO_PREFIX"]
env = { LEVEL = "\${HOME}" }
[mcp.servers.web]
url = "http://127.0.0.1:9/mcp"
headers = { Authorization = "Bearer \${WEB_TOKEN}" }
TOML
aiorch() { local name=$1; shift; run "$name" 60 "${BASE_ENV[@]}" "$AIORCH" --config "$WORK/aiorch.toml" --home "$H" --state-dir "$S" --color never "$@"; }
opencode() { local name=$1; shift; run "$name" "$CLIENT_TIMEOUT" "${BASE_ENV[@]}" "$OPENCODE" "$@"; }
USER_FILE='// my OpenCode settings
{
  "$schema": "https://opencode.ai/config.json",
  "mcp": {
    /* hand-added */
    "mine": { "type": "local", "command": ["true"], "enabled": false }
  }
}
'
printf '%s' "$USER_FILE" >"$H/.config/opencode/opencode.jsonc"
AIDER_CONF='# my aider settings
model: sonnet  # favourite
read:
  # conventions
  - CONVENTIONS.md

# colours
dark-mode: true
'
printf '%s' "$AIDER_CONF" >"$H/.aider.conf.yml"
touch "$P/CONVENTIONS.md"
printf '%s' "$CANARY" | "${BASE_ENV[@]}" "$AIORCH" --home "$H" --state-dir "$S" --config "$WORK/aiorch.toml" secrets set ECHO_PREFIX \
  >"$LOGS/secret-set.out" 2>&1 && pass "secret ECHO_PREFIX stored in the file backend" || fail "aiorch secrets set: $(cat "$LOGS/secret-set.out")"

section "apply, then ask OpenCode what it loaded"
aiorch apply apply
expect_rc apply 0 "aiorch apply"
opencode debug-config debug config
expect_rc debug-config 0 "opencode debug config"
cat >"$WORK/loaded.py" <<'PY'
import json, sys
try:
    c = json.load(open(sys.argv[1]))
except Exception as e:
    print(f"FAIL debug config is not JSON: {e}"); sys.exit()
def check(name, cond):
    print(("ok " if cond else "FAIL ") + name)
mcp = c.get("mcp", {})
check("the user's own server `mine` is still there", mcp.get("mine", {}).get("command") == ["true"])
a = mcp.get("aiorch", {})
check("aiorch's own server: type local, command array ending in `mcp serve`",
      a.get("type") == "local" and a.get("command", [None])[0] == sys.argv[2] and a["command"][-2:] == ["mcp", "serve"])
s = mcp.get("secret-echo", {}).get("command", [])
check("the secret-wrapped server runs `aiorch secrets exec --only ECHO_PREFIX --`",
      any(s[i:i + 5] == ["secrets", "exec", "--only", "ECHO_PREFIX", "--"] for i in range(len(s))))
env = mcp.get("secret-echo", {}).get("environment", {})
check("`${HOME}` in environment became OpenCode's {env:HOME} and was substituted", env.get("LEVEL", "").startswith("/"))
w = mcp.get("web", {})
check("the remote server: type remote with url and headers",
      w.get("type") == "remote" and w.get("url") == "http://127.0.0.1:9/mcp" and "Authorization" in w.get("headers", {}))
p = c.get("permission", {})
check("permission.bash: the catch-all asks, `rm -rf *` is denied, deny after allow",
      p.get("bash", {}).get("*") == "ask" and p["bash"].get("rm -rf *") == "deny"
      and list(p["bash"]).index("rm -rf *") > list(p["bash"]).index("git status *"))
check("permission.edit denies .env in the project", p.get("edit", {}).get(".env") == "deny")
check("permission.webfetch asks", p.get("webfetch") == "ask")
check("permission.external_directory denies ~/.ssh", p.get("external_directory", {}).get("~/.ssh/*") == "deny")
check("the agentsmd commands are OpenCode commands (/review with $ARGUMENTS)",
      "$ARGUMENTS" in c.get("command", {}).get("review", {}).get("template", ""))
PY
while IFS= read -r l; do
  case $l in ok\ *) pass "${l#ok }" ;; FAIL\ *) fail "${l#FAIL }" ;; *) echo "  $l" ;; esac
done < <(python3 "$WORK/loaded.py" "$LOGS/debug-config.out" "$AIORCH" 2>&1 || echo "FAIL loaded.py crashed")
[ "$(readlink "$H/.config/opencode/AGENTS.md")" != "" ] && pass "~/.config/opencode/AGENTS.md links the instructions" || fail "no AGENTS.md link"
grep -q '// my OpenCode settings' "$H/.config/opencode/opencode.jsonc" && grep -q '/\* hand-added \*/' "$H/.config/opencode/opencode.jsonc" \
  && pass "the user's comments are kept" || fail "comments lost in opencode.jsonc"
grep -q "$CANARY" "$H/.config/opencode/opencode.jsonc" && fail "the secret's value is in opencode.jsonc" || pass "the secret's value is in no config file"

section "OpenCode connects to the servers"
opencode mcp-list mcp list
out=$(sed 's/\x1b\[[0-9;]*m//g' "$LOGS/mcp-list.out" "$LOGS/mcp-list.err" 2>/dev/null)
echo "$out" | grep -Eq '✓ aiorch +connected' && pass "opencode mcp list: aiorch connected" || { fail "aiorch not connected"; show_err mcp-list; }
echo "$out" | grep -Eq '✓ secret-echo +connected' && pass "opencode mcp list: secret-echo connected (secret through aiorch secrets exec)" \
  || { fail "secret-echo not connected"; show_err mcp-list; }

section "Aider loads what aiorch merged"
# --verbose prints the config files and every option's value; --exit stops after startup.
run aider-loaded "$CLIENT_TIMEOUT" "${BASE_ENV[@]}" "$AIDER" --verbose --exit --no-git --no-check-update \
  --no-show-model-warnings --no-analytics --no-pretty
expect_rc aider-loaded 0 "aider --verbose --exit"
out=$(tr -d '\n' <"$LOGS/aider-loaded.out")
INSTR=$(readlink -f "$S/generated/instructions/AGENTS.md")
case $out in *"Added "*"instructions/AGENTS.md to the chat"*"(read-only)"*) pass "Aider added the instructions (AGENTS.md + rules) to the chat read-only" ;;
  *) fail "Aider did not add the instructions"; show_err aider-loaded ;; esac
case $out in *"Added CONVENTIONS.md to the chat"*) pass "the user's own read: member is still loaded" ;; *) fail "CONVENTIONS.md not loaded" ;; esac
case $out in *"openai_api_base: http://127.0.0.1:4000/v1"*) pass "openai-api-base points at the gateway" ;; *) fail "no gateway base in Aider's options" ;; esac
case $out in *"gw-coder:openai/qwen-coder"*) pass "the gateway model is an Aider alias" ;; *) fail "no alias gw-coder" ;; esac
grep -q '^# my aider settings$' "$H/.aider.conf.yml" && grep -q '^  # conventions$' "$H/.aider.conf.yml" \
  && pass "the comments in ~/.aider.conf.yml are kept" || fail "comments lost in ~/.aider.conf.yml"
[ -n "$INSTR" ] && grep -qF "$INSTR" "$H/.aider.conf.yml" && pass "read: names the composed instructions" || fail "read: member missing"

section "idempotent, and revert is byte-exact"
aiorch apply2 apply --check
expect_rc apply2 0 "a second apply has nothing to do (apply --check)"
aiorch revert revert
expect_rc revert 0 "aiorch revert"
[ "$(cat "$H/.config/opencode/opencode.jsonc")" = "$(printf '%s' "$USER_FILE")" ] \
  && pass "opencode.jsonc is the user's file again, byte for byte" || fail "opencode.jsonc differs after revert"
[ ! -e "$H/.config/opencode/AGENTS.md" ] && pass "AGENTS.md link removed" || fail "AGENTS.md left behind"
[ "$(cat "$H/.aider.conf.yml")" = "$(printf '%s' "$AIDER_CONF")" ] \
  && pass "~/.aider.conf.yml is the user's file again, byte for byte" || fail "~/.aider.conf.yml differs after revert"

# failing_repo DIR: a git repo with the failing test of $R, a `calc.py` that breaks it, and a
# `keep/precious` file the fake model's `rm -rf keep` must not delete
failing_repo() {
  mkdir -p "$1/keep" && cp "$R/test_calc.py" "$1/" && printf 'def add(a, b):\n    return a - b\n' >"$1/calc.py" \
    && touch "$1/keep/precious"
  (cd "$1" && git init -q && git add . && git -c user.email=e2e@example.com -c user.name=e2e commit -qm init) || fail "git init"
}
# in_ledger AGENT WHAT: `aiorch stats` lists the run as agent:AGENT
in_ledger() {
  aiorch "stats-$1" stats --json
  grep -q "\"agent:$1\"" "$LOGS/stats-$1.out" && pass "$2 is in aiorch's ledger" || fail "$2 is not in the ledger"
}

section "ai-go finishes the work (OpenCode against a fake tool-calling model API)"
# No gateway for this run (go would start LiteLLM for it); OpenCode on PATH for `--agent opencode`.
sed -i 's/^enabled = true$/enabled = false/' "$WORK/aiorch.toml"
base_env "$H" "$WORK/tmp"
BASE_ENV+=(OPENCODE_DISABLE_AUTOUPDATE=1 OPENCODE_DISABLE_MODELS_FETCH=1 OPENCODE_DISABLE_LSP_DOWNLOAD=1)
BASE_ENV=("${BASE_ENV[@]/#PATH=*/PATH=$E2E_OPENCODE_BIN:$PATH}")
R=$WORK/repo
mkdir -p "$R/keep"
printf 'def add(a, b):\n    return a - b\n' >"$R/calc.py"
printf 'from calc import add\nassert add(2, 3) == 5, "add is wrong"\nprint("test passed")\n' >"$R/test_calc.py"
touch "$R/keep/precious"
(cd "$R" && git init -q && git add . && git -c user.email=e2e@example.com -c user.name=e2e commit -qm init) || fail "git init"
(cd "$R" && ! python3 test_calc.py >/dev/null 2>&1) && pass "the test fails before the run" || fail "the test passes already"
# The policy: the fix and the test may run without asking; rm -rf is denied by default.
cat >>"$WORK/aiorch.toml" <<'TOML'
[policy.allow]
commands = ["sed -i", "python3 test_calc.py"]
TOML
aiorch apply-policy apply
expect_rc apply-policy 0 "apply with the test's allow rules"
start_fakeapi "$WORK/go-api" --tool-command "rm -rf keep" \
  --tool-command "sed -i 's/a - b/a + b/' calc.py && python3 test_calc.py" || abort "fake API"
# OpenCode's model: the fake API as an OpenAI-compatible provider (a user key aiorch leaves alone).
python3 - "$H/.config/opencode/opencode.jsonc" "$FAKE_PORT" <<'PY'
import json, re, sys
path, port = sys.argv[1], sys.argv[2]
text = open(path).read()
provider = {"fake": {"npm": "@ai-sdk/openai-compatible", "name": "Fake", "options": {"baseURL": f"http://127.0.0.1:{port}/v1", "apiKey": "x"},
            "models": {"gpt-4o": {"name": "gpt-4o", "tool_call": True}}}}
i = text.index("{") + 1
open(path, "w").write(text[:i] + f'\n  "provider": {json.dumps(provider)},\n  "model": "fake/gpt-4o",' + text[i:])
PY
run go-opencode 300 "${BASE_ENV[@]}" sh -c "cd '$R' && exec '$AIORCH' --config '$WORK/aiorch.toml' --home '$H' --state-dir '$S' --color never go --agent opencode 'make the test pass'"
expect_rc go-opencode 0 "aiorch go --agent opencode exits 0"
grep -q "agent: opencode 1.18" "$LOGS/go-opencode.err" && pass "the preflight started OpenCode (--version)" || fail "no agent check in the preflight"
grep -q 'a + b' "$R/calc.py" && pass "the repository has the change" || fail "calc.py unchanged"
(cd "$R" && python3 test_calc.py >/dev/null 2>&1) && pass "the test passes afterwards" || fail "the test still fails"
[ -e "$R/keep/precious" ] && pass "the denied \`rm -rf keep\` was refused (the directory survives)" || fail "rm -rf ran"
python3 - "$WORK/go-api" <<'PY' && pass "OpenCode told the model the command was refused by a rule" || fail "no refusal reached the model"
import glob, json, sys
for f in sorted(glob.glob(sys.argv[1] + "/*.json")):
    msgs = json.load(open(f))["body"].get("messages", [])
    tool = [m for m in msgs if m.get("role") == "tool"]
    if tool and "rule" in json.dumps(tool[0]).lower():
        sys.exit(0)
sys.exit(1)
PY
grep -rqs "aiorch go: orchestrator instructions" "$WORK/go-api" && pass "OpenCode got the orchestrator prompt" || fail "no orchestrator prompt in the requests"
aiorch stats stats --json
grep -q '"agent:opencode"' "$LOGS/stats.out" && pass "the run is in aiorch's ledger (stats: agent:opencode)" || { fail "the run is not in the ledger"; show_err stats; }

section "aiorch go --local --agent opencode: OpenCode on the local server's model"
# The fake API stands in for the local server (llama-server's OpenAI API): aiorch routes coding
# to the keyless local model and hands OpenCode a provider for it.
cat >>"$WORK/aiorch.toml" <<TOML
[runtime.models.loc]
provider = "openai"
endpoint = "local"
model = "qwen-local"
roles = { planning = 0.5, coding = 0.5, review = 0.5, search = 0.5 }
[runtime.local]
url = "http://127.0.0.1:$FAKE_PORT/v1"
TOML
R2=$WORK/repo2
failing_repo "$R2"
mark=$(ls "$WORK/go-api"/*.json | wc -l)
run go-local 300 "${BASE_ENV[@]}" sh -c "cd '$R2' && exec '$AIORCH' --config '$WORK/aiorch.toml' --home '$H' --state-dir '$S' --color never go --local --agent opencode 'make the test pass'"
expect_rc go-local 0 "aiorch go --local --agent opencode exits 0"
grep -q "OpenCode runs on the local model qwen-local" "$LOGS/go-local.err" && pass "go says which local model drives OpenCode (and that a small one may not call tools)" || fail "no local-model note"
(cd "$R2" && python3 test_calc.py >/dev/null 2>&1) && [ -e "$R2/keep/precious" ] && pass "the local run fixed the test; rm -rf refused again" || fail "the local run did not finish the work"
python3 - "$WORK/go-api" "$mark" <<'PY' && pass "OpenCode called the local server with the local model (qwen-local)" || fail "OpenCode did not use the local model"
import glob, json, sys
files = [f for f in sorted(glob.glob(sys.argv[1] + "/*.json"))[int(sys.argv[2]):] if f.endswith("chat_completions.json")]
models = {json.load(open(f))["body"].get("model") for f in files}
sys.exit(0 if models == {"qwen-local"} else 1)
PY

section "ai-go finishes the work (Codex against the same fake API)"
R3=$WORK/repo3
failing_repo "$R3"
# Codex managed too (its execpolicy rules file), its model the fake Responses API through
# runtime.clink.args (go applies them); the sandbox is bypassed on purpose (it needs kernel
# features a container may lack): the rules are what must refuse `rm -rf`.
sed -e 's/^codex = "never"$/codex = "always"/' "$WORK/aiorch.toml" >"$WORK/aiorch-codex.toml"
cat >>"$WORK/aiorch-codex.toml" <<TOML
[runtime.clink]
allow_bypass = true
[runtime.clink.args]
codex = ["-m", "gpt-5", "-c", "model_provider=fake", "-c", 'model_providers.fake={name="fake",base_url="http://127.0.0.1:$FAKE_PORT/v1",wire_api="responses",env_key="FAKE_API_KEY"}', "--dangerously-bypass-approvals-and-sandbox"]
TOML
run apply-codex 60 "${BASE_ENV[@]}" "$AIORCH" --config "$WORK/aiorch-codex.toml" --home "$H" --state-dir "$S" apply
expect_rc apply-codex 0 "apply with Codex managed (rules file)"
mark=$(ls "$WORK/go-api"/*.json | wc -l)
run go-codex 300 "${BASE_ENV[@]}" FAKE_API_KEY=x \
  sh -c "cd '$R3' && exec '$AIORCH' --config '$WORK/aiorch-codex.toml' --home '$H' --state-dir '$S' --color never go --agent codex 'make the test pass'"
expect_rc go-codex 0 "aiorch go --agent codex exits 0"
grep -q 'a + b' "$R3/calc.py" && (cd "$R3" && python3 test_calc.py >/dev/null 2>&1) \
  && pass "Codex made the change and the test passes" || { fail "Codex did not finish the work"; show_err go-codex; }
[ -e "$R3/keep/precious" ] && pass "aiorch's rule refused Codex's \`rm -rf keep\` (approvals bypassed)" || fail "rm -rf ran under Codex"
python3 - "$WORK/go-api" "$mark" <<'PY' && pass "Codex told the model the command was forbidden by aiorch's policy" || fail "no refusal reached the model"
import glob, json, sys
files = sorted(glob.glob(sys.argv[1] + "/*.json"))[int(sys.argv[2]):]
outs = [i for f in files for i in (json.load(open(f)).get("body") or {}).get("input") or []
        if isinstance(i, dict) and i.get("type") == "function_call_output"]
sys.exit(0 if outs and "aiorch policy" in json.dumps(outs[0]) else 1)
PY
in_ledger codex "the Codex run"

section "ai-go finishes the work (Claude Code against the same fake API)"
R4=$WORK/repo4
failing_repo "$R4"
# Claude managed (its permissions.allow/deny in ~/.claude/settings.json); nothing bypassed.
sed -e 's/^claude = "never"$/claude = "always"/' "$WORK/aiorch.toml" >"$WORK/aiorch-claude.toml"
run apply-claude 60 "${BASE_ENV[@]}" "$AIORCH" --config "$WORK/aiorch-claude.toml" --home "$H" --state-dir "$S" apply
expect_rc apply-claude 0 "apply with Claude Code managed (permissions in settings.json)"
mark=$(ls "$WORK/go-api"/*.json | wc -l)
run go-claude 300 "${BASE_ENV[@]}" ANTHROPIC_API_KEY=sk-ant-fake "ANTHROPIC_BASE_URL=http://127.0.0.1:$FAKE_PORT" \
  sh -c "cd '$R4' && exec '$AIORCH' --config '$WORK/aiorch-claude.toml' --home '$H' --state-dir '$S' --color never go --agent claude 'make the test pass'"
expect_rc go-claude 0 "aiorch go --agent claude exits 0"
grep -q 'a + b' "$R4/calc.py" && (cd "$R4" && python3 test_calc.py >/dev/null 2>&1) \
  && pass "Claude Code made the change and the test passes" || { fail "Claude Code did not finish the work"; show_err go-claude; }
[ -e "$R4/keep/precious" ] && pass "aiorch's deny rule refused Claude's \`rm -rf keep\`" || fail "rm -rf ran under Claude Code"
python3 - "$WORK/go-api" "$mark" <<'PY' && pass "Claude Code told the model the command was denied" || fail "no denial reached the model"
import glob, json, sys
files = sorted(glob.glob(sys.argv[1] + "/*.json"))[int(sys.argv[2]):]
res = [c for f in files for m in (json.load(open(f)).get("body") or {}).get("messages") or [] if isinstance(m.get("content"), list)
       for c in m["content"] if isinstance(c, dict) and c.get("type") == "tool_result"]
sys.exit(0 if res and res[0].get("is_error") and "denied" in json.dumps(res[0]) else 1)
PY
in_ledger claude "the Claude Code run"

section "ai-go finishes the work (Gemini CLI against the same fake API)"
R5=$WORK/repo5
failing_repo "$R5"
# Gemini managed (its policy file ~/.gemini/policies/aiorch.toml); its API key auth and model
# are the user's settings / clink args; nothing bypassed (headless Gemini refuses what asks).
sed -e 's/^gemini = "never"$/gemini = "always"/' "$WORK/aiorch.toml" >"$WORK/aiorch-gemini.toml"
cat >>"$WORK/aiorch-gemini.toml" <<'TOML'
[runtime.clink.args]
gemini = ["-m", "gemini-2.5-flash"]
TOML
mkdir -p "$H/.gemini" && printf '{ "security": { "auth": { "selectedType": "gemini-api-key" } } }\n' >"$H/.gemini/settings.json"
run apply-gemini 60 "${BASE_ENV[@]}" "$AIORCH" --config "$WORK/aiorch-gemini.toml" --home "$H" --state-dir "$S" apply
expect_rc apply-gemini 0 "apply with Gemini CLI managed (policy file)"
run go-gemini 300 "${BASE_ENV[@]}" GEMINI_API_KEY=x "GOOGLE_GEMINI_BASE_URL=http://127.0.0.1:$FAKE_PORT" GEMINI_CLI_TRUST_WORKSPACE=true \
  sh -c "cd '$R5' && exec '$AIORCH' --config '$WORK/aiorch-gemini.toml' --home '$H' --state-dir '$S' --color never go --agent gemini 'make the test pass'"
expect_rc go-gemini 0 "aiorch go --agent gemini exits 0"
grep -q 'a + b' "$R5/calc.py" && (cd "$R5" && python3 test_calc.py >/dev/null 2>&1) \
  && pass "Gemini CLI made the change and the test passes" || { fail "Gemini CLI did not finish the work"; show_err go-gemini; }
[ -e "$R5/keep/precious" ] && pass "aiorch's policy rule refused Gemini's \`rm -rf keep\`" || fail "rm -rf ran under Gemini CLI"
grep -rqs "refused by the aiorch permission policy" "$WORK/go-api" && pass "Gemini told the model: refused by the aiorch permission policy" \
  || fail "no policy refusal reached the model"
in_ledger gemini "the Gemini CLI run"

section "ai-go finishes the work (Copilot CLI against the same fake API)"
R6=$WORK/repo6
failing_repo "$R6"
# Copilot takes tool rules only as flags: go passes the policy's --deny-tool/--allow-tool. The
# user's COPILOT_ALLOW_ALL approves the rest (deny flags still win over it).
mark=$(ls "$WORK/go-api"/*.json | wc -l)
run go-copilot 300 "${BASE_ENV[@]}" COPILOT_OFFLINE=true "COPILOT_PROVIDER_BASE_URL=http://127.0.0.1:$FAKE_PORT/v1" \
  COPILOT_PROVIDER_API_KEY=x COPILOT_MODEL=gpt-4o COPILOT_ALLOW_ALL=true COPILOT_AUTO_UPDATE=false \
  sh -c "cd '$R6' && exec '$AIORCH' --config '$WORK/aiorch.toml' --home '$H' --state-dir '$S' --color never go --agent copilot 'make the test pass'"
expect_rc go-copilot 0 "aiorch go --agent copilot exits 0"
grep -q 'a + b' "$R6/calc.py" && (cd "$R6" && python3 test_calc.py >/dev/null 2>&1) \
  && pass "Copilot CLI made the change and the test passes" || { fail "Copilot CLI did not finish the work"; show_err go-copilot; }
[ -e "$R6/keep/precious" ] && pass "the policy's --deny-tool=shell(rm) refused Copilot's \`rm -rf keep\`" || fail "rm -rf ran under Copilot"
python3 - "$WORK/go-api" "$mark" <<'PY' && pass "Copilot told the model the command was denied by the rules" || fail "no denial reached the model"
import glob, json, sys
files = sorted(glob.glob(sys.argv[1] + "/*.json"))[int(sys.argv[2]):]
tool = [m for f in files for m in (json.load(open(f)).get("body") or {}).get("messages") or [] if m.get("role") == "tool"]
sys.exit(0 if tool and "shell(rm)" in json.dumps(tool[0]) else 1)
PY

section "aiorch go --agent aider (headless, the same fake API)"
# Aider has no tools to call: the proof is that it ran headless on the orchestrator prompt with
# the instructions aiorch put in its read: list. Its model comes from the environment.
BASE_ENV=("${BASE_ENV[@]/#PATH=*/PATH=$E2E_AIDER_VENV/bin:$PATH}")
mark=$(ls "$WORK/go-api"/*.json | wc -l)
run go-aider 300 "${BASE_ENV[@]}" AIDER_MODEL=openai/gpt-4o OPENAI_API_BASE="http://127.0.0.1:$FAKE_PORT/v1" OPENAI_API_KEY=x \
  AIDER_CHECK_UPDATE=false AIDER_ANALYTICS=false AIDER_SHOW_MODEL_WARNINGS=false \
  sh -c "cd '$R' && exec '$AIORCH' --config '$WORK/aiorch.toml' --home '$H' --state-dir '$S' --color never go --agent aider 'say hi'"
expect_rc go-aider 0 "aiorch go --agent aider exits 0"
python3 - "$WORK/go-api" "$mark" <<'PY' && pass "Aider sent the orchestrator prompt with AGENTS.md and the rules from its read: list" || { fail "Aider's request lacks the prompt or the instructions"; show_err go-aider; }
import glob, json, sys
files = sorted(glob.glob(sys.argv[1] + "/*.json"))[int(sys.argv[2]):]
text = " ".join(json.dumps(json.load(open(f))["body"]) for f in files)
need = ["aiorch go: orchestrator instructions", "Shared instructions for AI assistants", "Ask before anything destructive"]
sys.exit(0 if all(n in text for n in need) else 1)
PY
stop_fakeapi

summary
