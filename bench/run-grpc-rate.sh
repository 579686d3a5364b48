#!/usr/bin/env bash
# Measures Evergreen's single-row latency at one open-loop rate with three load generators in
# turn: GrpcPreciseLoad (gRPC, one busy-polling thread, HTTP/2 framed by hand), GrpcInferLoad in
# open loop (gRPC with the grpc-java client) and InferLoad (V2 REST). Each round starts a fresh
# server per generator, pinned to SERVER_CPU, and warms it up for 5 s at full speed on the
# protocol about to be measured (GrpcInferLoad in closed loop for gRPC, wrk for REST). The
# generator then runs pinned to CLIENT_CPU with C1 only, as in run-floor.sh. A run in which other
# processes kept more than MAX_OTHER_CPUS busy is repeated, up to ATTEMPTS times.
# Needs the model home and request bodies that bench/run-serving.sh prepares in
# bench/target/serving, and wrk.
# Usage: bench/run-grpc-rate.sh
# Settings (environment): RATE (350 requests/s), REPEATS (3), LOAD_SECONDS (20),
# WARMUP_SECONDS (20), CONNECTIONS (16), GRPC_CHANNELS (4, GrpcInferLoad's channels, as in
# run-serving.sh), SERVER_CPU (1), CLIENT_CPU (0), MAX_OTHER_CPUS (0.05), ATTEMPTS (4),
# GENERATORS ("precise grpc-java rest").
# Output: bench/target/results/grpc-rate.txt (every attempt's result, send lag and other-CPU
# lines, then the median p50, p99 and send lag p99 per generator over the accepted runs).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh

RATE=${RATE:-350}
REPEATS=${REPEATS:-3}
LOAD_SECONDS=${LOAD_SECONDS:-20}
WARMUP_SECONDS=${WARMUP_SECONDS:-20}
CONNECTIONS=${CONNECTIONS:-16}
GRPC_CHANNELS=${GRPC_CHANNELS:-4}
SERVER_CPU=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
MAX_OTHER_CPUS=${MAX_OTHER_CPUS:-0.05}
ATTEMPTS=${ATTEMPTS:-4}
GENERATORS=${GENERATORS:-precise grpc-java rest}
WORK=bench/target/serving
HOME_DIR=$PWD/$WORK/home
BODY=$WORK/body-1.json
JAR=cli/target/evergreen.jar
REPORT=$BENCH_OUT/grpc-rate.txt
LOG=$BENCH_OUT/grpc-rate-server.log

command -v wrk >/dev/null || { echo "wrk is missing; install the Debian package wrk" >&2; exit 1; }
[[ -f "$BODY" && -d "$HOME_DIR" && -f "$JAR" ]] \
  || { echo "run bench/run-serving.sh first: it prepares $WORK and $JAR" >&2; exit 1; }
build_bench

EVERGREEN_TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
export EVERGREEN_TOKEN EVERGREEN_ADMIN_TOKEN=$EVERGREEN_TOKEN
CLASSPATH_BENCH="bench/target/classes:$(cat bench/target/classpath.txt)"

PID=
stop_server() {
  if [[ -n "$PID" ]] && kill -0 "$PID" 2>/dev/null; then
    kill "$PID"
    for _ in $(seq 1 60); do
      kill -0 "$PID" 2>/dev/null || break
      sleep 0.5
    done
    kill -0 "$PID" 2>/dev/null && kill -9 "$PID"
  fi
  PID=
}
trap stop_server EXIT

# start_server: starts Evergreen pinned to SERVER_CPU with HTTP and gRPC on ports the system picks,
# sets PID, PORT and GRPC_PORT from its log, and waits until it responds to a 1-row request.
start_server() {
  taskset -c "$SERVER_CPU" java --enable-native-access=ALL-UNNAMED -Xmx2g -jar "$JAR" server \
    --home "$HOME_DIR" --port 0 --grpc-port 0 >"$LOG" 2>&1 &
  PID=$!
  PORT=
  GRPC_PORT=
  for _ in $(seq 1 120); do
    PORT=$(sed -n 's|^Evergreen serving on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$LOG" | head -1)
    GRPC_PORT=$(sed -n 's|^Open Inference Protocol gRPC on [0-9.]*:\([0-9]*\).*|\1|p' "$LOG" | head -1)
    if [[ -n "$PORT" && -n "$GRPC_PORT" ]] && curl -fs -o /dev/null \
      -H "Authorization: Bearer $EVERGREEN_TOKEN" -H 'Content-Type: application/json' \
      --data-binary @"$BODY" "$(url)"; then
      return
    fi
    kill -0 "$PID" 2>/dev/null || { cat "$LOG"; echo "the server exited; see $LOG" >&2; exit 1; }
    sleep 0.5
  done
  echo "the server was not ready within 60 s, see $LOG" >&2
  exit 1
}

url() {
  echo "http://127.0.0.1:$PORT/v2/models/flights-delay/infer"
}

# generator NAME LABEL: warms the server up on the generator's protocol, then runs the generator
# once at RATE and prints its output.
generator() {
  local name=$1 label=$2
  case $name in
    precise | grpc-java)
      taskset -c "$CLIENT_CPU" java -Xmx1g -cp "$CLASSPATH_BENCH" dev.evergreen.bench.GrpcInferLoad \
        --port "$GRPC_PORT" --body "$BODY" --rate 0 --in-flight 4 --connections 4 --seconds 5 \
        --warmup-seconds 0 --label warm-up >/dev/null
      ;;
    rest)
      WRK_BODY=$BODY taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d5s \
        -s bench/wrk/infer.lua "$(url)" >/dev/null
      ;;
  esac
  local common=(--body "$BODY" --rate "$RATE" --seconds "$LOAD_SECONDS"
    --warmup-seconds "$WARMUP_SECONDS" --server-pid "$PID" --label "$label")
  case $name in
    precise)
      taskset -c "$CLIENT_CPU" java -Xmx1g -XX:TieredStopAtLevel=1 -cp "$CLASSPATH_BENCH" \
        dev.evergreen.bench.GrpcPreciseLoad --port "$GRPC_PORT" --connections "$CONNECTIONS" \
        "${common[@]}"
      ;;
    grpc-java)
      taskset -c "$CLIENT_CPU" java -Xmx1g -XX:TieredStopAtLevel=1 -cp "$CLASSPATH_BENCH" \
        dev.evergreen.bench.GrpcInferLoad --port "$GRPC_PORT" --connections "$GRPC_CHANNELS" \
        "${common[@]}"
      ;;
    rest)
      taskset -c "$CLIENT_CPU" java -Xmx1g -XX:TieredStopAtLevel=1 -cp "$CLASSPATH_BENCH" \
        dev.evergreen.bench.InferLoad --url "$(url)" --connections "$CONNECTIONS" "${common[@]}"
      ;;
  esac
}

