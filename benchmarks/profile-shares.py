#!/usr/bin/env python3
"""Shares of a thread group's CPU samples in an async-profiler profile (collapsed stacks, taken with
the `threads` option, as `ab.sh` takes them with ASYNC_PROFILER=... PROFILE_ROUND=k).

    python3 benchmarks/profile-shares.py profile-0-round6.collapsed \
        'recycler=io/grpc/netty/shaded/io/netty/util/Recycler' 'tracer callbacks=StatsTraceContext.' \
        'write-queue flush=WriteQueue.flush' 'writev=AbstractEpollChannel$AbstractEpollUnsafe.flush0'

Each LABEL=PATTERN[|PATTERN...] prints the share of samples with a frame containing one of the
patterns (inclusive: callees count). --threads picks the threads by name (default: grpc's event
loops). --own PREFIX also prints the share spent in frames starting with PREFIX and in what they
call outside grpc and Netty (JDK, protobuf), up to the next grpc or Netty frame; grpc's forwarding
wrappers (ForwardingServerCall, ForwardingClientCall, Contexts, ServerInterceptors) count as their
caller's, since the chain's own calls go through them; the five own methods with the most such
samples follow.
"""
import argparse
import collections
import sys

FORWARDING = ("ForwardingServerCall", "ForwardingClientCall", "Contexts", "ServerInterceptors", "MethodDescriptor")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("profile")
    parser.add_argument("shares", nargs="*", metavar="LABEL=PATTERN[|PATTERN...]")
    parser.add_argument("--threads", default="grpc-default-worker", help="thread-name substring")
    parser.add_argument("--own", metavar="PREFIX", help="frame prefix of the project's own code, e.g. dev/llmproxy")
    args = parser.parse_intermixed_args()
    specs = []
    for spec in args.shares:
        label, sep, patterns = spec.partition("=")
        if not sep or not patterns:
            parser.error(f"{spec!r}: expected LABEL=PATTERN[|PATTERN...]")
        specs.append((label, patterns.split("|")))
    total, own, counts = 0, 0, [0] * len(specs)
    own_methods = collections.Counter()
    try:
        lines = open(args.profile, encoding="utf-8").read().splitlines()
    except OSError as e:
        sys.exit(f"profile-shares: {e}")
    for number, line in enumerate(lines, 1):
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            sys.exit(f"profile-shares: {args.profile}:{number}: not a collapsed stack ('frame;frame... count')")
        frames = stack.split(";")
        if args.threads not in frames[0]:
            continue
        n = int(count)
        total += n
        for i, (_, patterns) in enumerate(specs):
            if any(p in frame for frame in frames[1:] for p in patterns):
                counts[i] += n
        method = own_method(frames[1:], args.own) if args.own else None
        if method:
            own += n
            own_methods[method] += n
    if total == 0:
        sys.exit(f"profile-shares: no samples of threads named like {args.threads!r} in {args.profile}")
    print(f"{total} samples of {args.threads} threads")
    for (label, _), n in zip(specs, counts):
        print(f"{100 * n / total:5.1f}%  {label}")
    if args.own:
        print(f"{100 * own / total:5.1f}%  own code ({args.own} and what it calls outside grpc and Netty), most in:")
        for method, n in own_methods.most_common(5):
            print(f"{100 * n / total:9.1f}%  {method}")


def own_method(frames, prefix):
    """The innermost project method the sample is in (directly, or in what it called outside grpc
    and Netty); None if the sample is grpc's, Netty's or the kernel's on their own."""
    method = None
    for frame in frames:
        if frame.startswith(prefix):
            method = frame
        elif frame.startswith("io/grpc/") and not any(w in frame for w in FORWARDING):
            method = None
    return method


if __name__ == "__main__":
    main()
