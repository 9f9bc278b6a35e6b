"""A batch script as a new user writes one: 32 short requests from 16 threads through the
official OpenAI SDK (its default two retries), against a gateway on the default policy.

Usage: openai_concurrency_check.py BASE_URL [THREADS] [REQUESTS]
Prints one JSON object (answers, failures by kind, where each was served, latencies); exits
non-zero if any request failed.
"""
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from openai import OpenAI

base_url = sys.argv[1]
threads = int(sys.argv[2]) if len(sys.argv) > 2 else 16
requests = int(sys.argv[3]) if len(sys.argv) > 3 else 32
client = OpenAI(base_url=base_url, api_key="not-needed-for-switchyard", timeout=120)


def one(n):
    started = time.monotonic()
    try:
        raw = client.chat.completions.with_raw_response.create(
            model="auto",
            messages=[{"role": "user", "content": f"Say the number {n} in words."}],
            max_tokens=12,
        )
        raw.parse()
        return {"ok": True, "rule": raw.headers.get("x-switchyard-rule"), "route": raw.headers.get("x-switchyard-route"),
                "seconds": time.monotonic() - started}
    except Exception as error:  # what the SDK raised after its own retries
        return {"ok": False, "error": type(error).__name__, "detail": str(error)[:200], "seconds": time.monotonic() - started}


with ThreadPoolExecutor(max_workers=threads) as pool:
    results = list(pool.map(one, range(requests)))

failed = [r for r in results if not r["ok"]]
seconds = sorted(r["seconds"] for r in results)
report = {
    "requests": requests,
    "threads": threads,
    "answered": len(results) - len(failed),
    # Failures by what the SDK raised and why (one line each, counted).
    "failures": {f'{error}: {detail}': sum(1 for r in failed if (r["error"], r["detail"]) == (error, detail))
                 for error, detail in sorted({(r["error"], r["detail"]) for r in failed})},
    "rules": sorted({r["rule"] for r in results if r["ok"]}),
    "routes": sorted({r["route"] for r in results if r["ok"]}),
    "median_seconds": seconds[len(seconds) // 2],
    "max_seconds": seconds[-1],
}
print(json.dumps(report))
sys.exit(1 if failed else 0)
