#!/usr/bin/env bash
# The gateway's self-calibration, measured (issue 15): `switchyard eval selfcal` replays 60% of the
# items through a live gateway whose `confidence < auto` cascade learns its threshold from its
# own traffic (fresh ledger, no calibration at start), against an in-process ORACLE cloud (it
# answers the gold answer and judges by the item's match rule: an upper bound, not a model), and
# measures the live calibration and threshold on the 40% it never saw, at 25, 50 and 100 labels
# and at the end; the 5-fold CV AUROC of `eval fit` on the whole file is the reference.
#   bench/selfcal.sh [DATA.jsonl]          (default ../shared/eval/everyday-dev.jsonl)
#   SELFCAL_SEEDS=3 SELFCAL_RISKS=0.1,0.2,0.3 SELFCAL_SHADOW_RATE=1.0 SELFCAL_MAX_TOKENS=48
# Writes bench-results/selfcal.json and bench-results/selfcal.txt; local answers are cached in
# bench-results/selfcal-cache.jsonl (reused by later runs). Needs `make setup`.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${1:-${SELFCAL_DATA:-../shared/eval/everyday-dev.jsonl}}"
mkdir -p bench-results
swift build --product switchyard >/dev/null
.build/debug/switchyard eval selfcal --data "$DATA" \
  --seeds "${SELFCAL_SEEDS:-3}" --risks "${SELFCAL_RISKS:-0.1,0.2,0.3}" \
  --shadow-rate "${SELFCAL_SHADOW_RATE:-1.0}" --max-tokens "${SELFCAL_MAX_TOKENS:-48}" \
  --cache bench-results/selfcal-cache.jsonl --out bench-results/selfcal.json | tee bench-results/selfcal.txt
