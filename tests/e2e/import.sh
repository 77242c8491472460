#!/usr/bin/env bash
# tests/e2e/import.sh
# Proves `aiorch import` against the REAL Claude Code, Gemini CLI, Codex CLI and Copilot CLI,
# offline, in a scratch HOME seeded as a messy user setup:
#   servers in all four clients and OpenCode (`echo` in all five, with a token pasted into its env; `web`, a
#   streamable-HTTP server with a bearer token in its headers, in Claude, Codex, Copilot and OpenCode;
#   `oc-only`, OpenCode's own, with the token in its environment; OpenCode's AGENTS.md, an
#   `instructions` file, a command and a `permission`; Aider's ~/.aider.conf.yml with a `read:` file);
#   `dup` in Claude and Gemini under one name with different args), a CLAUDE.md that
#   @imports a file, a Claude command, Codex TOML with comments, Copilot's own instructions and skill
#   -> each client's own list command, before: `claude mcp list`, `gemini mcp list`,
#      `codex mcp list --json`, `copilot mcp list --json`, `copilot instruction list`,
#      `copilot skill list --json`, `opencode mcp list` and `opencode debug config`
#   -> import --store-secrets: aiorch.toml + agentsmd tree; the conflict is listed; no token in
#      aiorch.toml, the tree, or import's output
#   -> import --nix: evaluated through the real home-manager module (when its sources are here:
#      nix/README.md), the same effective config as aiorch.toml
#   -> apply (with the --adopt names import printed), then revert at once: the home is byte
#      for byte the pre-import home
#   -> apply again: every client lists the same servers, each connected as before (remote
#      secrets given to the client by `aiorch secrets exec`); Copilot still lists every instruction
#      file and skill it listed before (the imported commands join them); OpenCode, now managed, resolves the
#      same permission decisions, instructions entries and commands; no token under HOME but in
#      the user's own files, none anywhere in the state dir (backups and ledger hold placeholders)
# Ends with `N passed, M failed`; exit 1 on any failure. Without the clients of
# tests/e2e/install-clients.sh: a failure under CI=true, else SKIPPED (exit 77). ~2 min.
# Env: AIORCH_BIN (skip the build), KEEP=1, CLIENT_TIMEOUT (s per client call, default 120).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
require_clients

CLIENT_TIMEOUT=${CLIENT_TIMEOUT:-120}
WORK=$(mktemp -d -t aiorch-e2e-import-XXXXXX)
H=$WORK/home S=$WORK/state P=$WORK/project LOGS=$WORK/logs
mkdir -p "$H" "$S" "$P" "$LOGS"
HTTP_PID=
cleanup() {
  if [ -n "$HTTP_PID" ]; then kill "$HTTP_PID" 2>/dev/null; wait "$HTTP_PID" 2>/dev/null; fi
  if [ "${KEEP:-0}" = 1 ] || [ "$FAILED" -gt 0 ]; then echo "scratch kept: $WORK (logs in $LOGS)"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

section "build"
aiorch_bin
echo "scratch: $WORK"
base_env "$H" "$WORK"
CFG=$WORK/config/aiorch.toml
mkdir -p "$WORK/config"
aiorch() { local name=$1; shift; run "$name" 120 "${BASE_ENV[@]}" "$AIORCH" --home "$H" --state-dir "$S" --config "$CFG" --color never "$@"; }
PY=$E2E_PY
ECHO=$E2E_DIR/mcp_echo_server.py
TOKEN_ENV="ghp_E2ECANARY$(python3 -c 'import uuid; print(uuid.uuid4().hex)')"
TOKEN_HDR="E2E-CANARY-BEARER-$(python3 -c 'import uuid; print(uuid.uuid4().hex)')"

section "an echo MCP server over streamable HTTP on 127.0.0.1"
PORT=$(free_port)
"$PY" "$ECHO" --http "$PORT" >"$LOGS/http-echo.log" 2>&1 &
HTTP_PID=$!
for _ in $(seq 1 100); do python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 0.2)" 2>/dev/null && break; sleep 0.1; done
python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 1)" 2>/dev/null \
  && pass "HTTP echo server on 127.0.0.1:$PORT" || abort "HTTP echo server did not start: $(tail -3 "$LOGS/http-echo.log")"
