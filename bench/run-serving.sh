#!/usr/bin/env bash
# Compares Evergreen's model server with two Python reference servers that serve the same XGBoost
# model file: Flask under gunicorn speaking MLflow's scoring format (POST /invocations), and
# FastAPI under uvicorn speaking V2 REST (POST /v2/models/{name}/infer). For 1-row and 100-row
# requests it measures the maximum throughput with wrk, then p50 and p99 latency at fixed rates
# with the open-loop generator InferLoad, which busy-polls its CPU so that its own wake-ups stay
# out of the figures. Single-row latency is measured at several rates. One is RATE_FRACTION times
# the lowest maximum of the three HTTP servers, a rate all of them sustain. The others are each of
# V2_RATE_FRACTIONS times FastAPI's maximum, because the p99 target compares Evergreen with FastAPI
# at the same rate. A server is not measured at a rate above 0.9 times its own maximum. 100-row
# latency is measured at one rate. Evergreen's gRPC service (ModelInfer) is measured the same way:
# GrpcInferLoad in closed loop for the maximum throughput, and GrpcPreciseLoad, which polls its
# sockets as InferLoad does, at the same fixed rates. Each server runs alone, pinned to
# SERVER_CPU; wrk and InferLoad run pinned to CLIENT_CPU. Before the measured runs, each server is
# warmed up by wrk and then for LOW_WARMUP_SECONDS at the lowest rate, so that the code paths of a
# lightly loaded server are compiled before they are timed.
# Usage: bench/run-serving.sh
# Settings (environment): REPEATS (3), WRK_SECONDS (15), LOAD_SECONDS (20), WARMUP_SECONDS (5),
# LOW_WARMUP_SECONDS (30), CONNECTIONS (16), SERVER_CPU (1), CLIENT_CPU (0), GUNICORN_THREADS (4),
# RATE_FRACTION (0.5), V2_RATE_FRACTIONS ("0.25 0.5 0.75"), SERVERS (the servers to measure,
# "evergreen mlflow v2 grpc"), RATES_1 (single-row rates in requests/s, space-separated) and
# RATE_100 (the 100-row rate). A SERVERS list without the three HTTP servers needs RATES_1 and
# RATE_100. Unless set, rates are rounded down to multiples of 50.
# Output: bench/target/results/serving.txt (report), serving.tsv (one line per run), server logs.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh

REPEATS=${REPEATS:-3}
WRK_SECONDS=${WRK_SECONDS:-15}
LOAD_SECONDS=${LOAD_SECONDS:-20}
WARMUP_SECONDS=${WARMUP_SECONDS:-5}
LOW_WARMUP_SECONDS=${LOW_WARMUP_SECONDS:-30}
CONNECTIONS=${CONNECTIONS:-16}
SERVER_CPU=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
GUNICORN_THREADS=${GUNICORN_THREADS:-4}
RATE_FRACTION=${RATE_FRACTION:-0.5}
V2_RATE_FRACTIONS=${V2_RATE_FRACTIONS:-0.25 0.5 0.75}
RATES_1=${RATES_1:-}
RATE_100=${RATE_100:-}
WORK=bench/target/serving
HOME_DIR=$PWD/$WORK/home
JAR=cli/target/evergreen.jar
# Debian's interpreter, because the packages below are Debian's and a pyenv or virtualenv python3
# earlier in PATH would not see them.
PYTHON=/usr/bin/python3
# Keeps __pycache__ folders out of the source tree.
export PYTHONDONTWRITEBYTECODE=1
REPORT=$BENCH_OUT/serving.txt
TSV=$BENCH_OUT/serving.tsv
SERVERS=${SERVERS:-evergreen mlflow v2 grpc}

if ! command -v wrk >/dev/null; then
  apt-get install -y wrk
fi
if ! $PYTHON -c 'import flask, fastapi, gunicorn, uvicorn, uvloop, httptools, xgboost, pandas' \
  2>/dev/null; then
  apt-get install -y python3-flask gunicorn python3-fastapi uvicorn python3-uvloop \
    python3-httptools python3-xgboost python3-numpy python3-pandas
fi

# The shaded jar and the bench class path, in one build so that both use the same modules.
mvn -q -B -DskipTests -Dspotless.check.skip=true package \
  org.apache.maven.plugins:maven-dependency-plugin:3.9.0:build-classpath \
  -Dmdep.outputFile=target/classpath.txt

