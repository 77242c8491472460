#!/usr/bin/env python3
"""Consensus wall time and per-call runtime overhead of `aiorch mcp serve` (stdlib only).

Usage: consensus_overhead.py AIORCH_BIN [--reps 5] [--calls 200] [--delay-ms 1000] [--stream] [--no-consensus]

Starts the fake model API (tests/e2e/fakeapi.py) on a free 127.0.0.1 port and one `aiorch mcp serve` (scratch
home/state, env secrets), then measures, with a raw newline-delimited JSON-RPC client:
  consensus  the `consensus` tool over 5 fake models that each answer after DELAY ms, no synthesis
             (the fan-out) and with synthesis (+1 call to the best model); also 3 models.
  overhead   `chat` to a no-delay fake model through the MCP server vs the same request sent
             directly over HTTP keep-alive from this process, alternated, CALLS times each;
             overhead = median(MCP chat) - median(direct). It is an upper bound of the runtime's own
             cost: it also contains the JSON-RPC hop over pipes and this client's JSON work.
             aiorch streams every call (so a failed or cancelled call is billed for what streamed);
             with --stream the direct request streams too, on a new connection each time as the
             fake closes the connection after a stream: the same wire work on both sides.
"""
import argparse, http.client, json, os, statistics, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE = os.path.join(HERE, "..", "..", "tests", "e2e", "fakeapi.py")


class Mcp:
    def __init__(self, argv, env):
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, bufsize=0)
        self.n = 0

    def req(self, method, params):
        self.n += 1
        msg = json.dumps({"jsonrpc": "2.0", "id": self.n, "method": method, "params": params}) + "\n"
        self.p.stdin.write(msg.encode())
        while True:
            line = self.p.stdout.readline()
            if not line:
                raise SystemExit("server closed stdout")
            v = json.loads(line)
            if v.get("id") == self.n:
                return v

    def note(self, method):
        self.p.stdin.write((json.dumps({"jsonrpc": "2.0", "method": method}) + "\n").encode())

    def close(self):
        self.p.stdin.close()
        self.p.wait(5)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("aiorch")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--delay-ms", type=int, default=1000)
    ap.add_argument("--stream", action="store_true", help="the direct baseline streams too (as aiorch does)")
    ap.add_argument("--no-consensus", action="store_true", help="only the per-call overhead")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp()
    fake = subprocess.Popen([sys.executable, FAKE, "--port", "0"], stdout=subprocess.PIPE, text=True)
    port = int(fake.stdout.readline().strip().rsplit(":", 1)[1])  # "listening on 127.0.0.1:PORT"
    base = f"http://127.0.0.1:{port}"
    models = ""
    for i in range(1, 6):
        models += (f'[runtime.models.yes-{i}]\nprovider = "openai"\nendpoint = "{base}/delay/{a.delay_ms}/v1"\nkey = "K"\n'
                   f'tier = {1 + i % 3}\nprice_in = 1.0\nprice_out = 2.0\nroles = {{ planning = 0.9, coding = 0.9, review = 0.9, search = 0.9 }}\n\n')
    models += f'[runtime.models.fast]\nprovider = "openai"\nendpoint = "{base}/v1"\nkey = "K"\ntier = 1\nroles = {{ coding = 0.5 }}\n\n'
    cfg = os.path.join(tmp, "aiorch.toml")
    open(cfg, "w").write(f'[secrets]\nbackend = "env"\n\n[runtime]\nbuiltin_models = false\nmax_parallel = 8\n\n{models}')
    env = {"PATH": "/usr/bin:/bin", "K": "sk-bench", "AIORCH_CONFIG": cfg, "HOME": tmp}
    srv = Mcp([a.aiorch, "--home", tmp, "--state-dir", os.path.join(tmp, "state"), "mcp", "serve"], env)
    srv.req("initialize", {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "bench", "version": "0"}})
    srv.note("notifications/initialized")
    srv.req("tools/list", {})

    def consensus(n, synth):
        t = time.perf_counter()
        r = srv.req("tools/call", {"name": "consensus", "arguments": {"question": "Ship it?", "models": [f"yes-{i}" for i in range(1, n + 1)], "synthesize": synth}})
        wall = time.perf_counter() - t
        sc = r["result"]["structuredContent"]
        assert sc["agreement"] == 1.0 and not r["result"].get("isError"), r
        return wall

    out = {}
    for label, n, synth in [] if a.no_consensus else [("warm-up", 5, False)]:
        consensus(n, synth)  # warm-up: connection pool, SQLite pages
    for label, n, synth in [] if a.no_consensus else [("consensus_5_fanout", 5, False), ("consensus_3_fanout", 3, False), ("consensus_5_with_synthesis", 5, True)]:
        walls = [consensus(n, synth) for _ in range(a.reps)]
        out[label] = walls
        print(f"{label:<28} median {statistics.median(walls) * 1000:8.1f} ms  min {min(walls) * 1000:8.1f}  max {max(walls) * 1000:8.1f}  (n={a.reps}, each model {a.delay_ms} ms)")

    conn = http.client.HTTPConnection("127.0.0.1", port)
    req = {"model": "fast", "messages": [{"role": "system", "content": "x"}, {"role": "user", "content": "hello"}], "max_tokens": 4096}
    if a.stream:
        req.update(stream=True, stream_options={"include_usage": True})
    body = json.dumps(req)

    def direct():
        nonlocal conn
        t = time.perf_counter()
        if a.stream:
            conn = http.client.HTTPConnection("127.0.0.1", port)
        conn.request("POST", "/v1/chat/completions", body, {"content-type": "application/json", "authorization": "Bearer sk-bench"})
        r = conn.getresponse()
        r.read()
        if a.stream:
            conn.close()
        return time.perf_counter() - t

    def via_mcp():
        t = time.perf_counter()
        r = srv.req("tools/call", {"name": "chat", "arguments": {"prompt": "hello", "model": "fast"}})
        d = time.perf_counter() - t
        assert not r["result"].get("isError"), r
        return d

    for _ in range(20):
        direct(); via_mcp()
    d, m = [], []
    for _ in range(a.calls):
        d.append(direct())
        m.append(via_mcp())
    md, mm = statistics.median(d) * 1000, statistics.median(m) * 1000
    print(f"{'direct HTTP call' + (' (stream)' if a.stream else ''):<28} median {md:8.3f} ms  p95 {sorted(d)[int(0.95 * len(d))] * 1000:.3f}")
    print(f"{'chat via aiorch MCP':<28} median {mm:8.3f} ms  p95 {sorted(m)[int(0.95 * len(m))] * 1000:.3f}")
    print(f"{'overhead per call':<28} median {mm - md:8.3f} ms  (n={a.calls}, alternated)")
    srv.close()
    fake.terminate()


if __name__ == "__main__":
    main()