URL=http://127.0.0.1:$PORT/mcp

section "seed a messy home"
mkdir -p "$H/.claude/commands" "$H/.gemini" "$H/.codex" "$H/.copilot"
cat >"$H/.claude.json" <<EOF
{
  "numStartups": 3,
  "userID": "e2e-user",
  "mcpServers": {
    "echo": { "type": "stdio", "command": "$PY", "args": ["$ECHO"], "env": { "API_TOKEN": "$TOKEN_ENV" } },
    "web": { "type": "http", "url": "$URL", "headers": { "Authorization": "Bearer $TOKEN_HDR" } },
    "dup": { "type": "stdio", "command": "$PY", "args": ["$ECHO"] }
  }
}
EOF
cat >"$H/.gemini/settings.json" <<EOF
{
  // the user's Gemini settings
  "ui": { "hideTips": true },
  "mcpServers": {
    "echo": { "command": "$PY", "args": ["$ECHO"], "env": { "API_TOKEN": "$TOKEN_ENV" } },
    "dup": { "command": "$PY", "args": ["-u", "$ECHO"] }
  }
}
EOF
cat >"$H/.codex/config.toml" <<EOF
# the user's Codex config
model_reasoning_effort = "low" # keep me

# echo, by hand
[mcp_servers.echo]
command = "$PY"
args = ["$ECHO"]
env = { API_TOKEN = "$TOKEN_ENV" }

[mcp_servers.web]
url = "$URL"
http_headers = { Authorization = "Bearer $TOKEN_HDR" }
EOF
cat >"$H/.copilot/mcp-config.json" <<EOF
{
  "mcpServers": {
    "echo": { "tools": ["*"], "type": "local", "command": "$PY", "args": ["$ECHO"], "env": { "API_TOKEN": "$TOKEN_ENV" } },
    "web": { "tools": ["*"], "type": "http", "url": "$URL", "headers": { "Authorization": "Bearer $TOKEN_HDR" } }
  }
}
EOF
# OpenCode: the same `echo` and `web` (merged), a server only it has (a token in its
# environment, `{env:…}` in its argv), its instructions, a command and a permission policy.
mkdir -p "$H/.config/opencode/commands"
cat >"$H/.config/opencode/opencode.json" <<EOF
{
  "\$schema": "https://opencode.ai/config.json",
  "instructions": ["~/notes/team.md"],
  "mcp": {
    "echo": { "type": "local", "command": ["$PY", "$ECHO"], "environment": { "API_TOKEN": "$TOKEN_ENV" } },
    "web": { "type": "remote", "url": "$URL", "headers": { "Authorization": "Bearer $TOKEN_HDR" } },
    "oc-only": { "type": "local", "command": ["$PY", "$ECHO", "--tag", "{env:USER_TAG}"],
                 "environment": { "OC": "1", "OC_API_KEY": "$TOKEN_ENV" } }
  },
  "permission": {
    "bash": { "*": "ask", "git status *": "allow", "git push *": "deny" },
    "edit": "ask",
    "webfetch": "ask",
    "echo_echo": "allow"
  }
}
EOF
printf '# OpenCode\n\nPrefer small diffs.\n' >"$H/.config/opencode/AGENTS.md"
mkdir -p "$H/notes"; printf 'Team rule: no force pushes.\n' >"$H/notes/team.md"
printf -- '---\ndescription: Daily standup\n---\nSummarise yesterday for $ARGUMENTS.\n' >"$H/.config/opencode/commands/standup.md"
# Aider: its conventions are what `read:` adds to every chat
printf '# my Aider settings\nread:\n  - ~/CONVENTIONS.md\n' >"$H/.aider.conf.yml"
printf 'Prefer pure functions.\n' >"$H/CONVENTIONS.md"
printf '# How I work\n\nBe terse. Style: @style.md\n' >"$H/.claude/CLAUDE.md"
printf 'Use British spelling.\n' >"$H/.claude/style.md"
printf -- '---\ndescription: Explain code\n---\nExplain $ARGUMENTS simply.\n' >"$H/.claude/commands/explain.md"
printf '# Codex\n\nRun the tests before saying done.\n' >"$H/.codex/AGENTS.md"
printf 'Answer in English.\n' >"$H/.copilot/copilot-instructions.md"
mkdir -p "$H/.copilot/skills/triage"
printf -- '---\nname: triage\ndescription: Sort new issues\n---\nLabel each new issue.\n' >"$H/.copilot/skills/triage/SKILL.md"
mkdir -p "$P/.gemini"; echo '{"security":{"auth":{"selectedType":"gemini-api-key"}}}' >"$P/.gemini/settings.json"
GEM_ENV=(GEMINI_CLI_TRUST_WORKSPACE=true)
pass "seeded ~/.claude.json, ~/.gemini/settings.json, ~/.codex/config.toml, ~/.copilot/mcp-config.json, CLAUDE.md"

