#!/usr/bin/env python3
"""The e2e tier's one fake model API: every provider wire format the real clients, aiorch's
runtime and LiteLLM speak, on 127.0.0.1, offline, standard library only (the system python3).

  Anthropic  POST /v1/messages (JSON or SSE), /v1/messages/count_tokens
  OpenAI     POST /v1/chat/completions (JSON or SSE), /v1/responses (JSON or SSE, what Codex
             sends), GET /v1/models
  Gemini     POST /v1beta/models/<m>:streamGenerateContent | :generateContent | :countTokens
  GET /health

Answers
  text       "E2E-OK from <model>" (--reply TEMPLATE, `{model}` is replaced). A model named yes-*,
             no-* or opt-<x>-* answers with a VERDICT/CONFIDENCE block (for consensus).
  tool call  with --tool-command CMD (or $FAKE_TOOL_COMMAND): the first turn of a conversation
             asks the client's own shell tool (Bash, run_shell_command, exec_command / shell /
             shell_command, bash) to run CMD; once the request carries the tool's result, text.
             Every format: --tool-command given N times asks for the N commands in turn, one per tool result
             the conversation carries, then text.

Fault injection: path prefixes, combinable, stripped before routing (give them in a base URL):
  /delay/<ms>/...   answer after <ms> milliseconds
  /fail/...         401 authentication_error for everything (a provider refusing a bad key: the
                    "cloud" LiteLLM must fall back from)
  /tokens/<n>/...   report <n> prompt tokens (a priced call that crosses a tiny budget at once)

Recording (--record DIR): every request is written to DIR/NNNN-<path>.json as {"seq", "path",
"auth" (bearer | x-api-key | goog-api-key | none), "headers" (credentials removed), "body"};
the recorded request is the proof of what a client loaded (system prompt, skills, tools).

Usage: fakeapi.py [--port N] [--record DIR] [--reply TEMPLATE] [--tool-command CMD]
Prints "listening on 127.0.0.1:PORT" first (--port 0, the default: any free port).
"""
import argparse
import json
import os
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET_HEADERS = {"authorization", "x-api-key", "x-goog-api-key", "api-key"}
OPTS = argparse.Namespace(record=None, reply="E2E-OK from {model}", tool_command=None, tool_commands=[])
_seq = [0]
_lock = threading.Lock()


def record(path, headers, body):
    if not OPTS.record:
        return
    with _lock:
        _seq[0] += 1
        n = _seq[0]
    name = re.sub(r"[^A-Za-z0-9]+", "_", path.split("?")[0].strip("/"))[:80]
    h = {k.lower(): v for k, v in headers.items()}
    auth = ("bearer" if "authorization" in h else "x-api-key" if "x-api-key" in h
            else "goog-api-key" if "x-goog-api-key" in h else "none")
    doc = {"seq": n, "path": path, "auth": auth,
           "headers": {k: v for k, v in headers.items() if k.lower() not in SECRET_HEADERS}, "body": body}
    tmp = os.path.join(OPTS.record, f".{n:04d}.tmp")
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=1)
    os.replace(tmp, os.path.join(OPTS.record, f"{n:04d}-{name}.json"))  # readers never see half a file


def reply_text(model):
    if model.startswith("yes-"):
        return "VERDICT: yes\nCONFIDENCE: 0.8\nThe change is sound; watch the migration order."
    if model.startswith("no-"):
        return "VERDICT: no\nCONFIDENCE: 0.7\nThe rollback path is untested."
    m = re.match(r"^opt-([a-z0-9]+)-", model)
    if m:
        return f"VERDICT: {m.group(1)}\nCONFIDENCE: 0.6\nPrefer {m.group(1)}."
    return OPTS.reply.replace("{model}", model)


def tool_names(req):
    """Function names offered in an Anthropic or OpenAI (chat or Responses) request."""
    return [t.get("name") or (t.get("function") or {}).get("name")
            for t in req.get("tools") or [] if isinstance(t, dict)]


