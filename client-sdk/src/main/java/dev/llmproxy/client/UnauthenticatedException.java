package dev.llmproxy.client;

import io.grpc.Status;

/**
 * The proxy did not accept the caller's identity ({@code UNAUTHENTICATED}): the API key is missing
 * where keys are required, or a key was presented that the proxy does not know. Retrying with the same
 * key does not help.
 */
public final class UnauthenticatedException extends LlmProxyException {
  private static final long serialVersionUID = 1L;

  UnauthenticatedException(Status status, ResponseMetadata metadata) {
    super(status, metadata);
  }
}
