"""Sums a `perf report --no-children --sort dso,symbol --stdio -g none` of the gateway by component.

Usage: perf report ... | profile_summary.py LABEL REQUESTS_PER_SECOND [PERF_LOG]
(PERF_LOG, perf's own messages, is printed when the report holds no samples.)
Swift code is linked into the gateway's binary, so its samples are told apart by the module in
their mangled names ($s14SwitchyardWire...); libraries in their own files by the file.
"""
import re
import sys

label, rps = sys.argv[1], float(sys.argv[2])
line_pattern = re.compile(r"^\s*([\d.]+)%\s+(\S+)\s+\[[.k]\]\s+(.*)$")
allocation = re.compile(r"malloc|free|_int_|tcache|realloc|calloc|memalign|swift_allocObject|swift_deallocObject|swift_slowAlloc|swift_slowDealloc")

def module(symbol):
    """The first module named in a Swift mangled name, or None."""
    match = re.match(r"\$s(\d+)", symbol)
    if not match:
        return "Swift standard library (specialised)" if symbol.startswith("$sS") else None
    length = int(match.group(1))
    start = match.end()
    return symbol[start:start + length]

def component(dso, symbol):
    if dso.startswith("[kernel"):
        if re.search(r"futex|sched|switch|wake|spin_unlock_irq|idle|rseq|pick_next|enqueue|dequeue", symbol):
            return "kernel: thread wake-ups and switches"
        if re.search(r"tcp|ip_|sock|skb|net|inet|epoll|poll|loopback|__dev_", symbol):
            return "kernel: TCP and polling"
        return "kernel: other (syscall entry and exit, memory)"
    if allocation.search(symbol):
        return "malloc and free"
    if re.match(r"lib(curl|nghttp2|ssl|crypto|z|brotli|zstd|psl|idn2)", dso):
        return "libcurl and its libraries"
    if dso.startswith("libsqlite3") or symbol.startswith("sqlite3"):
        return "SQLite"
    if re.search(r"swift_(retain|release|bridgeObjectRetain|bridgeObjectRelease)|swift_unknownObject(Retain|Release)", symbol):
        return "Swift ARC (retain and release)"
    if dso.startswith("libswift_Concurrency") or dso.startswith("libdispatch"):
        return "Swift concurrency and dispatch (task switches)"
    if re.search(r"getCache|swift_getWitnessTable|instantiateConcreteType|swift_getGenericMetadata|conformsToProtocol|[Cc]ast|swift_once|ConcurrentReadableHashMap|swift_getAssociated", symbol):
        return "Swift generic metadata, witness tables and casts"
    if dso.startswith("libswift"):
        return "Swift standard library (strings, arrays, enums)"
    if dso.startswith("libFoundation") or dso.startswith("libicu"):
        return "Foundation"
    if dso.startswith("libc.so") or dso.startswith("libm.so") or dso.startswith("ld-linux"):
        return "libc (memcpy, locks, other)"
    if symbol.startswith("c_nio_"):
        return "SwiftNIO"
    name = module(symbol) or ""
    if name.startswith("NIO") or name.startswith("_NIO"):
        return "SwiftNIO"
    if name.startswith("Hummingbird") or name in ("HTTPTypes", "ServiceLifecycle"):
        return "Hummingbird"
    if name.startswith("Switchyard"):
        return name
    if name == "SQLiteNIO":
        return "sqlite-nio"
    if name in ("Logging", "Metrics", "CoreMetrics", "Prometheus", "Tracing", "Instrumentation", "OTel", "ServiceContextModule"):
        return "swift-log, metrics and tracing"
    if name == "Swift standard library (specialised)":
        return "Swift standard library (strings, arrays, enums)"
    return f"other ({dso})"

totals = {}
top = []
for line in sys.stdin:
    match = line_pattern.match(line)
    if not match:
        continue
    share, dso, symbol = float(match.group(1)), match.group(2), match.group(3).strip()
    totals[component(dso, symbol)] = totals.get(component(dso, symbol), 0) + share
    top.append((share, dso, symbol))

print(f"profile, {label}: {rps:.0f} requests/s at 8 connections under perf; share of the gateway's samples by component")
if not top:
    print("  no samples; perf said:")
    print("".join("  " + line for line in open(sys.argv[3]))) if len(sys.argv) > 3 else None
    sys.exit(0)
for name, share in sorted(totals.items(), key=lambda item: -item[1]):
    if share >= 0.5:
        print(f"  {share:5.1f}%  {name}")
print("  top symbols:")
for share, dso, symbol in sorted(top, reverse=True)[:12]:
    print(f"  {share:5.1f}%  {dso[:24]:24}  {symbol[:110]}")
print()
