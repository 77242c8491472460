#!/usr/bin/env bash
# tests/e2e/foundation.sh
# Proves `aiorch apply` output against the REAL Claude Code, Gemini CLI, Codex CLI and Copilot
# CLI, offline: a scratch HOME (never the real one) with some pre-existing user files, then
#   apply (all four clients on PATH, so all managed) -> each client reads what aiorch wrote:
#     claude -p / gemini -p / codex exec / copilot -p against a fake LLM API on 127.0.0.1 (the
#     recorded request shows the instructions and commands/skills that reached the model),
#     `/review ARG` expanded by Claude and Gemini, Gemini TOML validated, Copilot's own
#     `instruction list --json` / `skill list --json`
#   second apply: 0 changes; `apply --check` and `doctor` exit 0
#   the clients rewrite their files (`claude|gemini|codex mcp add`, plus every run's state),
#   a hand edit of an owned key and a deleted link -> third apply repairs only those and keeps
#   every byte the clients and the user wrote; a fourth apply is a no-op
#   revert -> user files restored byte for byte, nothing of aiorch's left
#   a clean apply + revert round trip leaves the home exactly as it was (digest)
#   the same round trip once more as an unprivileged user (nobody, when run as root) in a HOME it
#   owns: everything created is the user's, modes kept, root refused there ("run it as nobody")
# Ends with `N passed, M failed`; exit 1 on any failure. Without the clients of
# tests/e2e/install-clients.sh: a failure under CI=true, else SKIPPED (exit 77). ~2 min.
# Env: AIORCH_BIN (skip the build), KEEP=1 (keep the scratch dir), CLIENT_TIMEOUT (s per client
# call, default 120), AIORCH_VERIFY_ALL (an external home verifier to run on a generated home;
# its result is shown, never counted).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
require_clients

