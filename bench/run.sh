#!/usr/bin/env bash
# make bench: the gateway against baselines, side by side, on this machine.
#  1. Overhead: wrk against a canned OpenAI upstream (nginx `return 200`) directly, through a plain
#     proxy hop to it (HAProxy, 1 thread, keep-alive: the yardstick every figure is divided by),
#     through the gateway built from this tree, and through a baseline gateway (BENCH_BASE_REF=<commit>
#     builds one; BENCH_BASE_BINARY=<path> uses one already built), interleaved round by round;
#     requests/s at 8 and 64 connections, latency at 1 connection, the gateway's memory. Medians of
#     BENCH_ROUNDS rounds.
#  2. Local path: tokens/s of streamed generations straight from llama-server and through the
#     gateway, interleaved.
#  3. Soak: mixed whole and streamed traffic for BENCH_SOAK_SECONDS while the first target
#     misbehaves (bench/fault_upstream.py) and a fallback exists: crashes, client-visible
#     failures and memory at the start and end.
#  4. With BENCH_PROFILE=1, where the gateway's CPU goes: `perf record` of the gateway under the
#     8-connection load, ledger on and off, its samples summed by component (kernel, libcurl,
#     SQLite, malloc, Swift's runtime, SwiftNIO, Hummingbird, each Switchyard module); the
#     symbols themselves in bench-results/perf-ledger*.txt.
#  5. The signals' cost on a long prompt, and the ledger's CPU per record alone (bench-signals,
#     bench-ledger).
# Prints ratios, because these machines are noisy; writes bench-results/latest.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${BENCH_DURATION:-10}"
ROUNDS="${BENCH_ROUNDS:-3}"
LOCAL_RUNS="${BENCH_LOCAL_RUNS:-6}"
SOAK_SECONDS="${BENCH_SOAK_SECONDS:-30}"
BASE_REF="${BENCH_BASE_REF:-}"
BASE_BINARY="${BENCH_BASE_BINARY:-}"
# The build directory of this tree's gateway (swift build's --scratch-path).
SCRATCH="${BENCH_SCRATCH_PATH:-.build}"
# A tree from before tracing (its policy has no tracing: block) is benched with BENCH_TRACING=0.
TRACING="${BENCH_TRACING:-1}"
PROFILE="${BENCH_PROFILE:-0}"

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || need+=(nginx)
command -v haproxy >/dev/null || need+=(haproxy)
[ "$PROFILE" = 0 ] || command -v perf >/dev/null || need+=(linux-perf)
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
# Answering at all (any status): an upstream with no GET route of its own.
wait_listening() { for _ in $(seq 1 600); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; echo "not up: $1" >&2; return 1; }

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
    # A collector that takes every OTLP export (an empty ExportTraceServiceResponse).
    location = /v1/traces { default_type application/x-protobuf; return 200 ''; }
  }
}
CONF
nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" & pids+=($!)

# The yardstick: a plain proxy hop to the same upstream. HAProxy, one thread, keep-alive on both
# sides (connections to nginx reused across client connections), no logging.
hap_port="$(free_port)"
cat > "$work/haproxy.cfg" <<CONF
global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  option http-keep-alive
  http-reuse always
frontend bench
  bind 127.0.0.1:$hap_port
  default_backend canned
backend canned
  server nginx 127.0.0.1:$up_port
CONF
haproxy -f "$work/haproxy.cfg" -db & pids+=($!)

# The gateways: this tree, and optionally a baseline commit, release builds.
swift build -c release --product switchyard --scratch-path "$SCRATCH" >/dev/null
gateway="$SCRATCH/release/switchyard"
binaries=("$gateway" "$gateway" "$gateway" "$gateway")
labels=("gateway" "gateway_ledger_off" "messages_ledger_off" "tracing_on_ledger_off")
if [ "$TRACING" = 0 ]; then unset 'binaries[3]' 'labels[3]'; binaries=("${binaries[@]}"); labels=("${labels[@]}"); fi
if [ -n "$BASE_BINARY" ]; then
  binaries+=("$BASE_BINARY" "$BASE_BINARY")
  labels+=("baseline" "baseline ledger off")
