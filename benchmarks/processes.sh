# Sourced by ab.sh and syscalls.sh: every process the script starts goes into PIDS and is stopped by
# its PID when the script exits (also on failure), and await_port waits, bounded, for a listener.
# SCRIPT names the script in messages.
PIDS=()
stop_started() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap stop_started EXIT

await_port() {  # port: polls until something listens, at most 60 s
  for _ in $(seq 1 600); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "$SCRIPT: nothing listens on port $1 after 60 s" >&2; exit 1
}
