package dev.llmproxy.server.config;

import java.time.Duration;

/**
 * What one client, or all of them together, may make the listener hold: streams per connection,
 * the rate of stream resets, and the bytes of request messages that have started but not finished
 * arriving.
 *
 * @param maxConcurrentStreams streams one client connection may have open at once (HTTP/2
 *     {@code SETTINGS_MAX_CONCURRENT_STREAMS}); a grpc client queues the calls past it
 * @param maxResets RST_STREAM frames a client connection may send per {@code resetWindow}; past it
 *     the connection gets GOAWAY {@code ENHANCE_YOUR_CALM} (HTTP/2 rapid reset, CVE-2023-44487);
 *     0 turns the limit off
 * @param resetWindow the window {@code maxResets} is counted over (whole seconds)
 * @param maxIncompleteRequestBytes bytes of request messages begun but not yet complete, over all
 *     calls of the proxy; a call that would take more, and any new call while the budget is spent,
 *     is refused with RESOURCE_EXHAUSTED
 * @param maxIncompleteRequestBytesPerConnection the same, for the calls of one client connection,
 *     so that one connection cannot spend the whole budget and lock out every other client
 */
public record ServerLimits(int maxConcurrentStreams, int maxResets, Duration resetWindow,
    long maxIncompleteRequestBytes, long maxIncompleteRequestBytesPerConnection) {

  public static final int DEFAULT_MAX_CONCURRENT_STREAMS = 1000;
  public static final int DEFAULT_MAX_RESETS = 200;
  public static final Duration DEFAULT_RESET_WINDOW = Duration.ofSeconds(10);
  public static final long DEFAULT_MAX_INCOMPLETE_REQUEST_BYTES = 64L << 20;
  public static final long DEFAULT_MAX_INCOMPLETE_REQUEST_BYTES_PER_CONNECTION = 16L << 20;
  private static final long MAX_BUDGET = 64L << 30;

  public ServerLimits {
    if (maxConcurrentStreams < 1) {
      throw ConfigException.invalid("server.max_concurrent_streams", maxConcurrentStreams, "at least 1");
    }
    if (maxResets < 0) {
      throw ConfigException.invalid("server.rapid_reset.max_resets", maxResets, "0 (off) or more");
    }
    ConfigNode.checked("server.rapid_reset.window", resetWindow, Duration.ofSeconds(1), Duration.ofHours(1));
    if (resetWindow.toMillis() % 1000 != 0) {
      throw ConfigException.invalid("server.rapid_reset.window", ConfigNode.format(resetWindow), "whole seconds");
    }
    if (maxIncompleteRequestBytes < 1024 || maxIncompleteRequestBytes > MAX_BUDGET) {
      throw ConfigException.invalid("server.max_incomplete_request_bytes", maxIncompleteRequestBytes,
          "an integer from 1024 to " + MAX_BUDGET);
    }
    if (maxIncompleteRequestBytesPerConnection < 1024 || maxIncompleteRequestBytesPerConnection > MAX_BUDGET) {
      throw ConfigException.invalid("server.max_incomplete_request_bytes_per_connection",
          maxIncompleteRequestBytesPerConnection, "an integer from 1024 to " + MAX_BUDGET);
    }
  }

  public static ServerLimits defaults() {
    return new ServerLimits(DEFAULT_MAX_CONCURRENT_STREAMS, DEFAULT_MAX_RESETS, DEFAULT_RESET_WINDOW,
        DEFAULT_MAX_INCOMPLETE_REQUEST_BYTES, DEFAULT_MAX_INCOMPLETE_REQUEST_BYTES_PER_CONNECTION);
  }

  public ServerLimits withMaxConcurrentStreams(int streams) {
    return new ServerLimits(streams, maxResets, resetWindow, maxIncompleteRequestBytes,
        maxIncompleteRequestBytesPerConnection);
  }

  public ServerLimits withRapidReset(int resets, Duration window) {
    return new ServerLimits(maxConcurrentStreams, resets, window, maxIncompleteRequestBytes,
        maxIncompleteRequestBytesPerConnection);
  }

  /** Both budgets for unfinished requests: all calls together, and the calls of one connection. */
  public ServerLimits withMaxIncompleteRequestBytes(long bytes, long perConnection) {
    return new ServerLimits(maxConcurrentStreams, maxResets, resetWindow, bytes, perConnection);
  }

  /**
   * Reads {@code max_concurrent_streams}, {@code rapid_reset: {...}},
   * {@code max_incomplete_request_bytes} and {@code max_incomplete_request_bytes_per_connection}.
   */
  static ServerLimits from(ConfigNode server) {
    ServerLimits d = defaults();
    int streams = server.integer("max_concurrent_streams", d.maxConcurrentStreams(), 1, Integer.MAX_VALUE);
    ConfigNode reset = server.child("rapid_reset");
    int resets = reset.integer("max_resets", d.maxResets(), 0, Integer.MAX_VALUE);
    Duration window = reset.duration("window", d.resetWindow(), Duration.ofSeconds(1), Duration.ofHours(1));
    if (window.toMillis() % 1000 != 0) {
      throw ConfigException.invalid(reset.pathOf("window"), ConfigNode.format(window), "whole seconds, such as 5s");
    }
    reset.rejectUnknownKeys();
    long budget = server.longValue("max_incomplete_request_bytes", d.maxIncompleteRequestBytes(), 1024, MAX_BUDGET);
    long perConnection = server.longValue("max_incomplete_request_bytes_per_connection",
        Math.min(budget, d.maxIncompleteRequestBytesPerConnection()), 1024, MAX_BUDGET);
    return new ServerLimits(streams, resets, window, budget, perConnection);
  }
}