elif [ -n "$BASE_REF" ]; then
  git worktree add -f --detach "$work/base" "$BASE_REF" >/dev/null 2>&1
  swift build -c release --product switchyard --package-path "$work/base" --scratch-path .build-baseline >/dev/null
  git worktree remove --force "$work/base" >/dev/null 2>&1 || true
  binaries+=(".build-baseline/release/switchyard")
  labels+=("baseline $BASE_REF")
  # A baseline from before the ledger existed has no ledger to turn off (BENCH_BASE_LEDGER=0).
  if [ "${BENCH_BASE_LEDGER:-1}" = 1 ]; then
    binaries+=(".build-baseline/release/switchyard")
    labels+=("baseline ledger off")
  fi
fi

cat > "$work/bench.yaml" <<YAML
version: 1
models:
  canned:
    kind: openai
    base_url: http://127.0.0.1:$up_port/v1
    model: canned
    api_key_env: SWITCHYARD_BENCH_KEY
    price: {input: 0.15, output: 0.6}
# As the default policy does: every request is scanned for private data (it may go only to the
# one target here, so the scan costs and nothing is refused).
constraints:
  private_data:
    classes: [email, phone, credit_card, iban, national_id, secret]
    allowed_targets: [canned]
YAML
# The same without a ledger (no records written): the ledger's own cost is the difference.
{ cat "$work/bench.yaml"; echo "ledger: {enabled: false}"; } > "$work/bench-noledger.yaml"
# The same with every request traced (sampled) and exported to nginx: tracing's own cost is the
# difference with the line above, and tracing off is the line above against a baseline.
{ cat "$work/bench-noledger.yaml"; echo "tracing: {endpoint: \"http://127.0.0.1:$up_port/v1/traces\"}"; } > "$work/bench-tracing.yaml"

cat > "$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"model":"auto","messages":[{"role":"user","content":"What is the capital of France?"}]}'
wrk.headers["Content-Type"] = "application/json"
LUA
# The same question to the Anthropic front, answered by the same canned OpenAI upstream: the
# difference is the translation both ways.
cat > "$work/messages.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"model":"auto","max_tokens":64,"messages":[{"role":"user","content":"What is the capital of France?"}]}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["anthropic-version"] = "2023-06-01"
LUA

