package dev.llmproxy.client;

import io.grpc.Status;

/**
 * The call could not be served ({@code UNAVAILABLE}) after the client's retries: the proxy could not
 * be reached, or it had no healthy upstream for the route, or it shed the call because the route was
 * saturated. A later call may succeed.
 */
public final class UnavailableException extends LlmProxyException {
  private static final long serialVersionUID = 1L;

  UnavailableException(Status status, ResponseMetadata metadata) {
    super(status, metadata);
  }
}
