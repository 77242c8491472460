#!/usr/bin/env bash
# bench/apply-vs-generators.sh [RUNS=30]
# `aiorch apply` (release build) against the generators users compare it with, ruler 0.3.44
# (`ruler apply`) and rulesync 17.0.0 (`rulesync generate`), both on Node 22, on the same input
# (bench/input/: 3 rules, 2 commands, 2 MCP servers, for Claude, Gemini, Codex and Copilot).
#   - wall time: ONE hyperfine run with all four commands side by side (--shell=none; every
#     timed run starts from a fresh copy of the input / a fresh home, reset by --prepare),
#     plus aiorch's no-op re-apply (the home already applied) and a fresh apply of the default
#     config with all four clients managed (the embedded agentsmd tree, plugins, policy, aiorch's
#     own MCP server: 53 artifacts, what a new user's first apply writes)
#   - peak RSS: /usr/bin/time -v, 5 runs each, median
# Writes bench/results/apply.md (machine, date, versions, commands, numbers, ratios vs targets:
# aiorch <= 1/20 of ruler's wall time, < 10 MiB peak RSS, no-op re-apply < 5 ms) and, when
# strace is installed, aiorch's syscall profile.
# Needs: hyperfine and /usr/bin/time (installed with apt-get when missing and run as root), npm
# (tests/e2e/install-clients.sh --generators installs ruler, rulesync and Node 22), cargo.
# Env: AIORCH_BIN (skip the release build), OUT (default bench/results/apply.md), KEEP=1.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/tests/e2e/lib.sh"
RUNS=${1:-30}
OUT=${OUT:-$ROOT/bench/results/apply.md}

need_apt() {  # need_apt CMD PACKAGE
  command -v "$1" >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing $2 (apt)"; apt-get install -y -qq "$2" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "$2" >/dev/null; }
  else echo "$1 missing: apt-get install $2" >&2; exit 2; fi
}
need_apt hyperfine hyperfine
[ -x /usr/bin/time ] || need_apt /usr/bin/time time

bench_setup "$ROOT"
RULER=$E2E_CACHE/gen/node_modules/@intellectronica/ruler/dist/cli/index.js
RULESYNC=$E2E_CACHE/gen/node_modules/rulesync/dist/cli/index.js

W=$(mktemp -d -t aiorch-bench-XXXXXX)
trap '[ "${KEEP:-0}" = 1 ] && echo "kept: $W" || rm -rf "$W"' EXIT
mkdir -p "$W/src" "$W/run" "$W/home"
cp -r "$ROOT/bench/input/." "$W/src/"
# fill the placeholders (MCP server paths: the generators only copy them; nothing starts them)
find "$W/src" -type f -exec sed -i -e "s|@AIORCH_PY@|/usr/bin/python3|g" -e "s|@AIORCH_ECHO@|/opt/mcp/echo_server.py|g" {} +
cat >"$W/reset.sh" <<EOF
# reset.sh NAME: a fresh copy of NAME's input (ruler, rulesync) or a fresh home (aiorch)
set -e
case \$1 in
  aiorch) rm -rf "$W/run/aiorch"; mkdir -p "$W/run/aiorch/home"
          sed "s|@AIORCH_BENCH@|$W/src/aiorch|" "$W/src/aiorch/aiorch.toml" >"$W/run/aiorch.toml" ;;
  default) rm -rf "$W/run/default"; mkdir -p "$W/run/default/home"
          printf '[clients]\nclaude = "always"\ngemini = "always"\ncodex = "always"\ncopilot = "always"\n' >"$W/run/default.toml" ;;
  noop)   ;;
  # in place: rulesync runs with its project as the working directory (it refuses absolute paths)
  *)      mkdir -p "$W/run/\$1"; find "$W/run/\$1" -mindepth 1 -delete; cp -r "$W/src/\$1/." "$W/run/\$1/"; git -C "$W/run/\$1" init -q ;;
