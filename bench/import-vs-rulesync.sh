#!/usr/bin/env bash
# bench/import-vs-rulesync.sh [RUNS=20]
# `aiorch import` (release build) against the one other tool that imports a user's home,
# rulesync 17.0.0 (`rulesync import --global`, Node 22), on the same seeded home: Claude Code,
# Gemini CLI, Codex CLI and Copilot CLI, each with MCP servers (tokens pasted into env and
# headers), instruction files and commands.
#   - wall time: ONE hyperfine run with every command side by side (--shell=none, each timed run
#     starts without the previous run's output, reset by --prepare): all four clients (aiorch:
#     one command; rulesync: one run per client, as it takes one target at a time) and Claude
#     alone (one command each)
#   - what each wrote: servers, commands, instruction files, and whether a pasted token reached
#     the output (rulesync copies `env` and `headers` as they are; aiorch lifts them into secret
#     names)
# Writes bench/results/import.md (machine, date, versions, numbers, ratios).
# Needs: hyperfine (installed with apt-get when missing and run as root), npm
# (tests/e2e/install-clients.sh --generators installs rulesync and Node 22), cargo.
# Env: AIORCH_BIN (skip the release build), OUT (default bench/results/import.md), KEEP=1.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/tests/e2e/lib.sh"
RUNS=${1:-20}
OUT=${OUT:-$ROOT/bench/results/import.md}
case $OUT in /*) ;; *) OUT=$PWD/$OUT ;; esac

if ! command -v hyperfine >/dev/null; then
  [ "$(id -u)" = 0 ] || { echo "hyperfine missing: apt-get install hyperfine" >&2; exit 2; }
  apt-get install -y -qq hyperfine >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq hyperfine >/dev/null; }
fi

bench_setup "$ROOT"
RULESYNC=$E2E_CACHE/gen/node_modules/rulesync/dist/cli/index.js

W=$(mktemp -d -t aiorch-bench-import-XXXXXX)
trap '[ "${KEEP:-0}" = 1 ] && echo "kept: $W" || rm -rf "$W"' EXIT
H=$W/home
TOKEN=ghp_BENCH0canary0token0000000000000000
mkdir -p "$H/.claude/commands" "$H/.gemini/commands" "$H/.codex" "$H/.copilot"

# The seeded home: the same three servers in several clients (one with a token in env, one
# remote with a bearer token), each client's instructions, and commands.
cat >"$H/.claude.json" <<EOF
{ "numStartups": 12, "mcpServers": {
  "github": { "type": "stdio", "command": "github-mcp-server", "args": ["stdio"], "env": { "GITHUB_TOKEN": "$TOKEN" } },
  "docs": { "type": "http", "url": "https://docs.example/mcp", "headers": { "Authorization": "Bearer $TOKEN" } },
  "files": { "type": "stdio", "command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/srv"] } } }
EOF
printf '# How I work\n\nBe terse.\n' >"$H/.claude/CLAUDE.md"
for c in review explain standup; do
  printf -- '---\ndescription: %s\n---\n%s $ARGUMENTS carefully.\n' "$c" "$c" >"$H/.claude/commands/$c.md"
done
cat >"$H/.gemini/settings.json" <<EOF
{ "mcpServers": {
  "github": { "command": "github-mcp-server", "args": ["stdio"], "env": { "GITHUB_TOKEN": "$TOKEN" } },
  "files": { "command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/srv"] } } }
EOF
printf 'Prefer small diffs.\n' >"$H/.gemini/GEMINI.md"
printf 'description = "Summarise"\nprompt = "Summarise {{args}}."\n' >"$H/.gemini/commands/summarise.toml"
cat >"$H/.codex/config.toml" <<EOF
# my Codex setup
[mcp_servers.github]
command = "github-mcp-server"
args = ["stdio"]
env = { GITHUB_TOKEN = "$TOKEN" }

[mcp_servers.files]
command = "npx"
args = ["-y", "@modelcontextprotocol/server-filesystem", "/srv"]
EOF
printf '# Codex\n\nRun the tests before saying done.\n' >"$H/.codex/AGENTS.md"
cat >"$H/.copilot/mcp-config.json" <<EOF
{ "mcpServers": {
  "github": { "type": "local", "command": "github-mcp-server", "args": ["stdio"], "env": { "GITHUB_TOKEN": "$TOKEN" }, "tools": ["*"] },
  "docs": { "type": "http", "url": "https://docs.example/mcp", "headers": { "Authorization": "Bearer $TOKEN" }, "tools": ["*"] } } }
EOF
printf 'Answer in English.\n' >"$H/.copilot/copilot-instructions.md"

# reset.sh: no output of an earlier run (aiorch's config and tree; rulesync's ~/.rulesync)
printf 'rm -rf "%s/out" "%s/state" "%s/.rulesync"; mkdir -p "%s/out"\n' "$W" "$W" "$H" "$W" >"$W/reset.sh"
# rulesync takes one client per run (`--targets` names one tool)
cat >"$W/rulesync-all.sh" <<EOF
cd "$H"
for t in claudecode geminicli codexcli copilot; do "$NODE" "$RULESYNC" import --global --targets "\$t" --features rules,commands,mcp --silent; done
EOF
A="$AIORCH --home $H --state-dir $W/state --config $W/out/aiorch.toml -q import --force --agentsmd $W/out/agentsmd"
A_ALL="$A --from claude,gemini,codex,copilot"
A_CLAUDE="$A --from claude"
S_ALL="bash $W/rulesync-all.sh"
S_CLAUDE="$NODE $RULESYNC import --global --targets claudecode --features rules,commands,mcp --silent"
export HOME=$H NO_COLOR=1 CI=1
cd "$H"

# sanity, and what each wrote (counted from its output, before anything is timed)
bash "$W/reset.sh"; $A_ALL >/dev/null 2>&1
[ -s "$W/out/aiorch.toml" ] || { echo "bench sanity: aiorch import wrote no config" >&2; exit 1; }
A_SERVERS=$(grep -c '^\[mcp\.servers\.[^].]*\]$' "$W/out/aiorch.toml")
A_COMMANDS=$(find "$W/out/agentsmd/commands" -type f | wc -l)
A_RULES=$(find "$W/out/agentsmd" -type f -name '*.md' -not -path '*/commands/*' | wc -l)
A_TOKEN=$( (grep -rlF -- "$TOKEN" "$W/out" "$W/state" 2>/dev/null || true) | wc -l)
bash "$W/reset.sh"; $S_ALL >/dev/null 2>&1
[ -s "$H/.rulesync/mcp.jsonc" ] || [ -s "$H/.rulesync/mcp.json" ] || { echo "bench sanity: rulesync wrote no MCP file" >&2; exit 1; }
S_SERVERS=$(python3 - "$H/.rulesync" <<'PY'
import json, pathlib, re, sys
p = next(f for f in (pathlib.Path(sys.argv[1]) / n for n in ("mcp.jsonc", "mcp.json")) if f.exists())
text = re.sub(r"^\s*//.*$", "", p.read_text(), flags=re.M)
print(len(json.loads(text).get("mcpServers", {})))
PY
)
S_COMMANDS=$( (find "$H/.rulesync/commands" -type f 2>/dev/null || true) | wc -l)
S_RULES=$( (find "$H/.rulesync/rules" -type f 2>/dev/null || true) | wc -l)
S_TOKEN=$( (grep -rlF -- "$TOKEN" "$H/.rulesync" 2>/dev/null || true) | wc -l)

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
echo "=== hyperfine: $RUNS runs each, side by side (load average $LOAD_BEFORE)"
hyperfine -N --runs "$RUNS" --warmup 2 --style basic --export-json "$W/hyperfine.json" \
  --prepare "bash $W/reset.sh" -n "aiorch import, 4 clients (one command)" "$A_ALL" \
  --prepare "bash $W/reset.sh" -n "rulesync 17.0.0 import --global, 4 clients (one run each, Node 22)" "$S_ALL" \
  --prepare "bash $W/reset.sh" -n "aiorch import --from claude" "$A_CLAUDE" \
  --prepare "bash $W/reset.sh" -n "rulesync 17.0.0 import --global --targets claudecode (Node 22)" "$S_CLAUDE"
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

