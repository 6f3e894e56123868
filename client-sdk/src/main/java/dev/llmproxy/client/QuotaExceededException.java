package dev.llmproxy.client;

import io.grpc.Status;
import java.time.Duration;
import java.util.Optional;

/**
 * The API key ran out of quota ({@code RESOURCE_EXHAUSTED} with quota details): too many requests or
 * tokens in the current window, or too many streams open at once. The client does not retry it;
 * {@link #retryAfter()} says when the proxy expects the key to have quota again.
 *
 * <pre>{@code
 * try {
 *   client.complete(request);
 * } catch (QuotaExceededException e) {
 *   Duration wait = e.retryAfter().orElse(Duration.ofSeconds(1));
 *   log.warn("key {} is over its {} limit; next try in {}", e.keyId().orElse("?"), e.limit(), wait);
 * }
 * }</pre>
 */
public final class QuotaExceededException extends LlmProxyException {
  private static final long serialVersionUID = 1L;

  private final QuotaLimit limit;
  private final String limitDescription;
  private final String keyId;
  private final Duration retryAfter;

  QuotaExceededException(Status status, ResponseMetadata metadata, QuotaLimit limit, String limitDescription,
      String keyId, Duration retryAfter) {
    super(status, metadata);
    this.limit = limit;
    this.limitDescription = limitDescription;
    this.keyId = keyId;
    this.retryAfter = retryAfter;
  }

  /**
   * The limit the key ran into.
   *
   * @return the limit; {@link QuotaLimit#UNKNOWN} if the proxy named none this SDK knows
   */
  public QuotaLimit limit() {
    return limit;
  }

  /**
   * The proxy's description of the limit (from the {@code google.rpc.QuotaFailure} detail), or the
   * status description if the error carried no quota detail.
   *
   * @return the description of the limit
   */
  public String limitDescription() {
    return limitDescription;
  }

  /**
   * The id of the API key that ran out, never the key itself.
   *
   * @return the key's id; empty if the proxy did not say
   */
  public Optional<String> keyId() {
    return Optional.ofNullable(keyId);
  }

  /**
   * How long to wait before the key has quota again: the {@code google.rpc.RetryInfo} delay, or else
   * the {@code grpc-retry-pushback-ms} trailer.
   *
   * @return the wait; empty if the proxy gave neither
   */
  public Optional<Duration> retryAfter() {
    return Optional.ofNullable(retryAfter);
  }
}