esac
EOF
bash "$W/reset.sh" aiorch
# the no-op target: a home applied once, re-applied by every timed run
mkdir -p "$W/run/noop-home"
A_FRESH="$AIORCH --config $W/run/aiorch.toml --home $W/run/aiorch/home --state-dir $W/run/aiorch/state -q apply"
A_DEFAULT="$AIORCH --config $W/run/default.toml --home $W/run/default/home --state-dir $W/run/default/state -q apply"
A_NOOP="$AIORCH --config $W/run/aiorch.toml --home $W/run/noop-home --state-dir $W/run/noop-state -q apply"
R_CMD="$NODE $RULER apply --project-root $W/run/ruler --agents claude,gemini-cli,codex,copilot --no-gitignore --no-backup"
S_CMD="$NODE $RULESYNC generate --silent"   # reads ./rulesync.jsonc: run from the project dir
$A_NOOP >/dev/null
# the clients run with HOME pointing into the scratch dir (ruler and rulesync read ~ too);
# everything runs from rulesync's project dir (the others take absolute paths)
export HOME=$W/home NO_COLOR=1 CI=1
bash "$W/reset.sh" rulesync; cd "$W/run/rulesync"

# sanity: each command works and writes what it should, before anything is timed
bash "$W/reset.sh" aiorch; $A_FRESH >/dev/null
bash "$W/reset.sh" default; $A_DEFAULT >/dev/null
bash "$W/reset.sh" ruler; $R_CMD >/dev/null
bash "$W/reset.sh" rulesync; $S_CMD >/dev/null
for f in run/default/home/.claude/commands/review.md run/default/home/.claude.json run/aiorch/home/.claude/CLAUDE.md run/aiorch/home/.gemini/commands/review.toml run/aiorch/home/.codex/skills/review/SKILL.md \
         run/ruler/CLAUDE.md run/ruler/AGENTS.md run/rulesync/CLAUDE.md run/rulesync/.mcp.json; do
  [ -e "$W/$f" ] || { echo "bench sanity: $f was not written" >&2; exit 1; }
done
[ "$($A_NOOP --json 2>/dev/null | python3 -c 'import json,sys; s=json.load(sys.stdin)["summary"]; print(s["created"]+s["updated"]+s["removed"])')" = 0 ] \
  || { echo "bench sanity: the no-op re-apply is not a no-op" >&2; exit 1; }

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
# diagnostic (not a target): the same fresh apply with fsync made a no-op by libeatmydata (apt
# package eatmydata), which shows how much of the wall time is waiting for the disk
EMD=/usr/lib/x86_64-linux-gnu/libeatmydata.so
[ -e "$EMD" ] || need_apt eatmydata eatmydata 2>/dev/null || true
DIAG=()
if [ -e "$EMD" ]; then
  DIAG=(--prepare "bash $W/reset.sh aiorch" -n "diagnostic: aiorch apply (fresh home), fsync disabled" "env LD_PRELOAD=$EMD $A_FRESH")
fi
echo "=== hyperfine: $RUNS runs each, side by side (load average $LOAD_BEFORE)"
hyperfine -N --runs "$RUNS" --warmup 3 --style basic \
  --export-json "$W/hyperfine.json" --export-markdown "$W/hyperfine.md" \
  --prepare "bash $W/reset.sh aiorch"   -n "aiorch apply (fresh home)" "$A_FRESH" \
  --prepare "bash $W/reset.sh noop"     -n "aiorch apply (no-op re-apply)" "$A_NOOP" \
  --prepare "bash $W/reset.sh default"  -n "aiorch apply (default config, 4 clients, fresh home)" "$A_DEFAULT" \
  --prepare "bash $W/reset.sh ruler"    -n "ruler 0.3.44 apply (Node 22)" "$R_CMD" \
  --prepare "bash $W/reset.sh rulesync" -n "rulesync 17.0.0 generate (Node 22)" "$S_CMD" \
  "${DIAG[@]}"