# wrk output → "rps p50_us p99_us non2xx"
run_wrk() {
  local url="$1" conns="$2" script="${3:-$work/post.lua}"
  wrk -t1 -c"$conns" -d"${DURATION}s" --latency -s "$script" "$url" > "$work/wrk.out"
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

# Starts BINARY serving POLICY on a free port and waits until it is ready; sets `port` and `pid`.
start_gateway() {
  port="$(free_port)"
  SWITCHYARD_BENCH_KEY=bench "$1" serve --policy "$2" --port "$port" \
    --state-dir "$work/state-$port" --log-level warning > "$work/gateway-$port.log" 2>&1 & pid=$!
  pids+=($pid)
  wait_http "http://127.0.0.1:$port/readyz"
}

# A process's CPU time so far, user and system, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# A process's context switches so far, voluntary and not, summed over its threads: each hand-off
# of a request from one thread to another is a wake-up, and a thread that sleeps is a switch.
context_switches() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/ctxt_switches/ {n += $2} END {print n + 0}'; }

# One measurement of one target: "rps64 p50_64 p99_64 rps1 p50_1 p99_1 non2xx rss_kb hwm_kb rps8 cpu_us8 switches8".
measure() {
  local binary="$1" policy="${2:-$work/bench.yaml}" path="${3:-/v1/chat/completions}" script="$work/post.lua" url pid=""
  [ "$path" = /v1/messages ] && script="$work/messages.lua"
  if [ "$binary" = direct ]; then
    url="http://127.0.0.1:$up_port/v1/chat/completions"
  elif [ "$binary" = haproxy ]; then
    url="http://127.0.0.1:$hap_port/v1/chat/completions"
  else
    local port
    start_gateway "$binary" "$policy"
    url="http://127.0.0.1:$port$path"
  fi
  wrk -t1 -c8 -d2s -s "$script" "$url" >/dev/null
  local ticks=0 switches=0
  [ -n "$pid" ] && ticks="$(cpu_ticks "$pid")" && switches="$(context_switches "$pid")"
  read -r r8 _ _ err8 < <(run_wrk "$url" 8 "$script")
  # The gateway's CPU per request at 8 connections (user + system): a figure noisy neighbours
  # disturb far less than requests/s, since time the VM loses to them is not charged to it.
  local cpu8=0
  [ -n "$pid" ] && cpu8="$(python3 -c "print(($(cpu_ticks "$pid") - $ticks) / $(getconf CLK_TCK) * 1e6 / max(1.0, $r8 * $DURATION))")"
  # Its context switches per request: a count, nearly free of the machine's noise.
  local switches8=0
  [ -n "$pid" ] && switches8="$(python3 -c "print(($(context_switches "$pid") - $switches) / max(1.0, $r8 * $DURATION))")"
  read -r r64 p50_64 p99_64 err < <(run_wrk "$url" 64 "$script")
  read -r r1 p50_1 p99_1 _ < <(run_wrk "$url" 1 "$script")
  local rss=0 hwm=0
  if [ -n "$pid" ]; then
    rss="$(awk '/VmRSS/ {print $2}' /proc/$pid/status)"
    hwm="$(awk '/VmHWM/ {print $2}' /proc/$pid/status)"
    kill "$pid"; wait "$pid" 2>/dev/null || true
  fi
  echo "$r64 $p50_64 $p99_64 $r1 $p50_1 $p99_1 $((err + err8)) $rss $hwm $r8 $cpu8 $switches8"
}

: > "$work/overhead.txt"
for round in $(seq 1 "$ROUNDS"); do
  echo "direct $(measure direct)" >> "$work/overhead.txt"
  echo "haproxy $(measure haproxy)" >> "$work/overhead.txt"
  for i in "${!binaries[@]}"; do
    policy="$work/bench.yaml" path=/v1/chat/completions
    case "${labels[$i]}" in *ledger_off|*"ledger off") policy="$work/bench-noledger.yaml" ;; esac
    [ "${labels[$i]}" = tracing_on_ledger_off ] && policy="$work/bench-tracing.yaml"
    [ "${labels[$i]}" = messages_ledger_off ] && path=/v1/messages
    echo "${labels[$i]// /_} $(measure "${binaries[$i]}" "$policy" "$path")" >> "$work/overhead.txt"
  done
done

# Where the CPU goes: the gateway's samples under the 8-connection load, summed by component
# (bench/profile_summary.py), ledger on and off.
: > "$work/profile.txt"
if [ "$PROFILE" != 0 ]; then
  for configuration in "ledger on:$work/bench.yaml" "ledger off:$work/bench-noledger.yaml"; do
    start_gateway "$gateway" "${configuration#*:}"
    wrk -t1 -c8 -d2s -s "$work/post.lua" "http://127.0.0.1:$port/v1/chat/completions" >/dev/null
    perf record -F 1999 -g -p "$pid" -o "$work/perf.data" -- sleep "$DURATION" 2> "$work/perf.log" & perf_pid=$!
    read -r rps _ < <(run_wrk "http://127.0.0.1:$port/v1/chat/completions" 8)
    wait "$perf_pid" || true
    perf report -i "$work/perf.data" --no-children --sort dso,symbol --stdio -g none > "$work/perf.txt" 2>> "$work/perf.log" || true
    kill "$pid"; wait "$pid" 2>/dev/null || true
    python3 bench/profile_summary.py "${configuration%%:*}" "$rps" "$work/perf.log" < "$work/perf.txt" >> "$work/profile.txt"
    # The symbols themselves, for a look below the summary.
    mkdir -p bench-results; cp "$work/perf.txt" "bench-results/perf-${configuration%%:*}.txt"
  done
