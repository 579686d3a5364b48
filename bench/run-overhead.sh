#!/usr/bin/env bash
# Measures the wall time of a full pipeline run against bare XGBoost training on the same rows.
# Usage: bench/run-overhead.sh [--rows 100000,1000000] [--repeats 5]
# PROFILE=1 adds one more platform and bare run at 1,000,000 rows under JFR, recorded in
# bench/target/results/overhead.jfr.
# Output: bench/target/results/overhead.txt (and overhead.tsv, one line per repeat).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh

build_bench
{
  machine_info
  java_bench dev.evergreen.bench.OverheadBenchmark overhead \
    --data data/flights/flights-3m.parquet \
    --pipeline examples/flights-delay/pipeline.yaml \
    --work bench/target/overhead \
    --out "$BENCH_OUT/overhead.tsv" \
    --rows 100000,1000000 --repeats 5 "$@"
  if [[ "${PROFILE:-0}" == 1 ]]; then
    echo "== profiled run, not part of the figures above"
    JAVA_BENCH_OPTS="-XX:StartFlightRecording=filename=$BENCH_OUT/overhead.jfr,settings=profile" \
      java_bench dev.evergreen.bench.OverheadBenchmark overhead-profiled \
      --data data/flights/flights-3m.parquet \
      --pipeline examples/flights-delay/pipeline.yaml \
      --work bench/target/overhead-profiled \
      --out "$BENCH_OUT/overhead-profiled.tsv" \
      --rows 1000000 --repeats 1
  fi
} 2>&1 | tee "$BENCH_OUT/overhead.txt"
