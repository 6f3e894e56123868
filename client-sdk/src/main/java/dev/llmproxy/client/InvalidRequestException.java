package dev.llmproxy.client;

import io.grpc.Status;
import java.util.Optional;

/**
 * The proxy rejected the request as malformed ({@code INVALID_ARGUMENT}), for example neither or both
 * of {@code prompt} and {@code messages}, or {@code max_tokens} above the route's limit. The
 * {@link #description()} names the field, the value and what was expected; {@link #field()} is the
 * field alone. Retrying the same request does not help.
 */
public final class InvalidRequestException extends LlmProxyException {
  private static final long serialVersionUID = 1L;

  private final String field;

  InvalidRequestException(Status status, ResponseMetadata metadata, String field) {
    super(status, metadata);
    this.field = field;
  }

  /**
   * The request field that was wrong, as the proxy names it: a proto field name such as
   * {@code max_tokens}, a path such as {@code messages[0].role}, or {@code prompt/messages} when the
   * two conflict. Empty if the proxy did not name one.
   *
   * @return the field, if named
   */
  public Optional<String> field() {
    return Optional.ofNullable(field);
  }
}