fi

# The local path: the default model streamed straight from a llama-server of the bench's own, and
# through the gateway with that engine as its target (the external-engine form, `kind: openai`:
# the gateway's own engine takes a per-start key no one else reads, docs/security.md), interleaved.
# What differs from `kind: local` is only the admission queue in front of it. Skipped with
# BENCH_LOCAL_RUNS=0.
local_result='{"runs": 0}'
if [ "$LOCAL_RUNS" -gt 0 ]; then
# shellcheck disable=SC1091
. "${SWITCHYARD_HOME:-$HOME/.cache/switchyard}/env"
engine_port="$(free_port)"
"$SWITCHYARD_LLAMA_SERVER" --model "$SWITCHYARD_DEFAULT_MODEL" --host 127.0.0.1 --port "$engine_port" \
  --ctx-size 4096 --parallel 1 --threads 2 > "$work/engine.log" 2>&1 & engine_pid=$!; pids+=($engine_pid)
wait_http "http://127.0.0.1:$engine_port/health"
lg_port="$(free_port)"
cat > "$work/local.yaml" <<YAML
version: 1
models:
  local:
    kind: openai
    base_url: http://127.0.0.1:$engine_port/v1
    model: local
    api_key_env: SWITCHYARD_BENCH_KEY
    price: {input: 0, output: 0}
    timeouts: {first_byte: 120s, stall: 60s, total: 300s}
ledger: {enabled: false}
YAML
SWITCHYARD_BENCH_KEY=bench "$gateway" serve --policy "$work/local.yaml" --port "$lg_port" --state-dir "$work/lstate" \
  --log-level warning > "$work/local.log" 2>&1 & lg_pid=$!; pids+=($lg_pid)
wait_http "http://127.0.0.1:$lg_port/readyz"
python_bin="${SWITCHYARD_HOME:-$HOME/.cache/switchyard}/venv/bin/python"
local_result="$("$python_bin" bench/local_tokens.py "http://127.0.0.1:$engine_port/v1" "http://127.0.0.1:$lg_port/v1" "$LOCAL_RUNS" "$lg_pid" "$engine_pid")"
kill "$lg_pid" "$engine_pid"; wait "$lg_pid" "$engine_pid" 2>/dev/null || true
fi

# The soak: a misbehaving first target, a well-behaved one (streams too) as the fallback.
fault_port="$(free_port)"
python3 bench/fault_upstream.py "$fault_port" & pids+=($!)
good_port="$(free_port)"
python3 bench/fault_upstream.py "$good_port" --no-faults & pids+=($!)
soak_port="$(free_port)"
cat > "$work/soak.yaml" <<YAML
version: 1
models:
  faulty:
    kind: openai
    base_url: http://127.0.0.1:$fault_port/v1
    model: fault
    api_key_env: SWITCHYARD_BENCH_KEY
    timeouts: {first_byte: 1s, stall: 1s, total: 10s}
  good:
    kind: openai
    base_url: http://127.0.0.1:$good_port/v1
    model: good
    api_key_env: SWITCHYARD_BENCH_KEY
rules:
  - {name: main, serve: faulty, fallbacks: [good]}
YAML
SWITCHYARD_BENCH_KEY=bench "$gateway" serve --policy "$work/soak.yaml" --port "$soak_port" \
  --state-dir "$work/soak-state" --log-level error > "$work/soak.log" 2>&1 & soak_pid=$!; pids+=($soak_pid)
wait_http "http://127.0.0.1:$soak_port/readyz"
wait_listening "http://127.0.0.1:$good_port/"
soak_result="$(python3 bench/soak.py "http://127.0.0.1:$soak_port" "$soak_pid" "$SOAK_SECONDS" 16)"
kill "$soak_pid"; wait "$soak_pid" 2>/dev/null || true

