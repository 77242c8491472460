#!/usr/bin/env python3
"""A fake LLM API (127.0.0.1 only) whose model asks for one shell command, for proving that a
real client refuses a command the aiorch policy denies.

The first turn of a conversation answers with a tool call running $FAKE_TOOL_COMMAND through
the client's own shell tool (found in the request's tool list); once the request carries the
tool's result, it answers with text. Every request body is logged to LOGDIR/NNNN-<path>.json,
so a test can read the tool result the client sent back (its refusal message).

Endpoints: Anthropic POST /v1/messages, OpenAI /v1/responses and /v1/chat/completions,
Gemini :streamGenerateContent / :generateContent.  Usage: fake_tool_api.py PORT LOGDIR
"""
import json, os, re, sys, threading, time, uuid
from http.server import ThreadingHTTPServer

import fakehttp

PORT, LOGDIR = int(sys.argv[1]), sys.argv[2]
CMD = os.environ.get("FAKE_TOOL_COMMAND", "echo hello")
os.makedirs(LOGDIR, exist_ok=True)
_lock, _n = threading.Lock(), [0]


def log(path, req):
    with _lock:
        _n[0] += 1
        n = _n[0]
    safe = re.sub(r"[^A-Za-z0-9]+", "_", path.split("?")[0])[:60]
    with open(os.path.join(LOGDIR, f"{n:04d}-{safe}.json"), "w") as f:
        json.dump({"path": path, "body": req}, f, indent=1)


def tool_names_anthropic(req):
    return [t.get("name") for t in req.get("tools") or []]


def tool_names_openai(req):
    out = []
    for t in req.get("tools") or []:
        out.append(t.get("name") or (t.get("function") or {}).get("name"))
    return out