# lists TAG [PREFIX...]: every client's own list command, reduced to `client name status` lines
# in $LOGS/lists-TAG (Codex and Copilot list without connecting: name and transport only).
lists() {
  local tag=$1; shift
  run "claude-$tag" "$CLIENT_TIMEOUT" "${BASE_ENV[@]}" MCP_TIMEOUT=30000 "$@" claude mcp list
  run "gemini-$tag" "$CLIENT_TIMEOUT" "${BASE_ENV[@]}" "${GEM_ENV[@]}" "$@" gemini mcp list
  run "codex-$tag" 60 "${BASE_ENV[@]}" "$@" codex mcp list --json
  run "copilot-$tag" 120 "${BASE_ENV[@]}" "$@" copilot mcp list --json
  run "cpinstr-$tag" 60 "${BASE_ENV[@]}" "$@" copilot instruction list
  run "cpskill-$tag" 60 "${BASE_ENV[@]}" "$@" copilot skill list --json
  # OpenCode (when it is installed here): its list, and the configuration it resolves
  if [ -n "$OPENCODE" ]; then
    run "opencode-$tag" "$CLIENT_TIMEOUT" "${BASE_ENV[@]}" "$@" "$OPENCODE" mcp list
    run "ocdebug-$tag" "$CLIENT_TIMEOUT" "${BASE_ENV[@]}" "$@" "$OPENCODE" debug config
  fi
  python3 - "$LOGS" "$tag" >"$LOGS/lists-$tag" <<'PY'
import json, re, sys
logs, tag = sys.argv[1], sys.argv[2]
read = lambda n: open(f"{logs}/{n}-{tag}.out").read() + open(f"{logs}/{n}-{tag}.err").read()
out = []
for line in read("claude").splitlines():
    m = re.match(r"^([A-Za-z0-9_-]+): .* - (✔ Connected|✗ .*|! .*)$", line)
    if m: out.append(f"claude {m[1]} {m[2]}")
for line in read("gemini").splitlines():
    m = re.match(r"^\s*\S+ ([A-Za-z0-9_-]+): .* - (\w+)", line)
    if m: out.append(f"gemini {m[1]} {m[2]}")
for s in json.loads(open(f"{logs}/codex-{tag}.out").read() or "[]"):
    out.append(f"codex {s['name']} {s['transport']['type']}")
cp = json.loads(open(f"{logs}/copilot-{tag}.out").read() or "{}")
servers = (cp.get("mcpServers") or cp.get("servers") or {}) if isinstance(cp, dict) else cp
items = servers.items() if isinstance(servers, dict) else [(s.get("name"), s) for s in servers]
out += [f"copilot {n} {s.get('type')}" for n, s in items]
import os
if os.path.exists(f"{logs}/opencode-{tag}.out"):
    for line in re.sub(r"\x1b\[[0-9;]*m", "", read("opencode")).splitlines():
        m = re.match(r"^\S+\s+\S+ ([A-Za-z0-9_-]+) (\w+)", line)
        if m: out.append(f"opencode {m[1]} {m[2]}")
print("\n".join(sorted(out)))
# What Copilot lists besides servers: its instruction files and its user-level skills
keep = [f"copilot instruction {m[1]}" for m in re.finditer(r"^\s*• (.+)$", read("cpinstr"), re.M)]
keep += [f"copilot skill {s['name']} {s['source']}" for s in json.loads(open(f"{logs}/cpskill-{tag}.out").read() or "[]")
         if s.get("source") != "builtin"]
open(f"{logs}/keeps-{tag}", "w").write("\n".join(sorted(keep)) + "\n")
PY
}

