#!/usr/bin/env bash
# End-to-end proof of the permission policy against the real clients, offline.
#
#   tests/e2e/policy.sh            (builds target/debug/aiorch if needed; AIORCH_BIN overrides)
#
# 1. `aiorch apply` renders the default policy (plus a denied and an allowed host) into a
#    scratch HOME; every client's own loader accepts the result (claude doctor, gemini mcp
#    list + session output, codex mcp list + execpolicy check, copilot config).
# 2. The fake model API (tests/e2e/fakeapi.py --tool-command, 127.0.0.1, free port) asks each client to
#    run `rm -rf <victim dir>` through its own shell tool. With the policy the directory
#    survives and the client's tool result says why; without it (control run, same flags) the
#    client deletes it — so the refusal is the policy's doing.
# 3. Copilot cannot take command rules from a file: the `--deny-tool` flags aiorch prints for
#    an alias refuse the same command even with --allow-all-tools.
# 4. A policy that uses every rule kind and the deny posture loads in every client.
#
# Ends with `N passed, M failed`; exit 1 on any failure. Without the clients of
# tests/e2e/install-clients.sh: a failure under CI=true, else SKIPPED (exit 77).
# Nothing outside scratch dirs is touched; the fake API is stopped by its PID.
# Env: AIORCH_BIN (skip the build), KEEP=1 (keep the scratch dir).
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_clients
export XDG_CACHE_HOME=$E2E_CACHE/xdg-cache
CLAUDE=$E2E_CLIENTS_BIN/claude GEMINI=$E2E_CLIENTS_BIN/gemini CODEX=$E2E_CLIENTS_BIN/codex COPILOT=$E2E_CLIENTS_BIN/copilot
v() { e2e_client_env timeout 60 "$@" --version 2>/dev/null | head -1; }
echo "clients: claude $(v "$CLAUDE"), gemini $(v "$GEMINI"), $(v "$CODEX"), copilot $(v "$COPILOT")"
aiorch_bin

# Not under /tmp: Codex refuses to create its helper links under a temporary dir (it warns).
mkdir -p "$E2E_CACHE/work"
WORK=$(mktemp -d "$E2E_CACHE/work/policy.XXXXXX")
cleanup() { stop_fakeapi; [ "${KEEP:-0}" = 1 ] && echo "kept: $WORK" || rm -rf "$WORK"; }
trap cleanup EXIT

# render NAME CONFIG_EXTRA: a HOME with the policy applied -> $WORK/NAME/home
render() {
  local d=$WORK/$1
  mkdir -p "$d/home"
  printf '[clients]\nclaude = "always"\ngemini = "always"\ncodex = "always"\ncopilot = "always"\n%s\n' "$2" >"$d/aiorch.toml"
  "$AIORCH" --home "$d/home" --state-dir "$d/state" --config "$d/aiorch.toml" apply >"$d/apply.out" 2>&1
}

# session CLIENT SRC_HOME NAME [ARGS…]: copy SRC_HOME (the clients rewrite their files), ask the
# client (through the fake API) to `rm -rf` a victim dir. Sets S (the run dir).
session() {
  local client=$1 src=$2 name=$3; shift 3
  S=$WORK/s-$client-$name
  mkdir -p "$S/home" "$S/proj/victim"
  touch "$S/proj/victim/keep"
  [ -d "$src" ] && cp -a "$src/." "$S/home/"
  start_fakeapi "$S/log" --tool-command "${PROBE_PREFIX:-}rm -rf $S/proj/victim" || { echo "fake API did not start"; return 1; }
  (
    cd "$S/proj" || exit 1
    export HOME=$S/home
    case $client in
      claude) ANTHROPIC_API_KEY=sk-ant-fake ANTHROPIC_BASE_URL=http://127.0.0.1:$FAKE_PORT timeout 120 "$CLAUDE" -p probe "$@" ;;
      gemini)
        python3 - "$HOME/.gemini/settings.json" <<'PY'
