package dev.llmproxy.server.observability;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
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
 *       upstream, counted as they go out so a rate over a long stream is right;
 *   <li>{@code llmproxy.tokens} (counter): prompt and completion tokens of both RPCs, from the
 *       answer's usage, by type, route, model, upstream and key id, for answers an upstream
 *       produced for this call (a cache hit or a joined call produced none);
 *   <li>{@code llmproxy.call.inter.token} (histogram, streams): each stream's mean time between
 *       tokens after the first, by route and upstream;
 *   <li>{@code llmproxy.cache.results} (counter): calls by route and {@code llmproxy-cache} result;
 *   <li>the GenAI semantic-convention meters, by operation, model and route:
 *       {@code gen_ai.client.token.usage} (by token type), {@code gen_ai.server.request.duration},
 *       {@code gen_ai.server.time_to_first_token}, {@code gen_ai.server.time_per_output_token}.
 * </ul>
 * Everything but the streamed-token counter is recorded once, when the call closes, so the token
 * path costs what it did.
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

  /** GenAI time to first token buckets (semantic conventions), in seconds. */
  private static final Duration[] TTFT_BUCKETS = seconds(0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25,
      0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0);
  /** GenAI time per output token buckets (semantic conventions), in seconds. */
  private static final Duration[] TPOT_BUCKETS = seconds(0.001, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2,
      0.3, 0.4, 0.5, 0.75, 1.0, 2.5);
  /** GenAI token usage buckets (semantic conventions). */
  private static final double[] TOKEN_BUCKETS = {1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576};

  private final MeterRegistry registry;
  private final Map<TokenKey, Counter> tokenCounts = new ConcurrentHashMap<>();
  private final Map<RouteUpstream, Timer> interToken = new ConcurrentHashMap<>();
  private final Map<CacheKey, Counter> cacheResults = new ConcurrentHashMap<>();
  private final Map<GenAiKey, GenAiMeters> genAi = new ConcurrentHashMap<>();
  private final Map<GenAiDurationKey, Timer> genAiDurations = new ConcurrentHashMap<>();
  private final Map<CallKey, Counter> calls = new ConcurrentHashMap<>();
  private final Map<DurationKey, Timer> durations = new ConcurrentHashMap<>();
  private final Map<String, Map<String, Timer>> ttft = new ConcurrentHashMap<>();
  private final Map<String, Map<String, Counter>> tokens = new ConcurrentHashMap<>();

  public CallMetrics(MeterRegistry registry) {
    this.registry = Objects.requireNonNull(registry, "registry");
  }

  private record CallKey(String method, String route, String upstream, String status) {}

  private record DurationKey(String method, String route, String status) {}

  private record TokenKey(String type, String route, String model, String upstream, String keyId) {}

  private record RouteUpstream(String route, String upstream) {}

  private record CacheKey(String route, String result) {}

  private record GenAiKey(String operation, String model, String route) {}

  private record GenAiDurationKey(GenAiKey key, String errorType) {}

  /** The GenAI meters of one operation, model and route. */
  private record GenAiMeters(DistributionSummary input, DistributionSummary output, Timer ttft, Timer tpot) {}

  private static Duration[] seconds(double... values) {
    Duration[] out = new Duration[values.length];
    for (int i = 0; i < values.length; i++) {
      out[i] = Duration.ofNanos(Math.round(values[i] * 1e9));
    }
    return out;
  }

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
    if (!CallStats.NONE.equals(call.route())) {
      recordRouted(call, status, firstToken);
    }
  }

  /** What only a routed call has: a route, a model, tokens, a cache result. */
  private void recordRouted(CallStats call, String status, long firstToken) {
    String route = call.route();
    String upstream = call.upstream();
    if (!CallStats.NONE.equals(call.cache())) {
      cacheResults.computeIfAbsent(new CacheKey(route, call.cache()), k -> Counter.builder("llmproxy.cache.results")
          .description("Calls by route and how the response cache answered them (llmproxy-cache)")
          .tags("route", k.route(), "result", k.result())
          .register(registry)).increment();
    }
    GenAiKey key = new GenAiKey(call.operation(), call.modelLabel(), route);
    GenAiMeters gen = genAi.computeIfAbsent(key, this::genAiMeters);
    genAiDurations.computeIfAbsent(new GenAiDurationKey(key, "OK".equals(status) ? "" : status),
        k -> Timer.builder("gen_ai.server.request.duration")
            .description("GenAI request duration, from the request's arrival to the last token (OpenTelemetry GenAI)")
            .tags("gen_ai.operation.name", k.key().operation(), "gen_ai.request.model", k.key().model(),
                "route", k.key().route(), "error.type", k.errorType())
            .serviceLevelObjectives(BUCKETS)
            .register(registry))
        .record(call.durationNanos(), TimeUnit.NANOSECONDS);
    if (call.status() != io.grpc.Status.Code.OK) {
      return;
    }
    if (call.streaming() && firstToken >= 0) {
      gen.ttft().record(firstToken, TimeUnit.NANOSECONDS);
    }
    long perToken = call.timePerOutputTokenNanos();
    if (call.streaming() && perToken >= 0) {
      gen.tpot().record(perToken, TimeUnit.NANOSECONDS);
      interToken.computeIfAbsent(new RouteUpstream(route, upstream), k -> Timer.builder("llmproxy.call.inter.token")
          .description("Mean time between tokens after the first, one sample per stream")
          .tags("route", k.route(), "upstream", k.upstream())
          .serviceLevelObjectives(TPOT_BUCKETS)
          .register(registry)).record(perToken, TimeUnit.NANOSECONDS);
    }
    if (!call.servedByUpstream()) {
      return; // a cache hit or a joined call: no upstream produced tokens for it
    }
    if (call.promptTokens() >= 0) {
      gen.input().record(call.promptTokens());
      tokens("prompt", call).increment(call.promptTokens());
    }
    int completion = call.tokens();
    if (completion > 0 || call.completionTokens() == 0) {
      gen.output().record(completion);
      tokens("completion", call).increment(completion);
    }
  }

  private Counter tokens(String type, CallStats call) {
    return tokenCounts.computeIfAbsent(new TokenKey(type, call.route(), call.modelLabel(), call.upstream(),
        call.keyId()), k -> Counter.builder("llmproxy.tokens")
            .description("Prompt and completion tokens of answers produced by upstreams, from their usage")
            .tags("type", k.type(), "route", k.route(), "model", k.model(), "upstream", k.upstream(),
                "key_id", k.keyId())
            .register(registry));
  }

  private GenAiMeters genAiMeters(GenAiKey key) {
    String[] tags = {"gen_ai.operation.name", key.operation(), "gen_ai.request.model", key.model(),
        "route", key.route()};
    return new GenAiMeters(tokenUsage("input", tags), tokenUsage("output", tags),
        Timer.builder("gen_ai.server.time_to_first_token")
            .description("Time to the first token of streamed answers (OpenTelemetry GenAI)")
            .tags(tags).serviceLevelObjectives(TTFT_BUCKETS).register(registry),
        Timer.builder("gen_ai.server.time_per_output_token")
            .description("Mean time per output token after the first, one sample per stream (OpenTelemetry GenAI)")
            .tags(tags).serviceLevelObjectives(TPOT_BUCKETS).register(registry));
  }

  private DistributionSummary tokenUsage(String type, String[] tags) {
    return DistributionSummary.builder("gen_ai.client.token.usage")
        .description("Tokens per answer by type, input (prompt) or output (completion) (OpenTelemetry GenAI)")
        .tags(tags).tag("gen_ai.token.type", type)
        .serviceLevelObjectives(TOKEN_BUCKETS)
        .register(registry);
  }
}
