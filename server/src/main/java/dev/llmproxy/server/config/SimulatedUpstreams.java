package dev.llmproxy.server.config;

import java.time.Duration;

/**
 * Simulated backends started inside the proxy process for a route: the demo's upstreams, and a
 * way to try a config without a GPU.
 */
public record SimulatedUpstreams(int count, Duration timeToFirstToken, Duration interTokenLatency,
    Duration jitter, int maxConcurrency) {

  static SimulatedUpstreams from(ConfigNode node) {
    SimulatedUpstreams sim = new SimulatedUpstreams(
        node.integer("count", 3, 1, 64),
        node.duration("ttft", Duration.ofMillis(150)),
        node.duration("itl", Duration.ofMillis(25)),
        node.duration("jitter", Duration.ZERO),
        node.integer("max_concurrency", 0, 0, 1_000_000));
    node.rejectUnknownKeys();
    return sim;
  }
}
