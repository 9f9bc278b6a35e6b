#!/usr/bin/env bash
# make bench: the gateway against a baseline, side by side, on this machine.
#  1. Overhead: wrk against a canned OpenAI upstream (nginx `return 200`) directly, then through
#     the gateway; requests/s at 64 connections, latency at 1 connection, the gateway's memory.
#  2. Local path: tokens/s of streamed generations straight from llama-server and through the
#     gateway, interleaved.
# Prints ratios, because these machines are noisy; writes bench-results/latest.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${BENCH_DURATION:-10}"
LOCAL_RUNS="${BENCH_LOCAL_RUNS:-6}"

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || need+=(nginx)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else echo "bench needs: ${need[*]} (apt-get install ${need[*]})" >&2; exit 1; fi
fi

work="$(mktemp -d /tmp/switchyard-bench-XXXXXX)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 1 600); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "not up: $1" >&2; return 1; }

# The canned upstream.
up_port="$(free_port)"
canned='{"id":"chatcmpl-canned","object":"chat.completion","created":1700000000,"model":"canned","choices":[{"index":0,"message":{"role":"assistant","content":"Paris is the capital of France."},"finish_reason":"stop"}],"usage":{"prompt_tokens":14,"completion_tokens":8,"total_tokens":22}}'
mkdir -p "$work/nginx"
cat > "$work/nginx/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/nginx/body;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$up_port;
    location / { default_type application/json; return 200 '$canned'; }
  }
}
CONF
nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" & pids+=($!)

# The gateway, release build, one cloud target: the canned upstream.
swift build -c release --product switchyard >/dev/null
gw_port="$(free_port)"
cat > "$work/bench.yaml" <<YAML
version: 1
models:
  canned:
    kind: openai
    base_url: http://127.0.0.1:$up_port/v1
    model: canned
    api_key_env: SWITCHYARD_BENCH_KEY
YAML
SWITCHYARD_BENCH_KEY=bench .build/release/switchyard serve --policy "$work/bench.yaml" --port "$gw_port" \
  --state-dir "$work/state" --log-level warning > "$work/gateway.log" 2>&1 & gw_pid=$!; pids+=($gw_pid)
wait_http "http://127.0.0.1:$gw_port/readyz"

cat > "$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"model":"auto","messages":[{"role":"user","content":"What is the capital of France?"}]}'
wrk.headers["Content-Type"] = "application/json"
LUA

# wrk output → "rps p50_us p99_us"
run_wrk() {
  local url="$1" conns="$2"
  wrk -t1 -c"$conns" -d"${DURATION}s" --latency -s "$work/post.lua" "$url" > "$work/wrk.out"
  python3 - "$work/wrk.out" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
def us(v):
    n, unit = re.match(r"([\d.]+)(us|ms|s)", v).groups()
    return float(n) * {"us": 1, "ms": 1e3, "s": 1e6}[unit]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
p50 = us(re.search(r"\s50%\s+(\S+)", text).group(1))
p99 = us(re.search(r"\s99%\s+(\S+)", text).group(1))
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
print(rps, p50, p99, errors.group(1) if errors else 0)
PY
}

direct="http://127.0.0.1:$up_port/v1/chat/completions"
gateway="http://127.0.0.1:$gw_port/v1/chat/completions"
curl -fs "$gateway" -d '{"model":"auto","messages":[{"role":"user","content":"warm up"}]}' >/dev/null
wrk -t1 -c8 -d2s -s "$work/post.lua" "$gateway" >/dev/null   # warm-up

read -r d_rps d_p50 d_p99 d_err < <(run_wrk "$direct" 64)
read -r g_rps g_p50 g_p99 g_err < <(run_wrk "$gateway" 64)
read -r d1_rps d1_p50 d1_p99 _ < <(run_wrk "$direct" 1)
read -r g1_rps g1_p50 g1_p99 _ < <(run_wrk "$gateway" 1)
rss_kb="$(awk '/VmRSS/ {print $2}' /proc/$gw_pid/status)"
hwm_kb="$(awk '/VmHWM/ {print $2}' /proc/$gw_pid/status)"
kill "$gw_pid"; wait "$gw_pid" 2>/dev/null || true

