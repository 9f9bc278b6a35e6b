#!/usr/bin/env bash
# make fuzz: builds the libFuzzer harnesses in Fuzz/Harnesses and runs each for FUZZ_SECONDS.
#
#   FUZZ_SECONDS=60     fuzzing time per harness (make test uses 5); 0 = only replay seeds and regressions
#   FUZZ_ONLY=json,sse  run only these harnesses (names of Fuzz/Harnesses/*.swift)
#   FUZZ_TIMEOUT=10     seconds one input may take before it counts as a hang
#   FUZZ_RSS_MB=2048    memory limit of a harness process
#   FUZZ_OPT=-O         optimisation of the instrumented code (-Onone builds faster, runs about 2x slower)
#   FUZZ_SANITIZE=fuzzer,address   add or drop sanitizers (ASan also catches unchecked unsafe-pointer reads)
#
# No SwiftPM build: each module under test is compiled straight from its source directory (so
# new files are picked up) with swiftc -sanitize=fuzzer,address, into .build-fuzz/ (git-ignored).
# A module is rebuilt only when one of its inputs changed. Yams, which the policy loader needs,
# is built from SwiftPM's checkout without instrumentation: the loader is what is fuzzed.
#
# Each harness first replays Fuzz/regressions/NAME/* (inputs that once failed), then fuzzes
# starting from Fuzz/corpus/NAME (seeds) and .build-fuzz/corpus/NAME (what earlier local runs
# found). A failure leaves its input in .build-fuzz/artifacts/NAME/ and makes the script exit 1.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_EACH="${FUZZ_SECONDS:-60}"
ONLY="${FUZZ_ONLY:-}"
TIMEOUT="${FUZZ_TIMEOUT:-10}"
RSS_MB="${FUZZ_RSS_MB:-2048}"
OPT="${FUZZ_OPT:--O}"
SANITIZE="${FUZZ_SANITIZE:-fuzzer,address}"
OUT=.build-fuzz
MOD="$OUT/modules"
OBJ="$OUT/obj"
YAMS="${YAMS_DIR:-.build/checkouts/Yams}"

log() { printf 'fuzz: %s\n' "$*" >&2; }
mkdir -p "$MOD" "$OBJ" "$OUT/bin" "$OUT/stamps" "$OUT/logs"

SWIFTC=(swiftc -module-cache-path "$OUT/module-cache" -suppress-warnings)
INSTRUMENTED=("$OPT" -gline-tables-only -sanitize="$SANITIZE" -swift-version 6 -parse-as-library)
TOOLCHAIN="$(swiftc --version 2>&1 | head -1)"

# A stamp of everything a build step reads; the step is skipped when it matches the last one.
stamp_of() { { echo "$TOOLCHAIN"; printf '%s\n' "$@"; for f in "$@"; do [ -f "$f" ] && cat "$f"; done; } | sha256sum | cut -c1-16; }
up_to_date() { [ -f "$OUT/stamps/$1" ] && [ "$(cat "$OUT/stamps/$1")" = "$2" ]; }
record() { echo "$2" > "$OUT/stamps/$1"; }
sources() { find "$1" -name '*.swift' | LC_ALL=C sort; }
# Runs a build command and notes how long it took (steps run two at a time, in subshells).
timed() { local t0=$SECONDS; "$@" || return; echo "$(basename "${*: -1}" .o) $((SECONDS - t0))s" >>"$OUT/logs/build-times"; }
: >"$OUT/logs/build-times"
BUILD_START=$SECONDS

# --- Yams (uninstrumented): CYaml with clang, Yams with swiftc ----------------------------------
build_yams() {
  if [ ! -d "$YAMS/Sources/Yams" ]; then
    log "resolving packages for the Yams checkout"
    swift package resolve >/dev/null
  fi
  local c_files swift_files key
  c_files=$(find "$YAMS/Sources/CYaml/src" -name '*.c' | LC_ALL=C sort)
  swift_files=$(sources "$YAMS/Sources/Yams")
  # shellcheck disable=SC2086
  key=$(stamp_of yams-v1 $c_files $swift_files $(find "$YAMS/Sources/CYaml" -name '*.h' | LC_ALL=C sort))
  up_to_date yams "$key" && return
  log "building Yams (uninstrumented)"
  rm -f "$OBJ"/cyaml-*.o
  # The C part (one file after the other) beside the Swift part, which needs only its headers.
  (for f in $c_files; do
     clang -O2 -g -fPIC -DYAML_DECLARE_STATIC -I "$YAMS/Sources/CYaml/include" -c "$f" -o "$OBJ/cyaml-$(basename "$f" .c).o" || exit
   done) & local cyaml=$!
  # shellcheck disable=SC2086
  timed "${SWIFTC[@]}" -O -gline-tables-only -swift-version 5 -parse-as-library -wmo -module-name Yams -D SWIFT_PACKAGE \
    -Xcc -DYAML_DECLARE_STATIC -I "$YAMS/Sources/CYaml/include" \
    -emit-module -emit-module-path "$MOD/Yams.swiftmodule" -c $swift_files -o "$OBJ/Yams.o"
  wait $cyaml
  record yams "$key"
}