class H(fakehttp.Handler):
    def do_GET(self):
        if self.path.startswith("/v1/models"):
            return self.send_json({"object": "list", "data": [{"id": "gpt-5", "object": "model"}], "models": []})
        return self.send_json({}, 404)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        try:
            req = json.loads(body) if body else {}
        except Exception:
            req = {}
        log(self.path, req)
        p = self.path.split("?")[0]
        if p.endswith("/count_tokens"):
            return self.send_json({"input_tokens": 42})
        if p.endswith("/v1/messages"):
            return self.anthropic(req)
        if p.endswith("/responses"):
            return self.openai_responses(req)
        if p.endswith("/chat/completions"):
            return self.chat(req)
        if ":countTokens" in p:
            return self.send_json({"totalTokens": 42})
        if "GenerateContent" in p or "generateContent" in p:
            return self.gemini(req, stream="stream" in p)
        return self.send_json({}, 404)

    # ---- Anthropic: tool_use of Bash until a tool_result comes back
    def anthropic(self, req):
        msgs = req.get("messages") or []
        has_result = any(isinstance(m.get("content"), list) and any(c.get("type") == "tool_result" for c in m["content"]) for m in msgs)
        wants_tool = "Bash" in tool_names_anthropic(req) and not has_result
        mid = "msg_" + uuid.uuid4().hex[:16]
        usage = {"input_tokens": 10, "output_tokens": 2}
        if wants_tool:
            block = {"type": "tool_use", "id": "toolu_" + uuid.uuid4().hex[:12], "name": "Bash", "input": {"command": CMD, "description": "policy probe"}}
            stop = "tool_use"
        else:
            block = {"type": "text", "text": "DONE"}
            stop = "end_turn"
        msg = {"id": mid, "type": "message", "role": "assistant", "model": req.get("model", "claude"), "content": [block], "stop_reason": stop, "stop_sequence": None, "usage": usage}
        if not req.get("stream"):
            return self.send_json(msg)
        start = dict(msg, content=[], stop_reason=None)
        if block["type"] == "tool_use":
            cb = [("content_block_start", {"type": "content_block_start", "index": 0, "content_block": dict(block, input={})}),
                  ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}})]
        else:
            cb = [("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
                  ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "DONE"}})]
        self.send_sse([("message_start", {"type": "message_start", "message": start}), *cb,
                   ("content_block_stop", {"type": "content_block_stop", "index": 0}),
                   ("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None}, "usage": {"output_tokens": 2}}),
                   ("message_stop", {"type": "message_stop"})])

    # ---- OpenAI Responses (Codex): function_call of its shell tool until an output comes back
    def openai_responses(self, req):
        items = req.get("input") or []
        has_result = any(isinstance(i, dict) and i.get("type") in ("function_call_output", "custom_tool_call_output") for i in items)
        names = tool_names_openai(req)
        rid = "resp_" + uuid.uuid4().hex[:16]
        if not has_result and ("exec_command" in names or "shell" in names or "shell_command" in names):
            if "exec_command" in names:
                name, args = "exec_command", {"cmd": CMD}
            elif "shell_command" in names:
                name, args = "shell_command", {"command": CMD}
            else:
                name, args = "shell", {"command": ["bash", "-lc", CMD]}
            item = {"id": "fc_" + uuid.uuid4().hex[:12], "type": "function_call", "status": "completed", "name": name, "arguments": json.dumps(args), "call_id": "call_" + uuid.uuid4().hex[:12]}
        else:
            item = {"id": "msg_" + uuid.uuid4().hex[:12], "type": "message", "role": "assistant", "status": "completed", "content": [{"type": "output_text", "text": "DONE", "annotations": []}]}
        resp = {"id": rid, "object": "response", "created_at": int(time.time()), "model": req.get("model", "gpt-5"), "status": "completed", "output": [item],
                "usage": {"input_tokens": 10, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 2, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 12}}
        if not req.get("stream"):
            return self.send_json(resp)
        self.send_sse([("response.created", {"type": "response.created", "response": dict(resp, status="in_progress", output=[])}),
                   ("response.output_item.added", {"type": "response.output_item.added", "output_index": 0, "item": item}),
                   ("response.output_item.done", {"type": "response.output_item.done", "output_index": 0, "item": item}),
                   ("response.completed", {"type": "response.completed", "response": resp})])

    # ---- OpenAI chat (Copilot BYOK): tool_calls of its shell tool until a tool message comes back
    def chat(self, req):
        msgs = req.get("messages") or []
        has_result = any(m.get("role") == "tool" for m in msgs)
        names = tool_names_openai(req)
        shell = next((n for n in ("bash", "shell", "powershell") if n in names), None)
        cid = "chatcmpl-" + uuid.uuid4().hex[:12]
        if shell and not has_result:
            call = {"index": 0, "id": "call_" + uuid.uuid4().hex[:12], "type": "function", "function": {"name": shell, "arguments": json.dumps({"command": CMD, "description": "policy probe"})}}
            delta, finish = {"role": "assistant", "content": None, "tool_calls": [call]}, "tool_calls"
        else:
            delta, finish = {"role": "assistant", "content": "DONE"}, "stop"
        if not req.get("stream"):
            msg = {k: v for k, v in delta.items()}
            if "tool_calls" in msg:
                msg["tool_calls"] = [{k: v for k, v in c.items() if k != "index"} for c in msg["tool_calls"]]
            return self.send_json({"id": cid, "object": "chat.completion", "created": int(time.time()), "model": req.get("model", "gpt-4o"),
                               "choices": [{"index": 0, "message": msg, "finish_reason": finish}], "usage": {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12}})
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("connection", "close")
        self.end_headers()
        self.close_connection = True
        for chunk in ({"choices": [{"index": 0, "delta": delta, "finish_reason": None}]},
                      {"choices": [{"index": 0, "delta": {}, "finish_reason": finish}], "usage": {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12}}):
            chunk.update({"id": cid, "object": "chat.completion.chunk", "created": int(time.time()), "model": req.get("model", "gpt-4o")})
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()

    # ---- Gemini: functionCall of run_shell_command until a functionResponse comes back
    def gemini(self, req, stream):
        contents = req.get("contents") or []
        has_result = any(any("functionResponse" in p for p in c.get("parts") or []) for c in contents)
        decls = [d.get("name") for t in req.get("tools") or [] for d in t.get("functionDeclarations") or []]
        if "run_shell_command" in decls and not has_result:
            part = {"functionCall": {"name": "run_shell_command", "args": {"command": CMD, "description": "policy probe"}}}
        else:
            part = {"text": "DONE"}
        chunk = {"candidates": [{"content": {"role": "model", "parts": [part]}, "finishReason": "STOP", "index": 0}],
                 "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 2, "totalTokenCount": 12}, "modelVersion": "gemini-2.5-flash"}
        if not stream:
            return self.send_json(chunk)
        self.send_sse([(None, chunk)])


if __name__ == "__main__":
    srv = ThreadingHTTPServer(("127.0.0.1", PORT), H)
    print(f"fake tool api on 127.0.0.1:{srv.server_address[1]}", flush=True)
    srv.serve_forever()
