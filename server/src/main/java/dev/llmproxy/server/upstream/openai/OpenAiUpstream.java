package dev.llmproxy.server.upstream.openai;

import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.inprocess.InProcessSocketAddress;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.concurrent.TimeUnit;

/**
 * One OpenAI-compatible upstream as the route's gRPC channel sees it: an in-process gRPC server at
 * its own address, serving {@code llmproxy.v1.LlmProxy} by translating each call to HTTP, and the
 * {@code grpc.health.v1} service fed by polling the upstream's health URL. Because it is one
 * address of the channel like any gRPC upstream, the route's load-balancing policy, health
 * checking, outlier ejection, failover and stall detection apply to it unchanged.
 */
final class OpenAiUpstream implements AutoCloseable {
  private final OpenAiEndpoint endpoint;
  private final InProcessSocketAddress address;
  private final Server server;
  private final EndpointHealthService health;
  private final HttpHealthPoller poller;

  /**
   * Starts the server {@code builder} describes (in-process at {@code address}, or a network one
   * for the {@code bridge} command); {@code poller} (may be {@code null}: always SERVING) is
   * started and closed with it and publishes to {@code health}.
   */
  OpenAiUpstream(OpenAiEndpoint endpoint, ServerBuilder<?> builder, InProcessSocketAddress address,
      EndpointHealthService health, HttpHealthPoller poller) {
    this.endpoint = endpoint;
    this.address = address;
    this.health = health;
    this.poller = poller;
    try {
      this.server = builder
          .directExecutor()
          .addService(OpenAiTranslatorService.definition(endpoint))
          .addService(health)
          .build()
          .start();
    } catch (IOException e) {
      throw new UncheckedIOException("in-process server for upstream " + endpoint.name(), e);
    }
    if (poller == null) {
      health.set(ServingStatus.SERVING);
    } else {
      poller.start();
    }
  }

  /** Its in-process address ({@code null} for a bridge's network server). */
  InProcessSocketAddress address() {
    return address;
  }

  Server server() {
    return server;
  }

  OpenAiEndpoint endpoint() {
    return endpoint;
  }

  /** The status of its last health poll, or {@code null} before the first. */
  ServingStatus health() {
    return health.status();
  }

  /** Stops polling and taking new calls; calls in flight finish (or end with the proxy). */
  void shutdown() {
    if (poller != null) {
      poller.close();
    }
    health.close();
    server.shutdown();
  }

  @Override
  public void close() {
    shutdown();
    server.shutdownNow();
    try {
      server.awaitTermination(1, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