# --- Modules under test (instrumented) -------------------------------------------------------
# build_module NAME DEPENDENCY_STAMPS FILES...
build_module() {
  local name=$1 deps=$2; shift 2
  local key
  key=$(stamp_of "$name" "${INSTRUMENTED[*]}" "$deps" "$@")
  up_to_date "$name" "$key" && return
  log "building $name ($# files)"
  timed "${SWIFTC[@]}" "${INSTRUMENTED[@]}" -wmo -module-name "$name" -I "$MOD" -I "$YAMS/Sources/CYaml/include" \
    -emit-module -emit-module-path "$MOD/$name.swiftmodule" -c "$@" -o "$OBJ/$name.o"
  record "$name" "$key"
}

stamp() { cat "$OUT/stamps/$1" 2>/dev/null || echo none; }

# --- Harnesses ---------------------------------------------------------------------------------
# A harness links the modules it imports, and what they depend on.
objects_for() {
  local imports
  imports=$(sed -nE 's/^import (Switchyard[A-Za-z]+).*/\1/p' "$1" | sort -u)
  local objs=("$OBJ/SwitchyardWire.o")
  if grep -qE 'SwitchyardSignals|SwitchyardPolicy' <<<"$imports"; then objs+=("$OBJ/SwitchyardSignals.o"); fi
  if grep -q SwitchyardPolicy <<<"$imports"; then
    objs+=("$OBJ/SwitchyardLearning.o" "$OBJ/SwitchyardPolicy.o" "$OBJ/Yams.o" "$OBJ"/cyaml-*.o)
  fi
  printf '%s\n' "${objs[@]}"
}