echo "=== writing $OUT"
mkdir -p "$(dirname "$OUT")"
LOAD="$LOAD_BEFORE -> $LOAD_AFTER" AIORCH="$AIORCH" NODE="$NODE" ROOT="$ROOT" python3 - "$W/hyperfine.json" "$OUT" "$RUNS" \
  "$A_SERVERS" "$A_COMMANDS" "$A_RULES" "$A_TOKEN" "$S_SERVERS" "$S_COMMANDS" "$S_RULES" "$S_TOKEN" <<'PY'
import datetime, json, os, platform, subprocess, sys
hf_file, out, runs, *counts = sys.argv[1:]
a_servers, a_commands, a_rules, a_token, s_servers, s_commands, s_rules, s_token = counts
r = json.load(open(hf_file))["results"]
sh = lambda c: subprocess.run(c, shell=True, capture_output=True, text=True).stdout.strip()
ms = lambda x, k="median": x[k] * 1000
a_all, s_all, a_one, s_one = r
L = ["# aiorch import vs rulesync import --global\n",
     "Generated by `bench/import-vs-rulesync.sh` (do not edit by hand; re-run it).\n",
     f"- date: {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
     f"- machine: {sh('nproc')} cores, {sh('. /etc/os-release; echo $PRETTY_NAME')}, kernel {platform.release()}; "
     f"load average during the run: {os.environ['LOAD']} (1/5/15 min; the machine is shared)",
     f"- aiorch: {sh('$AIORCH --version')} (release build, git {sh('git -C $ROOT rev-parse --short HEAD')})",
     f"- Node {sh('$NODE --version')}; rulesync 17.0.0; hyperfine {sh('hyperfine --version').split()[-1]}",
     "- input: one seeded home: Claude Code (3 MCP servers, CLAUDE.md, 3 commands), Gemini CLI (2 servers, GEMINI.md, "
     "1 command), Codex CLI (2 servers, AGENTS.md), Copilot CLI (2 servers, copilot-instructions.md); the same 3 servers "
     "recur across clients; a token is pasted into `env` and into an `Authorization` header",
     f"- method: one `hyperfine -N --runs {runs} --warmup 2` run with all four commands; every timed run starts "
     "without the previous run's output (`--prepare`). rulesync takes one client per run, so its four-client row is "
     "four runs in one shell script, as a user would type them.\n",
     "## Wall time\n",
     "| command | median | mean ± σ | min … max |", "|---|---|---|---|"]
for x in r:
    L.append(f"| {x['command']} | **{ms(x):.1f} ms** | {ms(x,'mean'):.1f} ± {x['stddev']*1000:.1f} ms | "
             f"{ms(x,'min'):.1f} … {ms(x,'max'):.1f} ms |")
L += ["", f"Four clients: aiorch takes **1/{s_all['median']/a_all['median']:.0f}** of rulesync's wall time; "
      f"Claude alone: **1/{s_one['median']/a_one['median']:.0f}**.\n",
      "## What each wrote (four clients)\n",
      "| | MCP servers | commands | instruction files | files holding the pasted token |", "|---|---|---|---|---|",
      f"| aiorch import | {a_servers} (duplicates merged by what they run) | {a_commands} | {a_rules} | "
      f"{a_token} (lifted into secret names) |",
      f"| rulesync import --global | {s_servers} | {s_commands} | {s_rules} | {s_token} |", ""]
open(out, "w").write("\n".join(L) + "\n")
print("\n".join(L))
PY
