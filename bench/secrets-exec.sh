#!/usr/bin/env bash
# bench/secrets-exec.sh — what `aiorch secrets exec` adds to starting a process (file backend).
#
# Compares, with hyperfine (no shell in between, -N):
#   true                                            the floor
#   env K=v true                                    a plain exec wrapper, for scale
#   aiorch secrets exec --only BENCH_KEY -- true    load config, read the 0600 file, execvp
#   aiorch secrets exec --mask --only … -- true     supervise + mask instead of exec
# and prints the added milliseconds (target: < 5 ms for the plain exec).
#
# Env: PROFILE=release|debug (default release; builds it if missing), AIORCH_BIN=path,
#      RUNS (default 300). Needs hyperfine (Debian: apt-get install hyperfine) and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${PROFILE:-release}
bin=${AIORCH_BIN:-target/$profile/aiorch}
if [ ! -x "$bin" ]; then
  if [ "$profile" = release ]; then cargo build --locked --release; else cargo build --locked; fi
fi
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
command -v hyperfine >/dev/null || { echo "bench: needs hyperfine (apt-get install hyperfine)" >&2; exit 2; }
true_bin=$(command -v true)
[ "${true_bin#/}" != "$true_bin" ] || true_bin=/usr/bin/true

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/home" "$tmp/state"
printf '[secrets]\nbackend = "file"\nfile = "%s/secrets.env"\n' "$tmp" > "$tmp/aiorch.toml"
g="--home $tmp/home --state-dir $tmp/state --config $tmp/aiorch.toml"
printf 'sk-bench-0123456789abcdef' | "$bin" $g secrets set BENCH_KEY >/dev/null
printf 'other' | "$bin" $g secrets set OTHER_KEY >/dev/null

echo "aiorch: $bin ($profile)" >&2
hyperfine -N --warmup 20 --runs "${RUNS:-300}" --export-json "$tmp/r.json" \
  -n true "$true_bin" \
  -n env "env BENCH_KEY=v $true_bin" \
  -n 'secrets exec' "$bin $g secrets exec --only BENCH_KEY -- $true_bin" \
  -n 'secrets exec --mask' "$bin $g secrets exec --mask --only BENCH_KEY -- $true_bin"

python3 - "$tmp/r.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
# Medians: on a shared machine the mean is dragged by outliers from other load.
base = r["true"]["median"]
print()
print(f"{'command':22s} {'median':>8s} {'min':>8s} {'mean':>8s} {'cpu':>8s}   added (median)")
for name in ("true", "env", "secrets exec", "secrets exec --mask"):
    x = r[name]
    cpu = x["user"] + x["system"]  # CPU time (user+sys): hardly moved by other load
    print(f"{name:22s} {x['median']*1e3:6.2f}ms {x['min']*1e3:6.2f}ms {x['mean']*1e3:6.2f}ms {cpu*1e3:6.2f}ms   {(x['median']-base)*1e3:+6.2f} ms")
added = (r["secrets exec"]["median"] - base) * 1e3
added_min = (r["secrets exec"]["min"] - r["true"]["min"]) * 1e3
print(f"\nsecrets exec adds {added:.2f} ms (median; {added_min:.2f} ms min to min): {'within' if added < 5 else 'OVER'} the 5 ms target")
PY
