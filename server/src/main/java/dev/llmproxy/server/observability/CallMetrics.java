package dev.llmproxy.server.observability;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Records every call in Micrometer meters:
 * <ul>
 *   <li>{@code llmproxy.calls} (counter): method, route, upstream, status;
 *   <li>{@code llmproxy.call.duration} (histogram): method, route, status;
 *   <li>{@code llmproxy.call.ttft} (histogram, streams only): time to first token, by route and
 *       upstream;
 *   <li>{@code llmproxy.tokens.streamed} (counter): stream chunks relayed to clients, by route and
 *       upstream, counted as they go out so a rate over a long stream is right.
 * </ul>
 * Every label value comes from the config (routes, upstream names) or a closed set (methods,
 * status codes, cache statuses), never from a request, so the number of series stays bounded.
 * Meters are looked up in maps built once per label set: nothing is registered on the token path.
 */
public final class CallMetrics implements CallObserver {
  /** Histogram buckets for call durations and TTFT: 1 ms to 5 minutes, for LLM-shaped latencies. */
  static final Duration[] BUCKETS = {
      Duration.ofMillis(1), Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(25),
      Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(250), Duration.ofMillis(500),
      Duration.ofSeconds(1), Duration.ofMillis(2500), Duration.ofSeconds(5), Duration.ofSeconds(10),
      Duration.ofSeconds(30), Duration.ofSeconds(60), Duration.ofSeconds(120), Duration.ofSeconds(300)};

  private final MeterRegistry registry;
  private final Map<CallKey, Counter> calls = new ConcurrentHashMap<>();
  private final Map<DurationKey, Timer> durations = new ConcurrentHashMap<>();
  private final Map<String, Map<String, Timer>> ttft = new ConcurrentHashMap<>();
  private final Map<String, Map<String, Counter>> tokens = new ConcurrentHashMap<>();

  public CallMetrics(MeterRegistry registry) {
    this.registry = Objects.requireNonNull(registry, "registry");
  }

  private record CallKey(String method, String route, String upstream, String status) {}

  private record DurationKey(String method, String route, String status) {}

  @Override
  public void onMessage(CallStats call) {
    if (call.streaming()) {
      // Plain get() first: computeIfAbsent with a capturing lambda would allocate per token.
      Map<String, Counter> byUpstream = tokens.get(call.route());
      if (byUpstream == null) {
        byUpstream = tokens.computeIfAbsent(call.route(), r -> new ConcurrentHashMap<>());
      }
      Counter counter = byUpstream.get(call.upstream());
      if (counter == null) {
        String route = call.route();
        counter = byUpstream.computeIfAbsent(call.upstream(), u -> Counter.builder("llmproxy.tokens.streamed")
            .description("Stream chunks (tokens) relayed to clients")
            .tags("route", route, "upstream", u)
            .register(registry));
      }
      counter.increment();
    }
  }

  @Override
  public void onClose(CallStats call) {
    String status = call.status().name();
    calls.computeIfAbsent(new CallKey(call.method(), call.route(), call.upstream(), status),
        k -> Counter.builder("llmproxy.calls")
            .description("Calls served, by method, route, upstream and status")
            .tags("method", k.method(), "route", k.route(), "upstream", k.upstream(), "status", k.status())
            .register(registry))
        .increment();
    durations.computeIfAbsent(new DurationKey(call.method(), call.route(), status),
        k -> Timer.builder("llmproxy.call.duration")
            .description("Call duration, from the request's arrival to the call's close")
            .tags("method", k.method(), "route", k.route(), "status", k.status())
            .serviceLevelObjectives(BUCKETS)
            .register(registry))
        .record(call.durationNanos(), TimeUnit.NANOSECONDS);
    long firstToken = call.timeToFirstMessageNanos();
    if (call.streaming() && firstToken >= 0) {
      ttft.computeIfAbsent(call.route(), r -> new ConcurrentHashMap<>())
          .computeIfAbsent(call.upstream(), u -> Timer.builder("llmproxy.call.ttft")
              .description("Time to first token of streamed calls")
              .tags("route", call.route(), "upstream", u)
              .serviceLevelObjectives(BUCKETS)
              .register(registry))
          .record(firstToken, TimeUnit.NANOSECONDS);
    }
  }
}