T0=$(date +%s)
CLIENT_TIMEOUT=${CLIENT_TIMEOUT:-120}
WORK=$(mktemp -d -t aiorch-e2e-foundation-XXXXXX)
H=$WORK/home S=$WORK/state P=$WORK/project LOGS=$WORK/logs
# the clients' TMPDIR is a directory of its own: a tool that tidies its temp dir must never
# reach the home, the state dir or the logs
mkdir -p "$H" "$S" "$P" "$LOGS" "$WORK/tmp"
cleanup() {
  stop_fakeapi
  if [ "${KEEP:-0}" = 1 ] || [ "$FAILED" -gt 0 ]; then echo "scratch kept: $WORK (logs in $LOGS)"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
AGENTSMD=$REPO_ROOT/agentsmd
INSPECT=(python3 "$E2E_DIR/inspect_request.py")

section "build"
aiorch_bin
echo "scratch: $WORK"

base_env "$H" "$WORK/tmp"
# The foundation's proof leaves out aiorch's own MCP server (on by default: its registration in
# every real client is proven by mcp.sh and runtime-mcp.sh), so ~/.claude.json stays Claude's.
printf '[mcp]\nserve_self = false\n' >"$WORK/aiorch.toml"
aiorch() { local name=$1; shift; run "$name" 60 "${BASE_ENV[@]}" "$AIORCH" --config "$WORK/aiorch.toml" --home "$H" --state-dir "$S" --color never "$@"; }
# inspect KIND FILE [ARG]: feed inspect_request.py's ok/FAIL lines into the counters
inspect() {
  local line
  while IFS= read -r line; do
    case $line in
      ok\ *) pass "${line#ok }" ;;
      FAIL\ *) fail "${line#FAIL }" ;;
      *) echo "  $line" ;;
    esac
  done < <("${INSPECT[@]}" "$1" "$AGENTSMD" "$H" "$2" "${3:-}" 2>&1 || echo "FAIL inspect_request.py $1 crashed")
}
summary_changes() { python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["summary"]; print(s["created"]+s["updated"]+s["removed"])' "$1" 2>/dev/null || echo "?"; }
json_get() { python3 - "$@" <<'PY'
import json, re, sys
text = open(sys.argv[1]).read()
text = re.sub(r'(?m)^\s*//.*$', '', text)          # the user's comments (JSONC)
d = json.loads(text)
for k in sys.argv[2].split("."):
    d = d.get(k) if isinstance(d, dict) else None
print(json.dumps(d))
PY
}
sha() { sha256sum "$1" 2>/dev/null | cut -d' ' -f1; }

# ---------------------------------------------------------------------------------------------
section "seed the scratch home with a user's own files"
seed_home() {
  local h=$1
  mkdir -p "$h/.gemini" "$h/.claude" "$h/.codex"
  cat >"$h/.gemini/settings.json" <<'EOF'
{
  // my own Gemini settings (aiorch must keep this comment)
  "general": { "vimMode": false },
  "ui": { "hideTips": true }
}
EOF
  printf '# my old global Claude instructions\nUSER-CLAUDE-MD-MARKER\n' >"$h/.claude/CLAUDE.md"
  printf '# my Codex config\nmodel_reasoning_effort = "low" # keep me\n' >"$h/.codex/config.toml"
}
seed_home "$H"
tree_digest "$H" >"$WORK/digest.before"
cp "$H/.claude/CLAUDE.md" "$WORK/user-CLAUDE.md"
echo "  $(wc -l <"$WORK/digest.before") entries: ~/.gemini/settings.json (JSONC), ~/.claude/CLAUDE.md, ~/.codex/config.toml"

# ---------------------------------------------------------------------------------------------
section "aiorch apply (1st): all four clients on PATH"
aiorch agents agents --json
managed=$(python3 -c 'import json,sys; print(" ".join(sorted(a["command"] for a in json.load(open(sys.argv[1])) if a.get("managed"))))' "$LOGS/agents.out" 2>/dev/null)
[ "$managed" = "claude codex copilot gemini" ] && pass "aiorch agents: all four clients managed" || fail "aiorch agents: managed = '$managed'"
aiorch apply1 apply --json
expect_rc apply1 0 "first apply exits 0"
n1=$(summary_changes "$LOGS/apply1.out")
[ "$n1" != "?" ] && [ "$n1" -gt 0 ] && pass "first apply made $n1 changes" || fail "first apply changes: $n1"
grep -q 'USER-CLAUDE-MD-MARKER' "$(grep -rl USER-CLAUDE-MD-MARKER "$S/backups" 2>/dev/null | head -1)" 2>/dev/null \
  && pass "the user's ~/.claude/CLAUDE.md was backed up under the state dir" || fail "no backup of the user's CLAUDE.md in $S/backups"
grep -q '// my own Gemini settings (aiorch must keep this comment)' "$H/.gemini/settings.json" \
  && [ "$(json_get "$H/.gemini/settings.json" general.vimMode)" = false ] && [ "$(json_get "$H/.gemini/settings.json" ui.hideTips)" = true ] \
  && pass "~/.gemini/settings.json keeps the user's comment and keys" || fail "~/.gemini/settings.json lost user content: $(cat "$H/.gemini/settings.json")"
[ "$(json_get "$H/.gemini/settings.json" context.fileName)" = '["AGENTS.md", "GEMINI.md"]' ] \
  && pass "~/.gemini/settings.json has context.fileName" || fail "context.fileName = $(json_get "$H/.gemini/settings.json" context.fileName)"
cmp -s <(printf '# my Codex config\nmodel_reasoning_effort = "low" # keep me\n') "$H/.codex/config.toml" \
  && pass "~/.codex/config.toml untouched" || fail "~/.codex/config.toml changed"

section "aiorch apply (2nd): nothing to do"
aiorch apply2 apply --json
expect_rc apply2 0 "second apply exits 0"
n2=$(summary_changes "$LOGS/apply2.out"); [ "$n2" = 0 ] && pass "second apply reports 0 changes" || fail "second apply reports $n2 changes: $(cat "$LOGS/apply2.out")"
aiorch check1 apply --check
expect_rc check1 0 "apply --check exits 0 (no drift)"
aiorch doctor1 doctor
expect_rc doctor1 0 "aiorch doctor exits 0"

# ---------------------------------------------------------------------------------------------
section "the real clients read what aiorch wrote (offline, fake LLM API)"
start_fakeapi "$LOGS/fakeapi" || abort "fake API did not start"
URL=http://127.0.0.1:$FAKE_PORT
echo "  fake API on $URL"
# answers from the fake API: the first request of each call is recorded; newest file wins
fresh() { rm -f "$LOGS/fakeapi"/*.json; }

echo "- Claude Code $("${BASE_ENV[@]}" timeout 30 claude --version 2>/dev/null)"
fresh; run claude-p "$CLIENT_TIMEOUT" "${BASE_ENV[@]}" ANTHROPIC_API_KEY=sk-ant-e2e-fake ANTHROPIC_BASE_URL="$URL" claude -p "e2e-probe"
expect_rc claude-p 0 "claude -p exits 0"
req=$(last_request "$LOGS/fakeapi" v1_messages)
if [ -n "$req" ]; then inspect claude "$req"; else fail "claude -p sent no request to the fake API"; show_err claude-p; fi
fresh; run claude-cmd "$CLIENT_TIMEOUT" "${BASE_ENV[@]}" ANTHROPIC_API_KEY=sk-ant-e2e-fake ANTHROPIC_BASE_URL="$URL" claude -p "/review e2e-arg-marker"
expect_rc claude-cmd 0 "claude -p /review exits 0"
req=$(last_request "$LOGS/fakeapi" v1_messages)
if [ -n "$req" ]; then inspect claude-command "$req" e2e-arg-marker; else fail "claude -p /review sent no request"; show_err claude-cmd; fi

echo "- Gemini CLI $("${BASE_ENV[@]}" timeout 30 gemini --version 2>/dev/null)"
inspect gemini-toml "$H/.gemini/commands"
# API-key auth for the fake API comes from the PROJECT's settings (a trusted workspace), so the
# user settings file aiorch merged into is exactly what Gemini reads.
mkdir -p "$P/.gemini"; echo '{"security":{"auth":{"selectedType":"gemini-api-key"}}}' >"$P/.gemini/settings.json"
GEM_ENV=("${BASE_ENV[@]}" GEMINI_CLI_TRUST_WORKSPACE=true GEMINI_API_KEY=e2e-fake GOOGLE_GEMINI_BASE_URL="$URL")
fresh; run gemini-p "$CLIENT_TIMEOUT" "${GEM_ENV[@]}" gemini -m gemini-2.5-flash -p "e2e-probe"
expect_rc gemini-p 0 "gemini -p exits 0"
if grep -q 'FileCommandLoader\|Invalid configuration\|Error in ' "$LOGS/gemini-p.err" "$LOGS/gemini-p.out"; then
  fail "gemini reported config/command errors: $(grep -h 'FileCommandLoader\|Invalid configuration\|Error in ' "$LOGS/gemini-p.err" "$LOGS/gemini-p.out" | head -3)"
else pass "gemini reports no settings or command-file errors"; fi
req=$(last_request "$LOGS/fakeapi" streamGenerateContent)
if [ -n "$req" ]; then inspect gemini "$req"; else fail "gemini -p sent no request"; show_err gemini-p; fi
fresh; run gemini-cmd "$CLIENT_TIMEOUT" "${GEM_ENV[@]}" gemini -m gemini-2.5-flash -p "/review e2e-arg-marker"
expect_rc gemini-cmd 0 "gemini -p /review exits 0"
req=$(last_request "$LOGS/fakeapi" streamGenerateContent)
if [ -n "$req" ]; then inspect gemini-command "$req" e2e-arg-marker; else fail "gemini -p /review sent no request"; show_err gemini-cmd; fi

echo "- Codex CLI $("${BASE_ENV[@]}" timeout 30 codex --version 2>/dev/null)"
# plugins/apps off: their startup sync would try github.com (offline here); skills are not plugins
fresh; run codex-exec "$CLIENT_TIMEOUT" "${BASE_ENV[@]}" E2E_FAKE_KEY=sk-e2e-fake RUST_LOG=error codex exec \
  -c features.plugins=false -c features.apps=false -c model_provider=e2e_fake \
  -c "model_providers.e2e_fake={name=\"fake\",base_url=\"$URL/v1\",wire_api=\"responses\",env_key=\"E2E_FAKE_KEY\"}" \
  -m gpt-5 --skip-git-repo-check "e2e-probe"
expect_rc codex-exec 0 "codex exec exits 0"
req=$(last_request "$LOGS/fakeapi" v1_responses)
if [ -n "$req" ]; then inspect codex "$req"; else fail "codex exec sent no request"; show_err codex-exec; fi

echo "- Copilot CLI $("${BASE_ENV[@]}" timeout 60 copilot --version 2>/dev/null | head -1)"
run copilot-instr "$CLIENT_TIMEOUT" "${BASE_ENV[@]}" copilot instruction list --json
expect_rc copilot-instr 0 "copilot instruction list --json exits 0"
inspect copilot-instructions "$LOGS/copilot-instr.out"
run copilot-skills "$CLIENT_TIMEOUT" "${BASE_ENV[@]}" copilot skill list --json
expect_rc copilot-skills 0 "copilot skill list --json exits 0"
inspect copilot-skills "$LOGS/copilot-skills.out"
fresh; run copilot-p "$CLIENT_TIMEOUT" "${BASE_ENV[@]}" COPILOT_OFFLINE=true COPILOT_PROVIDER_BASE_URL="$URL/v1" \
  COPILOT_PROVIDER_API_KEY=e2e-fake COPILOT_MODEL=gpt-4o copilot -p "e2e-probe"
expect_rc copilot-p 0 "copilot -p (offline, BYOK) exits 0"
req=$(last_request "$LOGS/fakeapi" chat_completions)
if [ -n "$req" ]; then inspect copilot "$req"; else fail "copilot -p sent no request"; show_err copilot-p; fi
stop_fakeapi

# ---------------------------------------------------------------------------------------------
section "the clients rewrite their own files; a hand edit; a deleted link"
run claude-mcp-add 60 "${BASE_ENV[@]}" claude mcp add -s user e2e-user-srv -- python3 /e2e/user-server.py
expect_rc claude-mcp-add 0 "claude mcp add (Claude rewrites ~/.claude.json)"
run gemini-mcp-add 60 "${BASE_ENV[@]}" gemini mcp add -s user e2e-user-srv python3 /e2e/user-server.py
expect_rc gemini-mcp-add 0 "gemini mcp add (Gemini rewrites ~/.gemini/settings.json)"
run codex-mcp-add 60 "${BASE_ENV[@]}" codex mcp add e2e-user-srv -- python3 /e2e/user-server.py
expect_rc codex-mcp-add 0 "codex mcp add (Codex rewrites ~/.codex/config.toml)"
[ "$(json_get "$H/.claude.json" mcpServers.e2e-user-srv.command)" = '"python3"' ] && pass "~/.claude.json holds Claude's state and the user's server" || fail "~/.claude.json: no e2e-user-srv"
[ "$(json_get "$H/.gemini/settings.json" mcpServers.e2e-user-srv.command)" = '"python3"' ] && pass "Gemini wrote its server into ~/.gemini/settings.json" || fail "settings.json: no e2e-user-srv: $(cat "$H/.gemini/settings.json")"
grep -q '^\[mcp_servers.e2e-user-srv\]' "$H/.codex/config.toml" && pass "Codex wrote its server into ~/.codex/config.toml" || fail "config.toml: no e2e-user-srv"
# the user changes a key aiorch owns, and deletes one of its links
sed -i 's/"GEMINI.md"/"USER-EDIT.md"/' "$H/.gemini/settings.json"
rm "$H/.claude/commands/review.md"
aiorch doctor2 doctor
expect_rc doctor2 1 "aiorch doctor exits 1 on the drift"
grep -q 'context.fileName' "$LOGS/doctor2.out" "$LOGS/doctor2.err" && grep -q 'commands/review.md' "$LOGS/doctor2.out" "$LOGS/doctor2.err" \
  && pass "doctor names the changed key and the missing link" || { fail "doctor does not name both drifts"; show_err doctor2; }
for f in .claude.json .codex/config.toml; do sha "$H/$f" >"$WORK/sha.$(basename "$f")"; done
cp "$H/.gemini/settings.json" "$WORK/settings.before3"

section "aiorch apply (3rd): repairs only what drifted, keeps what the clients wrote"
aiorch apply3 apply --json
expect_rc apply3 0 "third apply exits 0"
n3=$(summary_changes "$LOGS/apply3.out"); [ "$n3" = 2 ] && pass "third apply makes exactly 2 changes (the key, the link)" || fail "third apply made $n3 changes: $(cat "$LOGS/apply3.out")"
[ -L "$H/.claude/commands/review.md" ] && [ -e "$H/.claude/commands/review.md" ] && pass "the deleted link is back" || fail "~/.claude/commands/review.md not restored"
# context.fileName is a union: aiorch's name comes back, the name the user added stays
[ "$(json_get "$H/.gemini/settings.json" context.fileName)" = '["AGENTS.md", "USER-EDIT.md", "GEMINI.md"]' ] && pass "context.fileName: GEMINI.md added again, the user's name kept" || fail "context.fileName = $(json_get "$H/.gemini/settings.json" context.fileName)"
[ "$(json_get "$H/.gemini/settings.json" mcpServers.e2e-user-srv.command)" = '"python3"' ] && grep -q '// my own Gemini settings' "$H/.gemini/settings.json" \
  && [ "$(json_get "$H/.gemini/settings.json" general.vimMode)" = false ] && pass "settings.json keeps Gemini's server, the user's comment and keys" || fail "settings.json lost content: $(cat "$H/.gemini/settings.json")"
# only the owned key's text changed: every other line of the file is as Gemini/the user left it
diff <(grep -v 'USER-EDIT.md\|"GEMINI.md"' "$WORK/settings.before3") <(grep -v 'USER-EDIT.md\|"GEMINI.md"' "$H/.gemini/settings.json") >/dev/null \
  && pass "settings.json: only the owned key's bytes changed" || fail "settings.json changed beyond the owned key: $(diff "$WORK/settings.before3" "$H/.gemini/settings.json")"
for f in .claude.json .codex/config.toml; do
  [ "$(sha "$H/$f")" = "$(cat "$WORK/sha.$(basename "$f")")" ] && pass "~/$f byte-identical after apply" || fail "~/$f changed by apply"
done
aiorch apply4 apply --json
n4=$(summary_changes "$LOGS/apply4.out"); [ "$RC" = 0 ] && [ "$n4" = 0 ] && pass "fourth apply: 0 changes" || fail "fourth apply: exit $RC, $n4 changes"
aiorch doctor3 doctor
expect_rc doctor3 0 "aiorch doctor exits 0 after the repair"

# ---------------------------------------------------------------------------------------------
section "aiorch revert"
cp "$H/.claude.json" "$WORK/claude.json.before-revert"
aiorch revert1 revert
expect_rc revert1 0 "revert exits 0"
cmp -s "$WORK/user-CLAUDE.md" "$H/.claude/CLAUDE.md" && pass "the user's ~/.claude/CLAUDE.md is restored byte for byte" || fail "~/.claude/CLAUDE.md not restored"
[ "$(json_get "$H/.gemini/settings.json" context.fileName)" = '["USER-EDIT.md"]' ] && pass "aiorch's context file names retracted from settings.json, the user's kept" || fail "settings.json context after revert: $(cat "$H/.gemini/settings.json")"
[ "$(json_get "$H/.gemini/settings.json" mcpServers.e2e-user-srv.command)" = '"python3"' ] && grep -q '// my own Gemini settings' "$H/.gemini/settings.json" \
  && pass "settings.json keeps Gemini's server and the user's comment after revert" || fail "settings.json after revert: $(cat "$H/.gemini/settings.json")"
cmp -s "$WORK/claude.json.before-revert" "$H/.claude.json" && pass "~/.claude.json untouched by revert" || fail "~/.claude.json changed by revert"
grep -q 'model_reasoning_effort = "low" # keep me' "$H/.codex/config.toml" && grep -q '^\[mcp_servers.e2e-user-srv\]' "$H/.codex/config.toml" \
  && pass "~/.codex/config.toml keeps the user's line and Codex's server" || fail "config.toml after revert: $(cat "$H/.codex/config.toml")"
left=$(python3 - "$LOGS/apply1.out" "$H" "$WORK/digest.before" <<'PY'
import json, os, sys
plan, home, before = json.load(open(sys.argv[1])), sys.argv[2], open(sys.argv[3]).read().splitlines()
had = {l.split(" ")[1] for l in before}
for c in plan["changes"]:
    p = c["path"]
    if not p.startswith("~/"): continue          # the state dir's own files
    rel = p[2:]
    if rel in had: continue                      # restored (checked above)
    if os.path.lexists(os.path.join(home, rel)): print(rel)
PY
)
[ -z "$left" ] && pass "nothing aiorch created is left in the home" || fail "left after revert: $left"
links=$(find "$H" -type l -lname "$S/*" 2>/dev/null)
[ -z "$links" ] && pass "no link into the state dir remains" || fail "links remain: $links"

section "round trip on a fresh home: apply then revert leaves it exactly as it was"
H2=$WORK/home2 S2=$WORK/state2
mkdir -p "$H2"; seed_home "$H2"; tree_digest "$H2" >"$WORK/digest2.before"
run rt-apply 60 "${BASE_ENV[@]}" HOME="$H2" "$AIORCH" --home "$H2" --state-dir "$S2" apply
expect_rc rt-apply 0 "apply on the fresh home"
if [ -n "${AIORCH_VERIFY_ALL:-}" ]; then
  # an external verifier of client homes, when one is given: informational, never counted
  section "extra proof (not counted): $AIORCH_VERIFY_ALL on this generated home"
  (env -u XDG_CACHE_HOME PATH="$E2E_ORIG_PATH" timeout -k 10 600 "$AIORCH_VERIFY_ALL" "$H2" >"$LOGS/verify-all.log" 2>&1)
  src=$?
  sed -n '/^=== summary/,$p' "$LOGS/verify-all.log" | sed 's/^/  | /'
  echo "  $AIORCH_VERIFY_ALL: exit $src (not counted either way); full log: $LOGS/verify-all.log (kept with KEEP=1)"
fi
run rt-revert 60 "${BASE_ENV[@]}" HOME="$H2" "$AIORCH" --home "$H2" --state-dir "$S2" revert
expect_rc rt-revert 0 "revert on the fresh home"
tree_digest "$H2" >"$WORK/digest2.after"
if diff "$WORK/digest2.before" "$WORK/digest2.after" >"$WORK/digest2.diff"; then pass "home digest identical after apply + revert"
else fail "home differs after apply + revert:"; sed 's/^/  | /' "$WORK/digest2.diff" | head -20; fi

section "once more as an unprivileged user (nobody) in a HOME it owns: apply, no-op, check, revert"
# What root-less homes look like: every file aiorch creates is the user's, the modes of the
# user's files are kept, and root is refused in that HOME ("run it as nobody"), changing nothing.
if [ "$(id -u)" != 0 ]; then
  echo "  SKIP (not counted): run as root to try it as nobody; this run already is unprivileged ($(id -un))"
elif ! command -v setpriv >/dev/null; then
  echo "  SKIP (not counted): setpriv (util-linux) is missing"
else
  U=$(mktemp -d /tmp/aiorch-e2e-nobody-XXXXXX)
  cp "$AIORCH" "$U/aiorch"; chmod 755 "$U" "$U/aiorch"
  printf '[clients]\nclaude = "always"\ngemini = "always"\ncodex = "always"\ncopilot = "always"\n[mcp]\nserve_self = false\n' >"$U/aiorch.toml"
  mkdir -p "$U/home" "$U/state"; seed_home "$U/home"; chmod 600 "$U/home/.codex/config.toml"
  chown -R nobody: "$U/home" "$U/state"
  tree_digest "$U/home" >"$WORK/digest3.before"
  # nb NAME [--as-root] ARGS...: aiorch in that HOME, as nobody (or as root), logs in $LOGS
  nb() {
    local name=$1; shift; local as=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
    [ "$1" = --as-root ] && { as=(); shift; }
    (cd "$U" && timeout -k 10 60 "${as[@]}" env -i PATH=/usr/bin:/bin HOME="$U/home" LANG=C.UTF-8 NO_COLOR=1 \
      "$U/aiorch" --config "$U/aiorch.toml" --home "$U/home" --state-dir "$U/state" "$@" \
      </dev/null >"$LOGS/$name.out" 2>"$LOGS/$name.err")
    RC=$?
  }
  nb nb-root --as-root apply
  expect_rc nb-root 2 "root is refused in nobody's HOME"
  grep -q 'run it as nobody' "$LOGS/nb-root.err" && tree_digest "$U/home" | cmp -s - "$WORK/digest3.before" \
    && [ -z "$(ls -A "$U/state")" ] && pass "... saying \"run it as nobody\", with nothing changed" \
    || fail "root's refusal: $(cat "$LOGS/nb-root.err")"
  nb nb-apply apply --json
  expect_rc nb-apply 0 "apply as nobody"
  n=$(summary_changes "$LOGS/nb-apply.out"); [ "$n" != "?" ] && [ "$n" -gt 0 ] && pass "it made $n changes" || fail "apply as nobody: $n changes"
  foreign=$(find "$U/home" ! -user nobody 2>/dev/null)
  [ -z "$foreign" ] && pass "everything in the HOME is nobody's" || fail "not nobody's: $foreign"
  [ "$(stat -c %a "$U/home/.codex/config.toml")" = 600 ] && pass "the mode of the user's config.toml is kept (600)" \
    || fail "config.toml mode: $(stat -c %a "$U/home/.codex/config.toml")"
  nb nb-apply2 apply --json
  n=$(summary_changes "$LOGS/nb-apply2.out"); [ "$RC" = 0 ] && [ "$n" = 0 ] && pass "second apply as nobody: 0 changes" \
    || fail "second apply as nobody: exit $RC, $n changes"
  nb nb-check apply --check
  expect_rc nb-check 0 "apply --check as nobody: no drift"
  nb nb-revert revert
  expect_rc nb-revert 0 "revert as nobody"
  tree_digest "$U/home" >"$WORK/digest3.after"
  if diff "$WORK/digest3.before" "$WORK/digest3.after" >"$WORK/digest3.diff"; then pass "nobody's home digest identical after apply + revert"
  else fail "nobody's home differs after apply + revert:"; sed 's/^/  | /' "$WORK/digest3.diff" | head -20; fi
  rm -rf "$U"
fi

echo; echo "foundation e2e: $(( $(date +%s) - T0 ))s"
summary
