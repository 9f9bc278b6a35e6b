#!/usr/bin/env python3
"""The gateway's memory under maximum-size request bodies, for docs/benchmarks.md (Memory).

    python3 bench/memory.py [--bodies 64,128] [--size BYTES] [--rounds 2] [--private-data] BINARY [BINARY...]

For each binary (a `switchyard` build), and each count of bodies: starts the gateway (one
`openai` target, its ledger, default server limits) against a loopback upstream that holds every
request of a megabyte or more until COUNT are in flight (or 60 s passed) and then answers them all; warms it up with
small requests; posts COUNT chats of SIZE bytes (default: 4 MiB - 64 KiB, just under the default
`max_body_bytes`) at once; reads the gateway's VmRSS before, VmHWM (peak) after, and VmRSS again
5 s later. `--private-data` adds the private-data constraint, so that every body is also scanned.
Prints one line per run: statuses, baseline, peak, peak over baseline per byte in flight,
and what stayed resident. Each binary gets a fresh gateway per run; runs alternate binaries.
"""
import argparse, http.client, http.server, json, os, socket, socketserver, subprocess, sys, tempfile, threading, time

OK = json.dumps({"id": "x", "object": "chat.completion", "created": 1, "model": "m",
                 "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
                 "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}).encode()


class Upstream(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True

    def __init__(self, hold_until):
        self.hold_until, self.in_flight, self.peak = hold_until, 0, 0
        self.lock = threading.Condition()
        super().__init__(("127.0.0.1", 0), Handler)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        length = left = int(self.headers.get("Content-Length", 0))
        while left > 0:
            left -= len(self.rfile.read(min(left, 1 << 20)))
        server = self.server
        if length >= 1 << 20:  # not a warm-up request: held
            with server.lock:
                server.in_flight += 1
                server.peak = max(server.peak, server.in_flight)
                server.lock.notify_all()
                server.lock.wait_for(lambda: server.peak >= server.hold_until, timeout=60)
                server.in_flight -= 1
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(OK)))
        self.end_headers()
        self.wfile.write(OK)

    def log_message(self, *args):
        pass


def body(size):
    line = "The quick brown fox jumps over the lazy dog by the river, then rests in the shade of an old oak.\\n"
    head, tail = '{"model":"auto","max_tokens":8,"messages":[{"role":"user","content":"', '"}]}'
    text = head + line * ((size - len(head) - len(tail)) // len(line))
    return (text + "." * (size - len(text) - len(tail)) + tail).encode()


def resident(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0]) * 1024
    return fields


def post(port, payload, statuses):
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        connection.request("POST", "/v1/chat/completions", body=payload, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        response.read()
        statuses.append(response.status)
    except Exception as error:
        statuses.append(type(error).__name__)


def flood(port, payload, count):
    statuses = []
    threads = [threading.Thread(target=post, args=(port, payload, statuses)) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def run(binary, count, payload, private_data):
    upstream = Upstream(hold_until=min(count, 64))
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    state = tempfile.mkdtemp(prefix="switchyard-memory-")
    with open(state + "/policy.yaml", "w") as policy:
        policy.write(f"""version: 1
models:
  cloud: {{kind: openai, base_url: "http://127.0.0.1:{upstream.server_address[1]}/v1", model: m, api_key_env: BENCH_KEY}}
{"constraints: {private_data: {allowed_targets: [cloud]}}" if private_data else ""}
rules:
  - {{name: all, serve: cloud}}
""")
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    gateway = subprocess.Popen([binary, "serve", "--policy", state + "/policy.yaml", "--port", str(port), "--state-dir", state,
                                "--no-watch-policy", "--log-level", "warning"],
                               env=dict(os.environ, BENCH_KEY="x"), stdout=subprocess.DEVNULL, stderr=open(state + "/log", "w"))
    try:
        for _ in range(300):
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                connection.request("GET", "/healthz")
                connection.getresponse().read()
                break
            except OSError:
                time.sleep(0.1)
        small = body(4096)
        for _ in range(4):
            flood(port, small, 8)
        baseline = resident(gateway.pid)["VmRSS"]
        started = time.time()
        statuses = flood(port, payload, count)
        elapsed = time.time() - started
        peak = resident(gateway.pid)["VmHWM"]
        time.sleep(5)
        after = resident(gateway.pid)["VmRSS"]
        held = min(count, upstream.peak) * len(payload)
        summary = {str(s): statuses.count(s) for s in sorted(set(statuses), key=str)}
        print(f"{binary} bodies={count} size={len(payload)} statuses={summary} held_at_once={upstream.peak} {elapsed:.1f}s "
              f"baseline={baseline >> 20}MiB peak={peak >> 20}MiB (+{(peak - baseline) / held:.2f}x the bytes held) "
              f"after_5s={after >> 20}MiB (+{(after - baseline) >> 20}MiB)", flush=True)
    finally:
        gateway.terminate()
        gateway.wait()
        upstream.shutdown()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binaries", nargs="+")
    parser.add_argument("--bodies", default="64,128")
    parser.add_argument("--size", type=int, default=(4 << 20) - (64 << 10))
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--private-data", action="store_true")
    arguments = parser.parse_args()
    payload = body(arguments.size)
    for _ in range(arguments.rounds):
        for count in [int(n) for n in arguments.bodies.split(",")]:
            for binary in arguments.binaries:
                run(binary, count, payload, arguments.private_data)


if __name__ == "__main__":
    sys.exit(main())
