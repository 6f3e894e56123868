#!/usr/bin/env bash
# peers: llmproxy side by side with nginx (grpc_pass) and HAProxy (proto h2) in front of the same two
# simulated upstreams, driven by h2load, through the shared recipe ../shared/bench/run-baseline.sh
# (correctness checks before and after, interleaved rounds, CPU per request of each proxy's process).
#
#   benchmarks/peers.sh                                   # full run: 3 rounds x 15 s per target and workload
#   REPS=1 DURATION=5 WARMUP=3 BACKEND_WARMUP=5 benchmarks/peers.sh   # a short run
#
# Needs nginx, haproxy and h2load (apt-get install -y nginx haproxy nghttp2-client) and the built
# server jar. Every variable of run-baseline.sh can be overridden from the environment.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BASELINE=${BASELINE:-$ROOT/../shared/bench/run-baseline.sh}
JAR=${SERVER_JAR:-$ROOT/server/target/llmproxy-server.jar}
for tool in nginx haproxy h2load nghttp; do
  command -v "$tool" >/dev/null || { echo "peers: $tool is not installed (apt-get install -y nginx haproxy nghttp2-client)" >&2; exit 2; }
done
[ -x "$BASELINE" ] || { echo "peers: $BASELINE not found (expected: the shared bench recipe beside the repository)" >&2; exit 2; }
[ -f "$JAR" ] || { echo "peers: $JAR not found (run ./mvnw -q -DskipTests install first)" >&2; exit 2; }

export SERVICE=llmproxy.v1.LlmProxy
# The trailing '#' matters: run-baseline.sh expands ${BACKEND_CMD:-...{PORT}}, which appends a stray
# '}' to a BACKEND_CMD given from outside; after '#' it is a shell comment.
export BACKEND_CMD="java -Xms256m -Xmx512m -XX:+UseParallelGC -jar $JAR sim --port {PORT} #"
export EXTRA_TARGETS="llmproxy|${LLMPROXY_PORT:-19100}|java -Xms1g -Xmx1g -jar $JAR --port {PORT} --upstreams {BACKENDS} --lb round_robin"
# Keeps a response cache, once llmproxy has one, from answering a relay benchmark.
export EXTRA_HEADER=${EXTRA_HEADER-llmproxy-cache-control: no-store}
export TARGETS=${TARGETS:-direct nginx-w1 nginx-w2 haproxy-t1 haproxy-t2 haproxy-t2-reuse}
export OUT=${OUT:-$ROOT/benchmarks/results/peers-$(date +%Y%m%d-%H%M%S)}
exec "$BASELINE"
