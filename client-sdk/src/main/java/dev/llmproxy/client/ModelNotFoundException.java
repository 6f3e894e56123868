package dev.llmproxy.client;

import static java.util.Objects.requireNonNull;

import io.grpc.Status;

/** The proxy has no route for the requested model ({@code NOT_FOUND}). */
public final class ModelNotFoundException extends LlmProxyException {
  private static final long serialVersionUID = 1L;

  private final String model;

  ModelNotFoundException(Status status, ResponseMetadata metadata, String model) {
    super(status, metadata);
    this.model = requireNonNull(model, "model");
  }

  /**
   * The model the request asked for.
   *
   * @return the model; empty if the request asked for the default route and there is none
   */
  public String model() {
    return model;
  }
}
