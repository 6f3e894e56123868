package dev.llmproxy.server.config;

import java.time.Duration;

/**
 * When an upstream counts as stalled: no first chunk within {@code firstToken} of the call's start,
 * or no next chunk within {@code betweenTokens} of asking for it. Time the proxy spends waiting for a
 * slow client to read does not count. A stalled upstream call is cancelled; before the first chunk
 * the call fails over, after it the client gets UNAVAILABLE. {@link Duration#ZERO} turns a limit off.
 *
 * <p>{@code Complete} has one response message that arrives when the whole answer is done, so it
 * is due within {@code firstToken + max_tokens * betweenTokens}.
 *
 * <p>{@code maxCall} bounds a call whose client set no deadline: its upstream calls get that
 * deadline, so an upstream that accepts a connection and then says nothing (and a {@code Complete}
 * whose stall limit is hours long) cannot hold the call forever. A client's own deadline always
 * wins. {@link Duration#ZERO} turns it off.
 */
public record StallTimeouts(Duration firstToken, Duration betweenTokens, Duration maxCall) {
  static final Duration MAX = Duration.ofHours(1);
  static final Duration DEFAULT_MAX_CALL = Duration.ofMinutes(10);

  public StallTimeouts {
    ConfigNode.checked("timeouts.first_token", firstToken, Duration.ZERO, MAX);
    ConfigNode.checked("timeouts.between_tokens", betweenTokens, Duration.ZERO, MAX);
    ConfigNode.checked("timeouts.max_call", maxCall, Duration.ZERO, Duration.ofHours(24));
  }

  /** With the default {@code max_call} (10 minutes). */
  public StallTimeouts(Duration firstToken, Duration betweenTokens) {
    this(firstToken, betweenTokens, DEFAULT_MAX_CALL);
  }

  public static StallTimeouts defaults() {
    return new StallTimeouts(Duration.ofSeconds(30), Duration.ofSeconds(10));
  }

  /** No stall limits (the default {@code max_call} stays). */
  public static StallTimeouts off() {
    return new StallTimeouts(Duration.ZERO, Duration.ZERO);
  }

  public boolean isOff() {
    return firstToken.isZero() && betweenTokens.isZero();
  }

  /** Reads {@code timeouts: {first_token: 30s, between_tokens: 10s, max_call: 10m}}. */
  static StallTimeouts from(ConfigNode node) {
    StallTimeouts d = defaults();
    Duration first = node.duration("first_token", d.firstToken(), Duration.ZERO, MAX);
    Duration between = node.duration("between_tokens", d.betweenTokens(), Duration.ZERO, MAX);
    Duration maxCall = node.duration("max_call", d.maxCall(), Duration.ZERO, Duration.ofHours(24));
    node.rejectUnknownKeys();
    return new StallTimeouts(first, between, maxCall);
  }
}
