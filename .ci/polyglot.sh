#!/usr/bin/env bash
# Polyglot check: the API passes `buf lint` and `buf breaking` against the previous release; the proto jar carries the .proto and its descriptor set;
# the Python and Node clients, generated from that API, call Complete and StreamComplete on the demo
# and print the streamed tokens as they arrive (same text as Complete, same text in both languages),
# and run a tool-calling loop (clients/*/tool_calling.*);
# and every `buf curl` command of README's Debugging section works against the demo.
# Needs: a built tree (./mvnw install), /usr/bin/python3 with python3-grpcio and python3-grpc-tools,
# node/npm. Bounded in time; stops only the process it started.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=/usr/bin/python3
tools=.ci/node_modules/.bin
fail() { echo "polyglot: $*" >&2; exit 1; }

if [ ! -x "$tools/buf" ]; then
  (cd .ci && timeout 300 npm install --silent --no-audit --no-fund --prefix . @bufbuild/buf@1.75.0 >/dev/null)
fi
if [ ! -d clients/node/node_modules/@grpc/grpc-js ]; then
  (cd clients/node && timeout 300 npm ci --silent --no-audit --no-fund)
fi

# 1. The API passes buf lint with proto/buf.yaml.
timeout 120 "$tools/buf" lint proto || fail "buf lint proto reported problems"
echo "polyglot: buf lint proto: clean"
# The previous release's .proto is checked in (proto/previous/, see proto/previous/README.md): a change
# that would break its clients or upstreams (a renumbered, removed or retyped field) fails here.
timeout 120 "$tools/buf" breaking proto --against proto/previous \
  || fail "buf breaking: the API breaks clients of the previous release (proto/previous)"
echo "polyglot: buf breaking proto --against proto/previous: compatible"

# 2. The proto jar carries the .proto and the descriptor set.
jar=$(ls proto/target/llmproxy-proto-*.jar 2>/dev/null | grep -v -e '-sources' -e '-javadoc' | head -n 1 || true)
[ -n "$jar" ] || fail "no proto/target/llmproxy-proto-*.jar (expected: ./mvnw install first)"
"$PY" - "$jar" <<'PYEOF' || fail "$jar lacks the .proto or the descriptor set"
import sys, zipfile
from google.protobuf import descriptor_pb2
jar = zipfile.ZipFile(sys.argv[1])
proto = jar.read("llmproxy/v1/llmproxy.proto").decode()
assert "service LlmProxy" in proto
files = descriptor_pb2.FileDescriptorSet.FromString(jar.read("llmproxy/v1/llmproxy.desc")).file
assert [f.name for f in files] == ["google/protobuf/struct.proto", "llmproxy/v1/llmproxy.proto"], [f.name for f in files]
assert [m.name for m in files[-1].service[0].method] == ["Complete", "StreamComplete"]
PYEOF
echo "polyglot: $jar carries llmproxy/v1/llmproxy.proto and llmproxy/v1/llmproxy.desc"

# 3. The demo on a free loopback port.
port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
work=$(mktemp -d)
java -jar server/target/llmproxy-server.jar --port "$port" >"$work/proxy.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 150); do
  grep -q "listening on" "$work/proxy.log" && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/proxy.log"; fail "the demo exited early"; }
  sleep 0.2
done
grep -q "listening on" "$work/proxy.log" || { cat "$work/proxy.log"; fail "the demo did not start"; }
target="127.0.0.1:$port"

# 4. Python and Node: Complete, then StreamComplete printed as it arrives (>= 5 reads over >= 200 ms:
#    the demo produces a token every 25 ms).
check_client() { # name output
  local complete stream upstream
  complete=$(sed -n 's/^complete: //p' <<<"$2")
  stream=$(sed -n 's/^stream: //p' <<<"$2")
  upstream=$(sed -n 's/^upstream: //p' <<<"$2")
  [ -n "$complete" ] || fail "$1: no completion printed"
  [ "$stream" = "$complete" ] || fail "$1: streamed text differs from Complete: '$stream' vs '$complete'"
  case "$upstream" in default-sim-*) ;; *) fail "$1: upstream '$upstream' (expected: default-sim-N)" ;; esac
}
prompt="Hello from every language"
rm -rf clients/python/llmproxy/v1
"$PY" clients/python/gen_stubs.py --from "$jar"
py_out=$(timeout 90 "$PY" .ci/arrivals.py "stream: " 5 200 -- \
  "$PY" clients/python/client.py --target "$target" --max-tokens 24 "$prompt") || fail "python client failed"
