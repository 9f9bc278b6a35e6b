#!/usr/bin/env bash
# `swift test`, one test at a time (see the Makefile), with its whole output kept in
# .build/swift-test.log. CI shows only the end of a run's output, where swift-testing prints
# its count of issues but not which tests had them: on a failure, this repeats those lines last.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p .build
log=.build/swift-test.log
swift test --no-parallel "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
if [ "$status" -ne 0 ]; then
    echo
    echo "swift test failed (exit $status); the issues it recorded (whole output: $log):"
    grep -E '^✘ Test .*(recorded an issue|failed)|error: |Fatal error|signal code' "$log" | tail -n 60
fi
exit "$status"
