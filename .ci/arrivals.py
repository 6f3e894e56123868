#!/usr/bin/python3
"""Runs a client command and checks that it printed the streamed tokens as they arrived, not at the end.

Usage: arrivals.py MARKER MIN_PIECES MIN_SPREAD_MS -- COMMAND...

Reads the command's stdout as it is written, timestamping every read. Passes the output through to
stdout, then exits non-zero (with a reason on stderr) unless the text after MARKER arrived in at least
MIN_PIECES separate reads spread over at least MIN_SPREAD_MS, or if the command failed. Bounded:
the command is killed after 60 seconds.
"""
import os
import subprocess
import sys
import time


def main():
    marker, min_pieces, min_spread_ms = sys.argv[1].encode(), int(sys.argv[2]), float(sys.argv[3])
    command = sys.argv[sys.argv.index("--") + 1:]
    process = subprocess.Popen(command, stdout=subprocess.PIPE)
    deadline = time.monotonic() + 60
    output, pieces = b"", []
    while True:
        if time.monotonic() > deadline:
            process.kill()
            sys.exit("arrivals: %s ran over 60 s" % command[0])
        data = os.read(process.stdout.fileno(), 65536)
        if not data:
            break
        before = len(output)
        output += data
        start = output.find(marker)
        if start >= 0 and len(output) > start + len(marker):
            # Count only the bytes of this read that come after the marker.
            if len(output) - max(before, start + len(marker)) > 0:
                pieces.append(time.monotonic())
    status = process.wait(timeout=10)
    sys.stdout.write(output.decode("utf-8", "replace"))
    sys.stdout.flush()
    if status != 0:
        sys.exit("arrivals: %s exited with %d" % (command[0], status))
    spread_ms = (pieces[-1] - pieces[0]) * 1000 if pieces else 0
    if len(pieces) < min_pieces or spread_ms < min_spread_ms:
        sys.exit("arrivals: the stream arrived in %d reads over %.0f ms (expected: >= %d reads over >= %.0f ms)"
                 % (len(pieces), spread_ms, min_pieces, min_spread_ms))
    print("arrivals: streamed text arrived in %d reads over %.0f ms" % (len(pieces), spread_ms), file=sys.stderr)


if __name__ == "__main__":
    main()