echo "=== peak RSS: /usr/bin/time -v, 5 runs each"
rss() {  # rss RESET CMD... -> median max RSS in KiB
  local reset=$1; shift; local i vals=()
  for i in 1 2 3 4 5; do
    bash "$W/reset.sh" "$reset"
    /usr/bin/time -v "$@" >/dev/null 2>"$W/time.txt"
    vals+=("$(awk -F': ' '/Maximum resident set size/{print $2}' "$W/time.txt")")
  done
  printf '%s\n' "${vals[@]}" | sort -n | sed -n 3p
}
RSS_FRESH=$(rss aiorch $A_FRESH); RSS_NOOP=$(rss noop $A_NOOP); RSS_DEFAULT=$(rss default $A_DEFAULT)
RSS_RULER=$(rss ruler $R_CMD); RSS_RULESYNC=$(rss rulesync $S_CMD)
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
echo "aiorch fresh ${RSS_FRESH} KiB, default config ${RSS_DEFAULT} KiB, no-op ${RSS_NOOP} KiB, ruler ${RSS_RULER} KiB, rulesync ${RSS_RULESYNC} KiB"

PROFILE=
if command -v strace >/dev/null; then
  bash "$W/reset.sh" aiorch
  # -T: the wall time spent in each call (strace -c counts CPU time, which hides fsync's wait)
  strace -f -T -o "$W/strace-fresh.txt" $A_FRESH >/dev/null 2>&1 || true
  strace -f -T -o "$W/strace-noop.txt" $A_NOOP >/dev/null 2>&1 || true
  bash "$W/reset.sh" default
  strace -f -T -o "$W/strace-default.txt" $A_DEFAULT >/dev/null 2>&1 || true
  PROFILE=1
fi

echo "=== writing $OUT"
mkdir -p "$(dirname "$OUT")"
RSS_DEFAULT="$RSS_DEFAULT" LOAD="$LOAD_BEFORE -> $LOAD_AFTER" AIORCH="$AIORCH" NODE="$NODE" ROOT="$ROOT" python3 - "$W" "$OUT" "$RUNS" "$RSS_FRESH" "$RSS_NOOP" "$RSS_RULER" "$RSS_RULESYNC" "$PROFILE" <<'PY'
import json, os, platform, subprocess, sys, datetime
w, out, runs, rss_fresh, rss_noop, rss_ruler, rss_rulesync, profile = sys.argv[1:9]
hf = {r["command"]: r for r in json.load(open(os.path.join(w, "hyperfine.json")))["results"]}
def sh(c):
    try: return subprocess.run(c, shell=True, capture_output=True, text=True).stdout.strip()
    except Exception: return "?"
