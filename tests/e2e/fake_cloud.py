#!/usr/bin/env python3
"""Fault injection for the services e2e: a stand-in "cloud" provider on 127.0.0.1 (stdlib only).

  /fail/...  -> 401 authentication_error (what a provider says to a bad key): the gateway must
                fall back to the local model.
  /ok/...    -> 200, an OpenAI-style chat completion whose usage is large enough to cross a tiny
                per-deployment budget on the first call (streaming supported).
usage: fake_cloud.py PORT
"""
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

USAGE = {"prompt_tokens": 100000, "completion_tokens": 10, "total_tokens": 100010}


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _send(self, code, body, ctype="application/json"):
        data = body.encode()
        self.send_response(code)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self._send(401 if self.path.startswith("/fail") else 200, json.dumps({"object": "list", "data": []}))

    def do_POST(self):
        n = int(self.headers.get("content-length") or 0)
        req = json.loads(self.rfile.read(n) or b"{}")
        if not self.path.startswith("/ok"):
            err = {"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}
            return self._send(401, json.dumps(err))
        model = req.get("model", "gpt-5-mini")
        base = {"id": "chatcmpl-fake", "created": int(time.time()), "model": model}
        if req.get("stream"):
            chunks = [
                dict(base, object="chat.completion.chunk", choices=[{"index": 0, "delta": {"role": "assistant", "content": "fake"}, "finish_reason": None}]),
                dict(base, object="chat.completion.chunk", choices=[{"index": 0, "delta": {}, "finish_reason": "stop"}]),
                dict(base, object="chat.completion.chunk", choices=[], usage=USAGE),
            ]
            body = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
            return self._send(200, body, "text/event-stream")
        resp = dict(base, object="chat.completion",
                    choices=[{"index": 0, "message": {"role": "assistant", "content": "fake cloud answer"}, "finish_reason": "stop"}],
                    usage=USAGE)
        self._send(200, json.dumps(resp))

    def log_message(self, *a):
        pass


if len(sys.argv) != 2:
    sys.exit("usage: fake_cloud.py PORT   (binds 127.0.0.1 only)")
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