OPENCODE=$(command -v opencode || ls "$E2E_CACHE/opencode/node_modules/.bin/opencode" 2>/dev/null || true)
[ -n "$OPENCODE" ] || echo "  NOT RUN  opencode mcp list: no OpenCode under $E2E_CACHE/opencode (its file is still imported)"

section "before: each client's own list"
lists before
cat "$LOGS/lists-before" | sed 's/^/  | /'
for want in "claude echo ✔ Connected" "claude web ✔ Connected" "claude dup ✔ Connected" "gemini echo Connected" \
            "gemini dup Connected" ${OPENCODE:+"opencode echo connected" "opencode oc-only connected" "opencode web connected"} "codex echo stdio" "codex web streamable_http" "copilot echo local" "copilot web http"; do
  grep -qx "$want" "$LOGS/lists-before" && pass "before: $want" || fail "before: no '$want'"
done

section "aiorch import"
printf '[clients]\nclaude = "always"\ngemini = "always"\ncodex = "always"\ncopilot = "always"\nopencode = "always"\naider = "always"\n[secrets]\nbackend = "file"\nfile = "%s"\n' \
  "$WORK/secrets.env" >"$CFG"
aiorch import1 import --force --store-secrets
expect_rc import1 0 "import --store-secrets exits 0"
grep -q "not imported: \`dup\` from gemini" "$LOGS/import1.err" && pass "the conflicting \`dup\` of Gemini is listed" \
  || { fail "the conflict is not listed"; show_err import1; }
grep -B4 '^\[mcp.servers.echo\]$' "$CFG" | grep -q 'opencode (~/.config/opencode/opencode.json)' \
  && grep -A6 '^\[mcp.servers.oc-only\]$' "$CFG" | grep -qx 'clients = \["opencode"\]' \
  && pass "OpenCode's echo merged with the others'; oc-only imported for OpenCode alone" || fail "opencode: $(grep -n opencode "$CFG")"
grep 'not imported' "$LOGS/import1.err" | grep -qv '`dup` from gemini' \
  && fail "something of OpenCode's not imported: $(grep 'not imported' "$LOGS/import1.err")" \
  || pass "OpenCode's permission, instructions and command are imported"
grep -q '^# \[mcp.servers.dup\]$' "$CFG" && grep -q '^\[mcp.servers.dup\]$' "$CFG" \
  && pass "aiorch.toml: Claude's dup imported, Gemini's commented out" || fail "aiorch.toml: $(grep -n dup "$CFG")"
for t in "$TOKEN_ENV" "$TOKEN_HDR"; do
  hits=$(grep -rlF -- "$t" "$CFG" "$WORK/config/agentsmd" "$LOGS"/import1.* 2>/dev/null)
  [ -z "$hits" ] && pass "token ${t:0:16}… is in no aiorch.toml, tree file or import output" || fail "token in: $hits"
done
cmp -s "$H/.claude/CLAUDE.md" "$WORK/config/agentsmd/AGENTS.md" && cmp -s "$H/.claude/style.md" "$WORK/config/agentsmd/style.md" \
  && pass "CLAUDE.md and its @import are in the tree, unchanged" || fail "tree: $(ls -R "$WORK/config/agentsmd")"
