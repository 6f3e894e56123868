package dev.llmproxy.server.observability;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * One upstream's health in metrics, whoever learns it (a gRPC health watch, an HTTP health poll):
 * {@code llmproxy.upstream.healthy} (1 or 0) and {@code llmproxy.upstream.health.drops} (times a
 * healthy upstream became unhealthy and left the rotation).
 */
final class UpstreamHealthMeter {
  private final Counter drops;
  private volatile boolean healthy;

  UpstreamHealthMeter(MeterRegistry registry, String route, String upstream) {
    Gauge.builder("llmproxy.upstream.healthy", this, m -> m.healthy ? 1 : 0)
        .description("1 while the upstream's health check reports SERVING, else 0")
        .tags("route", route, "upstream", upstream)
        .strongReference(true)
        .register(registry);
    this.drops = Counter.builder("llmproxy.upstream.health.drops")
        .description("Times a healthy upstream became unhealthy and left the rotation")
        .tags("route", route, "upstream", upstream)
        .register(registry);
  }

  void set(boolean nowHealthy) {
    if (healthy && !nowHealthy) {
      drops.increment();
    }
    healthy = nowHealthy;
  }
}