rm -rf "$WORK"
mkdir -p "$WORK"
java_bench dev.evergreen.bench.FlightSubsets subsets --month 2001-01 --out "$WORK/2001-01.parquet"
java_bench dev.evergreen.bench.InferBodies bodies --rows 1,100 --out "$WORK"
$PYTHON bench/serving/bodies.py "$WORK"
java --enable-native-access=ALL-UNNAMED -jar "$JAR" run examples/flights-delay/pipeline.yaml \
  --data "$WORK/2001-01.parquet" --home "$HOME_DIR" >"$BENCH_OUT/serving-train.log" 2>&1

# A fresh secret per invocation, passed to the servers and load generators through the
# environment. The Python servers ignore it, but every server receives the same request headers.
EVERGREEN_TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
export EVERGREEN_TOKEN
export EVERGREEN_ADMIN_TOKEN=$EVERGREEN_TOKEN
export EVERGREEN_HOME=$HOME_DIR EVERGREEN_MODEL=flights-delay

# Per started server: its main process, the process that serves requests (the gunicorn worker,
# else the main process), its port and its log.
declare -A PIDS=() WORKERS=() PORTS=()

stop_server() {
  local name=$1 pid=${PIDS[$1]:-}
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    # A bounded wait: 30 s, then the process is killed.
    for _ in $(seq 1 60); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.5
    done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  fi
  unset "PIDS[$name]"
}
stop_all() {
  local name
  for name in "${!PIDS[@]}"; do stop_server "$name"; done
}
trap stop_all EXIT

free_port() {
  $PYTHON -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

url_of() {
  case $1 in
    evergreen | v2 | grpc) echo "http://127.0.0.1:${PORTS[$1]}/v2/models/flights-delay/infer" ;;
    mlflow) echo "http://127.0.0.1:${PORTS[$1]}/invocations" ;;
  esac
}

body_of() {
  case $1 in
    mlflow) echo "$WORK/mlflow-body-$2.json" ;;
    *) echo "$WORK/body-$2.json" ;;
  esac
}

# start_server NAME: starts one server pinned to SERVER_CPU and waits until it returns 200 to a
# 1-row request.
start_server() {
  local name=$1 log=$BENCH_OUT/serving-$1.log port pid
  case $name in
    evergreen | grpc)
      taskset -c "$SERVER_CPU" java --enable-native-access=ALL-UNNAMED -Xmx2g -jar "$JAR" server \
        --home "$HOME_DIR" --port 0 --grpc-port 0 >"$log" 2>&1 &
      ;;
    mlflow)
      port=$(free_port)
      taskset -c "$SERVER_CPU" $PYTHON -m gunicorn --chdir bench/serving \
        --bind "127.0.0.1:$port" --workers 1 --worker-class gthread --threads "$GUNICORN_THREADS" \
        mlflow_server:app >"$log" 2>&1 &
      ;;
    v2)
      port=$(free_port)
      taskset -c "$SERVER_CPU" $PYTHON -m uvicorn --app-dir bench/serving --host 127.0.0.1 \
        --port "$port" --workers 1 --loop uvloop --http httptools --no-access-log \
        --log-level warning v2_server:app >"$log" 2>&1 &
      ;;
  esac
  pid=$!
  PIDS[$name]=$pid

  for _ in $(seq 1 120); do
    if [[ $name == evergreen || $name == grpc ]]; then
      port=$(sed -n 's|^Evergreen serving on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$log" | head -1)
    fi
    if [[ -n "$port" ]]; then
      PORTS[$name]=$port
      if curl -fs -o /dev/null -H "Authorization: Bearer $EVERGREEN_TOKEN" \
        -H 'Content-Type: application/json' --data-binary @"$(body_of "$name" 1)" \
        "$(url_of "$name")"; then
        break
      fi
    fi
    kill -0 "$pid" 2>/dev/null || { cat "$log"; echo "server $name exited before it was ready; see $log" >&2; exit 1; }
    unset "PORTS[$name]"
    sleep 0.5
  done
  [[ -n "${PORTS[$name]:-}" ]] || { echo "server $name not ready within 60 s, see $log" >&2; exit 1; }

  WORKERS[$name]=$pid
  if [[ $name == mlflow ]]; then
    WORKERS[$name]=$(pgrep -P "$pid" | head -1)
  fi
  if [[ $name == grpc ]]; then
    GRPC_PORT=$(sed -n 's|^Open Inference Protocol gRPC on [0-9.]*:\([0-9]*\).*|\1|p' "$log" | head -1)
    [[ -n "$GRPC_PORT" ]] || { echo "gRPC port not found in $log; check that gRPC is on" >&2; exit 1; }
    echo "server $name: pid $pid on cpu $SERVER_CPU, gRPC on 127.0.0.1:$GRPC_PORT"
    return
  fi
  echo "server $name: pid $pid (serving process ${WORKERS[$name]}) on cpu $SERVER_CPU," \
    "url $(url_of "$name")"
}

