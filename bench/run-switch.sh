#!/usr/bin/env bash
# Measures blue-green switch and deploy times of the DeploymentManager with three trained versions.
# Usage: bench/run-switch.sh [--rows 200000] [--iterations 500] [--cold-iterations 30]
# Runs the program REPEATS times (default 3). Output: bench/target/results/switch.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh

build_bench
{
  machine_info
  for repeat in $(seq 1 "${REPEATS:-3}"); do
    echo "== repeat $repeat"
    java_bench dev.evergreen.bench.SwitchBenchmark switch \
      --data data/flights/flights-3m.parquet \
      --pipeline examples/flights-delay/pipeline.yaml \
      --work bench/target/switch "$@"
  done
} 2>&1 | tee "$BENCH_OUT/switch.txt"
