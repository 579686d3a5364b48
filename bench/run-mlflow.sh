#!/usr/bin/env bash
# Measures the MLflow tracking API of an in-process server on 127.0.0.1: log-batch of 10 and of
# 500 metrics, runs/search over 100,000 runs, and 64 concurrent writers.
# Usage: bench/run-mlflow.sh [--calls 1000] [--runs 100000] [--searches 100] [--writers 64]
# Runs the program REPEATS times (default 3), each on a fresh home.
# Output: bench/target/results/mlflow.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh

build_bench
{
  machine_info
  for repeat in $(seq 1 "${REPEATS:-3}"); do
    echo "== repeat $repeat"
    java_bench dev.evergreen.bench.MlflowBenchmark mlflow --home bench/target/mlflow-home "$@"
  done
} 2>&1 | tee "$BENCH_OUT/mlflow.txt"