load1() {
  cut -d' ' -f1 /proc/loadavg
}

# cpu_ticks PID: prints the busy ticks of all CPUs, the ticks of PID and the ticks of this shell's
# finished children (wrk), each in 1/100 s (USER_HZ), read from /proc.
cpu_ticks() {
  local machine server children stat
  machine=$(awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat)
  stat=$(sed 's/.*) //' "/proc/$1/stat")
  server=$(awk '{print $12 + $13}' <<<"$stat")
  stat=$(sed 's/.*) //' "/proc/$$/stat")
  children=$(awk '{print $14 + $15}' <<<"$stat")
  echo "$machine $server $children"
}

# grpc_load ARGS...: runs GrpcInferLoad against the gRPC port of the running server, pinned to
# CLIENT_CPU, with 4 channels.
grpc_load() {
  taskset -c "$CLIENT_CPU" java -Xmx1g -cp "bench/target/classes:$(cat bench/target/classpath.txt)" \
    dev.evergreen.bench.GrpcInferLoad --port "$GRPC_PORT" --connections 4 "$@"
}

warm_up() {
  local name=$1 rows
  if [[ $name == grpc ]]; then
    for rows in 1 100; do
      grpc_load --body "$(body_of "$name" "$rows")" --rate 0 --in-flight 4 --seconds 5 \
        --warmup-seconds 0 --label warm-up >/dev/null
    done
    return
  fi
  for rows in 1 100; do
    WRK_BODY=$(body_of "$name" "$rows") taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d5s \
      -s bench/wrk/infer.lua "$(url_of "$name")" >/dev/null
  done
}

# throughput NAME: wrk runs for both bodies; appends one TSV line per run.
throughput() {
  local name=$1 rows repeat out before after start end load_before others
  start_server "$name"
  warm_up "$name"
  if [[ $name == grpc ]]; then
    grpc_throughput
    stop_server "$name"
    return
  fi
  for rows in 1 100; do
    for repeat in $(seq 1 "$REPEATS"); do
      load_before=$(load1)
      before=$(cpu_ticks "${WORKERS[$name]}")
      start=$(date +%s.%N)
      out=$(WRK_BODY=$(body_of "$name" "$rows") taskset -c "$CLIENT_CPU" wrk -t1 \
        -c"$CONNECTIONS" -d"${WRK_SECONDS}s" --latency -s bench/wrk/infer.lua "$(url_of "$name")")
      end=$(date +%s.%N)
      after=$(cpu_ticks "${WORKERS[$name]}")
      others=$(awk -v b="$before" -v a="$after" -v s="$start" -v e="$end" 'BEGIN {
        split(b, x, " "); split(a, y, " ")
        o = (y[1] - x[1]) - (y[2] - x[2]) - (y[3] - x[3])
        printf "%.2f", (o < 0 ? 0 : o) / 100 / (e - s)
      }')
      echo "-- wrk $name rows=$rows repeat=$repeat"
      echo "$out"
      echo "other processes (not wrk, not the server) used $others CPUs on average;" \
        "load average $load_before before, $(load1) after"
      awk -v server="$name" -v rows="$rows" -v repeat="$repeat" -v others="$others" \
        -v lb="$load_before" -v la="$(load1)" '
        /requests in/ { total = $1 }
        /Requests\/sec:/ { rps = $2 }
        /Non-2xx or 3xx responses:/ { bad = $5 }
        /Socket errors:/ { gsub(",", ""); errors = $4 + $6 + $8 + $10 }
        END {
          printf "throughput\t%s\t%s\t%s\t\t%s\t%d\t%d\t\t\t%s\t%s\t%s\n", server, rows, repeat, rps,
            total, bad + errors, lb, la, others
        }' <<<"$out" >>"$TSV"
    done
  done
  stop_server "$name"
}

