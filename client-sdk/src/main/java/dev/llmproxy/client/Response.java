package dev.llmproxy.client;

import static java.util.Objects.requireNonNull;

/**
 * A result with the response metadata it came with: cache status, upstream, remaining quota.
 *
 * @param value the result, for example a {@link dev.llmproxy.v1.Completion}
 * @param metadata what the response headers said
 * @param <T> the type of the result
 */
public record Response<T>(T value, ResponseMetadata metadata) {
  /**
   * Checks that neither part is null.
   *
   * @param value the result
   * @param metadata the response metadata
   */
  public Response {
    requireNonNull(value, "value");
    requireNonNull(metadata, "metadata");
  }
}