ADOPT=$(sed -n 's/.*then `aiorch apply\(.*\)` (each adopted.*/\1/p' "$LOGS/import1.out")
echo "  adopt:$ADOPT"
[ -n "$ADOPT" ] && pass "import names the entries apply must adopt:$ADOPT" || fail "no --adopt names in: $(cat "$LOGS/import1.out")"
case "$ADOPT" in *"--adopt permission"*) pass "OpenCode's own permission is taken over with --adopt permission" ;;
  *) fail "no --adopt permission in:$ADOPT" ;; esac

section "the Nix form: programs.aiorch through the real home-manager module"
aiorch nix1 import --nix --out "$WORK/aiorch.nix" --agentsmd "$WORK/config/agentsmd"
expect_rc nix1 0 "import --nix --out exits 0"
grep -qF -- "${TOKEN_ENV}" "$WORK/aiorch.nix" || grep -qF -- "${TOKEN_HDR}" "$WORK/aiorch.nix" && fail "a token in aiorch.nix" \
  || pass "no token in aiorch.nix"
# Evaluated like nix/ci-check.sh does, when the sources no registry ships are on this machine.
NIX_TOOLS=${AIORCH_NIX_TOOLS:-$(cd "$REPO_ROOT/.." && pwd)/shared/tools/nix}
if [ -x "$NIX_TOOLS/eval-hm-module.sh" ]; then
  (cd "$WORK" && bash "$NIX_TOOLS/eval-hm-module.sh" -e 'cfg.programs.aiorch.finalSettings' "$REPO_ROOT/nix/hm-module.nix" \
    "$WORK/aiorch.nix" >"$WORK/final.json" 2>"$LOGS/nix-eval.err"); nrc=$?
  if [ "$nrc" = 0 ]; then
    "${BASE_ENV[@]}" "$AIORCH" --home "$H" --config "$WORK/final.json" --json config show >"$LOGS/show-nix.json" 2>&1
    "${BASE_ENV[@]}" "$AIORCH" --home "$H" --config "$CFG" --json config show >"$LOGS/show-toml.json" 2>&1
    cmp -s "$LOGS/show-nix.json" "$LOGS/show-toml.json" \
      && pass "home-manager renders the Nix form into the same effective config as aiorch.toml" \
      || fail "Nix and TOML differ: $(diff "$LOGS/show-nix.json" "$LOGS/show-toml.json" | head -5)"
  elif [ "$nrc" = 77 ]; then
    echo "  NOT RUN  the home-manager evaluation: no home-manager / nixpkgs sources here (nix/README.md)"
  else
    fail "home-manager could not evaluate aiorch.nix: $(tail -5 "$LOGS/nix-eval.err")"
  fi
else
  echo "  NOT RUN  the home-manager evaluation: no Nix tools at $NIX_TOOLS (nix/README.md)"
fi

section "apply, then revert at once: byte for byte"
tree_digest "$H" >"$WORK/home.before"
# shellcheck disable=SC2086
aiorch apply1 apply $ADOPT
expect_rc apply1 0 "apply exits 0"
aiorch check1 apply --check
expect_rc check1 0 "apply --check: no drift"
aiorch revert1 revert
expect_rc revert1 0 "revert exits 0"
tree_digest "$H" >"$WORK/home.reverted"
diff "$WORK/home.before" "$WORK/home.reverted" >"$LOGS/revert.diff" && pass "revert: the home is byte for byte the pre-import home" \
  || fail "revert differs: $(head -5 "$LOGS/revert.diff")"

section "apply again: every client lists the same servers"
# shellcheck disable=SC2086
aiorch apply2 apply $ADOPT
expect_rc apply2 0 "apply exits 0"
grep -q '@AGENTS.md' "$H/.claude/CLAUDE.md" && grep -q 'Be terse. Style: @style.md' "$H/.claude/AGENTS.md" \
  && grep -q 'Run the tests before saying done.' "$H/.codex/AGENTS.md" \
  && pass "Claude and Codex read the user's instructions through the tree" || fail "instructions not linked"
cmp -s "$H/.claude/commands/explain.md" "$WORK/config/agentsmd/commands/explain.md" && pass "the Claude command is the same text" \
  || fail "command differs"
