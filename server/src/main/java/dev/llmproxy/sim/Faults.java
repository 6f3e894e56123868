package dev.llmproxy.sim;

import static java.util.Objects.requireNonNull;

import io.grpc.Status;

/**
 * Faults that a {@link SimulatedBackend} injects, each independent of the others.
 *
 * <ul>
 *   <li>{@code failRate}: the share of calls (0 to 1, drawn at random per call) that fail with
 *       {@code failCode} at once, before any token and without response headers (a trailers-only
 *       response), so a proxy may still retry them.
 *   <li>{@code failAfterTokens}: a call that would produce more than this many tokens sends that many,
 *       then fails with {@code failAfterCode} when the next token is due. {@code -1} turns it off;
 *       {@code 0} fails at the time of the first token, before any header. A unary {@code Complete}
 *       fails at the same point in time.
 *   <li>{@code stallAfterTokens}: a call that would produce more than this many tokens sends that many,
 *       then sends nothing more until the client cancels or its deadline passes. {@code -1} turns it
 *       off. A unary {@code Complete} never answers.
 * </ul>
 *
 * A call whose generation ends at or before the token limit of a fault completes normally.
 * When both token faults are set, the lower limit applies; at equal limits the failure wins.
 */
public record Faults(
    double failRate,
    Status.Code failCode,
    int failAfterTokens,
    Status.Code failAfterCode,
    int stallAfterTokens) {

  private static final Faults NONE =
      new Faults(0, Status.Code.UNAVAILABLE, -1, Status.Code.INTERNAL, -1);

  /** Validates every field. */
  public Faults {
    if (!(failRate >= 0 && failRate <= 1)) {
      throw new IllegalArgumentException("failRate: " + failRate + " (expected: 0 to 1)");
    }
    requireNonError("failCode", failCode);
    if (failAfterTokens < -1) {
      throw new IllegalArgumentException(
          "failAfterTokens: " + failAfterTokens + " (expected: >= 0, or -1 for off)");
    }
    requireNonError("failAfterCode", failAfterCode);
    if (stallAfterTokens < -1) {
      throw new IllegalArgumentException(
          "stallAfterTokens: " + stallAfterTokens + " (expected: >= 0, or -1 for off)");
    }
  }

  /** No faults: every call is served. */
  public static Faults none() {
    return NONE;
  }

  /** Fails the given share of calls with {@code code} before the first token. */
  public Faults withFailRate(double rate, Status.Code code) {
    return new Faults(rate, code, failAfterTokens, failAfterCode, stallAfterTokens);
  }

  /** Fails calls with {@code code} after {@code tokens} tokens ({@code -1}: off). */
  public Faults withFailAfterTokens(int tokens, Status.Code code) {
    return new Faults(failRate, failCode, tokens, code, stallAfterTokens);
  }

  /** Stalls calls after {@code tokens} tokens until they are cancelled ({@code -1}: off). */
  public Faults withStallAfterTokens(int tokens) {
    return new Faults(failRate, failCode, failAfterTokens, failAfterCode, tokens);
  }

  private static void requireNonError(String field, Status.Code code) {
    requireNonNull(code, field);
    if (code == Status.Code.OK) {
      throw new IllegalArgumentException(field + ": OK (expected: an error code)");
    }
  }
}
