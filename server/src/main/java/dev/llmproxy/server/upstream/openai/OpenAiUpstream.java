package dev.llmproxy.server.upstream.openai;

import dev.llmproxy.orca.OpenRcaService;
import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.inprocess.InProcessSocketAddress;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * One OpenAI-compatible upstream as the route's gRPC channel sees it: an in-process gRPC server at
 * its own address, serving {@code llmproxy.v1.LlmProxy} by translating each call to HTTP, and the
 * {@code grpc.health.v1} service fed by polling the upstream's health URL. Because it is one
 * address of the channel like any gRPC upstream, the route's load-balancing policy, health
 * checking, outlier ejection, failover and stall detection apply to it unchanged.
 *
 * <p>With a {@link MetricsScraper} it also serves ORCA's {@code OpenRcaService}, reporting the load
 * of the last scrape of the engine's {@code /metrics}. So least_loaded has one out-of-band
 * mechanism for both kinds of upstream: it opens the same StreamCoreMetrics stream to this
 * in-process server as to a gRPC engine, and knows nothing of HTTP or Prometheus. (The alternative,
 * the balancer reading scrapes directly, would need a second intake keyed by address and a way to
 * find the scraper from the balancer.) Without a scraper the service is absent: the balancer's
 * stream ends UNIMPLEMENTED and it stops asking.
 */
final class OpenAiUpstream implements AutoCloseable {
  /** Load reports go no more often than this, whatever a stream asks: scrapes are not more frequent. */
  private static final Duration MIN_LOAD_REPORT_INTERVAL = Duration.ofMillis(100);
  private final OpenAiEndpoint endpoint;
  private final InProcessSocketAddress address;
  private final Server server;
  private final EndpointHealthService health;
  private final HttpHealthPoller poller;
  private final MetricsScraper scraper;

  /**
   * Starts the server {@code builder} describes (in-process at {@code address}, or a network one
   * for the {@code bridge} command); {@code poller} (may be {@code null}: always SERVING) is
   * started and closed with it and publishes to {@code health}; so is {@code scraper} (may be
   * {@code null}: no out-of-band load reports), whose load {@code OpenRcaService} reports at the
   * interval each stream asks for, not more often than {@code scheduler} allows.
   */
  OpenAiUpstream(OpenAiEndpoint endpoint, ServerBuilder<?> builder, InProcessSocketAddress address,
      EndpointHealthService health, HttpHealthPoller poller, MetricsScraper scraper,
      ScheduledExecutorService scheduler) {
    this.endpoint = endpoint;
    this.address = address;
    this.health = health;
    this.poller = poller;
    this.scraper = scraper;
    builder.directExecutor()
        .addService(OpenAiTranslatorService.definition(endpoint))
        .addService(health);
    if (scraper != null) {
      builder.addService(OpenRcaService.definition(scraper::latest, scheduler, MIN_LOAD_REPORT_INTERVAL));
    }
    try {
      this.server = builder.build().start();
    } catch (IOException e) {
      throw new UncheckedIOException("in-process server for upstream " + endpoint.name(), e);
    }
    if (poller == null) {
      health.set(ServingStatus.SERVING);
    } else {
      poller.start();
    }
    if (scraper != null) {
      scraper.start();
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
    if (scraper != null) {
      scraper.close();
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
