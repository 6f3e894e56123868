package dev.llmproxy.server.observability;

import io.grpc.Status;

/**
 * What is known about one call, filled in as it passes through the proxy and read by the
 * {@link CallObserver}s. Mutable and per call; written from the call's serialized
 * {@code sendHeaders}/{@code sendMessage}/{@code close} path, except {@link #route} and
 * {@link #keyId}, which may also be learned from {@code request} on another thread.
 */
public final class CallStats {
  /** The label for a route, upstream, key or cache status that the call never had. */
  public static final String NONE = "none";

  private final String method;
  private final boolean streaming;
  private final long startNanos;
  volatile String route;
  volatile String keyId;
  String upstream;
  String cache;
  long firstMessageNanos;
  int messages;
  int completionTokens = -1;
  Status.Code status;
  long endNanos;

  CallStats(String method, boolean streaming, long startNanos) {
    this.method = method;
    this.streaming = streaming;
    this.startNanos = startNanos;
  }

  /** The RPC's short name: {@code Complete} or {@code StreamComplete}. */
  public String method() {
    return method;
  }

  /** Whether the RPC streams its answer ({@code StreamComplete}). */
  public boolean streaming() {
    return streaming;
  }

  /** The route the call was resolved to, or {@link #NONE} (rejected before routing). */
  public String route() {
    String r = route;
    return r != null ? r : NONE;
  }

  /** The upstream that answered (from {@code llmproxy-upstream}), or {@link #NONE}. */
  public String upstream() {
    return upstream != null ? upstream : NONE;
  }

  /** The caller's configured key id, or {@link #NONE} for an anonymous or rejected caller. */
  public String keyId() {
    String k = keyId;
    return k != null ? k : NONE;
  }

  /** The {@code llmproxy-cache} status sent to the client, or {@link #NONE} without a cache. */
  public String cache() {
    return cache != null ? cache : NONE;
  }

  /** Response messages sent: the chunks of a stream, 1 for a completed {@code Complete}. */
  public int messages() {
    return messages;
  }

  /**
   * Tokens generated: the answer's {@code usage.completion_tokens} when it carried usage,
   * otherwise the chunks of a stream.
   */
  public int tokens() {
    if (completionTokens >= 0) {
      return completionTokens;
    }
    return streaming ? messages : 0;
  }

  /** The status the call was closed with; null while it is open. */
  public Status.Code status() {
    return status;
  }

  public long startNanos() {
    return startNanos;
  }

  /** Nanoseconds from the start of the call to its first response message; -1 if none was sent. */
  public long timeToFirstMessageNanos() {
    return messages > 0 ? firstMessageNanos - startNanos : -1;
  }

  /** Nanoseconds from the start of the call to its close. */
  public long durationNanos() {
    return endNanos - startNanos;
  }
}
