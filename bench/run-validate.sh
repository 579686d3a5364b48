#!/usr/bin/env bash
# Times `evergreen validate --schema` with 16 constraints on 10 million rows against the same
# checks in pandas, and measures the serialized size of column profiles.
# Usage: bench/run-validate.sh [--rows 10000000] [--repeats 5] [--threads 2] [--pandas false]
# The pandas side needs the Debian package python3-pandas. The script installs it with apt-get
# when /usr/bin/python3 cannot import pandas.
# Output: bench/target/results/validate.txt. The generated data stays in bench/target/validate
# and is reused by later runs.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh

if ! /usr/bin/python3 -c 'import pandas' 2>/dev/null; then
  apt-get install -y python3-pandas >/dev/null
fi
build_bench
{
  machine_info
  # The pandas process is stopped after PANDAS_TIMEOUT seconds. The Java side is bounded by its
  # repeats.
  java_bench dev.evergreen.bench.ValidateBenchmark validate \
    --data data/flights/flights-3m.parquet \
    --work bench/target/validate \
    --python /usr/bin/python3 \
    --pandas-script bench/validate_pandas.py \
    --timeout "${PANDAS_TIMEOUT:-600}" \
    "$@"
} 2>&1 | tee "$BENCH_OUT/validate.txt"
