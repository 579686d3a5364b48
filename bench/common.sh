# Shared helpers of the benchmark scripts, sourced from the repository root.

# The build needs JDK 21 or newer, and the machine's default java may be older.
if [[ -z "${JAVA_HOME:-}" ]] || ! "$JAVA_HOME/bin/java" -version 2>&1 | grep -qE 'version "(2[1-9]|[3-9][0-9])'; then
  export JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64
fi
export PATH="$JAVA_HOME/bin:$PATH"

BENCH_OUT=bench/target/results
mkdir -p "$BENCH_OUT"

# Builds the bench module and the modules it needs, and writes its class path. Spotless is
# skipped because formatting has no effect on a measurement.
build_bench() {
  mvn -q -B -pl bench -am -DskipTests -Dspotless.check.skip=true package \
    org.apache.maven.plugins:maven-dependency-plugin:3.9.0:build-classpath \
    -Dmdep.outputFile=target/classpath.txt
}

# Runs a main class of the bench module: java_bench CLASS LOG_NAME ARGS...
# Extra JVM options, such as a flight recording, go in JAVA_BENCH_OPTS.
java_bench() {
  local main=$1 log=$2
  shift 2
  # shellcheck disable=SC2086 # JAVA_BENCH_OPTS holds several options.
  java --enable-native-access=ALL-UNNAMED -Xmx4g -Dbench.log="$BENCH_OUT/$log.log" \
    ${JAVA_BENCH_OPTS:-} \
    -cp "bench/target/classes:$(cat bench/target/classpath.txt)" "$main" "$@"
}

# Prints the machine and software the numbers were measured on.
machine_info() {
  echo "date: $(date -u '+%Y-%m-%dT%H:%M:%SZ')"
  echo "cpus: $(nproc), $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1)"
  echo "memory: $(free -g | awk '/^Mem:/ {print $2}') GiB"
  echo "os: $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r)"
  echo "jdk: $(java -version 2>&1 | head -1)"
  echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
}
