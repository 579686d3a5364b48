#!/usr/bin/env bash
# Measures the single-row latency floor of this machine at one open-loop rate, next to Evergreen and
# FastAPI: nginx and a bare Vert.x server that respond with a fixed response
# (FixedResponseServer: one event loop, no parsing, no model), Evergreen scoring the flights-delay
# model, and FastAPI under uvicorn scoring the same model. The servers take turns in each round,
# each alone and pinned to SERVER_CPU, with InferLoad (C1 only, as in run-serving.sh) pinned to
# CLIENT_CPU. The nginx and Vert.x rows show how much of a p99 the machine, the JVM and the HTTP
# layer set before any inference code runs.
# Needs the model home and request bodies that bench/run-serving.sh prepares in
# bench/target/serving, and nginx (Debian package nginx).
# Usage: bench/run-floor.sh
# Settings (environment): RATE (350 requests/s), REPEATS (3), LOAD_SECONDS (20),
# WARMUP_SECONDS (20), CONNECTIONS (16), SERVER_CPU (1), CLIENT_CPU (0), SERVERS
# ("nginx vertx evergreen v2").
# Output: bench/target/results/floor.txt (report with a median row per server), server logs.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh

RATE=${RATE:-350}
REPEATS=${REPEATS:-3}
LOAD_SECONDS=${LOAD_SECONDS:-20}
WARMUP_SECONDS=${WARMUP_SECONDS:-20}
CONNECTIONS=${CONNECTIONS:-16}
SERVER_CPU=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
SERVERS=${SERVERS:-nginx vertx evergreen v2}
WORK=bench/target/serving
HOME_DIR=$PWD/$WORK/home
BODY=$WORK/body-1.json
JAR=cli/target/evergreen.jar
PYTHON=/usr/bin/python3
export PYTHONDONTWRITEBYTECODE=1
REPORT=$BENCH_OUT/floor.txt
# The response FixedResponseServer sends, the size and shape of Evergreen's to a 1-row request.
RESPONSE='{"model_name":"flights-delay","model_version":"1","outputs":[{"name":"probability","shape":[1],"datatype":"FP64","data":[0.3086203932762146]}]}'

command -v wrk >/dev/null || { echo "wrk is missing; install the Debian package wrk" >&2; exit 1; }
[[ -f "$BODY" && -d "$HOME_DIR" && -f "$JAR" ]] \
  || { echo "run bench/run-serving.sh first: it prepares $WORK and $JAR" >&2; exit 1; }
command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] \
  || { echo "nginx is missing; install the Debian package nginx" >&2; exit 1; }
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
build_bench

EVERGREEN_TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
export EVERGREEN_TOKEN EVERGREEN_ADMIN_TOKEN=$EVERGREEN_TOKEN
export EVERGREEN_HOME=$HOME_DIR EVERGREEN_MODEL=flights-delay

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

free_port() {
  $PYTHON -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_server NAME: starts one server pinned to SERVER_CPU, sets PID and PORT, and waits until it
# responds to a 1-row request with 200.
start_server() {
  local name=$1 log=$BENCH_OUT/floor-$1.log
  PORT=$(free_port)
  case $name in
    nginx)
      local dir=$PWD/bench/target/floor-nginx
      mkdir -p "$dir"
      # One process and no access log.
      cat >"$dir/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $dir;
  server {
    listen 127.0.0.1:$PORT;
    location / {
      default_type application/json;
      return 200 '$RESPONSE';
    }
  }
}
CONF
      taskset -c "$SERVER_CPU" "$NGINX" -c "$dir/nginx.conf" -p "$dir" >"$log" 2>&1 &
      ;;
    vertx)
      taskset -c "$SERVER_CPU" java -Xmx2g -cp "bench/target/classes:$(cat bench/target/classpath.txt)" \
        dev.evergreen.bench.FixedResponseServer --port "$PORT" >"$log" 2>&1 &
      ;;
    evergreen)
      taskset -c "$SERVER_CPU" java --enable-native-access=ALL-UNNAMED -Xmx2g -jar "$JAR" server \
        --home "$HOME_DIR" --port "$PORT" --grpc-port -1 >"$log" 2>&1 &
      ;;
    v2)
      taskset -c "$SERVER_CPU" $PYTHON -m uvicorn --app-dir bench/serving --host 127.0.0.1 \
        --port "$PORT" --workers 1 --loop uvloop --http httptools --no-access-log \
        --log-level warning v2_server:app >"$log" 2>&1 &
      ;;
  esac
  PID=$!
  for _ in $(seq 1 120); do
    if curl -fs -o /dev/null -H "Authorization: Bearer $EVERGREEN_TOKEN" \
      -H 'Content-Type: application/json' --data-binary @"$BODY" "$(url)"; then
      return
    fi
    kill -0 "$PID" 2>/dev/null || { cat "$log"; echo "server $name exited; see $log" >&2; exit 1; }
    sleep 0.5
  done
  echo "server $name not ready within 60 s, see $log" >&2
  exit 1
}

url() {
  echo "http://127.0.0.1:$PORT/v2/models/flights-delay/infer"
}

{
  machine_info
  echo "rate: $RATE requests/s, $LOAD_SECONDS s after a $WARMUP_SECONDS s warm-up, $REPEATS rounds,"
  echo "servers on cpu $SERVER_CPU, InferLoad on cpu $CLIENT_CPU, $CONNECTIONS connections"
} | tee "$REPORT"

for round in $(seq 1 "$REPEATS"); do
  for name in $SERVERS; do
    start_server "$name"
    # As in run-serving.sh: wrk at full speed first, so that the JIT compiles the request path
    # before the timed run, which alone would take tens of seconds at RATE.
    WRK_BODY=$BODY taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d5s -s bench/wrk/infer.lua \
      "$(url)" >/dev/null
    taskset -c "$CLIENT_CPU" java -Xmx1g -XX:TieredStopAtLevel=1 \
      -cp "bench/target/classes:$(cat bench/target/classpath.txt)" \
      dev.evergreen.bench.InferLoad --url "$(url)" --body "$BODY" --rate "$RATE" \
      --seconds "$LOAD_SECONDS" --warmup-seconds "$WARMUP_SECONDS" \
      --connections "$CONNECTIONS" --server-pid "$PID" --label "$name-$round" \
      | grep -E '^(RESULT|send lag)' | tee -a "$REPORT"
    stop_server
  done
done

# The median of the rounds per server: p50, p99 and the generator's send lag p99, in ms.
echo | tee -a "$REPORT"
echo "median of $REPEATS rounds (ms): server p50 p99 send_lag_p99" | tee -a "$REPORT"
awk '
  /^send lag:/ { for (i = 1; i <= NF; i++) if ($i ~ /^p99=/) { lag = substr($i, 5) } }
  /^RESULT/ {
    split($2, label, "-"); name = label[1]
    for (i = 1; i <= NF; i++) {
      if ($i ~ /^p50=/) p50[name] = p50[name] " " substr($i, 5)
      if ($i ~ /^p99=/) p99[name] = p99[name] " " substr($i, 5)
    }
    lags[name] = lags[name] " " lag
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
      printf "%s %.3f %.3f %.3f\n", name, median(p50[name]), median(p99[name]), median(lags[name])
    }
  }' "$REPORT" | tee -a "$REPORT.summary"
cat "$REPORT.summary" >>"$REPORT"
rm -f "$REPORT.summary"
