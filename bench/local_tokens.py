"""Tokens/s of streamed generations: straight from llama-server vs through the gateway.

Usage: local_tokens.py DIRECT_BASE GATEWAY_BASE RUNS GATEWAY_PID ENGINE_PID. Runs alternate
(direct, gateway, ...) so that drift on a noisy machine hits both alike. Also measures the CPU
time each process spends per token relayed through the gateway: on a CPU-bound box the gateway's
share of it bounds what relaying can cost generation. Prints a JSON summary.
"""
import json
import os
import statistics
import sys
import time
import urllib.request

MAX_TOKENS = 128
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


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
    return (tokens - 1) / elapsed, tokens  # decode rate after the first token


direct_base, gateway_base, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
gateway_pid, engine_pid = int(sys.argv[4]), int(sys.argv[5])
generate(direct_base)  # warm-up
direct, gateway = [], []
relayed, gateway_cpu, engine_cpu = 0, 0.0, 0.0
for _ in range(runs):
    direct.append(generate(direct_base)[0])
    g0, e0 = cpu_seconds(gateway_pid), cpu_seconds(engine_pid)
    rate, tokens = generate(gateway_base)
    gateway_cpu += cpu_seconds(gateway_pid) - g0
    engine_cpu += cpu_seconds(engine_pid) - e0
    gateway.append(rate)
    relayed += tokens
print(json.dumps({"runs": runs, "max_tokens": MAX_TOKENS,
                  "direct": statistics.median(direct), "gateway": statistics.median(gateway),
                  "gateway_cpu_us_per_token": gateway_cpu / relayed * 1e6,
                  "engine_cpu_us_per_token": engine_cpu / relayed * 1e6}))
