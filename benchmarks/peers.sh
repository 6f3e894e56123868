#!/usr/bin/env bash
# peers: llmproxy side by side with nginx (grpc_pass) and HAProxy (proto h2) in front of the same two
# simulated upstreams, driven by h2load, through the shared recipe ../shared/bench/run-baseline.sh
# (correctness checks before and after, interleaved rounds, CPU per request of each proxy's process).
#
# One run covers the three workloads of issue 11, in two passes of the recipe (it starts its
# upstreams once per pass, and the paced workload needs upstreams with model-like timing):
#   fast   unary calls and back-to-back 256-token streams (h2load -c 16 -m 10), upstreams at full speed
#   paced  64-token streams, 2,000 in flight (h2load -c 20 -m 100), upstreams with --ttft 50ms --itl 20ms
# then writes one table (peers.md beside the raw results) with each target's CPU per call and per
# token, and llmproxy's figures as ratios to HAProxy's and nginx's from the same rounds.
#
#   benchmarks/peers.sh                                   # both passes, 3 interleaved rounds each
#   PASSES=paced benchmarks/peers.sh                      # one pass
#   REPS=1 DURATION=5 WARMUP=3 BACKEND_WARMUP=5 benchmarks/peers.sh   # a short run
#   PROFILE=1 benchmarks/peers.sh                         # also a JFR recording of the proxy per pass
#   COMPARE_JAR=old/llmproxy-server.jar benchmarks/peers.sh   # also that build, as llmproxy-before
#   FLOOR=1 benchmarks/peers.sh                           # also the two floors: byte-relay, the least a
#                                                         # JVM relay on llmproxy's Netty spends, and
#                                                         # grpc-relay, the least one on grpc-java
#                                                         # (see ByteRelay and GrpcRelay; both apply
#                                                         # llmproxy's Netty process defaults)
#
# Needs nginx, haproxy and h2load (apt-get install -y nginx haproxy nghttp2-client) and the built
# server jar (./mvnw -q -DskipTests package); the jar is copied into the results folder first, so a
# rebuild during the run does not change what is measured. Every variable of run-baseline.sh can be
# overridden from the environment; PACED_ITL and PACED_TTFT set the paced upstreams' timing.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BASELINE=${BASELINE:-$ROOT/../shared/bench/run-baseline.sh}
JAR=${SERVER_JAR:-$ROOT/server/target/llmproxy-server.jar}
for tool in nginx haproxy h2load nghttp python3; do
  command -v "$tool" >/dev/null || { echo "peers: $tool is not installed (apt-get install -y nginx haproxy nghttp2-client)" >&2; exit 2; }
done
[ -x "$BASELINE" ] || { echo "peers: $BASELINE not found (expected: the shared bench recipe beside the repository)" >&2; exit 2; }
[ -f "$JAR" ] || { echo "peers: $JAR not found (run ./mvnw -q -DskipTests package first)" >&2; exit 2; }

PASSES=${PASSES:-fast paced}
RESULTS=${OUT:-$ROOT/benchmarks/results/peers-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$RESULTS"
cp "$JAR" "$RESULTS/llmproxy-server.jar"
JAR=$RESULTS/llmproxy-server.jar
PROXY_JVM=${PROXY_JVM:--Xms1g -Xmx1g}
if [ "${FLOOR:-0}" = 1 ]; then
  BENCH_JAR=${BENCH_JAR:-$ROOT/benchmarks/target/llmproxy-bench.jar}
  [ -f "$BENCH_JAR" ] || { echo "peers: FLOOR=1 needs $BENCH_JAR (./mvnw -q -DskipTests package)" >&2; exit 2; }
  cp "$BENCH_JAR" "$RESULTS/llmproxy-bench.jar"
fi
if [ -n "${COMPARE_JAR:-}" ]; then
  [ -f "$COMPARE_JAR" ] || { echo "peers: $COMPARE_JAR not found" >&2; exit 2; }
  cp "$COMPARE_JAR" "$RESULTS/llmproxy-before.jar"
fi

# The JVM's JIT compiler keeps compiling for the first minute or so of load: a profile of the
# paced workload had the compiler threads at 30-40% of the proxy's CPU 30 s in, under 5% after
# 90 s. The recipe's default warm-up (8 s) would measure compilation, not relaying; warm up for a
# minute per target and workload unless told otherwise.
export WARMUP=${WARMUP:-60}
export SERVICE=llmproxy.v1.LlmProxy
# Keeps the response cache from answering a relay benchmark.
export EXTRA_HEADER=${EXTRA_HEADER-llmproxy-cache-control: no-store}
export TARGETS=${TARGETS:-direct nginx-w2 haproxy-t2-reuse}

for pass in $PASSES; do
  jfr=""
  if [ "${PROFILE:-0}" = 1 ]; then
    jfr="-XX:StartFlightRecording=filename=$RESULTS/llmproxy-$pass.jfr,settings=profile,dumponexit=true"
  fi
  proxies="llmproxy|${LLMPROXY_PORT:-19100}|java $PROXY_JVM $jfr -jar $JAR --port {PORT} --upstreams {BACKENDS} --lb round_robin"
  if [ -n "${COMPARE_JAR:-}" ]; then
    proxies="$proxies
llmproxy-before|$(( ${LLMPROXY_PORT:-19100} + 1 ))|java $PROXY_JVM -jar $RESULTS/llmproxy-before.jar --port {PORT} --upstreams {BACKENDS} --lb round_robin"
  fi
  if [ "${FLOOR:-0}" = 1 ]; then
    proxies="$proxies
byte-relay|$(( ${LLMPROXY_PORT:-19100} + 2 ))|java $PROXY_JVM -jar $RESULTS/llmproxy-bench.jar byte-relay --port {PORT} --upstreams {BACKENDS}
grpc-relay|$(( ${LLMPROXY_PORT:-19100} + 3 ))|java $PROXY_JVM -jar $RESULTS/llmproxy-bench.jar grpc-relay --port {PORT} --upstreams {BACKENDS}"
  fi
  # The trailing '#' matters: run-baseline.sh expands ${BACKEND_CMD:-...{PORT}}, which appends a
  # stray '}' to a BACKEND_CMD given from outside; after '#' it is a shell comment.
  case $pass in
    fast)
      (export BACKEND_CMD="java -Xms256m -Xmx512m -XX:+UseParallelGC -jar $JAR sim --port {PORT} #"
       export WORKLOADS=${FAST_WORKLOADS:-unary stream256}
       export EXTRA_TARGETS="$proxies"
       export OUT=$RESULTS/fast
       "$BASELINE") ;;
    paced)
      (export BACKEND_CMD="java -Xms512m -Xmx512m -XX:+UseParallelGC -jar $JAR sim --port {PORT} --ttft ${PACED_TTFT:-50ms} --itl ${PACED_ITL:-20ms} #"
       export WORKLOADS=stream${PACED_TOKENS:-64}
       export CONC=${PACED_CONC:-20} MAXSTREAMS=${PACED_MAXSTREAMS:-100} MIN_N=${PACED_MIN_N:-3000}
       export EXTRA_TARGETS="$proxies"
       export OUT=$RESULTS/paced
       "$BASELINE") ;;
    *) echo "peers: unknown pass $pass (expected: fast, paced)" >&2; exit 2 ;;
  esac
done
runs=()
for pass in $PASSES; do runs+=("$pass=$RESULTS/$pass/runs.jsonl"); done
python3 "$ROOT/benchmarks/peers-table.py" "${runs[@]}" | tee "$RESULTS/peers.md"
echo "peers: results in $RESULTS" >&2