grep -q '^# echo, by hand$' "$H/.codex/config.toml" && grep -q '^model_reasoning_effort = "low" # keep me$' "$H/.codex/config.toml" \
  && pass "~/.codex/config.toml keeps the user's comments" || fail "config.toml lost comments"
# Remote servers read their secrets from the client's environment: the client is started
# through `aiorch secrets exec`, as the apply note says.
NAMES=$(python3 -c 'import sys,tomllib; d=tomllib.load(open(sys.argv[1],"rb")); print(",".join(sorted({n for s in d["mcp"]["servers"].values() if "url" in s for n in s.get("secrets",[])})))' "$CFG")
lists after "$AIORCH" --home "$H" --state-dir "$S" --config "$CFG" secrets exec --only "$NAMES" --
cat "$LOGS/lists-after" | sed 's/^/  | /'
diff "$LOGS/lists-before" "$LOGS/lists-after" >"$LOGS/lists.diff" && pass "every client lists the same servers, connected as before" \
  || { fail "the lists differ"; sed 's/^/  | /' "$LOGS/lists.diff"; }
# Instructions become the union for every client: what Copilot listed before is still listed
grep -q 'copilot instruction ' "$LOGS/keeps-before" && grep -q 'copilot skill triage ' "$LOGS/keeps-before" \
  || fail "copilot listed no instruction file or skill before: $(cat "$LOGS/keeps-before")"
lost=$(comm -23 "$LOGS/keeps-before" "$LOGS/keeps-after")
[ -z "$lost" ] && pass "copilot instruction list / skill list: everything listed before still is ($(wc -l <"$LOGS/keeps-before") entries)" \
  || fail "copilot no longer lists: $lost"
grep -q 'Answer in English.' "$H/.copilot/copilot-instructions.md" && pass "Copilot still reads the user's instructions" \
  || fail "Copilot's instructions lost the user's text"
if [ -n "$OPENCODE" ]; then
  # What OpenCode resolves (`opencode debug config`): the same instructions entries, servers
  # (name, type, enabled), commands (description, template) and permission decisions, the
  # last matching rule winning as in OpenCode (its built-in rules first), over probes built
  # from both values' names and patterns.
  python3 - "$LOGS/ocdebug-before.out" "$LOGS/ocdebug-after.out" >"$LOGS/ocdebug.diff" <<'PY'
import json, re, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
bad = []
if a.get("instructions") != b.get("instructions"):
    bad.append(f"instructions: {a.get('instructions')} / {b.get('instructions')}")
servers = lambda c: {n: (s.get("type"), s.get("enabled", True)) for n, s in (c.get("mcp") or {}).items()}
if servers(a) != servers(b):
    bad.append(f"mcp: {servers(a)} / {servers(b)}")
for n, c in (a.get("command") or {}).items():
    if (b.get("command") or {}).get(n) != c:
        bad.append(f"command {n}: {c} / {(b.get('command') or {}).get(n)}")
BUILTIN = [("*", "*", "allow"), ("doom_loop", "*", "ask"), ("external_directory", "*", "ask"),
           ("question", "*", "allow"), ("plan_enter", "*", "allow"), ("plan_exit", "*", "deny"),
           ("read", "*", "allow"), ("read", "*.env", "ask"), ("read", "*.env.*", "ask"), ("read", "*.env.example", "allow")]
def flat(v):
    if isinstance(v, str):
        return [("*", "*", v)]
    out = []
    for k, x in (v or {}).items():
        out += [(k, p, y) for p, y in x.items()] if isinstance(x, dict) else [(k, "*", x)]
    return out
def match(s, p):
    rx = lambda q: "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in q)
    r = rx(p[:-2]) + "( .*)?" if p.endswith(" *") else rx(p)
    return re.fullmatch(r, s, re.S) is not None
def decide(rules, perm, pat):
    for n, p, y in reversed(rules):
        if match(perm, n) and match(pat, p):
            return y
    return "ask"
