#!/usr/bin/env bash
# bench/gateway-redis.sh [N] — what keeping the gateway's budget state in Redis costs per request.
# Starts, with `aiorch services up` on free 127.0.0.1 ports: redis-server, and two LiteLLM proxies
# with the same budgeted cloud alias (`fast-model`, a per-deployment budget it never reaches) in
# front of the fake cloud API (tests/e2e/fakeapi.py, answers at once, so the gateway's own work is
# what is measured): one keeps its state in memory (services.litellm.redis = false), the other in
# Redis. Sends N (default 40) chat requests to each, alternating (and swapping which goes first
# every round), and reports medians, p90, LiteLLM's x-litellm-overhead-duration-ms and the ratio
# Redis/memory, plus the load average. Stops what it started. Needs tests/e2e/gateway.sh's
# prerequisites (its LiteLLM install, redis-server).
# env: AIORCH_E2E_CACHE (default ~/.cache/aiorch-e2e), AIORCH_BIN (default target/release or
#      target/debug aiorch)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
N=${1:-40}
. "$ROOT/tests/e2e/lib.sh"
AIORCH_BIN=${AIORCH_BIN:-$( [[ -x $ROOT/target/release/aiorch ]] && echo "$ROOT/target/release/aiorch" || echo "$ROOT/target/debug/aiorch")}
[[ -x "$AIORCH_BIN" ]] || { echo "build aiorch first (cargo build)" >&2; exit 1; }
command -v redis-server >/dev/null || { echo "redis-server missing (apt-get install redis-server)" >&2; exit 1; }
LITELLM_BIN=$E2E_CACHE/venv-litellm/bin/litellm
[[ -x $LITELLM_BIN ]] || { echo "no LiteLLM in $E2E_CACHE (run tests/e2e/gateway.sh once)" >&2; exit 1; }
T=$(mktemp -d -t aiorch-bench-redis-XXXXXX)
RP=$(free_port); GM=$(free_port); GR=$(free_port)
export LITELLM_MASTER_KEY="sk-bench-$RANDOM$RANDOM" OPENAI_API_KEY="sk-bench-oai" REDIS_PASSWORD="bench-$RANDOM$RANDOM"
start_fakeapi "$T/cloud" >/dev/null
config() { # PORT REDIS
  cat <<EOF
[secrets]
backend = "env"
[models]
default_fast = "openai/gpt-5-mini"
[services.litellm]
enable = true
port = $1
command = ["$LITELLM_BIN"]
daily_budget = 1000.0
redis = $2
[services.litellm.api_bases]
openai = "http://127.0.0.1:$FAKE_PORT/v1"
[services.redis]
enable = $2
port = $RP
EOF
}
config "$GM" false >"$T/m.toml"; config "$GR" true >"$T/r.toml"
M=(--config "$T/m.toml" --home "$T/home" --state-dir "$T/sm")
R=(--config "$T/r.toml" --home "$T/home" --state-dir "$T/sr")
trap '"$AIORCH_BIN" "${M[@]}" -q services down >/dev/null 2>&1; "$AIORCH_BIN" "${R[@]}" -q services down >/dev/null 2>&1; stop_fakeapi; rm -rf "$T"' EXIT
# The fake cloud keeps a file per request; not needed here.
"$AIORCH_BIN" "${M[@]}" services up >&2
"$AIORCH_BIN" "${R[@]}" services up >&2

python3 - "$GM" "$GR" "$LITELLM_MASTER_KEY" "$N" <<'PY'
import json, statistics, sys, time, urllib.request
gm, gr, key, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
urls = {"memory": f"http://127.0.0.1:{gm}/v1/chat/completions", "redis": f"http://127.0.0.1:{gr}/v1/chat/completions"}

def call(url):
    body = {"model": "fast-model", "max_tokens": 8, "messages": [{"role": "user", "content": "Say OK."}]}
    req = urllib.request.Request(url, data=json.dumps(body).encode(),
                                 headers={"content-type": "application/json", "authorization": f"Bearer {key}"})
    t0 = time.perf_counter()
    with urllib.request.urlopen(req, timeout=60) as r:
        r.read()
        h = r.headers
    assert h.get("x-litellm-model-group") == "fast-model", dict(h)
    return (time.perf_counter() - t0) * 1000, float(h.get("x-litellm-overhead-duration-ms") or "nan")

def p90(xs):
    s = sorted(xs)
    return s[max(0, int(round(0.9 * len(s))) - 1)]

load0 = open("/proc/loadavg").read().split()[:3]
for _ in range(5):  # warm-up
    for u in urls.values():
        call(u)
wall = {k: [] for k in urls}
over = {k: [] for k in urls}
for i in range(n):
    order = ["memory", "redis"] if i % 2 == 0 else ["redis", "memory"]
    for k in order:
        w, o = call(urls[k])
        wall[k].append(w); over[k].append(o)
load1 = open("/proc/loadavg").read().split()[:3]
print(f"gateway state: memory vs Redis, fast-model (budgeted) -> fake cloud, n={n} each, alternating")
print(f"load average before {' '.join(load0)}, after {' '.join(load1)}")
print(f"{'state':<8} {'median ms':>10} {'p90 ms':>8} {'LiteLLM overhead med ms':>24}")
for k in urls:
    print(f"{k:<8} {statistics.median(wall[k]):>10.1f} {p90(wall[k]):>8.1f} {statistics.median(over[k]):>24.1f}")
r = statistics.median(wall["redis"]) / statistics.median(wall["memory"])
print(f"ratio redis/memory (median wall): {r:.2f}; difference {statistics.median(wall['redis']) - statistics.median(wall['memory']):+.1f} ms")
PY