{
  machine_info
  echo "rate: $RATE requests/s, $LOAD_SECONDS s after a $WARMUP_SECONDS s warm-up, $REPEATS rounds;"
  echo "server on cpu $SERVER_CPU, generators on cpu $CLIENT_CPU with C1 only; $CONNECTIONS" \
    "connections ($GRPC_CHANNELS channels for GrpcInferLoad); runs with other processes above" \
    "$MAX_OTHER_CPUS CPUs are repeated"
} | tee "$REPORT"

for round in $(seq 1 "$REPEATS"); do
  for name in $GENERATORS; do
    for attempt in $(seq 1 "$ATTEMPTS"); do
      start_server
      out=$(generator "$name" "$name-$round")
      stop_server
      others=$(sed -n 's/^other processes.* used \([0-9.]*\) CPUs.*/\1/p' <<<"$out")
      if awk -v o="${others:-1}" -v m="$MAX_OTHER_CPUS" 'BEGIN { exit !(o <= m) }'; then
        grep -E '^(RESULT|send lag|other processes|note|first failed)' <<<"$out" | tee -a "$REPORT"
        # A run with a failed call measures errors, not the service, so no median may use it.
        errors=$(sed -n 's/^RESULT.* errors=\([0-9]*\).*/\1/p' <<<"$out")
        if [[ "${errors:-}" != 0 ]] || grep -q '^RESULT.*no responses recorded' <<<"$out"; then
          echo "error: $name-$round had ${errors:-no recorded} failed calls; see the first failed" \
            "response above" | tee -a "$REPORT" >&2
          exit 1
        fi
        break
      fi
      grep -E '^(RESULT|other processes)' <<<"$out" | sed 's/^/rejected: /' | tee -a "$REPORT"
      if ((attempt == ATTEMPTS)); then
        echo "rejected: $name-$round kept other processes above $MAX_OTHER_CPUS CPUs in" \
          "$ATTEMPTS attempts" | tee -a "$REPORT"
      fi
    done
  done
done

# The median of the accepted runs per generator: p50, p99 and the generator's send lag p99, in ms.
echo | tee -a "$REPORT"
echo "median of the accepted runs (ms): generator runs p50 p99 send_lag_p99" | tee -a "$REPORT"
awk '
  /^send lag:/ { for (i = 1; i <= NF; i++) if ($i ~ /^p99=/) { lag = substr($i, 5) } }
  /^RESULT/ {
    name = $2; sub(/-[0-9]+$/, "", name)
    for (i = 1; i <= NF; i++) {
      if ($i ~ /^p50=/) p50[name] = p50[name] " " substr($i, 5)
      if ($i ~ /^p99=/) p99[name] = p99[name] " " substr($i, 5)
    }
    lags[name] = lags[name] " " lag
    runs[name]++
    if (!(name in seen)) { seen[name] = 1; order[++count] = name }
  }
  function median(list,    values, n, i, j, t) {
    n = split(list, values, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (values[j] + 0 < values[i] + 0) {
      t = values[i]; values[i] = values[j]; values[j] = t
    }
    return n % 2 ? values[(n + 1) / 2] : (values[n / 2] + values[n / 2 + 1]) / 2
  }
  END {
    for (k = 1; k <= count; k++) {
      name = order[k]
      printf "%s %d %.3f %.3f %.3f\n", name, runs[name], median(p50[name]), median(p99[name]),
        median(lags[name])
    }
  }' "$REPORT" | tee -a "$REPORT.summary"
cat "$REPORT.summary" >>"$REPORT"
rm -f "$REPORT.summary"
