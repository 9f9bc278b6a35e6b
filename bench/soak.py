"""A bounded soak: mixed traffic through the gateway while its first target misbehaves.

Usage: soak.py GATEWAY_BASE GATEWAY_PID SECONDS CONCURRENCY. Sends whole and streamed requests
for SECONDS (bounded), samples the gateway's resident memory every second, and prints a JSON
summary: requests, failures seen by clients (a fallback exists, so there should be none),
whether the gateway is still alive, and memory at the start and end of the run.
"""
import json
import sys
import threading
import time
import urllib.request

base, pid, seconds, concurrency = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
deadline = time.monotonic() + seconds
lock = threading.Lock()
counts = {"requests": 0, "failures": 0, "truncated": 0}
failures = []


def rss_mb():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return 0.0


def worker(n):
    i = 0
    while time.monotonic() < deadline:
        i += 1
        stream = (i + n) % 2 == 0
        body = json.dumps({"model": "auto", "stream": stream, "max_tokens": 5,
                           "messages": [{"role": "user", "content": f"soak {n} {i}"}]}).encode()
        request = urllib.request.Request(base + "/v1/chat/completions", data=body, headers={"Content-Type": "application/json"})
        ok, detail = True, ""
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                text = response.read().decode()
                if stream and "[DONE]" not in text:
                    ok, detail = False, "stream without [DONE]: " + text[-200:]
        except Exception as error:  # an HTTP error status or a broken connection
            ok, detail = False, repr(error)[:200]
        with lock:
            counts["requests"] += 1
            if not ok:
                counts["failures"] += 1
                failures.append(detail)


samples = [rss_mb()]
threads = [threading.Thread(target=worker, args=(n,)) for n in range(concurrency)]
for t in threads:
    t.start()
while any(t.is_alive() for t in threads):
    time.sleep(1)
    try:
        samples.append(rss_mb())
    except FileNotFoundError:
        break
for t in threads:
    t.join()
alive = True
try:
    urllib.request.urlopen(base + "/healthz", timeout=5).read()
except Exception:
    alive = False
third = max(1, len(samples) // 3)
print(json.dumps({"requests": counts["requests"], "failures": counts["failures"], "examples": failures[:3],
                  "alive": alive, "rss_first_third_mb": max(samples[:third]), "rss_last_third_mb": max(samples[-third:]),
                  "rss_peak_mb": max(samples)}))