mkdir -p bench-results
"$gateway" bench-signals > "$work/signals.txt"
# The ledger alone: CPU per record at about a gateway's rate, with its request ids and with the
# wholly random ids of before; then each record between a budget's reservation and settlement, as
# fast as 8 callers go (switchyard bench-ledger; docs/benchmarks.md).
{ "$gateway" bench-ledger --rate 5000 && "$gateway" bench-ledger --rate 5000 --random-ids \
  && "$gateway" bench-ledger --budget --records 4000; } 2>/dev/null >> "$work/signals.txt" || echo "bench-ledger failed" >> "$work/signals.txt"
python3 - "$work/overhead.txt" "$local_result" "$soak_result" "$DURATION" "$ROUNDS" <<'PY' | tee bench-results/latest.txt
import sys, json, statistics
rows = {}
for line in open(sys.argv[1]):
    label, *values = line.split()
    rows.setdefault(label, []).append([float(v) for v in values])
med = {label: [statistics.median(column) for column in zip(*runs)] for label, runs in rows.items()}
local, soak = json.loads(sys.argv[2]), json.loads(sys.argv[3])
labels = list(med)
print(f"Switchyard benchmark ({sys.argv[4]} s per run, medians of {sys.argv[5]} interleaved rounds, wrk -t1, canned upstream: nginx return 200)")
print()
print(f"{'':34}" + "".join(f"{l.replace('_', ' ')[:22]:>24}" for l in labels))
names = ["requests/s, 64 connections", "p50 latency, 64 conns (us)", "p99 latency, 64 conns (us)",
         "requests/s, 1 connection", "p50 latency, 1 conn (us)", "p99 latency, 1 conn (us)", "non-2xx responses",
         "resident memory (kB)", "peak resident memory (kB)", "requests/s, 8 connections", "CPU per request, 8 conns (us)",
         "context switches/request, 8 conns"]
for i in [9, 0, 1, 2, 3, 4, 5, 6, 10, 11]:
    print(f"{names[i]:34}" + "".join(f"{med[l][i]:>24.{2 if i == 11 else 0}f}" for l in labels))
print()
# Every figure as a ratio to the plain proxy hop measured in the same run (issue 16's goals).
h, d = med["haproxy"], med["direct"]
gateways = [l for l in labels if l not in ("direct", "haproxy")]
print("against HAProxy (1 thread, keep-alive, same upstream, same run):")
print(f"{'':34}" + "".join(f"{l.replace('_', ' ')[:22]:>24}" for l in gateways) + f"{'goal':>14}")
ratio_rows = [("requests/s, 8 connections", 9, "x", ">= 0.5x"), ("requests/s, 64 connections", 0, "x", ">= 0.5x"),
              ("p50, 1 connection", 4, "x", "<= 1.5x"), ("p99, 1 connection", 5, "x", "")]
for name, i, _, goal in ratio_rows:
    print(f"{name:34}" + "".join(f"{med[l][i] / h[i]:>23.2f}x" for l in gateways) + f"{goal:>14}")
print(f"{'p99 above the upstream own (us)':34}" + "".join(f"{med[l][5] - d[5]:>24.0f}" for l in gateways) + f"{'<= 1000':>14}")
print(f"{'resident memory (MB)':34}" + "".join(f"{med[l][7] / 1024:>24.1f}" for l in gateways) + f"{'< 60':>14}")
print(f"HAProxy itself: {h[9]:.0f} requests/s at 8 connections, {h[0]:.0f} at 64; p50 {h[4]:.0f} us, p99 {h[5]:.0f} us at 1 connection")
print()
for l in labels[1:]:
    g = med[l]
    print(f"{l.replace('_', ' ')}: added latency, 1 connection: p50 {g[4] - d[4]:.0f} us, p99 {g[5] - d[5]:.0f} us;"
          f" throughput {g[0] / d[0]:.2f} of direct; memory {g[7] / 1024:.1f} MB resident after load, {g[8] / 1024:.1f} MB peak")