# The local path: the default model, direct vs through the gateway.
lg_port="$(free_port)"
cat > "$work/local.yaml" <<YAML
version: 1
models:
  local: {kind: local, context: 4096, slots: 1, threads: 2}
YAML
.build/release/switchyard serve --policy "$work/local.yaml" --port "$lg_port" --state-dir "$work/lstate" \
  --log-level warning > "$work/local.log" 2>&1 & lg_pid=$!; pids+=($lg_pid)
for _ in $(seq 1 600); do curl -fs "http://127.0.0.1:$lg_port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
readyz="$(curl -fs "http://127.0.0.1:$lg_port/readyz")"
engine_url="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["engine"]["url"])' "$readyz")"
engine_pid="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["engine"]["pid"])' "$readyz")"
python_bin="${SWITCHYARD_HOME:-$HOME/.cache/switchyard}/venv/bin/python"
local_result="$("$python_bin" bench/local_tokens.py "$engine_url/v1" "http://127.0.0.1:$lg_port/v1" "$LOCAL_RUNS" "$lg_pid" "$engine_pid")"
kill "$lg_pid"; wait "$lg_pid" 2>/dev/null || true

mkdir -p bench-results
.build/release/switchyard bench-signals > "$work/signals.txt"
python3 - "$d_rps" "$g_rps" "$d1_p50" "$g1_p50" "$d1_p99" "$g1_p99" "$d_p50" "$g_p50" "$d_p99" "$g_p99" "$rss_kb" "$hwm_kb" "$d_err" "$g_err" "$local_result" "$DURATION" <<'PY' | tee bench-results/latest.txt
import sys, json
a = sys.argv[1:]
d_rps, g_rps, d1p50, g1p50, d1p99, g1p99, dp50, gp50, dp99, gp99, rss, hwm = map(float, a[:12])
d_err, g_err = a[12:14]
local = json.loads(a[14])
print(f"Switchyard benchmark ({a[15]} s per run, wrk -t1, canned upstream: nginx return 200)")
print()
print(f"{'':34}{'direct':>12}{'gateway':>12}{'ratio':>9}")
print(f"{'requests/s, 64 connections':34}{d_rps:>12.0f}{g_rps:>12.0f}{g_rps/d_rps:>9.2f}")
print(f"{'p50 latency, 64 connections (us)':34}{dp50:>12.0f}{gp50:>12.0f}")
print(f"{'p99 latency, 64 connections (us)':34}{dp99:>12.0f}{gp99:>12.0f}")
print(f"{'p50 latency, 1 connection (us)':34}{d1p50:>12.0f}{g1p50:>12.0f}")
print(f"{'p99 latency, 1 connection (us)':34}{d1p99:>12.0f}{g1p99:>12.0f}")
print(f"{'non-2xx responses':34}{d_err:>12}{g_err:>12}")
print()
print(f"added latency, 1 connection: p50 {g1p50 - d1p50:.0f} us, p99 {g1p99 - d1p99:.0f} us")
print(f"gateway memory: {rss/1024:.1f} MB resident after load, {hwm/1024:.1f} MB peak")
print()
print(f"local path, {local['runs']} streamed generations each of {local['max_tokens']} tokens, interleaved:")
print(f"  tokens/s direct from llama-server: median {local['direct']:.1f}")
print(f"  tokens/s through the gateway:      median {local['gateway']:.1f}  (ratio {local['gateway']/local['direct']:.3f})")
g_cpu, e_cpu = local["gateway_cpu_us_per_token"], local["engine_cpu_us_per_token"]
print(f"  CPU per relayed token: gateway {g_cpu:.0f} us, llama-server {e_cpu:.0f} us;"
      f" the gateway's share bounds the loss at {100 * g_cpu / (g_cpu + e_cpu):.1f}%")
print()
PY
cat "$work/signals.txt" | tee -a bench-results/latest.txt