import json, os, sys
p = sys.argv[1]; os.makedirs(os.path.dirname(p), exist_ok=True)
d = json.load(open(p)) if os.path.exists(p) else {}
d.setdefault("security", {}).setdefault("auth", {})["selectedType"] = "gemini-api-key"
json.dump(d, open(p, "w"), indent=2)
PY
        GEMINI_API_KEY=fake GOOGLE_GEMINI_BASE_URL=http://127.0.0.1:$FAKE_PORT GEMINI_CLI_TRUST_WORKSPACE=true timeout 120 "$GEMINI" -m gemini-2.5-flash -p probe "$@" ;;
      codex) FAKE_KEY=x timeout 120 "$CODEX" exec --skip-git-repo-check -m gpt-5 -c model_provider=fake \
               -c "model_providers.fake={name=\"fake\",base_url=\"http://127.0.0.1:$FAKE_PORT/v1\",wire_api=\"responses\",env_key=\"FAKE_KEY\"}" "$@" probe ;;
      copilot) COPILOT_OFFLINE=true COPILOT_PROVIDER_BASE_URL=http://127.0.0.1:$FAKE_PORT/v1 COPILOT_PROVIDER_API_KEY=x COPILOT_MODEL=gpt-4o \
               timeout 120 "$COPILOT" -p probe "$@" ;;
    esac
  ) >"$S/out.txt" 2>&1
  stop_fakeapi
  # The tool result the client sent back to the model.
  python3 - "$S/log" >"$S/result.txt" <<'PY'
import glob, json, sys
for f in sorted(glob.glob(sys.argv[1] + "/*.json")):
    b = json.load(open(f))["body"]
    if not isinstance(b, dict):
        continue
    for m in b.get("messages") or []:
        if m.get("role") == "tool":
            print(json.dumps(m.get("content")))
        if isinstance(m.get("content"), list):
            for c in m["content"]:
                if isinstance(c, dict) and c.get("type") == "tool_result":
                    print(json.dumps(c.get("content")))
    for c in b.get("contents") or []:
        for p in c.get("parts") or []:
            if "functionResponse" in p:
                print(json.dumps(p["functionResponse"]))
    for i in b.get("input") or []:
        if isinstance(i, dict) and str(i.get("type", "")).endswith("_output"):
            print(json.dumps(i.get("output")))
PY
  return 0
}
kept() { [ -e "$S/proj/victim/keep" ]; }
deleted() { [ ! -e "$S/proj/victim" ]; }
result_has() { grep -q -- "$1" "$S/result.txt"; }
out_lacks() { ! grep -qi -- "$1" "$S/out.txt"; }
show_fail() { echo "  --- $S/out.txt (tail)"; tail -5 "$S/out.txt" | sed 's/^/  /'; echo "  --- tool result"; sed 's/^/  /' "$S/result.txt"; }

# ---- 1. the default policy, rendered ----------------------------------------------------------
render default '[policy]
deny = { hosts = ["evil.test"] }
allow = { hosts = ["docs.rs"] }'
check "aiorch apply renders the default policy" grep -q "^applied:" "$WORK/default/apply.out"
H=$WORK/default/home
check "aiorch doctor: policy settings in place for every client" \
  bash -c "'$AIORCH' --home '$H' --state-dir '$WORK/default/state' --config '$WORK/default/aiorch.toml' doctor --json | python3 -c 'import json,sys; d=json.load(sys.stdin); c=[x for x in d[\"checks\"] if x[\"group\"]==\"policy\" and x[\"name\"].endswith(\"settings in place\")]; sys.exit(0 if len(c)==4 and all(x[\"status\"]==\"ok\" for x in c) else 1)'"