ra, rb = flat(a.get("permission")), flat(b.get("permission"))
fill = lambda s: {s.replace("*", f).replace("?", "x") for f in ("", "x", "x/y z")}
perms = {"bash", "edit", "read", "webfetch", "external_directory", "task"}.union(*(fill(n) for n, _, _ in ra + rb))
pats = {"", "ls", "git status", ".env"}.union(*(fill(p) for _, p, _ in ra + rb))
pats |= {p + " --x" for p in pats}
for perm in sorted(perms):
    for pat in sorted(pats):
        x, y = decide(BUILTIN + ra, perm, pat), decide(BUILTIN + rb, perm, pat)
        if x != y:
            bad.append(f"permission {perm} {pat!r}: {x} / {y}")
print("\n".join(bad))
sys.exit(1 if bad else 0)
PY
  [ $? = 0 ] && pass "opencode debug config: the same instructions, servers, commands and permission decisions" \
    || { fail "opencode debug config differs"; sed 's/^/  | /' "$LOGS/ocdebug.diff" | head -20; }
  python3 -c 'import json,sys; c=json.load(open(sys.argv[1])).get("command",{}); sys.exit(0 if "explain" in c else 1)' \
    "$LOGS/ocdebug-after.out" && pass "Claude's command reaches OpenCode too" || fail "no explain command in OpenCode"
fi
grep -q 'Prefer small diffs.' "$H/.config/opencode/AGENTS.md" && grep -q 'Team rule: no force pushes.' "$H/.config/opencode/AGENTS.md" \
  && pass "OpenCode reads its own AGENTS.md and its instructions file through the tree" || fail "OpenCode's AGENTS.md: $(head -3 "$H/.config/opencode/AGENTS.md")"
AIDER=$E2E_AIDER_VENV/bin/aider
if [ -x "$AIDER" ]; then
  # --verbose lists what it added to the chat; --exit stops after startup (a model named, so it
  # asks for no login; the local cost map, so it looks nothing up).
  run aider-after 60 "${BASE_ENV[@]}" OPENAI_API_KEY=x LITELLM_LOCAL_MODEL_COST_MAP=True "$AIDER" --model openai/gpt-4o \
    --verbose --exit --no-git --no-check-update --no-show-model-warnings --no-analytics --no-pretty
  out=$(tr -d '\n' <"$LOGS/aider-after.out")
  case $out in *"Added "*"CONVENTIONS.md to the chat"*) pass "Aider still adds its own read: file" ;;
    *) fail "Aider lost CONVENTIONS.md"; show_err aider-after ;; esac
  case $out in *"Added "*"instructions/AGENTS.md to the chat"*"(read-only)"*) pass "Aider adds the shared instructions too" ;;
    *) fail "Aider did not add the shared instructions"; show_err aider-after ;; esac
  grep -q 'Prefer pure functions.' "$S/generated/instructions/AGENTS.md" && grep -q '^# my Aider settings$' "$H/.aider.conf.yml" \
    && pass "Aider's conventions are in the shared instructions; its settings file keeps its comment" || fail "aider: $(cat "$H/.aider.conf.yml")"
else
  echo "  NOT RUN  Aider's own view: no aider under $E2E_AIDER_VENV"
fi
for t in "$TOKEN_ENV" "$TOKEN_HDR"; do
  grep -qF -- "$t" "$H/.config/opencode/opencode.json" && fail "token ${t:0:16}… still in OpenCode's opencode.json" \
    || pass "token ${t:0:16}… is out of OpenCode's opencode.json (a secret name there now)"
done
for t in "$TOKEN_ENV" "$TOKEN_HDR"; do
  # ~/.claude/backups: Claude's own copies of ~/.claude.json, taken before the import
  hits=$(grep -rlF -- "$t" "$H" "$S" 2>/dev/null | grep -v "^$H/.claude/backups/")
  [ -z "$hits" ] && pass "token ${t:0:16}… is nowhere under HOME (but the user's own files) nor anywhere in the state dir" \
    || fail "token in: $hits"
done

summary
