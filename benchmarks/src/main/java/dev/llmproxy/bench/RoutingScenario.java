package dev.llmproxy.bench;

import dev.llmproxy.server.ProxyServer;
import dev.llmproxy.server.config.ConfigLoader;
import dev.llmproxy.sim.EngineModel;
import dev.llmproxy.sim.SimulatedBackend;
import dev.llmproxy.sim.SimulatedBackendConfig;
import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.LlmProxyGrpc;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * Routing: which load-balancing policy serves LLM traffic best when engines cache prompt prefixes.
 *
 * <p>Workload ({@link RoutingWorkload}): tenants with long system prompts and short user turns,
 * Poisson arrivals at fractions of the fleet's capacity. Fleet: {@code --sims} simulated engines with
 * the engine model (prefix KV cache, prefill cost per uncached token, batch limit and queue, ITL
 * growing with the batch), started in this JVM on 127.0.0.1, behind a real proxy (also in this
 * JVM, over loopback TCP) whose one route uses the policy under test. Every run starts fresh engines
 * (empty caches) and a fresh proxy; the first fifth of each run is warm-up and not counted.
 *
 * <p>Capacity is what the fleet sustains without prefix reuse: per engine, batch slots / the
 * service time of an uncached call (TTFT + prefill of the whole prompt + max_tokens x ITL at a full
 * batch). Variants: {@code uniform} (every tenant alike), {@code skewed} (tenant 0 sends half), and
 * {@code slow} (engine 0 three times slower in every delay).
 *
 * <p>Reported per policy: TTFT p50/p90/p99 (from when the call was due, so queueing counts),
 * goodput (calls per second that ended OK with TTFT within {@code --slo}), the prefix-cache hit
 * rate (cached / prompt tokens over all engines), and the load spread: max over mean of each engine's
 * time-averaged calls in flight (generating + waiting), sampled every 20 ms; per engine, its share of
 * the calls (from {@code llmproxy-upstream}), its TTFT p99 and its hit rate, to see where a tail
 * comes from.
 */
final class RoutingScenario implements Scenario {
  private static final long MS = 1_000_000L;
  private static final Metadata.Key<String> UPSTREAM =
      Metadata.Key.of("llmproxy-upstream", Metadata.ASCII_STRING_MARSHALLER);

  @Override
  public String name() {
    return "routing";
  }

  @Override
  public String summary() {
    return "LB policies against engines with prefix caches: TTFT p50/p90/p99, goodput at a TTFT SLO, hit rate, load spread";
  }

  @Override
  public Map<String, Object> run(ScenarioContext ctx) throws Exception {
    Options o = ctx.options();
    Settings s = new Settings(
        o.integer("sims", 4),
        o.integer("tenants", 16),
        o.duration("duration", Duration.ofSeconds(15)).toNanos(),
        o.duration("slo", Duration.ofMillis(100)).toNanos(),
        o.integer("seed", 1),
        o.integer("batch", 32),
        o.integer("system-words", 300),
        o.integer("user-words", 20),
        o.integer("max-tokens", 24),
        o.integer("kv-cache-blocks", 200),
        o.integer("prefill-us", 500),
        o.number("load-factor", 1.25));
    List<Double> loads = o.numbers("loads", "0.5,0.8,0.95");
    List<String> policies = List.of(o.string("policies", "round_robin,least_outstanding,peak_ewma,prefix_affinity")
        .split(","));
    List<String> variants = List.of(o.string("variants", "uniform,skewed,slow").split(","));
    long jvmWarmupNanos = o.duration("jvm-warmup", Duration.ofSeconds(10)).toNanos();
    o.rejectUnknown();

    Map<String, Object> result = new LinkedHashMap<>();
    result.put("settings", s.toMap());
    if (jvmWarmupNanos > 0) {
      // Proxy and engines run in this JVM: without this the first run measured its JIT compilation
      // (on a busy machine, with --variants slow, whichever policy ran first had a p50 of seconds).
      runOnce(s.withDuration(jvmWarmupNanos), "uniform", 0.5, policies.get(0).trim(), ctx);
    }
    List<Map<String, Object>> runs = new ArrayList<>();
    for (String variant : variants) {
      // The skewed and slow variants answer questions asked at 80% load.
      List<Double> variantLoads = variant.equals("uniform") ? loads : List.of(0.8);
      for (double load : variantLoads) {
        for (String policy : policies) {
          Map<String, Object> run = runOnce(s, variant, load, policy.trim(), ctx);
          runs.add(run);
          ctx.log().println(line(run));
        }
      }
    }
    result.put("runs", runs);
    return result;
  }