fresh, noop = hf["aiorch apply (fresh home)"], hf["aiorch apply (no-op re-apply)"]
default = hf["aiorch apply (default config, 4 clients, fresh home)"]
rss_default = os.environ["RSS_DEFAULT"]
ruler, rulesync = hf["ruler 0.3.44 apply (Node 22)"], hf["rulesync 17.0.0 generate (Node 22)"]
ms = lambda r, k="median": r[k] * 1000
mib = lambda kb: int(kb) / 1024
ratio_ruler = ruler["median"] / fresh["median"]
ratio_rulesync = rulesync["median"] / fresh["median"]
ratio_default = ruler["median"] / default["median"]
targets = [
    ("aiorch apply ≤ 1/20 of ruler's wall time", f"1/{ratio_ruler:.0f} ({ms(fresh):.1f} ms vs {ms(ruler):.0f} ms)", ratio_ruler >= 20),
    ("default config (53 artifacts) ≤ 1/20 of ruler's wall time", f"1/{ratio_default:.0f} ({ms(default):.1f} ms vs {ms(ruler):.0f} ms)", ratio_default >= 20),
    ("peak RSS < 10 MiB (fresh apply)", f"{mib(rss_fresh):.1f} MiB", mib(rss_fresh) < 10),
    ("peak RSS ≤ 10 MiB (default config, 53 artifacts)", f"{mib(rss_default):.1f} MiB", mib(rss_default) <= 10),
    ("peak RSS < 10 MiB (no-op re-apply)", f"{mib(rss_noop):.1f} MiB", mib(rss_noop) < 10),
    ("no-op re-apply < 5 ms", f"{ms(noop):.2f} ms", ms(noop) < 5),
]
cpu = sh("lscpu | sed -n 's/^Model name: *//p'") or platform.processor()
mem = sh("free -g | awk '/^Mem:/{print $2\" GiB\"}'")
L = []
L.append("# aiorch apply vs ruler and rulesync\n")
L.append("Generated by `bench/apply-vs-generators.sh` (do not edit by hand; re-run it).\n")
L.append(f"- date: {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}")
L.append(f"- machine: {sh('nproc')} cores ({cpu}), {mem} RAM, {sh('. /etc/os-release; echo $PRETTY_NAME')}, kernel {platform.release()}; load average during the run: {os.environ['LOAD']} (1/5/15 min; the machine is shared)")
L.append(f"- aiorch: {sh('$AIORCH --version')} (release build, git {sh('git -C $ROOT rev-parse --short HEAD')}{' + local changes' if sh('git -C $ROOT status --porcelain -- src Cargo.toml Cargo.lock') else ''})")
L.append(f"- Node {sh('$NODE --version')}; ruler 0.3.44; rulesync 17.0.0; hyperfine {sh('hyperfine --version').split()[-1]}")
L.append(f"- input: `bench/input/` (3 rules, 2 commands, 2 MCP servers; the same content in each tool's layout), for Claude, Gemini, Codex and Copilot")
L.append("- default config: `[clients]` with all four clients `always` and nothing else — the embedded agentsmd tree, the default plugins and permission policy, aiorch's own MCP server: 53 artifacts, a new user's first apply")
L.append(f"- method: one `hyperfine -N --runs {runs} --warmup 3` run with all four commands; each timed run of a generator starts from a fresh copy of its input (`--prepare`), each fresh aiorch run from an empty home and state dir; the no-op re-applies to a home that is already applied. Peak RSS: `/usr/bin/time -v`, median of 5.\n")
L.append("## Wall time and peak RSS\n")
cpu_ms = lambda r: (r["user"] + r["system"]) * 1000
L.append("| command | median | mean ± σ | min … max | CPU user+sys (mean) | peak RSS (median) |")
L.append("|---|---|---|---|---|---|")
for r, kb in ((fresh, rss_fresh), (default, rss_default), (noop, rss_noop), (ruler, rss_ruler), (rulesync, rss_rulesync)):
    L.append(f"| {r['command']} | **{ms(r):.2f} ms** | {ms(r,'mean'):.2f} ± {r['stddev']*1000:.2f} ms | {ms(r,'min'):.2f} … {ms(r,'max'):.2f} ms | {cpu_ms(r):.1f} ms | **{mib(kb):.1f} MiB** |")
diag = next((r for c, r in hf.items() if c.startswith("diagnostic")), None)
if diag:
    L.append(f"| {diag['command']} | {ms(diag):.2f} ms | {ms(diag,'mean'):.2f} ± {diag['stddev']*1000:.2f} ms | {ms(diag,'min'):.2f} … {ms(diag,'max'):.2f} ms | {cpu_ms(diag):.1f} ms | – |")
L.append("")
L.append(f"CPU time (user+sys) is less sensitive to a busy machine than wall time: aiorch's fresh apply uses **{cpu_ms(ruler)/cpu_ms(fresh):.0f}×** less CPU than ruler and **{cpu_ms(rulesync)/cpu_ms(fresh):.0f}×** less than rulesync.")
if diag:
    L.append(f"With fsync disabled (diagnostic row) the fresh apply takes {ms(diag):.1f} ms instead of {ms(fresh):.1f} ms: **{100*(1-diag['median']/fresh['median']):.0f}% of aiorch's wall time is waiting for fsync** (see the profile below).")