# ---- 2. Claude Code ---------------------------------------------------------------------------
C1=$WORK/claude-doctor; mkdir -p "$C1"; cp -a "$H/." "$C1/"
(cd "$WORK" && HOME=$C1 timeout 60 "$CLAUDE" doctor >"$WORK/claude-doctor.out" 2>&1)
check "claude doctor: no Invalid settings" bash -c "grep -q 'Claude Code doctor' '$WORK/claude-doctor.out' && ! grep -q 'Invalid settings' '$WORK/claude-doctor.out'"
session claude "$H" policy --allowedTools Bash
if kept && result_has "has been denied"; then pass "claude refuses rm -rf (deny rule beats --allowedTools Bash)"; else fail "claude refuses rm -rf"; show_fail; fi
session claude /nonexistent control --allowedTools Bash
check "claude control: without the policy the same call deletes the dir" deleted

# ---- 3. Gemini CLI ----------------------------------------------------------------------------
G1=$WORK/gemini-list; mkdir -p "$G1"; cp -a "$H/." "$G1/"
(cd "$WORK" && HOME=$G1 timeout 60 "$GEMINI" mcp list >"$WORK/gemini-list.out" 2>&1); grc=$?
check "gemini mcp list: settings load (exit $grc, no Invalid configuration)" bash -c "[ $grc = 0 ] && ! grep -q 'Invalid configuration' '$WORK/gemini-list.out'"
session gemini "$H" policy -y
if kept && result_has "denied by policy" && out_lacks "Policy file error"; then pass "gemini refuses rm -rf even in YOLO mode (policy file loads without errors)"; else fail "gemini refuses rm -rf"; show_fail; fi
session gemini /nonexistent control -y
check "gemini control: without the policy the same call deletes the dir" deleted

# ---- 4. Codex CLI -----------------------------------------------------------------------------
X1=$WORK/codex-home; mkdir -p "$X1"; cp -a "$H/." "$X1/"
check "codex mcp list: config loads" bash -c "cd '$WORK' && HOME='$X1' timeout 60 '$CODEX' mcp list >/dev/null 2>&1"
check "codex execpolicy check: rm -rf forbidden" bash -c "HOME='$X1' timeout 60 '$CODEX' execpolicy check --rules '$H/.codex/rules/aiorch.rules' rm -rf / 2>/dev/null | grep -q '\"decision\":\"forbidden\"'"
check "codex execpolicy check: git status allowed" bash -c "HOME='$X1' timeout 60 '$CODEX' execpolicy check --rules '$H/.codex/rules/aiorch.rules' git status -s 2>/dev/null | grep -q '\"decision\":\"allow\"'"
session codex "$H" policy --dangerously-bypass-approvals-and-sandbox
if kept && result_has "aiorch policy: deny.commands"; then pass "codex rejects rm -rf with the aiorch rule (even with approvals bypassed)"; else fail "codex rejects rm -rf with the aiorch rule"; show_fail; fi
session codex /nonexistent control --dangerously-bypass-approvals-and-sandbox
# Codex has a built-in rm -f rule of its own: the control shows the refusal above is ours.
check "codex control: without the policy no aiorch rule is cited" bash -c "! grep -q 'aiorch policy' '$S/result.txt'"

# ---- 5. Copilot CLI ---------------------------------------------------------------------------
P1=$WORK/copilot-home; mkdir -p "$P1"; cp -a "$H/." "$P1/"
check "copilot config: reads aiorch's deniedUrls" bash -c "cd '$WORK' && HOME='$P1' timeout 60 '$COPILOT' config deniedUrls 2>/dev/null | grep -qx 'https://evil.test'"
mapfile -t FLAGS < <("$AIORCH" --home "$H" --state-dir "$WORK/default/state" --config "$WORK/default/aiorch.toml" policy show --client copilot --json \
  | python3 -c 'import json,shlex,sys,re; n=" ".join(json.load(sys.stdin)["clients"][0]["notes"]); m=re.search(r"alias copilot=(.*)$", n); a=shlex.split(shlex.split(m.group(1))[0]); print("\n".join(a[2:]))')
