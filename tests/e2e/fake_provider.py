#!/usr/bin/env python3
"""A fake LLM provider for aiorch's end-to-end tests and benchmarks (stdlib only).

Serves on 127.0.0.1 (port 0 = any free port; the chosen port is printed as PORT=N):
  POST .../chat/completions   OpenAI-compatible, JSON or SSE (stream: true)
  POST .../v1/messages        Anthropic Messages, JSON or SSE (what Claude Code sends)
  POST .../responses          OpenAI Responses, JSON or SSE (what Codex sends)
  GET  /health                {"status": "ok"}
A path prefix /delay/<ms>/ answers after that many milliseconds (e.g. base URL
http://127.0.0.1:PORT/delay/1000/v1). The answer depends on the model name: a model named
yes-*, no-* or opt-<x>-* answers with a VERDICT line for consensus; others answer
"FAKE-OK from <model>". Every request is appended to LOGFILE (if given) as one JSON line.
Usage: fake_provider.py [PORT] [LOGFILE]
"""
import json, re, sys, threading, time, uuid
from http.server import ThreadingHTTPServer

import fakehttp

PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 0
LOG = sys.argv[2] if len(sys.argv) > 2 else None
_lock = threading.Lock()


def reply_for(model):
    if model.startswith("yes-"):
        return "VERDICT: yes\nCONFIDENCE: 0.8\nThe change is sound; watch the migration order."
    if model.startswith("no-"):
        return "VERDICT: no\nCONFIDENCE: 0.7\nThe rollback path is untested."
    m = re.match(r"^opt-([a-z0-9]+)-", model)
    if m:
        return f"VERDICT: {m.group(1)}\nCONFIDENCE: 0.6\nPrefer {m.group(1)}."
    return f"FAKE-OK from {model}"


class H(fakehttp.Handler):
    def do_GET(self):
        if self.path.startswith("/health"):
            return self.send_json({"status": "ok"})
        if self.path.endswith("/models"):
            return self.send_json({"object": "list", "data": [{"id": "fake", "object": "model"}]})
        return self.send_json({"error": {"message": "not found"}}, 404)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        try:
            req = json.loads(body or b"{}")
        except Exception:
            req = {}
        path = self.path.split("?")[0]
        m = re.match(r"^/delay/(\d+)(/.*)$", path)
        if m:
            time.sleep(int(m.group(1)) / 1000)
            path = m.group(2)
        if LOG:
            with _lock, open(LOG, "a") as f:
                text = "".join(json.dumps(req.get(k, "")) for k in ("messages", "system", "input", "instructions"))
                f.write(json.dumps({"path": path, "model": req.get("model"), "stream": bool(req.get("stream")),
                                    "auth": "bearer" if self.headers.get("authorization") else ("x-api-key" if self.headers.get("x-api-key") else "none"),
                                    "tools": [t.get("name") or (t.get("function") or {}).get("name") for t in req.get("tools", []) if isinstance(t, dict)],
                                    "orchestrator_prompt": "aiorch go: orchestrator instructions" in text,
                                    # MCP tools a client announces by name anywhere in the request
                                    # (Claude Code defers them behind its ToolSearch tool).
                                    "mcp_aiorch": sorted(set(re.findall(r"mcp__aiorch__[a-z]+", body.decode("utf-8", "replace")))),
                                    # Codex sends MCP tools as a namespace of plain names.
                                    "tool_names": sorted(set(re.findall(r'"name": ?"([a-z_]+)"', body.decode("utf-8", "replace"))))}) + "\n")
        model = req.get("model") or "fake"
        text = reply_for(model)
        if path.endswith("/chat/completions"):
            usage = {"prompt_tokens": 40, "completion_tokens": 12, "total_tokens": 52}
            if not req.get("stream"):
                return self.send_json({"id": "chatcmpl-x", "object": "chat.completion", "created": int(time.time()), "model": model,
                                   "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}], "usage": usage})
            ch = lambda delta, fin: {"id": "c", "object": "chat.completion.chunk", "model": model, "choices": [{"index": 0, "delta": delta, "finish_reason": fin}]}
            return self.send_sse([(None, ch({"role": "assistant", "content": text}, None)), (None, dict(ch({}, "stop"), usage=usage)), (None, "[DONE]")])
        if path.endswith("/v1/messages/count_tokens"):
            return self.send_json({"input_tokens": 42})
        if path.endswith("/v1/messages"):
            mid = "msg_" + uuid.uuid4().hex[:20]
            usage = {"input_tokens": 40, "output_tokens": 12}
            if not req.get("stream"):
                return self.send_json({"id": mid, "type": "message", "role": "assistant", "model": model, "content": [{"type": "text", "text": text}],
                                   "stop_reason": "end_turn", "stop_sequence": None, "usage": usage})
            return self.send_sse([
                ("message_start", {"type": "message_start", "message": {"id": mid, "type": "message", "role": "assistant", "model": model, "content": [], "stop_reason": None, "stop_sequence": None, "usage": usage}}),
                ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
                ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}}),
                ("content_block_stop", {"type": "content_block_stop", "index": 0}),
                ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None}, "usage": {"output_tokens": 12}}),
                ("message_stop", {"type": "message_stop"}),
            ])
        if path.endswith("/responses"):
            rid, iid = "resp_" + uuid.uuid4().hex[:16], "msg_" + uuid.uuid4().hex[:16]
            item = {"id": iid, "type": "message", "role": "assistant", "status": "completed", "content": [{"type": "output_text", "text": text, "annotations": []}]}
            resp = {"id": rid, "object": "response", "created_at": int(time.time()), "model": model, "status": "completed", "output": [item],
                    "usage": {"input_tokens": 40, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 12, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 52}}
            if not req.get("stream"):
                return self.send_json(resp)
            return self.send_sse([
                ("response.created", {"type": "response.created", "response": dict(resp, status="in_progress", output=[])}),
                ("response.output_item.added", {"type": "response.output_item.added", "output_index": 0, "item": dict(item, status="in_progress", content=[])}),
                ("response.output_text.delta", {"type": "response.output_text.delta", "item_id": iid, "output_index": 0, "content_index": 0, "delta": text}),
                ("response.output_item.done", {"type": "response.output_item.done", "output_index": 0, "item": item}),
                ("response.completed", {"type": "response.completed", "response": resp}),
            ])
        return self.send_json({"error": {"message": f"no route {path}"}}, 404)


if __name__ == "__main__":
    srv = ThreadingHTTPServer(("127.0.0.1", PORT), H)
    srv.daemon_threads = True
    print(f"PORT={srv.server_address[1]}", flush=True)
    srv.serve_forever()