# grpc_throughput: measures the gRPC service of the running server in closed loop, as wrk does for
# HTTP, with 16 calls in flight (4 channels with 4 each). Appends one TSV line per run.
grpc_throughput() {
  local rows repeat out load_before
  for rows in 1 100; do
    for repeat in $(seq 1 "$REPEATS"); do
      load_before=$(load1)
      echo "-- GrpcInferLoad closed loop rows=$rows repeat=$repeat"
      out=$(grpc_load --body "$(body_of grpc "$rows")" --rate 0 --in-flight 4 \
        --seconds "$WRK_SECONDS" --warmup-seconds 2 --server-pid "${WORKERS[grpc]}" \
        --label "grpc-rows$rows-max-r$repeat")
      echo "$out"
      echo "load average $load_before before, $(load1) after"
      awk -v rows="$rows" -v repeat="$repeat" -v lb="$load_before" -v la="$(load1)" \
        -v others="$(sed -n 's/^other processes.* used \([0-9.]*\) CPUs.*/\1/p' <<<"$out")" '
        /^RESULT / {
          for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
          split(v["completed"], c, "/")
          printf "throughput\tgrpc\t%s\t%s\t\t%s\t%d\t%d\t\t\t%s\t%s\t%s\n", rows, repeat,
            v["achieved"], c[1], v["errors"], lb, la, others
        }' <<<"$out" >>"$TSV"
    done
  done
}

# run_load NAME ROWS RATE WARMUP SECONDS LABEL: runs the matching open-loop generator once against
# the running server and prints its output.
run_load() {
  local name=$1 rows=$2 rate=$3 warmup=$4 seconds=$5 label=$6
  # C1 alone compiles the generator's per-response code within seconds. C2 compiles it only
  # after thousands of calls (HotSpot's Tier4 thresholds), tens of seconds at 400 requests/s.
  # Its compiler thread then shares CLIENT_CPU with the polling loop during the run. With C2 and
  # a 5 s warm-up, the send lag's p99 was 0.9 ms; with C1 alone it was 0.001 ms.
  if [[ $name == grpc ]]; then
    # GrpcPreciseLoad, not GrpcInferLoad: grpc-java parks threads and runs its event loops on
    # CLIENT_CPU. At 350 requests/s, both with C1 only, GrpcInferLoad reported a p99 of 0.87 ms
    # where GrpcPreciseLoad reported 0.46 ms (bench/run-grpc-rate.sh).
    taskset -c "$CLIENT_CPU" java -Xmx1g -XX:TieredStopAtLevel=1 \
      -cp "bench/target/classes:$(cat bench/target/classpath.txt)" \
      dev.evergreen.bench.GrpcPreciseLoad --port "$GRPC_PORT" \
      --body "$(body_of "$name" "$rows")" --rate "$rate" --seconds "$seconds" \
      --warmup-seconds "$warmup" --connections "$CONNECTIONS" \
      --server-pid "${WORKERS[$name]}" --label "$label"
  else
    taskset -c "$CLIENT_CPU" java -Xmx1g -XX:TieredStopAtLevel=1 \
      -cp "bench/target/classes:$(cat bench/target/classpath.txt)" \
      dev.evergreen.bench.InferLoad --url "$(url_of "$name")" \
      --body "$(body_of "$name" "$rows")" --rate "$rate" --seconds "$seconds" \
      --warmup-seconds "$warmup" --connections "$CONNECTIONS" \
      --server-pid "${WORKERS[$name]}" --label "$label"
  fi
}

