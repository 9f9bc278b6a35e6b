"""A misbehaving OpenAI-compatible upstream for the soak: each request draws a fault.

Usage: fault_upstream.py PORT [--no-faults]. Answers POST /v1/chat/completions, whole or streamed, and on a
seeded draw: a normal answer, a 500, a 429 with Retry-After, a cut stream, a malformed body, a
slow head, hostile usage numbers. Loopback only; runs until killed.
"""
import json
import random
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RNG = random.Random(7)
FAULTS = ["ok"] if "--no-faults" in sys.argv else ["ok", "ok", "500", "429", "cut", "malformed", "slow", "usage"]


def completion(usage):
    return {"id": "chatcmpl-fault", "object": "chat.completion", "created": 1, "model": "fault",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
            "usage": usage}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, body, content_type="application/json", extra=()):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        request = json.loads(self.rfile.read(length) or b"{}")
        fault = RNG.choice(FAULTS)
        stream = request.get("stream", False)
        if fault == "500":
            return self.send(500, '{"error":{"message":"injected"}}')
        if fault == "429":
            return self.send(429, '{"error":{"message":"slow down"}}', extra=[("Retry-After", "3")])
        if fault == "malformed":
            return self.send(200, "<html>oops</html>", "text/event-stream" if stream else "application/json")
        if fault == "slow":
            time.sleep(2)
        usage = {"prompt_tokens": -5, "completion_tokens": 9223372036854775807} if fault == "usage" else \
            {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}
        if not stream:
            return self.send(200, json.dumps(completion(usage)))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        if fault == "cut":
            # Cut before the first event: the gateway has committed nothing and falls back.
            self.wfile.flush()
            self.close_connection = True
            return
        chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "fault",
                 "choices": [{"index": 0, "delta": {"content": "ok"}, "finish_reason": None}]}
        self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        end = dict(chunk, choices=[], usage=usage)
        self.wfile.write(f"data: {json.dumps(end)}\n\ndata: [DONE]\n\n".encode())
        self.close_connection = True


ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
