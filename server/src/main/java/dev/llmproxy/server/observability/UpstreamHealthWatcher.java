package dev.llmproxy.server.observability;

import dev.llmproxy.server.config.LbPolicy;
import dev.llmproxy.server.config.RouteConfig;
import dev.llmproxy.server.config.UpstreamEndpoint;
import dev.llmproxy.server.upstream.UpstreamChannelFactory;
import dev.llmproxy.v1.LlmProxyGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.stub.StreamObserver;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * Watches the health of every statically known upstream and publishes it:
 * <ul>
 *   <li>{@code llmproxy.upstream.healthy} (gauge, 1 or 0): whether the upstream's
 *       {@code grpc.health.v1} service reports {@code llmproxy.v1.LlmProxy} SERVING, the signal
 *       the load balancers act on; a connection that fails counts as unhealthy;
 *   <li>{@code llmproxy.upstream.health.drops} (counter): how often a healthy upstream stopped being
 *       healthy, i.e. left the rotation.
 * </ul>
 * One long-lived {@code Health/Watch} stream per upstream, on a small channel of its own built
 * like the route's (same TLS), so the numbers do not depend on which balancing policy a route
 * uses. Those channels come from a factory of the watcher's own, whose per-route meters go nowhere:
 * a channel built for one upstream must not register (or shadow) meters of the route. A stream that ends is reopened after {@code retryDelay}. An upstream without a health
 * service (UNIMPLEMENTED) counts as healthy, as grpc-java's client-side health checking does.
 * Routes given as a {@code dns:///} target are not watched: their upstreams are not known here.
 */
public final class UpstreamHealthWatcher implements AutoCloseable {
  private static final int HEALTH_MESSAGE_BYTES = 64 << 10;
  private final MeterRegistry registry;
  private final UpstreamChannelFactory channels;
  private final Duration retryDelay;
  private final ScheduledExecutorService scheduler;
  private final List<Watch> watches = new ArrayList<>();

  public UpstreamHealthWatcher(MeterRegistry registry, Duration retryDelay) {
    this.registry = registry;
    this.channels = new UpstreamChannelFactory(HEALTH_MESSAGE_BYTES); // its meters: a registry of its own
    this.retryDelay = retryDelay;
    ScheduledThreadPoolExecutor executor = new ScheduledThreadPoolExecutor(1, r -> {
      Thread t = new Thread(r, "llmproxy-upstream-health");
      t.setDaemon(true);
      return t;
    });
    executor.setRemoveOnCancelPolicy(true);
    this.scheduler = executor;
  }

  /** Starts watching the upstreams of {@code route}. */
  public synchronized void watch(RouteConfig route, List<UpstreamEndpoint> upstreams) {
    for (UpstreamEndpoint upstream : upstreams) {
      RouteConfig single = RouteConfig.forUpstreams(List.of(upstream), LbPolicy.PICK_FIRST).withTls(route.tls());
      Watch watch = new Watch(route.name(), upstream.name(), channels.create(single, List.of(upstream)).channel());
      watches.add(watch);
      watch.start();
    }
  }

  @Override
  public synchronized void close() {
    scheduler.shutdownNow();
    for (Watch watch : watches) {
      watch.channel.shutdownNow();
    }
  }

  private final class Watch implements StreamObserver<HealthCheckResponse> {
    final ManagedChannel channel;
    private final UpstreamHealthMeter meter;

    Watch(String route, String upstream, ManagedChannel channel) {
      this.channel = channel;
      this.meter = new UpstreamHealthMeter(registry, route, upstream);
    }

    void start() {
      if (channel.isShutdown()) {
        return;
      }
      HealthGrpc.newStub(channel).watch(
          HealthCheckRequest.newBuilder().setService(LlmProxyGrpc.SERVICE_NAME).build(), this);
    }

    @Override
    public void onNext(HealthCheckResponse response) {
      set(response.getStatus() == ServingStatus.SERVING);
    }

    @Override
    public void onError(Throwable t) {
      set(Status.fromThrowable(t).getCode() == Status.Code.UNIMPLEMENTED);
      retry();
    }

    @Override
    public void onCompleted() {
      set(false);
      retry();
    }

    private void set(boolean nowHealthy) {
      meter.set(nowHealthy);
    }

    private void retry() {
      if (!scheduler.isShutdown()) {
        try {
          scheduler.schedule(this::start, retryDelay.toMillis(), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException closing) {
          // Shutting down.
        }
      }
    }
  }
}
