package dev.llmproxy.client;

import static java.util.Objects.requireNonNull;

import io.grpc.Status;

/**
 * The proxy knows the caller's API key but does not let it use what the request asked for
 * ({@code PERMISSION_DENIED}): typically a model outside the key's allowed models. Retrying with the
 * same key and model does not help; another model, or a key allowed to use this one, may.
 */
public final class PermissionDeniedException extends LlmProxyException {
  private static final long serialVersionUID = 1L;

  private final String model;

  PermissionDeniedException(Status status, ResponseMetadata metadata, String model) {
    super(status, metadata);
    this.model = requireNonNull(model, "model");
  }

  /**
   * The model the request asked for.
   *
   * @return the model; empty if the request asked for the default route
   */
  public String model() {
    return model;
  }
}
