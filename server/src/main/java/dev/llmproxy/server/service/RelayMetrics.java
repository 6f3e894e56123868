package dev.llmproxy.server.service;

import dev.llmproxy.server.upstream.UpstreamOutcome;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The relay's counters, per route: {@code llmproxy.relay.failovers} (calls re-sent to another
 * upstream before their first chunk), {@code llmproxy.relay.stalls} (upstream calls cancelled for
 * want of a token, by phase) and {@code llmproxy.upstream.outcomes} (upstream calls by what they
 * say about the upstream's health), and {@code llmproxy.relay.fallbacks} (calls moved to a fallback
 * route, by the route they left and the one they went to).
 */
final class RelayMetrics {
  private final MeterRegistry meters;
  private final Map<String, RouteCounters> routes = new ConcurrentHashMap<>();

  RelayMetrics(MeterRegistry meters) {
    this.meters = meters;
  }

  void failover(String route) {
    counters(route).failovers.increment();
  }

  void fallback(String from, String to) {
    Counter.builder("llmproxy.relay.fallbacks").description("calls moved to a fallback route before their first chunk")
        .tags("route", from, "fallback", to).register(meters).increment();
  }

  void stall(String route, boolean beforeFirstToken) {
    RouteCounters c = counters(route);
    (beforeFirstToken ? c.stallsFirstToken : c.stallsBetweenTokens).increment();
  }

  void outcome(String route, UpstreamOutcome outcome) {
    counters(route).outcomes[outcome.ordinal()].increment();
  }

  private RouteCounters counters(String route) {
    RouteCounters c = routes.get(route);
    return c != null ? c : routes.computeIfAbsent(route, r -> new RouteCounters(meters, r));
  }

  private static final class RouteCounters {
    final Counter failovers;
    final Counter stallsFirstToken;
    final Counter stallsBetweenTokens;
    final Counter[] outcomes;

    RouteCounters(MeterRegistry meters, String route) {
      failovers = Counter.builder("llmproxy.relay.failovers")
          .description("calls re-sent to another upstream before their first chunk")
          .tag("route", route).register(meters);
      stallsFirstToken = Counter.builder("llmproxy.relay.stalls")
          .description("upstream calls cancelled because no token came")
          .tags("route", route, "phase", "first_token").register(meters);
      stallsBetweenTokens = Counter.builder("llmproxy.relay.stalls")
          .description("upstream calls cancelled because no token came")
          .tags("route", route, "phase", "between_tokens").register(meters);
      UpstreamOutcome[] all = UpstreamOutcome.values();
      outcomes = new Counter[all.length];
      for (UpstreamOutcome o : all) {
        outcomes[o.ordinal()] = Counter.builder("llmproxy.upstream.outcomes")
            .description("upstream calls by what they say about the upstream's health")
            .tags("route", route, "outcome", o.name().toLowerCase(java.util.Locale.ROOT)).register(meters);
      }
    }
  }
}