# median_max NAME ROWS: prints the median maximum throughput of a server from the wrk (or
# closed-loop gRPC) runs, or 0 when it was not measured.
median_max() {
  awk -F'\t' -v server="$1" -v rows="$2" '
    $1 == "throughput" && $2 == server && $3 == rows { n++; v[n] = $6 }
    END {
      if (n == 0) { print 0; exit }
      for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
      print (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
    }' "$TSV"
}

# latency NAME: InferLoad at each single-row rate the server sustains and at the 100-row rate;
# appends one TSV line per run.
latency() {
  local name=$1 rows repeat rate out load_before result lowest cases=() case limit
  start_server "$name"
  warm_up "$name"
  lowest=${RATES_1%% *}
  echo "-- warm-up of $name at $lowest req/s for $LOW_WARMUP_SECONDS s"
  run_load "$name" 1 "$lowest" "$LOW_WARMUP_SECONDS" 1 warm-up | grep '^RESULT' || true
  for rate in $RATES_1; do cases+=("1:$rate"); done
  cases+=("100:$RATE_100")
  for case in "${cases[@]}"; do
    rows=${case%%:*}
    rate=${case#*:}
    limit=$(awk -v m="$(median_max "$name" "$rows")" 'BEGIN { printf "%d", m * 0.9 }')
    if ((limit > 0 && rate > limit)); then
      echo "-- $name rows=$rows: $rate req/s is above 0.9 times its maximum throughput; not measured"
      continue
    fi
    for repeat in $(seq 1 "$REPEATS"); do
      load_before=$(load1)
      echo "-- fixed rate $name rows=$rows rate=$rate repeat=$repeat"
      out=$(run_load "$name" "$rows" "$rate" "$WARMUP_SECONDS" "$LOAD_SECONDS" \
        "$name-rows$rows-rate$rate-r$repeat")
      echo "$out"
      echo "load average $load_before before, $(load1) after"
      result=$(grep '^RESULT ' <<<"$out" || true)
      awk -v server="$name" -v rows="$rows" -v repeat="$repeat" -v lb="$load_before" \
        -v la="$(load1)" -v rate="$rate" -v others="$(sed -n 's/^other processes.* used \([0-9.]*\) CPUs.*/\1/p' <<<"$out")" '
        {
          for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
          split(v["completed"], c, "/")
          bad = v["errors"] + (c[2] - c[1])
          printf "latency\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\n", server, rows,
            repeat, rate, v["achieved"], c[1], bad, v["p50"], v["p99"], lb, la, others
        }' <<<"$result" >>"$TSV"
      if [[ -z "$result" ]]; then
        printf 'latency\t%s\t%s\t%s\t%s\t0\t0\t1\t\t\t%s\t%s\t\n' "$name" "$rows" "$repeat" \
          "$rate" "$load_before" "$(load1)" >>"$TSV"
      fi
    done
  done
  stop_server "$name"
}

# fraction_of FRACTION THROUGHPUT: prints the fraction of a throughput, rounded down to a multiple
# of 50, and at least 50.
fraction_of() {
  awk -v f="$1" -v t="$2" 'BEGIN { r = int(f * t / 50) * 50; print (r < 50 ? 50 : r) }'
}

# common_rate ROWS: prints RATE_FRACTION times the lowest median wrk throughput of the HTTP
# servers.
common_rate() {
  local name lowest=-1 m
  for name in evergreen mlflow v2; do
    m=$(median_max "$name" "$1")
    if awk -v m="$m" -v l="$lowest" 'BEGIN { exit !(m > 0 && (l < 0 || m < l)) }'; then
      lowest=$m
    fi
  done
  fraction_of "$RATE_FRACTION" "$lowest"
}

# single_row_rates: the common rate and V2_RATE_FRACTIONS times FastAPI's maximum, ascending.
single_row_rates() {
  local fraction v2_max
  {
    common_rate 1
    v2_max=$(median_max v2 1)
    if awk -v m="$v2_max" 'BEGIN { exit !(m > 0) }'; then
      for fraction in $V2_RATE_FRACTIONS; do fraction_of "$fraction" "$v2_max"; done
    fi
  } | sort -n | uniq | tr '\n' ' ' | sed 's/ $//'
}

versions() {
  echo "wrk: $(wrk --version 2>&1 | head -1)"
  $PYTHON - <<'EOF'
import importlib.metadata as meta
import platform
print("python:", platform.python_version(), "(" + platform.python_implementation() + ")")
for name in ("xgboost", "numpy", "pandas", "flask", "werkzeug", "gunicorn", "fastapi",
             "starlette", "pydantic", "uvicorn", "uvloop", "httptools"):
    try:
        print(f"{name}: {meta.version(name)}")
    except meta.PackageNotFoundError:
        print(f"{name}: not installed")
EOF
}

# The report is written by tee from the main shell, so that the EXIT trap can stop the servers.
exec > >(tee "$REPORT") 2>&1
machine_info
versions
echo "pinning: servers on cpu $SERVER_CPU, wrk and InferLoad on cpu $CLIENT_CPU; gunicorn 1 worker" \
  "(gthread, $GUNICORN_THREADS threads), uvicorn 1 worker (uvloop, httptools);" \
  "$CONNECTIONS connections"
printf 'phase\tserver\trows\trepeat\trate\treq_per_s\tresponses\tfailed\tp50_ms\tp99_ms\tload1_before\tload1_after\tother_cpus\n' >"$TSV"

echo "== outputs"
for name in evergreen mlflow v2; do start_server "$name"; done
$PYTHON bench/serving/check_outputs.py --evergreen "$(url_of evergreen)" \
  --mlflow "$(url_of mlflow)" --v2 "$(url_of v2)" --bodies "$WORK" --rows 1,100
grep -h 'event loops' "$BENCH_OUT/serving-evergreen.log" || true
stop_all

echo "== maximum throughput (wrk)"
for name in $SERVERS; do throughput "$name"; done

RATES_1=${RATES_1:-$(single_row_rates)}
RATE_100=${RATE_100:-$(common_rate 100)}
echo "== latency at fixed rates (InferLoad): $RATES_1 req/s for 1 row, $RATE_100 req/s for 100 rows"
for name in $SERVERS; do latency "$name"; done

echo "== summary"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
$PYTHON bench/serving/summarize.py "$TSV"
