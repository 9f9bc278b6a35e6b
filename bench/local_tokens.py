"""Tokens/s of streamed generations: straight from llama-server vs through the gateway.

Usage: local_tokens.py DIRECT_BASE GATEWAY_BASE RUNS. Runs alternate (direct, gateway, ...) so
that drift on a noisy machine hits both alike; prints a JSON summary with the medians.
"""
import json
import statistics
import sys
import time
import urllib.request

MAX_TOKENS = 128


def generate(base):
    body = json.dumps({
        "model": "local",
        "messages": [{"role": "user", "content": "Write a short story about a lighthouse keeper."}],
        "max_tokens": MAX_TOKENS,
        "temperature": 0,
        "stream": True,
        "stream_options": {"include_usage": True},
    }).encode()
    request = urllib.request.Request(base + "/chat/completions", body, {"Content-Type": "application/json"})
    first = None
    tokens = 0
    with urllib.request.urlopen(request, timeout=300) as response:
        for raw in response:
            line = raw.decode().strip()
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            if chunk.get("choices") and chunk["choices"][0]["delta"].get("content"):
                if first is None:
                    first = time.perf_counter()
            if chunk.get("usage"):
                tokens = chunk["usage"]["completion_tokens"]
    elapsed = time.perf_counter() - first
    return (tokens - 1) / elapsed  # decode rate after the first token


direct_base, gateway_base, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
generate(direct_base)  # warm-up
direct, gateway = [], []
for _ in range(runs):
    direct.append(generate(direct_base))
    gateway.append(generate(gateway_base))
print(json.dumps({"runs": runs, "max_tokens": MAX_TOKENS,
                  "direct": statistics.median(direct), "gateway": statistics.median(gateway)}))
