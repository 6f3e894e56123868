package dev.llmproxy.sim;

import static java.util.Objects.requireNonNull;

import io.grpc.Status;

/**
 * Faults that a simulated backend injects, each independent of the others.
 *
 * <p>Both protocols:
 * <ul>
 *   <li>{@code failRate}: the share of calls (0 to 1, drawn at random per call) that fail with
 *       {@code failCode} at once, before any token and without response headers (a trailers-only
 *       response), so a proxy may still retry them. The OpenAI-compatible backend answers with the
 *       HTTP status of the code ({@code UNAVAILABLE} 503, {@code RESOURCE_EXHAUSTED} 429, …).
 *   <li>{@code failAfterTokens}: a call that would produce more than this many tokens sends that many,
 *       then fails with {@code failAfterCode} when the next token is due. {@code -1} turns it off;
 *       {@code 0} fails at the time of the first token, before any header. A unary {@code Complete}
 *       fails at the same point in time. An OpenAI stream that has sent its headers ends with an SSE
 *       {@code error} event instead.
 *   <li>{@code stallAfterTokens}: a call that would produce more than this many tokens sends that many,
 *       then sends nothing more until the client cancels or its deadline passes. {@code -1} turns it
 *       off. A unary {@code Complete} never answers.
 * </ul>
 *
 * <p>Only the OpenAI-compatible backend (the gRPC backend ignores them):
 * <ul>
 *   <li>{@code httpErrorRate}: the share of requests answered at once with HTTP {@code httpErrorStatus}
 *       (400 to 599) and an OpenAI error body, before admission.
 *   <li>{@code retryAfterSeconds}: sent as {@code Retry-After} on every 429 and 503 answer; {@code -1}
 *       sends none.
 *   <li>{@code malformedAfterTokens}: after this many tokens a stream sends one event that is not
 *       JSON ({@code data: {not json}), then goes on; a non-streamed answer is not JSON at all.
 *       {@code -1} turns it off.
 *   <li>{@code closeAfterTokens}: after this many tokens the backend closes the TCP connection without
 *       ending the response, like a crashed engine. {@code -1} turns it off.
 * </ul>
 *
 * A call whose generation ends at or before the token limit of a fault completes normally.
 * When several token faults are due at once, close wins over failure, failure over stall.
 */
public record Faults(
    double failRate,
    Status.Code failCode,
    int failAfterTokens,
    Status.Code failAfterCode,
    int stallAfterTokens,
    double httpErrorRate,
    int httpErrorStatus,
    int retryAfterSeconds,
    int malformedAfterTokens,
    int closeAfterTokens) {

  private static final Faults NONE =
      new Faults(0, Status.Code.UNAVAILABLE, -1, Status.Code.INTERNAL, -1);

  /** Validates every field. */
  public Faults {
    requireRate("failRate", failRate);
    requireNonError("failCode", failCode);
    requireTokens("failAfterTokens", failAfterTokens);
    requireNonError("failAfterCode", failAfterCode);
    requireTokens("stallAfterTokens", stallAfterTokens);
    requireRate("httpErrorRate", httpErrorRate);
    if (httpErrorStatus < 400 || httpErrorStatus > 599) {
      throw new IllegalArgumentException(
          "httpErrorStatus: " + httpErrorStatus + " (expected: an HTTP error status, 400 to 599)");
    }
    if (retryAfterSeconds < -1) {
      throw new IllegalArgumentException(
          "retryAfterSeconds: " + retryAfterSeconds + " (expected: >= 0, or -1 for none)");
    }
    requireTokens("malformedAfterTokens", malformedAfterTokens);
    requireTokens("closeAfterTokens", closeAfterTokens);
  }

  /** The faults of both protocols; the OpenAI-only ones off. */
  public Faults(
      double failRate,
      Status.Code failCode,
      int failAfterTokens,
      Status.Code failAfterCode,
      int stallAfterTokens) {
    this(failRate, failCode, failAfterTokens, failAfterCode, stallAfterTokens, 0, 503, -1, -1, -1);
  }

  /** No faults: every call is served. */
  public static Faults none() {
    return NONE;
  }

  /** Fails the given share of calls with {@code code} before the first token. */
  public Faults withFailRate(double rate, Status.Code code) {
    return new Faults(rate, code, failAfterTokens, failAfterCode, stallAfterTokens,
        httpErrorRate, httpErrorStatus, retryAfterSeconds, malformedAfterTokens, closeAfterTokens);
  }

  /** Fails calls with {@code code} after {@code tokens} tokens ({@code -1}: off). */
  public Faults withFailAfterTokens(int tokens, Status.Code code) {
    return new Faults(failRate, failCode, tokens, code, stallAfterTokens,
        httpErrorRate, httpErrorStatus, retryAfterSeconds, malformedAfterTokens, closeAfterTokens);
  }

  /** Stalls calls after {@code tokens} tokens until they are cancelled ({@code -1}: off). */
  public Faults withStallAfterTokens(int tokens) {
    return new Faults(failRate, failCode, failAfterTokens, failAfterCode, tokens,
        httpErrorRate, httpErrorStatus, retryAfterSeconds, malformedAfterTokens, closeAfterTokens);
  }

  /** Answers the given share of HTTP requests with {@code status} before admission (OpenAI only). */
  public Faults withHttpError(double rate, int status) {
    return new Faults(failRate, failCode, failAfterTokens, failAfterCode, stallAfterTokens,
        rate, status, retryAfterSeconds, malformedAfterTokens, closeAfterTokens);
  }

  /** Sends {@code Retry-After: seconds} with 429 and 503 answers ({@code -1}: none; OpenAI only). */
  public Faults withRetryAfterSeconds(int seconds) {
    return new Faults(failRate, failCode, failAfterTokens, failAfterCode, stallAfterTokens,
        httpErrorRate, httpErrorStatus, seconds, malformedAfterTokens, closeAfterTokens);
  }

  /** Sends one malformed event after {@code tokens} tokens ({@code -1}: off; OpenAI only). */
  public Faults withMalformedAfterTokens(int tokens) {
    return new Faults(failRate, failCode, failAfterTokens, failAfterCode, stallAfterTokens,
        httpErrorRate, httpErrorStatus, retryAfterSeconds, tokens, closeAfterTokens);
  }

  /** Closes the connection after {@code tokens} tokens ({@code -1}: off; OpenAI only). */
  public Faults withCloseAfterTokens(int tokens) {
    return new Faults(failRate, failCode, failAfterTokens, failAfterCode, stallAfterTokens,
        httpErrorRate, httpErrorStatus, retryAfterSeconds, malformedAfterTokens, tokens);
  }

  private static void requireRate(String field, double rate) {
    if (!(rate >= 0 && rate <= 1)) {
      throw new IllegalArgumentException(field + ": " + rate + " (expected: 0 to 1)");
    }
  }

  private static void requireTokens(String field, int tokens) {
    if (tokens < -1) {
      throw new IllegalArgumentException(
          field + ": " + tokens + " (expected: >= 0, or -1 for off)");
    }
  }

  private static void requireNonError(String field, Status.Code code) {
    requireNonNull(code, field);
    if (code == Status.Code.OK) {
      throw new IllegalArgumentException(field + ": OK (expected: an error code)");
    }
  }
}