L.append("")
L.append(f"aiorch's fresh apply is **{ratio_ruler:.0f}×** faster than ruler and **{ratio_rulesync:.0f}×** faster than rulesync (median wall time), "
         f"with {mib(rss_ruler)/mib(rss_fresh):.0f}× / {mib(rss_rulesync)/mib(rss_fresh):.0f}× less peak memory.\n")
L.append("## Targets\n")
L.append("| target | measured | |")
L.append("|---|---|---|")
for t, m, ok in targets: L.append(f"| {t} | {m} | {'met' if ok else '**missed**'} |")
L.append("")
if diag and not targets[0][2]:
    L.append("## Finding\n")
    L.append("The fresh apply misses the ruler-ratio target: "
             f"{cpu_ms(fresh):.1f} ms of CPU, {ms(diag):.1f} ms wall with fsync disabled, {ms(fresh):.1f} ms with it "
             "(the syscall profile below shows where the rest goes).\n")
L.append("## Commands\n")
L.append("```")
L.append("aiorch --config aiorch.toml --home HOME --state-dir STATE -q apply      # bench/input/aiorch/aiorch.toml; fresh HOME/STATE")
L.append("aiorch --config aiorch.toml --home HOME --state-dir STATE -q apply      # the same, HOME already applied (no-op)")
L.append("node ruler/dist/cli/index.js apply --project-root DIR --agents claude,gemini-cli,codex,copilot --no-gitignore --no-backup")
L.append("cd DIR && node rulesync/dist/cli/index.js generate --silent")
L.append("```\n")
L.append("What each writes: aiorch links `~/.claude/{CLAUDE.md,AGENTS.md,commands/*}`, `~/.gemini/{AGENTS.md,commands/*.toml}` + merges `context.fileName` into `~/.gemini/settings.json`, `~/.codex/{AGENTS.md,skills/*}`, `~/.copilot/{copilot-instructions.md,skills/*}`, `~/AGENTS.md`, merges the 2 MCP servers (plus its own) into `~/.claude.json`, `~/.gemini/settings.json`, `~/.codex/config.toml` and `~/.copilot/mcp-config.json`, the default plugin marketplaces and the permission policy, with a ledger; ruler writes the project's CLAUDE.md, AGENTS.md, `.gemini/settings.json`, `.codex/config.toml`, `.mcp.json`, skills; rulesync writes 18 project files (rules, commands, MCP) for 5 targets. "
         "\n")
if profile:
    import re, collections
    L.append("## aiorch syscall profile (`strace -f -T`: wall time inside each call, one run under strace)\n")
    for name in ("fresh", "default", "noop"):
        agg = collections.defaultdict(lambda: [0, 0.0])
        for line in open(os.path.join(w, f"strace-{name}.txt")):
            m = re.match(r"^\d+\s+(\w+)\(.*<([\d.]+)>\s*$", line)
            if m:
                agg[m.group(1)][0] += 1; agg[m.group(1)][1] += float(m.group(2))
        total = sum(v[1] for v in agg.values())
        title = {"fresh": "Fresh apply", "default": "Fresh apply of the default config (53 artifacts)", "noop": "No-op re-apply"}[name]
        flushes = ", ".join(f"{agg[k][0]} {k}" for k in ("fsync", "fdatasync", "syncfs") if agg[k][0])
        L.append(f"{title}: {sum(v[0] for v in agg.values())} syscalls, {total*1000:.1f} ms inside them; flushes: {flushes or 'none'}; top 8:\n")
        L.append("| syscall | calls | wall ms | share |")
        L.append("|---|---|---|---|")
        for k, (n, t) in sorted(agg.items(), key=lambda kv: -kv[1][1])[:8]:
            L.append(f"| {k} | {n} | {t*1000:.2f} | {100*t/total if total else 0:.0f}% |")
        L.append("")
open(out, "w").write("\n".join(L) + "\n")
print("\n".join(L))
PY
