#!/usr/bin/env bash
# Smoke test of the README's first command: the demo jar starts with no config and answers a
# streamed completion through server reflection, called with `buf curl` (the npm package), the way
# a user would with grpcurl. Bounded in time; stops only the process it started.
set -euo pipefail
cd "$(dirname "$0")/.."

tools=.ci/node_modules/.bin
if [ ! -x "$tools/buf" ]; then
  (cd .ci && npm install --silent --no-audit --no-fund --prefix . @bufbuild/buf@1.75.0 >/dev/null)
fi

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log=$(mktemp)
java -jar server/target/llmproxy-server.jar --port "$port" >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; rm -f "$log"' EXIT

for _ in $(seq 1 100); do
  grep -q "listening on" "$log" && break
  kill -0 "$pid" 2>/dev/null || { cat "$log"; echo "smoke: proxy exited early" >&2; exit 1; }
  sleep 0.2
done
grep -q "listening on" "$log" || { cat "$log"; echo "smoke: proxy did not start" >&2; exit 1; }

curl_buf() { timeout 30 "$tools/buf" curl --protocol grpc --http2-prior-knowledge "$@"; }
url="http://127.0.0.1:$port/llmproxy.v1.LlmProxy"

out=$(curl_buf -d '{"prompt": "Hello, proxy", "max_tokens": 8}' "$url/StreamComplete")
chunks=$(grep -c '"index"\|"text"' <<<"$out" || true)
grep -q '"finishReason": "FINISH_REASON_LENGTH"' <<<"$out" || { echo "$out"; echo "smoke: stream did not finish" >&2; exit 1; }
out=$(curl_buf -d '{"prompt": "Hello, proxy", "max_tokens": 8}' "$url/Complete")
grep -q '"completionTokens": 8' <<<"$out" || { echo "$out"; echo "smoke: Complete failed" >&2; exit 1; }
cached='{"prompt": "Hello, cache", "max_tokens": 8, "seed": 7}'
curl_buf -d "$cached" "$url/StreamComplete" >/dev/null
out=$(curl_buf -v -d "$cached" "$url/StreamComplete" 2>&1)
grep -qi 'llmproxy-cache: hit' <<<"$out" || { echo "$out"; echo "smoke: a repeated deterministic request was not a cache hit" >&2; exit 1; }
if curl_buf -d '{"model": "no-such-model", "prompt": "x"}' "$url/Complete" >"$log.err" 2>&1; then
  echo "smoke: unknown model was accepted" >&2; exit 1
fi
grep -q 'not_found' "$log.err" || { cat "$log.err"; echo "smoke: expected NOT_FOUND" >&2; exit 1; }
rm -f "$log.err"
echo "smoke: demo answered Complete and StreamComplete ($chunks chunk lines) over reflection, and from its cache"