check_client python "$py_out"
node_out=$(timeout 90 "$PY" .ci/arrivals.py "stream: " 5 200 -- \
  node clients/node/client.js --target "$target" --max-tokens 24 "$prompt") || fail "node client failed"
check_client node "$node_out"
[ "$(sed -n 's/^complete: //p' <<<"$py_out")" = "$(sed -n 's/^complete: //p' <<<"$node_out")" ] \
  || fail "python and node got different text for the same request"
echo "polyglot: python and node streamed the same 24 tokens that Complete returned"

for client in "$PY clients/python/client.py" "node clients/node/client.js"; do
  if timeout 60 $client --target "$target" --model no-such-model "x" >/dev/null 2>"$work/err"; then
    fail "$client: an unknown model was accepted"
  fi
  grep -q '^error: NOT_FOUND: ' "$work/err" || { cat "$work/err"; fail "$client: expected error: NOT_FOUND"; }
done
echo "polyglot: both clients report a failed call as 'error: CODE: description' and exit 1"

# 5. The tool-calling examples: both loops call the two tools with the same (deterministic) arguments,
#    feed the results back, and end with the model's answer.
check_tools() { # name output
  grep -q '^tool call: get_weather {' <<<"$2" || fail "$1: no get_weather tool call printed"
  grep -q '^tool call: get_time {' <<<"$2" || fail "$1: no get_time tool call printed"
  grep -q '^answer: [^ ]' <<<"$2" || fail "$1: no answer after the tool results"
}
py_tools=$(timeout 90 "$PY" clients/python/tool_calling.py --target "$target") || fail "python tool_calling.py failed"
check_tools python "$py_tools"
node_tools=$(timeout 90 node clients/node/tool_calling.js --target "$target") || fail "node tool_calling.js failed"
check_tools node "$node_tools"
[ "$(grep '^tool call: ' <<<"$py_tools")" = "$(grep '^tool call: ' <<<"$node_tools")" ] \
  || fail "python and node got different tool calls for the same request"
echo "polyglot: python and node ran a tool-calling loop: two tool calls, their results, an answer"

# 6. Every `npx buf curl` command of README's Debugging section, as written, against the demo.
"$PY" - README.md >"$work/commands" <<'PYEOF'
import sys
text = open(sys.argv[1]).read()
block = text.split("<!-- polyglot.sh: buf curl commands begin -->")[1].split("<!-- polyglot.sh: buf curl commands end -->")[0]
command = ""
for line in block.splitlines():
    command += line.rstrip("\\").strip() + " " if command or line.startswith("npx buf curl") else ""
    if command and not line.endswith("\\"):
        print(command.strip())
        command = ""
PYEOF
count=0
while IFS= read -r command; do
  run=${command/#npx buf/$tools/buf}
  run=${run//127.0.0.1:50051/$target}
  out=$(timeout 30 bash -c "$run" 2>&1) || { echo "$out"; fail "README command failed: $command"; }
  case "$command" in
    *--list-services*) expect='llmproxy.v1.LlmProxy' ;;
    *--list-methods*) expect='llmproxy.v1.LlmProxy/StreamComplete' ;;
    *" -v "*/Complete) expect='llmproxy-upstream' ;;
    */StreamComplete) expect='"index": 7' ;;
    */Health/Check) expect='SERVING' ;;
    *) expect='' ;;
  esac
  [ -z "$expect" ] || grep -qi -- "$expect" <<<"$out" || { echo "$out"; fail "README command did not print '$expect': $command"; }
  count=$((count + 1))
done <"$work/commands"
[ "$count" -ge 5 ] || fail "found $count buf curl commands in README (expected: 5)"
echo "polyglot: README's $count buf curl commands work against the demo"