build_harness() {
  local name=$1 src="Fuzz/Harnesses/$1.swift"
  local objs key
  mapfile -t objs < <(objects_for "$src")
  key=$(stamp_of "harness-$name" "${INSTRUMENTED[*]}" "$(stamp SwitchyardWire)" "$(stamp SwitchyardSignals)" \
    "$(stamp SwitchyardLearning)" "$(stamp SwitchyardPolicy)" "$(stamp yams)" Fuzz/Support/*.swift "$src")
  up_to_date "harness-$name" "$key" && [ -x "$OUT/bin/$name" ] && return
  log "linking harness $name"
  timed "${SWIFTC[@]}" "${INSTRUMENTED[@]}" -use-ld=lld -I "$MOD" -I "$YAMS/Sources/CYaml/include" \
    Fuzz/Support/*.swift "$src" "${objs[@]}" -o "$OUT/bin/$name"
  record "harness-$name" "$key"
}

# Which harnesses to run.
HARNESSES=()
for src in Fuzz/Harnesses/*.swift; do
  name=$(basename "$src" .swift)
  if [ -z "$ONLY" ] || [[ ",$ONLY," == *",$name,"* ]]; then HARNESSES+=("$name"); fi
done
[ ${#HARNESSES[@]} -gt 0 ] || { log "no harness matches FUZZ_ONLY=$ONLY"; exit 2; }
need_policy=0; need_signals=0
for name in "${HARNESSES[@]}"; do
  grep -q '^import SwitchyardPolicy' "Fuzz/Harnesses/$name.swift" && need_policy=1
  grep -qE '^import Switchyard(Signals|Policy)' "Fuzz/Harnesses/$name.swift" && need_signals=1
done

# Two steps at a time: SwitchyardWire beside Yams, then the signals (the PII detector and the
# registry), the policy loader, and the harnesses two by two.
both() { local a b ra=0 rb=0; "$1" & a=$!; "$2" & b=$!; wait $a || ra=$?; wait $b || rb=$?; return $((ra || rb)); }
wire() { build_module SwitchyardWire none $(sources Sources/SwitchyardWire); }
if [ $need_policy = 1 ]; then both wire build_yams; else wire; fi
[ $need_signals = 0 ] || build_module SwitchyardSignals "$(stamp SwitchyardWire)" $(sources Sources/SwitchyardSignals)
# The policy loader reads the learning module's matchers (`learning.judge.match`).
[ $need_policy = 0 ] || build_module SwitchyardLearning "$(stamp SwitchyardSignals)" $(sources Sources/SwitchyardLearning)
[ $need_policy = 0 ] || build_module SwitchyardPolicy "$(stamp SwitchyardWire) $(stamp SwitchyardSignals) $(stamp SwitchyardLearning) $(stamp yams)" \
  $(sources Sources/SwitchyardPolicy)
pids=()
for name in "${HARNESSES[@]}"; do
  build_harness "$name" & pids+=($!)
  if [ ${#pids[@]} -ge 2 ]; then wait "${pids[0]}" || link_failed=1; pids=("${pids[@]:1}"); fi
done
for pid in "${pids[@]}"; do wait "$pid" || link_failed=1; done
[ "${link_failed:-0}" = 0 ] || { log "a harness did not build"; exit 1; }
BUILD_TIME=$((SECONDS - BUILD_START))
if [ -s "$OUT/logs/build-times" ]; then log "built in ${BUILD_TIME}s ($(paste -sd, "$OUT/logs/build-times" | sed 's/,/, /g'))"; fi

# --- Runs -------------------------------------------------------------------------------------
# Swift's own crash backtracer would race libFuzzer's and ASan's handlers (and trip ASan itself).
export SWIFT_BACKTRACE=enable=no
FAILED=()
SUMMARY=()
crash_report() {  # what failed (oracle message, Swift trap or sanitizer report), where, and the input
  local logfile=$1
  { grep -m1 '^Running:' "$logfile"
    awk '/^ORACLE FAILED/ {on = 1} /^(==|MS:|SUMMARY|NOTE:)/ {on = 0} on' "$logfile" | head -12
    grep -E 'Fatal error|==ERROR|^SUMMARY|ALARM|out-of-memory|Test unit written' "$logfile" | head -6
    grep -E '^ +#[0-9]+ 0x' "$logfile" | grep -vE 'libc\.so|compiler-rt|libclang_rt|/lib/fuzzer/|Support/Oracle\.swift| in (abort|raise|__pthread_kill|gsignal|_start|__libc_start)' | head -8
  } | swift demangle --simplified 2>/dev/null | sed 's/^/    /' || true
}

for name in "${HARNESSES[@]}"; do
  bin="$OUT/bin/$name"
  seeds="Fuzz/corpus/$name"
  regressions="Fuzz/regressions/$name"
  work="$OUT/corpus/$name"
  artifacts="$OUT/artifacts/$name/"
  logfile="$OUT/logs/$name.log"
  mkdir -p "$work" "$artifacts" "$seeds"
  opts=(-timeout="$TIMEOUT" -rss_limit_mb="$RSS_MB" -artifact_prefix="$artifacts" -print_final_stats=1)
  [ -f "Fuzz/dict/$name.dict" ] && opts+=(-dict="Fuzz/dict/$name.dict")

  # 1. Every input that once failed must pass (one process each, so every failure is reported).
  replayed=0
  regressions_pass=1
  if [ -d "$regressions" ]; then
    while IFS= read -r input; do
      replayed=$((replayed + 1))
      if ! "$bin" "${opts[@]}" "$input" >"$logfile.replay" 2>&1; then
        regressions_pass=0
        SUMMARY+=("$(printf '%-17s FAIL  regression %s fails again' "$name" "$input")")
        crash_report "$logfile.replay" >&2
      fi
    done < <(find "$regressions" -type f | LC_ALL=C sort)
    [ $regressions_pass = 1 ] || FAILED+=("$name")
  fi

  # 2. Fuzz (or, with FUZZ_SECONDS=0, run the seeds once); the regressions seed it too, unless one
  #    of them fails: then the run looks for other failures.
  dirs=("$work" "$seeds")
  [ -d "$regressions" ] && [ "${regressions_pass:-1}" = 1 ] && dirs+=("$regressions")
  if [ "$SECONDS_EACH" = 0 ]; then mode=(-runs=0); else mode=(-max_total_time="$SECONDS_EACH"); fi
  set +e
  timeout --kill-after=10 $((SECONDS_EACH + TIMEOUT + 120)) "$bin" "${opts[@]}" "${mode[@]}" "${dirs[@]}" >"$logfile" 2>&1
  status=$?
  set -e
  runs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$logfile" | tail -1)
  speed=$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+)/\1/p' "$logfile" | tail -1)
  last=$(grep -E '^#[0-9]+' "$logfile" | tail -1 || true)
  cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$last")
  ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")
  corp=$(sed -nE 's/.* corp: ([0-9]+\/[0-9A-Za-z]+).*/\1/p' <<<"$last")
  if [ $status -eq 0 ]; then
    if [ "$regressions_pass" = 1 ]; then regs="$replayed regressions pass"; else regs="regressions FAIL (above)"; fi
    SUMMARY+=("$(printf '%-17s ok    %s runs (%s/s) in %ss, cov %s, ft %s, corpus %s, %s' \
      "$name" "${runs:-?}" "${speed:-?}" "$SECONDS_EACH" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$regs")")
  else
    FAILED+=("$name")
    input=$(sed -nE 's/.*Test unit written to (.*)$/\1/p' "$logfile" | tail -1)
    SUMMARY+=("$(printf '%-17s FAIL  exit %s after %s runs; input: %s (log: %s)' "$name" "$status" "${runs:-?}" "${input:-none}" "$logfile")")
    crash_report "$logfile" >&2
  fi
done

printf '%s\n' "${SUMMARY[@]}"
if [ ${#FAILED[@]} -gt 0 ]; then
  log "FAILED: $(printf '%s\n' "${FAILED[@]}" | sort -u | paste -sd' '). Reproduce with: $OUT/bin/NAME INPUT; keep the input in Fuzz/regressions/NAME/ (see docs/operations.md, Fuzzing)."
  exit 1
fi
