#!/usr/bin/env bash
# ab: two builds of llmproxy side by side in front of the same two simulated upstreams, rounds
# interleaved, so that a change is measured against the build before it in the same conditions.
# Per round and build: calls/s, the proxy's CPU per call, and that CPU split by thread: the event
# loops (relaying) and the JIT compiler threads (warming up; a build is measured once they are
# quiet). The medians skip the first SKIP rounds.
#
#   benchmarks/ab.sh paced64 8 new.jar old.jar      # 2,000 paced 64-token streams (sim --ttft 50ms --itl 20ms)
#   benchmarks/ab.sh unary 8 new.jar old.jar        # unary calls, h2load -c 16 -m 10
#   benchmarks/ab.sh stream256 8 new.jar old.jar    # back-to-back 256-token streams
#   ASYNC_PROFILER=/path/libasyncProfiler.so PROFILE_ROUND=6 benchmarks/ab.sh paced64 6 new.jar old.jar
#       # also a CPU profile of round 6 (collapsed stacks, per thread) in the results folder
#
# Knobs: N (calls per round), SKIP (rounds left out of the medians, default 3), OUT (results folder),
# PORT_BASE (default 19350), JAVA_A / JAVA_B (the java binary for each build, default java) and
# OPTS_A / OPTS_B (extra JVM options for each build, split on spaces), so one build can also be
# compared with itself under two JVMs or settings, and ARGS_A / ARGS_B (what follows `-jar JAR`,
# {PORT} and {UPSTREAMS} filled in; default a proxy with --lb round_robin), so a floor instrument can
# stand in for build B:
#   ARGS_B='grpc-relay --port {PORT} --upstreams {UPSTREAMS}' \
#     benchmarks/ab.sh paced64 6 llmproxy-server.jar llmproxy-bench.jar
# Needs h2load (nghttp2-client) and ../shared/bench/mkbody.py. Every process is started here and
# stopped by its PID at the end.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MKBODY=${MKBODY:-$ROOT/../shared/bench/mkbody.py}
[ $# -eq 4 ] || { echo "usage: ab.sh unary|stream256|paced64 ROUNDS JAR_A JAR_B" >&2; exit 2; }
WORKLOAD=$1; ROUNDS=$2; JARS=("$3" "$4")
command -v h2load >/dev/null || { echo "ab: h2load is not installed (apt-get install -y nghttp2-client)" >&2; exit 2; }
[ -f "$MKBODY" ] || { echo "ab: $MKBODY not found (the shared bench recipe beside the repository)" >&2; exit 2; }
for jar in "${JARS[@]}"; do [ -f "$jar" ] || { echo "ab: $jar not found" >&2; exit 2; }; done
OUT=${OUT:-$ROOT/benchmarks/results/ab-$(date +%Y%m%d-%H%M%S)}
SKIP=${SKIP:-3}
PORT_BASE=${PORT_BASE:-19350}
mkdir -p "$OUT"

sim_args=(); conc=16; streams=10; tokens=16; path=Complete; n_default=60000
case $WORKLOAD in
  unary) ;;
  stream256) path=StreamComplete; tokens=256; n_default=8000 ;;
  paced64) path=StreamComplete; tokens=64; conc=20; streams=100; n_default=8000
    sim_args=(--ttft 50ms --itl 20ms) ;;
  *) echo "ab: unknown workload $WORKLOAD (expected: unary, stream256, paced64)" >&2; exit 2 ;;
esac
N=${N:-$n_default}
python3 "$MKBODY" "$OUT/body.bin" "$tokens" "" >/dev/null

SCRIPT=ab
# shellcheck source=processes.sh
source "$ROOT/benchmarks/processes.sh"

B1=$PORT_BASE; B2=$((PORT_BASE + 1))
for port in $B1 $B2; do
  java -Xms256m -Xmx512m -XX:+UseParallelGC -jar "${JARS[0]}" sim "${sim_args[@]}" --port "$port" \
    >"$OUT/sim-$port.log" 2>&1 &
  PIDS+=($!)