g, n = med["gateway"], med["gateway_ledger_off"]
print(f"ledger on against off: requests/s {g[9] / n[9]:.2f}x at 8 connections (goal >= 0.90x), {g[0] / n[0]:.2f}x at 64, added p50 {g[4] - d[4]:.0f} vs {n[4] - d[4]:.0f} us,"
      f" added p99 {g[5] - d[5]:.0f} vs {n[5] - d[5]:.0f} us, CPU per request {g[10]:.0f} vs {n[10]:.0f} us")
t = med.get("tracing_on_ledger_off")
if t: print(f"tracing on (every request sampled, exported to nginx) against off (ledger off both): requests/s {t[0] / n[0]:.2f}x,"
      f" added p50 {t[4] - d[4]:.0f} vs {n[4] - d[4]:.0f} us, added p99 {t[5] - d[5]:.0f} vs {n[5] - d[5]:.0f} us,"
      f" memory {t[7] / 1024:.1f} vs {n[7] / 1024:.1f} MB")
m = med["messages_ledger_off"]
print(f"Anthropic front against OpenAI front (ledger off, same upstream): requests/s {m[0] / n[0]:.2f}x,"
      f" added p50 {m[4] - d[4]:.0f} vs {n[4] - d[4]:.0f} us, added p99 {m[5] - d[5]:.0f} vs {n[5] - d[5]:.0f} us")
def against(ours, theirs, what):
    a, b = med[ours], med[theirs]
    # Each round's own ratio too: the rounds' spread says how much of a difference is noise.
    rounds = lambda i: ", ".join(f"{x[i] / y[i]:.2f}" for x, y in zip(rows[ours], rows[theirs]))
    print(f"this tree against the baseline, {what}: requests/s {a[0] / b[0]:.2f}x at 64 connections (rounds: {rounds(0)}),"
          f" {a[9] / b[9]:.2f}x at 8 (rounds: {rounds(9)}), added p50 {a[4] - d[4]:.0f} vs {b[4] - d[4]:.0f} us,"
          f" added p99 {a[5] - d[5]:.0f} vs {b[5] - d[5]:.0f} us, CPU per request {a[10]:.0f} vs {b[10]:.0f} us ({a[10] / b[10]:.2f}x; rounds: {rounds(10)}),"
          f" context switches per request {a[11]:.2f} vs {b[11]:.2f}")
baselines = [l for l in labels if l.startswith("baseline")]
print()
if baselines:
    against("gateway", baselines[0], "ledger on")
if len(baselines) > 1:
    against("gateway_ledger_off", baselines[1], "ledger off")
print()
if local['runs'] == 0:
    print('local path: skipped (BENCH_LOCAL_RUNS=0)')
else:
    print(f"local path, {local['runs']} streamed generations each of {local['max_tokens']} tokens, interleaved:")
    print(f"  tokens/s direct from llama-server: median {local['direct']:.1f}")
    print(f"  tokens/s through the gateway:      median {local['gateway']:.1f}  (ratio {local['gateway']/local['direct']:.3f})")
    g_cpu, e_cpu = local["gateway_cpu_us_per_token"], local["engine_cpu_us_per_token"]
    print(f"  CPU per relayed token: gateway {g_cpu:.0f} us (goal <= 50 us), llama-server {e_cpu:.0f} us;"
          f" the gateway's share bounds the loss at {100 * g_cpu / (g_cpu + e_cpu):.1f}%")
    print()
print()
print(f"soak: {soak['requests']} requests, 16 clients, a faulty first target with a fallback:"
      f" {soak['failures']} client-visible failures, gateway {'alive' if soak['alive'] else 'DEAD'},"
      f" memory {soak['rss_first_third_mb']:.1f} MB (first third) -> {soak['rss_last_third_mb']:.1f} MB (last third), peak {soak['rss_peak_mb']:.1f} MB")
for example in soak["examples"]:
    print(f"  failure: {example}")
print()
PY
cat "$work/signals.txt" | tee -a bench-results/latest.txt
cat "$work/profile.txt" | tee -a bench-results/latest.txt