  private Map<String, Object> runOnce(Settings s, String variant, double load, String policy, ScenarioContext ctx)
      throws Exception {
    List<SimulatedBackend> sims = new ArrayList<>();
    double capacity = 0;
    try {
      for (int i = 0; i < s.sims(); i++) {
        double slowdown = variant.equals("slow") && i == 0 ? 3 : 1;
        SimulatedBackendConfig config = engine(s, "sim-" + i, slowdown);
        sims.add(SimulatedBackend.start(config));
        capacity += s.batch() / (uncachedServiceNanos(s, config) / 1e9);
      }
      double rate = load * capacity;
      List<RoutingWorkload.Arrival> arrivals = RoutingWorkload.arrivals(s.seed(), rate, s.durationNanos(),
          s.tenants(), variant.equals("skewed"), s.systemWords(), s.userWords(), s.maxTokens());
      try (ProxyServer proxy = ProxyServer.start(new ConfigLoader().parse(proxyYaml(sims, policy, s.loadFactor(), s.batch())))) {
        RoutingMeasurement m = drive(proxy.port(), arrivals, sims, s.durationNanos() / 5);
        Map<String, Object> run = new LinkedHashMap<>();
        run.put("variant", variant);
        run.put("load", load);
        run.put("policy", policy);
        run.put("offered_per_s", round(rate));
        run.putAll(m.toMap(s.sloNanos(), (s.durationNanos() - s.durationNanos() / 5) / 1e9));
        return run;
      }
    } finally {
      sims.forEach(SimulatedBackend::close);
    }
  }

  static SimulatedBackendConfig engine(Settings s, String name, double slowdown) {
    return SimulatedBackendConfig.defaults(name)
        .withTimeToFirstToken(Duration.ofNanos((long) (10 * MS * slowdown)))
        .withInterTokenLatency(Duration.ofNanos((long) (8 * MS * slowdown)))
        .withMaxConcurrency(s.batch())
        .withEngine(new EngineModel(Duration.ofNanos((long) (s.prefillMicros() * 1_000 * slowdown)), 0.02,
            s.kvCacheBlocks(), 16));
  }

  /** TTFT + prefill of every prompt token + max_tokens x ITL with a full batch. */
  static double uncachedServiceNanos(Settings s, SimulatedBackendConfig c) {
    int promptTokens = s.systemWords() + 7 + s.userWords();
    double itl = c.interTokenLatency().toNanos() * (1 + c.engine().itlGrowth() * (s.batch() - 1));
    return c.timeToFirstToken().toNanos() + promptTokens * (double) c.engine().prefillPerToken().toNanos()
        + s.maxTokens() * itl;
  }

  /** The route over the engines; peak_ewma is told their batch limit, as an operator would. */
  private static String proxyYaml(List<SimulatedBackend> sims, String policy, double loadFactor, int batch) {
    StringBuilder upstreams = new StringBuilder();
    for (SimulatedBackend sim : sims) {
      upstreams.append("\n      - {name: ").append(sim.name()).append(", address: \"").append(sim.address()).append("\"}");
    }
    return """
        server: {host: 127.0.0.1, port: 0}
        cache: {enabled: false}
        routes:
          - name: pool
            models: ["*"]
            default: true
            lb: %s%s
            timeouts: {first_token: 120s, between_tokens: 60s}
            upstreams:%s
        """.formatted(policy, switch (policy) {
          case "prefix_affinity" -> "\n    prefix_affinity: {load_factor: " + loadFactor + "}";
          case "peak_ewma" -> "\n    peak_ewma: {batch_size: " + batch + "}";
          default -> "";
        }, upstreams);
  }

  /** Sends every arrival when it is due, waits for all to end, and measures. */
  private static RoutingMeasurement drive(int port, List<RoutingWorkload.Arrival> arrivals, List<SimulatedBackend> sims,
      long warmupNanos) throws InterruptedException {
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().directExecutor().build();
    ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor();
    awaitEveryUpstream(channel, sims);
    RoutingMeasurement m = new RoutingMeasurement(sims.stream().map(SimulatedBackend::name).toList());
    CountDownLatch done = new CountDownLatch(arrivals.size());
    long start = System.nanoTime();
    long[] warmPrompt = new long[sims.size()];
    long[] warmCached = new long[sims.size()];
    sampler.scheduleAtFixedRate(() -> {
      if (System.nanoTime() - start < warmupNanos) {
        return;
      }
      if (m.samples.get() == 0) {
        for (int i = 0; i < sims.size(); i++) {
          warmPrompt[i] = sims.get(i).kvCache().promptTokens();
          warmCached[i] = sims.get(i).kvCache().cachedTokens();
        }
      }
      m.samples.incrementAndGet();
      for (int i = 0; i < sims.size(); i++) {
        m.loadSums[i].addAndGet(sims.get(i).running() + sims.get(i).waiting());
      }
    }, 20, 20, TimeUnit.MILLISECONDS);
    try {
      for (RoutingWorkload.Arrival arrival : arrivals) {
        long due = start + arrival.dueNanos();
        long wait;
        while ((wait = due - System.nanoTime()) > 0) {
          LockSupport.parkNanos(wait);
        }
        call(channel, arrival.request(), due, arrival.dueNanos() >= warmupNanos, m, done);
      }
      if (!done.await(3, TimeUnit.MINUTES)) {
        throw new IllegalStateException("routing: calls still running 3 minutes after the last was sent");
      }
    } finally {
      sampler.shutdownNow();
      channel.shutdownNow();
    }
    for (int i = 0; i < sims.size(); i++) {
      m.promptTokens[i] = sims.get(i).kvCache().promptTokens() - warmPrompt[i];
      m.cachedTokens[i] = sims.get(i).kvCache().cachedTokens() - warmCached[i];
    }
    return m;
  }