done
PROXY_PIDS=(); PROXY_PORTS=()
JAVAS=("${JAVA_A:-java}" "${JAVA_B:-java}")
DEFAULT_ARGS='--port {PORT} --upstreams {UPSTREAMS} --lb round_robin'
for i in 0 1; do
  port=$((PORT_BASE + 10 + i))
  if [ "$i" = 0 ]; then read -r -a opts <<<"${OPTS_A:-}"; else read -r -a opts <<<"${OPTS_B:-}"; fi
  if [ "$i" = 0 ]; then args=${ARGS_A:-$DEFAULT_ARGS}; else args=${ARGS_B:-$DEFAULT_ARGS}; fi
  args=${args//\{PORT\}/$port}; args=${args//\{UPSTREAMS\}/127.0.0.1:$B1,127.0.0.1:$B2}
  read -r -a args <<<"$args"
  "${JAVAS[$i]}" -Xms1g -Xmx1g ${opts[@]+"${opts[@]}"} -jar "${JARS[$i]}" "${args[@]}" >"$OUT/proxy-$i.log" 2>&1 &
  PIDS+=($!); PROXY_PIDS+=($!); PROXY_PORTS+=("$port")
done
for port in $B1 $B2 "${PROXY_PORTS[@]}"; do await_port "$port"; done

load() {  # port calls: prints calls/s
  h2load -n "$2" -c "$conc" -m "$streams" -d "$OUT/body.bin" -H 'content-type: application/grpc' \
    -H 'te: trailers' -H 'llmproxy-cache-control: no-store' "http://127.0.0.1:$1/llmproxy.v1.LlmProxy/$path" \
    >"$OUT/h2load.txt" 2>&1
  grep -q "succeeded, 0 failed, 0 errored" "$OUT/h2load.txt" \
    || { echo "ab: calls failed on port $1:" >&2; grep -E 'requests:|status codes' "$OUT/h2load.txt" >&2; exit 1; }
  awk '/^finished in/ {gsub(",", "", $4); print $4}' "$OUT/h2load.txt"
}
ticks() {  # pid: "<event-loop ticks> <jit ticks> <all ticks>"
  local loops=0 jit=0 all=0 name t
  for task in /proc/"$1"/task/*; do
    name=$(cat "$task/comm" 2>/dev/null) || continue
    t=$(awk '{print $14 + $15}' "$task/stat" 2>/dev/null) || continue
    all=$((all + t))
    case $name in grpc-default-wo*) loops=$((loops + t)) ;; C1\ Compiler*|C2\ Compiler*) jit=$((jit + t)) ;; esac
  done
  echo "$loops $jit $all"
}
profile() {  # pid command: async-profiler through the JVM's attach mechanism
  jcmd "$1" JVMTI.agent_load "$ASYNC_PROFILER" "\"$2\"" >/dev/null
}

label() { [ "$1" = 0 ] && echo "A ${JARS[0]}" || echo "B ${JARS[1]}"; }
for i in 0 1; do load "${PROXY_PORTS[$i]}" "$N" >/dev/null; done   # warm-up
TICK_US=$((1000000 / $(getconf CLK_TCK)))
echo "build round calls_per_s cpu_us_per_call loops_us_per_call jit_us_per_call" >"$OUT/rounds.txt"
for r in $(seq 1 "$ROUNDS"); do
  for i in 0 1; do
    pid=${PROXY_PIDS[$i]}
    profiling=$([ -n "${ASYNC_PROFILER:-}" ] && [ "${PROFILE_ROUND:-0}" = "$r" ] && echo 1 || echo 0)
    [ "$profiling" = 1 ] && profile "$pid" "start,event=cpu,interval=200us,threads"
    read -r l0 j0 a0 < <(ticks "$pid")
    rate=$(load "${PROXY_PORTS[$i]}" "$N")
    read -r l1 j1 a1 < <(ticks "$pid")
    [ "$profiling" = 1 ] && profile "$pid" "stop,file=$OUT/profile-$i-round$r.collapsed,collapsed"
    echo "$i $r $rate $(( (a1 - a0) * TICK_US / N )) $(( (l1 - l0) * TICK_US / N )) $(( (j1 - j0) * TICK_US / N ))" \
      | tee -a "$OUT/rounds.txt" | awk -v jar="$(label "$i")" '{printf "%s round %s: %s calls/s, %s us CPU per call (event loops %s, JIT %s)\n", jar, $2, $3, $4, $5, $6}'
  done
done
python3 - "$OUT/rounds.txt" "$SKIP" "${JARS[@]}" <<'EOF' | tee "$OUT/summary.txt"
import statistics, sys
rows = [line.split() for line in open(sys.argv[1]).read().splitlines()[1:]]
skip, jars = int(sys.argv[2]), sys.argv[3:]
for i, jar in enumerate(jars):
    kept = [r for r in rows if r[0] == str(i) and int(r[1]) > skip] or [r for r in rows if r[0] == str(i)]
    med = lambda k: statistics.median(float(r[k]) for r in kept)
    print(f"{'AB'[i]} {jar}: median of {len(kept)} rounds: {med(2):.0f} calls/s, {med(3):.0f} us CPU per call "
          f"(event loops {med(4):.0f}, JIT {med(5):.0f})")
EOF
echo "ab: results in $OUT" >&2
