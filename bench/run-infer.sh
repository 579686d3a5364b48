#!/usr/bin/env bash
# Measures single-row and 100-row inference over loopback against the server of the shaded jar:
# maximum throughput with wrk, and latency at a fixed rate with the open-loop generator InferLoad.
# Usage: bench/run-infer.sh
# Settings (environment): REPEATS (3), WRK_SECONDS (20), RATE (5000), RATES_100 (rates of the
# 100-row test, default "2000 $RATE"), LOAD_SECONDS (20), WARMUP_SECONDS (5), CONNECTIONS (16),
# PROFILE=1 to add one fixed-rate test per case that records a JFR file of the server.
# Output: bench/target/results/infer.txt, server logs and JFR files next to it.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh

REPEATS=${REPEATS:-3}
WRK_SECONDS=${WRK_SECONDS:-20}
RATE=${RATE:-5000}
RATES_100=${RATES_100:-2000 $RATE}
LOAD_SECONDS=${LOAD_SECONDS:-20}
WARMUP_SECONDS=${WARMUP_SECONDS:-5}
CONNECTIONS=${CONNECTIONS:-16}
PROFILE=${PROFILE:-0}
WORK=bench/target/infer
HOME_DIR=$WORK/home
JAR=cli/target/evergreen.jar
REPORT=$BENCH_OUT/infer.txt

if ! command -v wrk >/dev/null; then
  apt-get install -y wrk
fi

# The shaded jar and the bench class path, in one build so that both use the same modules.
mvn -q -B -DskipTests -Dspotless.check.skip=true package \
  org.apache.maven.plugins:maven-dependency-plugin:3.9.0:build-classpath \
  -Dmdep.outputFile=target/classpath.txt

rm -rf "$WORK"
mkdir -p "$WORK"
java_bench dev.evergreen.bench.FlightSubsets subsets --month 2001-01 --out "$WORK/2001-01.parquet"
java_bench dev.evergreen.bench.InferBodies bodies --rows 1,100 --out "$WORK"
java --enable-native-access=ALL-UNNAMED -jar "$JAR" run examples/flights-delay/pipeline.yaml \
  --data "$WORK/2001-01.parquet" --home "$HOME_DIR" >"$BENCH_OUT/infer-train.log" 2>&1

# A fresh secret per invocation, passed to the server, wrk and InferLoad through the environment.
EVERGREEN_TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
export EVERGREEN_TOKEN
export EVERGREEN_ADMIN_TOKEN=$EVERGREEN_TOKEN

SERVER_PID=
PORT=
stop_server() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID"
    # A bounded wait: 30 s, then the process is killed.
    for _ in $(seq 1 60); do
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.5
    done
    kill -0 "$SERVER_PID" 2>/dev/null && kill -9 "$SERVER_PID"
  fi
  SERVER_PID=
}
trap stop_server EXIT

