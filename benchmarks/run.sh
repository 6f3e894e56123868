#!/usr/bin/env bash
# One command per benchmark scenario, from the repository root:
#   benchmarks/run.sh overhead | relay | many-streams | scale | load ... | peers | jmh [JMH options]
# Flags after the scenario name go to it (see benchmarks/README.md). Builds the jars if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -eq 0 ]; then
  set -- --help
fi
if [ "$1" = peers ]; then
  shift
  exec benchmarks/peers.sh "$@"
fi
if [ ! -f benchmarks/target/llmproxy-bench.jar ] || [ ! -f server/target/llmproxy-server.jar ]; then
  ./mvnw -B -q -DskipTests install
fi
exec java -Xms512m -Xmx2g -jar benchmarks/target/llmproxy-bench.jar "$@"
