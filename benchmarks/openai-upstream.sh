#!/usr/bin/env bash
# openai-upstream: proxy CPU per streamed token through an OpenAI-compatible upstream (HTTP + SSE,
# translated) against a gRPC upstream, on the same paced workload, with nginx proxy_pass of the same
# SSE stream (a byte proxy, no translation) as the floor. One run, interleaved rounds.
#
#   benchmarks/openai-upstream.sh                          # 3 rounds of 6,000 streams per target
#   REPS=1 STREAMS=3000 benchmarks/openai-upstream.sh     # a short run
#
# Topology (all on 127.0.0.1, each a process of its own so its CPU is read from /proc):
#   2 gRPC sims and 2 OpenAI-mode sims (--ttft 50ms --itl 20ms), one llmproxy with a route over each
#   pair, and nginx (1 worker, upstream keepalive, proxy_buffering off) in front of the OpenAI sims.
# Load: h2load, CONC streams in flight (gRPC: 10 connections x CONC/10 streams; HTTP/1.1: CONC
# connections), STREAMS requests of TOKENS tokens each. Figures: CPU of the target process over the
# whole measured h2load run, divided by the tokens it relayed.
# Needs nginx and h2load (apt-get install -y nginx nghttp2-client) and the built server jar.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
JAR=${SERVER_JAR:-$ROOT/server/target/llmproxy-server.jar}
REPS=${REPS:-3}
STREAMS=${STREAMS:-6000}
CONC=${CONC:-1000}
TOKENS=${TOKENS:-64}
TTFT=${TTFT:-50ms}
ITL=${ITL:-20ms}
BASE=${BASE_PORT:-19300}
OUT=${OUT:-$ROOT/benchmarks/results/openai-upstream-$(date +%Y%m%d-%H%M%S)}
for tool in nginx h2load python3; do
  command -v "$tool" >/dev/null || { echo "openai-upstream: $tool is not installed (apt-get install -y nginx nghttp2-client)" >&2; exit 2; }
done
[ -f "$JAR" ] || { echo "openai-upstream: $JAR not found (run ./mvnw -q -DskipTests install first)" >&2; exit 2; }
mkdir -p "$OUT"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -f "$OUT/nginx.pid" ] && kill "$(cat "$OUT/nginx.pid")" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT

start() { # name, then the command; waits for its "listening on" line
  local name=$1; shift
  "$@" >"$OUT/$name.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 300); do
    grep -q "listening on" "$OUT/$name.log" && return 0
    kill -0 "${PIDS[-1]}" 2>/dev/null || { echo "openai-upstream: $name exited:" >&2; cat "$OUT/$name.log" >&2; exit 1; }
    sleep 0.2
  done
  echo "openai-upstream: $name did not start" >&2; exit 1
}

SIM_JVM=(java -Xms256m -Xmx512m -XX:+UseParallelGC -jar "$JAR" sim --ttft "$TTFT" --itl "$ITL")
start grpc-sim-1 "${SIM_JVM[@]}" --port $((BASE + 1)) --name grpc-1
start grpc-sim-2 "${SIM_JVM[@]}" --port $((BASE + 2)) --name grpc-2
start openai-sim-1 "${SIM_JVM[@]}" --protocol openai --port $((BASE + 3)) --name openai-1
start openai-sim-2 "${SIM_JVM[@]}" --protocol openai --port $((BASE + 4)) --name openai-2

cat >"$OUT/llmproxy.yaml" <<YAML
server: {port: $((BASE + 10))}
cache: {enabled: false}
routes:
  - name: grpc
    models: [grpc-model]
    lb: round_robin
    upstreams: [127.0.0.1:$((BASE + 1)), 127.0.0.1:$((BASE + 2))]
    max_tokens_limit: 100000
  - name: openai
    models: [openai-model]
    protocol: openai
    lb: round_robin
    upstreams: [http://127.0.0.1:$((BASE + 3)), http://127.0.0.1:$((BASE + 4))]
    max_tokens_limit: 100000
YAML
# PROXY_JVM_OPTS, e.g. -XX:StartFlightRecording=filename=proxy.jfr,settings=profile for a profile.
start llmproxy java -Xms1g -Xmx1g ${PROXY_JVM_OPTS:-} -jar "$JAR" --config "$OUT/llmproxy.yaml"
PROXY_PID=${PIDS[-1]}

cat >"$OUT/nginx.conf" <<NGINX
worker_processes 1;
pid $OUT/nginx.pid;
error_log $OUT/nginx-error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  upstream engines { server 127.0.0.1:$((BASE + 3)); server 127.0.0.1:$((BASE + 4)); keepalive 1024; }
  server {
    listen 127.0.0.1:$((BASE + 20));
    keepalive_requests 100000;
    location / {
      proxy_pass http://engines;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
    }
  }
}
NGINX
nginx -c "$OUT/nginx.conf" -p "$OUT"
for _ in $(seq 1 50); do [ -s "$OUT/nginx.pid" ] && break; sleep 0.1; done
NGINX_PID=$(cat "$OUT/nginx.pid")

# Request bodies: a gRPC-framed CompletionRequest (model=1, prompt=2, max_tokens=3) per route, and
# the same request as OpenAI chat JSON.
python3 - "$OUT" "$TOKENS" <<'PY'
import json, struct, sys
out, tokens = sys.argv[1], int(sys.argv[2])
def varint(n):
    b = b""
    while True:
        byte, n = n & 0x7F, n >> 7
        b += bytes([byte | (0x80 if n else 0)])
        if not n:
            return b