check "aiorch prints Copilot deny flags (${#FLAGS[@]} flags)" bash -c "printf '%s\n' ${FLAGS[*]@Q} | grep -q 'shell(rm)'"
session copilot "$H" policy --allow-all-tools "${FLAGS[@]}"
if kept && result_has "denied due to the following rules"; then pass "copilot refuses rm -rf with aiorch's flags (even with --allow-all-tools)"; else fail "copilot refuses rm -rf with aiorch's flags"; show_fail; fi
session copilot "$H" control --allow-all-tools
check "copilot control: without the flags the same call deletes the dir" deleted

# ---- 6. a compound command hides nothing: `git status` (allowed) && rm -rf (denied) ------------
PROBE_PREFIX="git status && "
session claude "$H" compound --allowedTools Bash
if kept && result_has "has been denied"; then pass "claude refuses 'git status && rm -rf'"; else fail "claude refuses 'git status && rm -rf'"; show_fail; fi
session gemini "$H" compound -y
if kept && result_has "denied by policy"; then pass "gemini refuses 'git status && rm -rf'"; else fail "gemini refuses 'git status && rm -rf'"; show_fail; fi
session codex "$H" compound --dangerously-bypass-approvals-and-sandbox
if kept && result_has "aiorch policy: deny.commands"; then pass "codex refuses 'git status && rm -rf' with the aiorch rule"; else fail "codex refuses 'git status && rm -rf'"; show_fail; fi
check "aiorch policy check agrees: deny for claude, gemini and codex" bash -c "'$AIORCH' --home '$H' --state-dir '$WORK/default/state' --config '$WORK/default/aiorch.toml' policy check --json 'git status && rm -rf /x' | python3 -c 'import json,sys; d=json.load(sys.stdin); v={c[\"client\"]: c[\"decision\"] for c in d[\"clients\"]}; sys.exit(0 if v[\"claude\"]==v[\"gemini\"]==v[\"codex\"]==\"deny\" else 1)'"
PROBE_PREFIX=

# ---- 7. a policy with every rule kind and the deny posture -------------------------------------
mkdir -p "$WORK/ek-src/permissions"
echo "# rules" >"$WORK/ek-src/AGENTS.md"
# The same every-kind policy the integration tests use (one fixture).
cp "$REPO_ROOT/tests/it/fixtures/policy-every-kind.toml" "$WORK/ek-src/permissions/policy.toml"
render every "[agentsmd]
source = \"$WORK/ek-src\""
E=$WORK/every/home
E1=$WORK/every-claude; mkdir -p "$E1"; cp -a "$E/." "$E1/"
(cd "$WORK" && HOME=$E1 timeout 60 "$CLAUDE" doctor >"$WORK/every-claude.out" 2>&1)
check "every kind: claude doctor accepts every rule (no Invalid settings)" bash -c "grep -q 'Claude Code doctor' '$WORK/every-claude.out' && ! grep -q 'Invalid settings' '$WORK/every-claude.out'"
session gemini "$E" every -y
if kept && out_lacks "Policy file error" && out_lacks "Policy file warning"; then pass "every kind: gemini loads the policy file without errors and refuses rm -rf"; else fail "every kind: gemini"; show_fail; fi
check "every kind: codex rules load (curl forbidden)" bash -c "HOME='$X1' timeout 60 '$CODEX' execpolicy check --rules '$E/.codex/rules/aiorch.rules' curl -s x 2>/dev/null | grep -q '\"decision\":\"forbidden\"'"
check "every kind: copilot reads its URL lists" bash -c "mkdir -p '$WORK/every-cp' && cp -a '$E/.' '$WORK/every-cp/' && cd '$WORK' && HOME='$WORK/every-cp' timeout 60 '$COPILOT' config deniedUrls 2>/dev/null | grep -qx 'https://\*.tracker.test'"

summary
