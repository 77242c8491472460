"""The HTTP side the e2e tier's fake model APIs share (fakeapi.py, fake_tool_api.py,
fake_provider.py): JSON answers and server-sent events on a keep-alive HTTP/1.1 handler."""
import json
from http.server import BaseHTTPRequestHandler


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
