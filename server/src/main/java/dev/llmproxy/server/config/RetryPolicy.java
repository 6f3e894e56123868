package dev.llmproxy.server.config;

import io.grpc.Status;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Failover of a call whose upstream fails before the first chunk reached the client: the call is
 * sent again, to another upstream, up to {@code attempts} attempts in all and never past the
 * client's deadline. A stalled upstream (see {@link StallTimeouts}) always counts as retryable.
 *
 * @param attempts attempts in all, the first included; 1 turns failover off
 * @param retryableCodes upstream status codes that fail over
 */
public record RetryPolicy(int attempts, Set<Status.Code> retryableCodes) {
  public static final int MAX_ATTEMPTS = 10;
  private static final Set<Status.Code> NEVER_RETRYABLE =
      EnumSet.of(Status.Code.OK, Status.Code.CANCELLED, Status.Code.DEADLINE_EXCEEDED);

  public RetryPolicy {
    if (attempts < 1 || attempts > MAX_ATTEMPTS) {
      throw ConfigException.invalid("retry.attempts", attempts, "an integer from 1 to " + MAX_ATTEMPTS);
    }
    retryableCodes = retryableCodes.isEmpty() ? Set.of() : Set.copyOf(EnumSet.copyOf(retryableCodes));
  }

  /** Three attempts on UNAVAILABLE (down, refused, reset) and RESOURCE_EXHAUSTED (busy). */
  public static RetryPolicy defaults() {
    return new RetryPolicy(3, EnumSet.of(Status.Code.UNAVAILABLE, Status.Code.RESOURCE_EXHAUSTED));
  }

  /** Whether an upstream status with this code may be sent to another upstream. */
  public boolean retries(Status.Code code) {
    return retryableCodes.contains(code);
  }

  /**
   * Reads {@code retry: {attempts: 3, codes: [UNAVAILABLE, RESOURCE_EXHAUSTED]}} (not {@code on:},
   * which YAML reads as {@code true}).
   */
  static RetryPolicy from(ConfigNode node) {
    RetryPolicy defaults = defaults();
    int attempts = node.integer("attempts", defaults.attempts(), 1, MAX_ATTEMPTS);
    Set<Status.Code> codes = node.has("codes")
        ? EnumSet.noneOf(Status.Code.class) : EnumSet.copyOf(defaults.retryableCodes());
    List<Status.Code> listed = node.list("codes", RetryPolicy::code);
    codes.addAll(listed);
    node.rejectUnknownKeys();
    return new RetryPolicy(attempts, codes);
  }

  private static Status.Code code(String path, Object value) {
    String expected = "a status code such as UNAVAILABLE or RESOURCE_EXHAUSTED; not OK, CANCELLED or "
        + "DEADLINE_EXCEEDED, which are the client's doing";
    if (value instanceof String s) {
      for (Status.Code code : Status.Code.values()) {
        if (code.name().equals(s.trim().toUpperCase(Locale.ROOT)) && !NEVER_RETRYABLE.contains(code)) {
          return code;
        }
      }
    }
    throw ConfigException.invalid(path, value, expected);
  }
}