def field(number, payload):
    return varint(number << 3 | 2) + varint(len(payload)) + payload
for model in ("grpc-model", "openai-model"):
    msg = field(1, model.encode()) + field(2, b"Tell me a story about proxies") + varint(3 << 3) + varint(tokens)
    open(f"{out}/{model}.bin", "wb").write(b"\0" + struct.pack(">I", len(msg)) + msg)
json.dump({"model": "openai-model", "prompt": "Tell me a story about proxies", "max_tokens": tokens, "stream": True,
           "stream_options": {"include_usage": True}}, open(f"{out}/sse.json", "w"))
PY

cpu_ticks() { # total utime+stime of the given PIDs and their children
  local total=0 pid
  for pid in "$@" $(for p in "$@"; do pgrep -P "$p" || true; done); do
    [ -r "/proc/$pid/stat" ] || continue
    total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
  done
  echo "$total"
}

run_h2load() { # target name, n, then h2load args
  local target=$1 n=$2; shift 2
  case $target in
    grpc|openai) h2load -c 10 -m $((CONC / 10)) -n "$n" -d "$OUT/$target-model.bin" \
        -H 'content-type: application/grpc' -H 'te: trailers' -H 'llmproxy-cache-control: no-store' \
        "http://127.0.0.1:$((BASE + 10))/llmproxy.v1.LlmProxy/StreamComplete" ;;
    nginx-sse) h2load --h1 -c "$CONC" -n "$n" -d "$OUT/sse.json" -H 'content-type: application/json' \
        "http://127.0.0.1:$((BASE + 20))/v1/completions" ;;
  esac
}

HZ=$(getconf CLK_TCK)
# The JIT keeps compiling for a while (the OpenAI path has more code: the HTTP client, JSON), and a
# short warm-up shows as CPU per token that falls round by round.
WARMUP_STREAMS=${WARMUP_STREAMS:-$((CONC * 6))}
echo "warming up ($WARMUP_STREAMS streams per target, twice: JIT, connection pools)"
for target in grpc openai nginx-sse grpc openai; do
  run_h2load "$target" "$WARMUP_STREAMS" >"$OUT/warmup-$target.txt" 2>&1
done
echo "target,round,streams,succeeded,seconds,cpu_seconds,us_per_stream,us_per_token,bytes_per_stream" >"$OUT/results.csv"
TARGETS=${TARGETS:-grpc openai nginx-sse}
for round in $(seq 1 "$REPS"); do
  for target in $TARGETS; do
    pid=$PROXY_PID; [ "$target" = nginx-sse ] && pid=$NGINX_PID
    before=$(cpu_ticks "$pid")
    start_ns=$(date +%s%N)
    run_h2load "$target" "$STREAMS" >"$OUT/$target-$round.txt" 2>&1
    end_ns=$(date +%s%N)
    after=$(cpu_ticks "$pid")
    ok=$(awk '/^requests:/ {for (i = 1; i <= NF; i++) if ($(i+1) == "succeeded,") print $i}' "$OUT/$target-$round.txt")
    bytes=$(awk '/^traffic:/ {for (i = 1; i <= NF; i++) if ($(i+1) ~ /^data,?$/) {gsub(/[^0-9]/, "", $i); print $i}}' "$OUT/$target-$round.txt" | head -1)
    python3 - "$target" "$round" "$STREAMS" "$ok" "$start_ns" "$end_ns" "$before" "$after" "$HZ" "$TOKENS" "$bytes" >>"$OUT/results.csv" <<'PY'
import sys
t, r, n, ok, s, e, b, a, hz, tokens, data = sys.argv[1:]
cpu = (int(a) - int(b)) / int(hz)
ok = int(ok or 0)
per_stream = cpu / ok * 1e6 if ok else float("nan")
print(f"{t},{r},{n},{ok},{(int(e) - int(s)) / 1e9:.1f},{cpu:.2f},{per_stream:.1f},{per_stream / int(tokens):.2f},"
      f"{int(data or 0) // max(ok, 1)}")
PY
    tail -1 "$OUT/results.csv"
  done
done

python3 - "$OUT/results.csv" <<'PY' | tee "$OUT/summary.md"
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
med = {}
for t in ("grpc", "openai", "nginx-sse"):
    vals = [float(r["us_per_token"]) for r in rows if r["target"] == t]
    if vals:
        med[t] = statistics.median(vals)
print("| path | proxy CPU µs / token (median) | rounds |")
print("|---|---|---|")
names = {"grpc": "llmproxy, gRPC upstream", "openai": "llmproxy, OpenAI-compatible upstream (HTTP + SSE)",
         "nginx-sse": "nginx proxy_pass of the same SSE (byte proxy, floor)"}
for t, v in med.items():
    print(f"| {names[t]} | {v:.2f} | {', '.join(r['us_per_token'] for r in rows if r['target'] == t)} |")
print()
if len(med) == 3:
    print(f"OpenAI / gRPC upstream: {med['openai'] / med['grpc']:.2f}x; OpenAI upstream / nginx floor: "
          f"{med['openai'] / med['nginx-sse']:.2f}x")
PY
echo "results in $OUT"
