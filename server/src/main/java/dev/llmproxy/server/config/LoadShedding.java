package dev.llmproxy.server.config;

import java.time.Duration;

/**
 * A route's cap on calls in flight to its upstreams. Past {@code maxInFlight}, a call waits in a
 * queue of {@code queueSize} for up to {@code queueTimeout}, or, with the queue full (or no queue),
 * fails at once with UNAVAILABLE naming the route. Calls answered without an upstream (cache hits)
 * do not count.
 *
 * @param maxInFlight calls in flight at once; 0 for no cap
 * @param queueSize calls that may wait for a slot; 0 for none
 * @param queueTimeout how long a call may wait for a slot
 */
public record LoadShedding(int maxInFlight, int queueSize, Duration queueTimeout) {
  public static final int MAX = 1_000_000;
  static final Duration MAX_QUEUE_TIMEOUT = Duration.ofMinutes(5);

  public LoadShedding {
    if (maxInFlight < 0 || maxInFlight > MAX) {
      throw ConfigException.invalid("max_in_flight", maxInFlight, "0 (no cap) to " + MAX);
    }
    if (queueSize < 0 || queueSize > MAX) {
      throw ConfigException.invalid("queue.size", queueSize, "0 (no queue) to " + MAX);
    }
    ConfigNode.checked("queue.timeout", queueTimeout, Duration.ZERO, MAX_QUEUE_TIMEOUT);
    if (queueSize > 0 && queueTimeout.isZero()) {
      throw ConfigException.invalid("queue.timeout", "0", "a positive duration when queue.size is set");
    }
  }

  public static LoadShedding unlimited() {
    return new LoadShedding(0, 0, Duration.ZERO);
  }

  public boolean isCapped() {
    return maxInFlight > 0;
  }

  /** Reads {@code max_in_flight: 64} and {@code queue: {size: 32, timeout: 500ms}} from a route. */
  static LoadShedding from(ConfigNode route) {
    int max = route.integer("max_in_flight", 0, 0, MAX);
    ConfigNode queue = route.child("queue");
    int size = queue.integer("size", 0, 0, MAX);
    Duration timeout = queue.duration("timeout", size > 0 ? Duration.ofSeconds(1) : Duration.ZERO,
        Duration.ZERO, MAX_QUEUE_TIMEOUT);
    queue.rejectUnknownKeys();
    if (size > 0 && max == 0) {
      throw ConfigException.invalid(queue.pathOf("size"), size, "0 unless max_in_flight is set");
    }
    if (size > 0 && timeout.isZero()) {
      throw ConfigException.invalid(queue.pathOf("timeout"), "0", "a positive duration when queue.size is set");
    }
    return new LoadShedding(max, size, timeout);
  }
}