def faults(path):
    """Strips the fault prefixes: -> (path, fail, prompt_tokens or None)."""
    fail, tokens = False, None
    while True:
        m = re.match(r"^/delay/(\d+)(/.*)$", path)
        if m:
            time.sleep(int(m.group(1)) / 1000)
            path = m.group(2)
            continue
        m = re.match(r"^/tokens/(\d+)(/.*)$", path)
        if m:
            tokens, path = int(m.group(1)), m.group(2)
            continue
        if path == "/fail" or path.startswith("/fail/"):
            fail, path = True, path[len("/fail"):] or "/"
            continue
        return path, fail, tokens


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body in one segment: no 40 ms delayed-ACK stalls

    def log_message(self, *args):
        pass

    def send_json(self, obj, code=200):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def send_sse(self, events):
        """events: (event name or None, data); data is JSON-encoded unless it is a str
        (`"[DONE]"`). The connection closes after the stream."""
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("connection", "close")
        self.end_headers()
        self.close_connection = True
        for event, data in events:
            body = data if isinstance(data, str) else json.dumps(data)
            self.wfile.write(((f"event: {event}\n" if event else "") + f"data: {body}\n\n").encode())
            self.wfile.flush()

    def send_unauthorized(self):
        self.send_json({"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}, 401)

    def do_GET(self):
        record(self.path, self.headers, None)
        p, fail, _ = faults(self.path.split("?")[0])
        if fail:
            return self.send_unauthorized()
        if p.startswith("/health"):
            return self.send_json({"status": "ok"})
        if p.endswith("/models"):
            return self.send_json({"object": "list", "data": [{"id": "gpt-5", "object": "model"}], "models": []})
        return self.send_json({"error": {"message": f"no route {p}"}}, 404)

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        try:
            req = json.loads(raw) if raw else {}
        except ValueError:
            req = None
        record(self.path, self.headers, req if req is not None else raw.decode("utf-8", "replace"))
        req = req if isinstance(req, dict) else {}
        p, fail, tokens = faults(self.path.split("?")[0])
        if fail:
            return self.send_unauthorized()
        self.usage_in = tokens if tokens is not None else 40
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
            return self.gemini(req, ":stream" in p)
        return self.send_json({"error": {"message": f"no route {p}"}}, 404)

    # ---- Anthropic Messages (Claude Code, aiorch's anthropic provider)
    def anthropic(self, req):
        model = req.get("model") or "claude"
        msgs = req.get("messages") or []
        results = sum(1 for m in msgs if isinstance(m.get("content"), list)
                      for c in m["content"] if isinstance(c, dict) and c.get("type") == "tool_result")
        if OPTS.tool_commands and "Bash" in tool_names(req) and results < len(OPTS.tool_commands):
            block = {"type": "tool_use", "id": "toolu_" + uuid.uuid4().hex[:12], "name": "Bash",
                     "input": {"command": OPTS.tool_commands[results], "description": "policy probe"}}
            stop = "tool_use"
        else:
            block, stop = {"type": "text", "text": reply_text(model)}, "end_turn"
        usage = {"input_tokens": self.usage_in, "output_tokens": 12, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
        msg = {"id": "msg_" + uuid.uuid4().hex[:20], "type": "message", "role": "assistant", "model": model,
               "content": [block], "stop_reason": stop, "stop_sequence": None, "usage": usage}
        if not req.get("stream"):
            return self.send_json(msg)
        if block["type"] == "tool_use":
            cb = [("content_block_start", {"type": "content_block_start", "index": 0, "content_block": dict(block, input={})}),
                  ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}})]
        else:
            cb = [("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
                  ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": block["text"]}})]
        self.send_sse([
            ("message_start", {"type": "message_start", "message": dict(msg, content=[], stop_reason=None)}), *cb,
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            ("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None}, "usage": {"output_tokens": 12}}),
            ("message_stop", {"type": "message_stop"}),
        ])

    # ---- OpenAI Responses (Codex)
    def openai_responses(self, req):
        model = req.get("model") or "gpt-5"
        items = req.get("input") or []
        results = sum(1 for i in items if isinstance(i, dict) and i.get("type") in ("function_call_output", "custom_tool_call_output"))
        names = tool_names(req)
        if OPTS.tool_commands and results < len(OPTS.tool_commands) and {"exec_command", "shell", "shell_command"} & set(names):
            cmd = OPTS.tool_commands[results]
            if "exec_command" in names:
                name, args = "exec_command", {"cmd": cmd}
            elif "shell_command" in names:
                name, args = "shell_command", {"command": cmd}
            else:
                name, args = "shell", {"command": ["bash", "-lc", cmd]}
            item = {"id": "fc_" + uuid.uuid4().hex[:12], "type": "function_call", "status": "completed", "name": name,
                    "arguments": json.dumps(args), "call_id": "call_" + uuid.uuid4().hex[:12]}
        else:
            item = {"id": "msg_" + uuid.uuid4().hex[:16], "type": "message", "role": "assistant", "status": "completed",
                    "content": [{"type": "output_text", "text": reply_text(model), "annotations": []}]}
        resp = {"id": "resp_" + uuid.uuid4().hex[:20], "object": "response", "created_at": int(time.time()),
                "model": model, "status": "completed", "output": [item],
                "usage": {"input_tokens": self.usage_in, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 12,
                          "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": self.usage_in + 12}}
        if not req.get("stream"):
            return self.send_json(resp)
        events = [("response.created", {"type": "response.created", "response": dict(resp, status="in_progress", output=[])})]
        if item["type"] == "message":
            events += [
                ("response.output_item.added", {"type": "response.output_item.added", "output_index": 0, "item": dict(item, status="in_progress", content=[])}),
                ("response.output_text.delta", {"type": "response.output_text.delta", "item_id": item["id"], "output_index": 0,
                                                "content_index": 0, "delta": item["content"][0]["text"]}),
            ]
        else:
            events.append(("response.output_item.added", {"type": "response.output_item.added", "output_index": 0, "item": item}))
        events += [("response.output_item.done", {"type": "response.output_item.done", "output_index": 0, "item": item}),
                   ("response.completed", {"type": "response.completed", "response": resp})]
        self.send_sse(events)

    # ---- OpenAI chat completions (aiorch's runtime, Copilot BYOK, LiteLLM, llama-server's role)
    def chat(self, req):
        model = req.get("model") or "gpt-4o"
        msgs = req.get("messages") or []
        results = sum(1 for m in msgs if isinstance(m, dict) and m.get("role") == "tool")
        names = tool_names(req)
        shell = next((n for n in ("bash", "shell", "powershell") if n in names), None)
        if OPTS.tool_commands and shell and results < len(OPTS.tool_commands):
            cmd = OPTS.tool_commands[results]
            call = {"index": 0, "id": "call_" + uuid.uuid4().hex[:12], "type": "function",
                    "function": {"name": shell, "arguments": json.dumps({"command": cmd, "description": "policy probe"})}}
            delta, finish = {"role": "assistant", "content": None, "tool_calls": [call]}, "tool_calls"
        else:
            delta, finish = {"role": "assistant", "content": reply_text(model)}, "stop"
        usage = {"prompt_tokens": self.usage_in, "completion_tokens": 12, "total_tokens": self.usage_in + 12}
        base = {"id": "chatcmpl-" + uuid.uuid4().hex[:16], "created": int(time.time()), "model": model}
        if not req.get("stream"):
            msg = dict(delta)
            if "tool_calls" in msg:
                msg["tool_calls"] = [{k: v for k, v in c.items() if k != "index"} for c in msg["tool_calls"]]
            return self.send_json(dict(base, object="chat.completion", usage=usage,
                                       choices=[{"index": 0, "message": msg, "finish_reason": finish}]))
        chunk = dict(base, object="chat.completion.chunk")
        self.send_sse([
            (None, dict(chunk, choices=[{"index": 0, "delta": delta, "finish_reason": None}])),
            (None, dict(chunk, usage=usage, choices=[{"index": 0, "delta": {}, "finish_reason": finish}])),
            (None, "[DONE]"),
        ])

    # ---- Gemini (Gemini CLI)
    def gemini(self, req, stream):
        contents = req.get("contents") or []
        results = sum(1 for c in contents if isinstance(c, dict) for p in c.get("parts") or [] if "functionResponse" in p)
        decls = [d.get("name") for t in req.get("tools") or [] for d in t.get("functionDeclarations") or []]
        if OPTS.tool_commands and "run_shell_command" in decls and results < len(OPTS.tool_commands):
            cmd = OPTS.tool_commands[results]
            part = {"functionCall": {"name": "run_shell_command", "args": {"command": cmd, "description": "policy probe"}}}
        else:
            part = {"text": reply_text("gemini-2.5-flash")}
        chunk = {"candidates": [{"content": {"role": "model", "parts": [part]}, "finishReason": "STOP", "index": 0}],
                 "usageMetadata": {"promptTokenCount": self.usage_in, "candidatesTokenCount": 12, "totalTokenCount": self.usage_in + 12},
                 "modelVersion": "gemini-2.5-flash"}
        if not stream:
            return self.send_json(chunk)
        self.send_sse([(None, chunk)])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--record", metavar="DIR")
    ap.add_argument("--reply", default=OPTS.reply)
    ap.add_argument("--tool-command", action="append")
    a = ap.parse_args()
    cmds = a.tool_command or ([os.environ["FAKE_TOOL_COMMAND"]] if os.environ.get("FAKE_TOOL_COMMAND") else [])
    OPTS.record, OPTS.reply, OPTS.tool_command, OPTS.tool_commands = a.record, a.reply, (cmds or [None])[0], cmds
    if a.record:
        os.makedirs(a.record, exist_ok=True)
    server = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    server.daemon_threads = True
    print(f"listening on 127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