  /**
   * Sends tiny calls (too short to fill a cache block) until every engine has served one: upstreams
   * become READY one by one as their health checks answer, and a run that began before would pile
   * its first second onto the first engine, a start-up artefact rather than the policy.
   */
  private static void awaitEveryUpstream(ManagedChannel channel, List<SimulatedBackend> sims)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    int probe = 0;
    while (sims.stream().anyMatch(b -> b.recorder().completed() == 0)) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("routing: not every upstream answered within 30 s");
      }
      CountDownLatch wave = new CountDownLatch(sims.size() * 2);
      for (int i = 0; i < sims.size() * 2; i++) {
        CompletionRequest warm = CompletionRequest.newBuilder().setModel("sim").setPrompt("warm up " + probe++)
            .setMaxTokens(1).build();
        call(channel, warm, System.nanoTime(), false, null, wave);
      }
      wave.await(10, TimeUnit.SECONDS);
    }
  }

  private static void call(ManagedChannel channel, CompletionRequest request, long due, boolean counted, RoutingMeasurement m,
      CountDownLatch done) {
    ClientCall<CompletionRequest, CompletionChunk> call =
        channel.newCall(LlmProxyGrpc.getStreamCompleteMethod(), CallOptions.DEFAULT.withDeadlineAfter(150, TimeUnit.SECONDS));
    call.start(new ClientCall.Listener<>() {
      private long firstToken = -1;
      private int upstream = -1;

      @Override
      public void onHeaders(Metadata headers) {
        if (m != null) {
          upstream = m.upstreams.indexOf(headers.get(UPSTREAM));
        }
      }

      @Override
      public void onMessage(CompletionChunk chunk) {
        if (firstToken < 0) {
          firstToken = System.nanoTime() - due;
        }
      }

      @Override
      public void onClose(Status status, Metadata trailers) {
        if (counted) {
          m.results.add(new long[] {status.isOk() ? 1 : 0, firstToken, upstream});
        }
        done.countDown();
      }
    }, new Metadata());
    call.request(Integer.MAX_VALUE);
    call.sendMessage(request);
    call.halfClose();
  }

  private static String line(Map<String, Object> run) {
    return String.format("routing %-8s load %.2f %-18s ttft p50 %6s p90 %6s p99 %6s ms  goodput %6s/s  hit %5s  load max/mean %s  errors %s  call share %s",
        run.get("variant"), (Double) run.get("load"), run.get("policy"), run.get("ttft_p50_ms"), run.get("ttft_p90_ms"),
        run.get("ttft_p99_ms"), run.get("goodput_per_s"), run.get("prefix_hit_rate"), run.get("load_max_over_mean"),
        run.get("errors"), run.get("call_share_per_upstream"));
  }

  static double round(double v) {
    return Math.round(v * 100) / 100.0;
  }

  record Settings(int sims, int tenants, long durationNanos, long sloNanos, int seed, int batch, int systemWords,
      int userWords, int maxTokens, int kvCacheBlocks, int prefillMicros, double loadFactor) {
    Settings withDuration(long nanos) {
      return new Settings(sims, tenants, nanos, sloNanos, seed, batch, systemWords, userWords, maxTokens, kvCacheBlocks,
          prefillMicros, loadFactor);
    }

    Map<String, Object> toMap() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("sims", sims);
      m.put("tenants", tenants);
      m.put("duration_s", durationNanos / 1e9);
      m.put("slo_ms", sloNanos / 1e6);
      m.put("seed", seed);
      m.put("batch", batch);
      m.put("system_words", systemWords);
      m.put("user_words", userWords);
      m.put("max_tokens", maxTokens);
      m.put("kv_cache_blocks", kvCacheBlocks);
      m.put("prefix_affinity_load_factor", loadFactor);
      m.put("engine", "ttft 10ms + " + prefillMicros + "us per uncached prompt token, itl 8ms x (1 + 0.02 x (batch - 1)),"
          + " 16-token blocks");
      return m;
    }
  }
}
