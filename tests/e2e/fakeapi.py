#!/usr/bin/env python3
"""A fake LLM API on 127.0.0.1 so the real clients complete one turn offline.

Every request body is recorded to LOGDIR/NNNN-<path>.json; the recorded request is the proof of
what a client really loaded (system prompt with CLAUDE.md / AGENTS.md, skills listings, tools).
Each answer is the fixed text "E2E-OK".

  Anthropic  POST /v1/messages (SSE or JSON), /v1/messages/count_tokens
  OpenAI     POST /v1/responses (SSE or JSON), /v1/chat/completions (SSE or JSON), GET /v1/models
  Gemini     POST /v1beta/models/<m>:streamGenerateContent | :generateContent | :countTokens

Usage: fakeapi.py PORT LOGDIR   (PORT 0: any free port; prints "listening on 127.0.0.1:PORT")
Standard library only (the system python3 runs it).
"""
import json
import os
import sys
import threading
import time
import uuid
from http.server import ThreadingHTTPServer

import fakehttp

REPLY = "E2E-OK"
LOGDIR = sys.argv[2] if len(sys.argv) == 3 else sys.exit(__doc__)
_seq = [0]
_lock = threading.Lock()
SECRET_HEADERS = {"authorization", "x-api-key", "x-goog-api-key", "api-key"}


def record(path, raw, headers):
    with _lock:
        _seq[0] += 1
        n = _seq[0]
    name = path.split("?")[0].strip("/").replace("/", "_").replace(":", "_")[:80]
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = raw.decode("utf-8", "replace")
    hdrs = {k: v for k, v in headers.items() if k.lower() not in SECRET_HEADERS}
    tmp = os.path.join(LOGDIR, f".{n:04d}.tmp")
    with open(tmp, "w") as f:
        json.dump({"path": path, "headers": hdrs, "body": body}, f, indent=1)
    os.replace(tmp, os.path.join(LOGDIR, f"{n:04d}-{name}.json"))  # readers never see half a file


class Handler(fakehttp.Handler):
    def do_GET(self):
        record(self.path, b"", self.headers)
        if self.path.startswith("/v1/models"):
            return self.send_json({"object": "list", "data": [{"id": "gpt-5", "object": "model"}], "models": []})
        return self.send_json({}, 404)

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        record(self.path, raw, self.headers)
        try:
            req = json.loads(raw) if raw else {}
        except ValueError:
            req = {}
        p = self.path.split("?")[0]
        if p.endswith("/messages/count_tokens"):
            return self.send_json({"input_tokens": 42})
        if p.endswith("/messages"):
            return self.anthropic(req)
        if p.endswith("/responses"):
            return self.openai_responses(req)
        if p.endswith("/chat/completions"):
            return self.chat(req)
        if ":countTokens" in p:
            return self.send_json({"totalTokens": 42})
        if ":streamGenerateContent" in p or ":generateContent" in p:
            return self.gemini(":stream" in p)
        return self.send_json({}, 404)

    def anthropic(self, req):
        usage = {"input_tokens": 10, "output_tokens": 2, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
        msg = {"id": "msg_" + uuid.uuid4().hex[:20], "type": "message", "role": "assistant", "model": req.get("model", "claude"),
               "stop_reason": "end_turn", "stop_sequence": None, "usage": usage}
        if not req.get("stream"):
            return self.send_json(dict(msg, content=[{"type": "text", "text": REPLY}]))
        self.send_sse([
            ("message_start", {"type": "message_start", "message": dict(msg, content=[], stop_reason=None)}),
            ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
            ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": REPLY}}),
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None}, "usage": {"output_tokens": 2}}),
            ("message_stop", {"type": "message_stop"}),
        ])

    def openai_responses(self, req):
        item = {"id": "msg_" + uuid.uuid4().hex[:16], "type": "message", "role": "assistant", "status": "completed",
                "content": [{"type": "output_text", "text": REPLY, "annotations": []}]}
        resp = {"id": "resp_" + uuid.uuid4().hex[:20], "object": "response", "created_at": int(time.time()),
                "model": req.get("model", "gpt-5"), "status": "completed", "output": [item],
                "usage": {"input_tokens": 10, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 2,
                          "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 12}}
        if not req.get("stream"):
            return self.send_json(resp)
        self.send_sse([
            ("response.created", {"type": "response.created", "response": dict(resp, status="in_progress", output=[])}),
            ("response.output_item.added", {"type": "response.output_item.added", "output_index": 0, "item": dict(item, status="in_progress", content=[])}),
            ("response.output_text.delta", {"type": "response.output_text.delta", "item_id": item["id"], "output_index": 0, "content_index": 0, "delta": REPLY}),
            ("response.output_item.done", {"type": "response.output_item.done", "output_index": 0, "item": item}),
            ("response.completed", {"type": "response.completed", "response": resp}),
        ])

    def chat(self, req):
        base = {"id": "chatcmpl-" + uuid.uuid4().hex[:16], "created": int(time.time()), "model": req.get("model", "gpt-4o")}
        usage = {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12}
        if not req.get("stream"):
            return self.send_json(dict(base, object="chat.completion", usage=usage, choices=[
                {"index": 0, "message": {"role": "assistant", "content": REPLY}, "finish_reason": "stop"}]))
        chunk = dict(base, object="chat.completion.chunk")
        self.send_sse([
            (None, dict(chunk, choices=[{"index": 0, "delta": {"role": "assistant", "content": REPLY}, "finish_reason": None}])),
            (None, dict(chunk, usage=usage, choices=[{"index": 0, "delta": {}, "finish_reason": "stop"}])),
            (None, "[DONE]"),
        ])

    def gemini(self, stream):
        chunk = {"candidates": [{"content": {"role": "model", "parts": [{"text": REPLY}]}, "finishReason": "STOP", "index": 0}],
                 "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 2, "totalTokenCount": 12},
                 "modelVersion": "gemini-2.5-flash"}
        if not stream:
            return self.send_json(chunk)
        self.send_sse([(None, chunk)])


if __name__ == "__main__":
    os.makedirs(LOGDIR, exist_ok=True)
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    server.daemon_threads = True
    print(f"listening on 127.0.0.1:{server.server_address[1]} logging to {LOGDIR}", flush=True)
    server.serve_forever()
