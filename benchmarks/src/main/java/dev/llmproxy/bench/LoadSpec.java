package dev.llmproxy.bench;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One load run: what to call, where, and how hard.
 *
 * @param targets {@code host:port} of the servers to call; calls are spread over them in turn
 *     (several simulated upstreams when measuring "direct", one proxy otherwise)
 * @param stream {@code StreamComplete} if true, {@code Complete} otherwise
 * @param openLoop fixed arrival rate ({@code load} calls per second, latency measured from each
 *     call's intended start, so a stalled server cannot hide its queue) if true; fixed concurrency
 *     ({@code load} calls in flight, each starting when the previous one ends) otherwise
 * @param totalCalls stop after this many calls (0: no limit); with a closed loop of N and N calls,
 *     every worker makes exactly one call, which is how many long streams are held open at once
 * @param connections HTTP/2 connections per target
 */
record LoadSpec(List<String> targets, boolean stream, boolean openLoop, double load, Duration warmup,
    Duration duration, long totalCalls, int maxTokens, String model, int connections,
    Map<String, String> headers, Duration callTimeout) {

  LoadSpec {
    targets = List.copyOf(targets);
    headers = Map.copyOf(headers);
    if (targets.isEmpty()) {
      throw new IllegalArgumentException("targets: none (expected: at least one host:port)");
    }
    if (!(load > 0)) {
      throw new IllegalArgumentException("load: " + load + " (expected: > 0)");
    }
    if (connections < 1) {
      throw new IllegalArgumentException("connections: " + connections + " (expected: >= 1)");
    }
    Objects.requireNonNull(model, "model");
  }

  String rpc() {
    return stream ? "StreamComplete" : "Complete";
  }

  String mode() {
    return openLoop ? "open" : "closed";
  }

  LoadSpec withTargets(List<String> newTargets) {
    return new LoadSpec(newTargets, stream, openLoop, load, warmup, duration, totalCalls, maxTokens, model,
        connections, headers, callTimeout);
  }

  /** The same load for {@code newDuration} with no warm-up of its own. */
  LoadSpec measuredFor(Duration newDuration) {
    return new LoadSpec(targets, stream, openLoop, load, Duration.ZERO, newDuration, totalCalls, maxTokens, model,
        connections, headers, callTimeout);
  }

  LoadSpec withLoad(double newLoad) {
    return new LoadSpec(targets, stream, openLoop, newLoad, warmup, duration, totalCalls, maxTokens, model,
        connections, headers, callTimeout);
  }
}
