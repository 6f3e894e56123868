#!/usr/bin/env bash
# syscalls: what llmproxy and the byte-relay floor each ask of the kernel per paced stream, to tell
# a gap in CPU that is syscalls from one that is work in user space. Starts two simulated upstreams
# (--ttft 50ms --itl 20ms), llmproxy and byte-relay in front of them, warms both, then runs PASSES
# passes of N paced 64-token streams (h2load -c 20 -m 100) through each with `perf stat` attached,
# and prints per stream: CPU (ms), context switches and syscalls. Counting every syscall through a
# tracepoint costs the traced process CPU, so take CPU figures from peers.sh or ab.sh; the counts are
# what this is for.
#
#   benchmarks/syscalls.sh                      # PASSES=2 N=4000 WARMUP_PASSES=3
#
# Knobs: N, PASSES, WARMUP_PASSES, OUT (results folder), PORT_BASE (default 19400), SERVER_JAR,
# BENCH_JAR. Needs h2load (nghttp2-client), perf (linux-perf) with access to the syscall
# tracepoints, and ../shared/bench/mkbody.py. Every process is started here and stopped by its PID.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MKBODY=${MKBODY:-$ROOT/../shared/bench/mkbody.py}
JAR=${SERVER_JAR:-$ROOT/server/target/llmproxy-server.jar}
BENCH_JAR=${BENCH_JAR:-$ROOT/benchmarks/target/llmproxy-bench.jar}
N=${N:-4000}; PASSES=${PASSES:-2}; WARMUP_PASSES=${WARMUP_PASSES:-3}; PORT_BASE=${PORT_BASE:-19400}
OUT=${OUT:-$ROOT/benchmarks/results/syscalls-$(date +%Y%m%d-%H%M%S)}
for tool in h2load perf; do
  command -v "$tool" >/dev/null || { echo "syscalls: $tool is not installed" >&2; exit 2; }
done
for f in "$JAR" "$BENCH_JAR" "$MKBODY"; do [ -f "$f" ] || { echo "syscalls: $f not found" >&2; exit 2; }; done
mkdir -p "$OUT"
python3 "$MKBODY" "$OUT/body.bin" 64 "" >/dev/null

SCRIPT=syscalls
# shellcheck source=processes.sh
source "$ROOT/benchmarks/processes.sh"
B1=$PORT_BASE; B2=$((PORT_BASE + 1)); P=$((PORT_BASE + 10)); F=$((PORT_BASE + 11))
for port in $B1 $B2; do
  java -Xms256m -Xmx512m -XX:+UseParallelGC -jar "$JAR" sim --ttft 50ms --itl 20ms --port "$port" >"$OUT/sim-$port.log" 2>&1 &
  PIDS+=($!)
done
java -Xms1g -Xmx1g -jar "$JAR" --port "$P" --upstreams "127.0.0.1:$B1,127.0.0.1:$B2" --lb round_robin >"$OUT/llmproxy.log" 2>&1 &
PROXY=$!; PIDS+=($!)
java -Xms1g -Xmx1g -jar "$BENCH_JAR" byte-relay --port "$F" --upstreams "127.0.0.1:$B1,127.0.0.1:$B2" >"$OUT/byte-relay.log" 2>&1 &
RELAY=$!; PIDS+=($!)
for port in $B1 $B2 $P $F; do await_port "$port"; done

load() {  # port: one pass of N paced streams
  h2load -n "$N" -c 20 -m 100 -d "$OUT/body.bin" -H 'content-type: application/grpc' -H 'te: trailers' \
    -H 'llmproxy-cache-control: no-store' "http://127.0.0.1:$1/llmproxy.v1.LlmProxy/StreamComplete" >"$OUT/h2load.txt" 2>&1
  grep -q "succeeded, 0 failed, 0 errored" "$OUT/h2load.txt" \
    || { echo "syscalls: streams failed on port $1:" >&2; grep -E 'requests:|status codes' "$OUT/h2load.txt" >&2; exit 1; }
}
for _ in $(seq 1 "$WARMUP_PASSES"); do load "$P"; load "$F"; done
echo "target pass cpu_ms_per_stream context_switches_per_stream syscalls_per_stream" | tee "$OUT/passes.txt"
for pass in $(seq 1 "$PASSES"); do
  for target in "llmproxy:$P:$PROXY" "byte-relay:$F:$RELAY"; do
    IFS=: read -r name port pid <<<"$target"
    perf stat -x, -e task-clock,context-switches,raw_syscalls:sys_enter -p "$pid" -o "$OUT/perf-$name-$pass.csv" &
    stat_pid=$!
    load "$port"
    kill -INT "$stat_pid"; wait "$stat_pid" || true
    awk -F, -v name="$name" -v pass="$pass" -v n="$N" '
      $3 == "task-clock" { cpu = $1 } $3 == "context-switches" { cs = $1 } $3 == "raw_syscalls:sys_enter" { sc = $1 }
      END { printf "%s %s %.3f %.2f %.2f\n", name, pass, cpu / n, cs / n, sc / n }' "$OUT/perf-$name-$pass.csv" \
      | tee -a "$OUT/passes.txt"
  done
done
echo "syscalls: results in $OUT" >&2