# start_server CPU_LIST LOG: starts the server pinned to CPU_LIST and waits until it serves.
start_server() {
  local cpus=$1 log=$2
  taskset -c "$cpus" java --enable-native-access=ALL-UNNAMED -Xmx2g -jar "$JAR" server \
    --home "$HOME_DIR" --port 0 --grpc-port -1 >"$log" 2>&1 &
  SERVER_PID=$!
  PORT=
  for _ in $(seq 1 120); do
    PORT=$(sed -n 's|^Evergreen serving on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$log" | head -1)
    if [[ -n "$PORT" ]] && curl -fs "http://127.0.0.1:$PORT/v2/health/ready" >/dev/null; then
      break
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$log"; echo "server exited" >&2; exit 1; }
    PORT=
    sleep 0.5
  done
  [[ -n "$PORT" ]] || { echo "server not ready within 60 s, see $log" >&2; exit 1; }
  echo "server pid $SERVER_PID on cpus $cpus, port $PORT"
  curl -fs -H "Authorization: Bearer $EVERGREEN_TOKEN" -H 'Content-Type: application/json' \
    --data-binary @"$WORK/body-1.json" "http://127.0.0.1:$PORT/v2/models/flights-delay/infer"
  echo
}

# cpu_ticks: prints the busy ticks of all CPUs, the server's ticks and the ticks of this shell's
# finished children (wrk), each in 1/100 s (USER_HZ), read from /proc.
cpu_ticks() {
  local machine server children stat
  machine=$(awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat)
  stat=$(sed 's/.*) //' "/proc/$SERVER_PID/stat")
  server=$(awk '{print $12 + $13}' <<<"$stat")
  stat=$(sed 's/.*) //' "/proc/$$/stat")
  children=$(awk '{print $14 + $15}' <<<"$stat")
  echo "$machine $server $children"
}

# run_wrk ARGS...: runs wrk, then prints the CPUs that processes other than wrk and the server kept
# busy meanwhile, the noise figure that InferLoad prints for its own runs. It runs wrk behind the
# caller's local $client prefix (taskset or nothing), which bash scoping makes visible here.
run_wrk() {
  local before after start end
  before=$(cpu_ticks)
  start=$(date +%s.%N)
  $client wrk "$@"
  end=$(date +%s.%N)
  after=$(cpu_ticks)
  awk -v b="$before" -v a="$after" -v s="$start" -v e="$end" 'BEGIN {
    split(b, x, " "); split(a, y, " ")
    others = (y[1] - x[1]) - (y[2] - x[2]) - (y[3] - x[3])
    printf "other processes (not wrk, not the server) used %.2f CPUs on average\n", \
      (others < 0 ? 0 : others) / 100 / (e - s)
  }'
}

# run_layout NAME SERVER_CPUS CLIENT_PREFIX WRK_THREADS
run_layout() {
  local name=$1 server_cpus=$2 client=$3 threads=$4
  start_server "$server_cpus" "$BENCH_OUT/server-$name.log"
  local url="http://127.0.0.1:$PORT/v2/models/flights-delay/infer"
  echo "== $name: server on cpus $server_cpus, clients with '${client:-no pinning}'"
  # Untimed warm-up, so that the JIT has compiled the request path.
  WRK_BODY=$WORK/body-1.json $client wrk -t"$threads" -c"$CONNECTIONS" -d10s \
    -s bench/wrk/infer.lua "$url" >/dev/null
  for rows in 1 100; do
    for repeat in $(seq 1 "$REPEATS"); do
      echo "-- wrk $name rows=$rows repeat=$repeat"
      WRK_BODY=$WORK/body-$rows.json run_wrk -t"$threads" -c"$CONNECTIONS" \
        -d"${WRK_SECONDS}s" --latency -s bench/wrk/infer.lua "$url"
    done
  done
  local runs="1:$RATE"
  for rate in $RATES_100; do runs="$runs 100:$rate"; done
  for run in $runs; do
    local rows=${run%%:*} rate=${run##*:}
    # With PROFILE=1 one more repeat runs under JFR; its label ends in -profiled.
    for repeat in $(seq 1 $((REPEATS + PROFILE))); do
      local label=$name-rows$rows-rate$rate-r$repeat
      echo "-- fixed rate $name rows=$rows rate=$rate repeat=$repeat"
      if ((repeat > REPEATS)); then
        label=$label-profiled
        jcmd "$SERVER_PID" JFR.start name=bench settings=profile \
          filename="$PWD/$BENCH_OUT/server-$name-rows$rows-rate$rate.jfr" >/dev/null
      fi
      $client java -Xmx1g -cp "bench/target/classes:$(cat bench/target/classpath.txt)" \
        dev.evergreen.bench.InferLoad --url "$url" --body "$WORK/body-$rows.json" \
        --rate "$rate" --seconds "$LOAD_SECONDS" --warmup-seconds "$WARMUP_SECONDS" \
        --connections "$CONNECTIONS" --server-pid "$SERVER_PID" \
        --label "$label"
      if ((repeat > REPEATS)); then
        jcmd "$SERVER_PID" JFR.stop name=bench >/dev/null
      fi
    done
  done
  stop_server
}

# The report is written by tee from the main shell, so that the EXIT trap sees SERVER_PID.
exec > >(tee "$REPORT") 2>&1
machine_info
run_layout pinned 0 "taskset -c 1" 1
run_layout shared 0,1 "" 2
