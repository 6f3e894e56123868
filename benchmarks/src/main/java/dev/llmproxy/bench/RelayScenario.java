package dev.llmproxy.bench;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Stream relay: tokens per second through the proxy and proxy CPU per token, in two phases.
 * <ul>
 *   <li>fast: upstreams emit tokens as fast as flow control allows. Back-to-back chunks coalesce
 *       into a few large HTTP/2 frames, so this shows the relay's best case;
 *   <li>paced: upstreams emit one token every {@code --itl} (20 ms: 50 tokens/s, like a real
 *       model) on many concurrent streams, so every token is its own frame and pays the full
 *       per-message cost (a write, a flush, a wake-up).
 * </ul>
 * Each phase runs direct and through the proxy; CPU per token is the proxy's CPU over the tokens
 * relayed in the measured part.
 */
final class RelayScenario implements Scenario {
  @Override
  public String name() {
    return "relay";
  }

  @Override
  public String summary() {
    return "StreamComplete relay, fast and paced (1,000 streams x 50 tokens/s): tokens/s and proxy CPU per token";
  }

  @Override
  public Map<String, Object> run(ScenarioContext ctx) throws Exception {
    Options o = ctx.options();
    List<String> phases = List.of(o.string("phases", "fast,paced").split(","));
    Duration warmup = o.duration("warmup", Duration.ofSeconds(5));
    Duration duration = o.duration("duration", Duration.ofSeconds(15));
    int fastConcurrency = o.integer("fast-concurrency", 16);
    int fastTokens = o.integer("fast-tokens", 256);
    int pacedStreams = o.integer("paced-streams", 1000);
    int pacedTokens = o.integer("paced-tokens", 100);
    String itl = o.string("itl", "20ms");
    int sims = o.integer("sims", 2);
    o.rejectUnknown();

    Map<String, Object> out = new LinkedHashMap<>();
    for (String phase : phases) {
      boolean paced = switch (phase.trim()) {
        case "fast" -> false;
        case "paced" -> true;
        default -> throw new IllegalArgumentException("--phases: " + phase + " (expected: fast, paced)");
      };
      List<String> simArgs = paced ? List.of("--itl", itl) : List.of();
      try (Topology t = Topology.start(ctx.serverJar(), sims, simArgs, ScenarioContext.SIM_JVM,
          List.of("--host", "127.0.0.1", "--port", "0", "--upstreams", "{UPSTREAMS}", "--lb", "least_outstanding"),
          ScenarioContext.PROXY_JVM)) {
        LoadSpec spec = new LoadSpec(t.simAddresses(), true, false, paced ? pacedStreams : fastConcurrency,
            warmup, duration, 0, paced ? pacedTokens : fastTokens, "bench-model", paced ? 4 : 2, Map.of(),
            ScenarioContext.CALL_TIMEOUT);
        Step d = Step.run(ctx.generator(), spec, t, "direct", ctx.log());
        Step p = Step.run(ctx.generator(), spec.withTargets(List.of(t.proxyAddress())), t, "llmproxy", ctx.log());
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("streams_in_flight", spec.load());
        m.put("tokens_per_stream", spec.maxTokens());
        m.put("upstream_itl", paced ? itl : "0");
        m.put("proxy_tokens_per_s", p.result().tokensPerSecond());
        m.put("direct_tokens_per_s", d.result().tokensPerSecond());
        m.put("proxy_us_per_token", p.proxyMicrosPerToken());
        m.put("proxy_cores", p.cores("proxy"));
        m.put("added_itl_p99_ms", LoadResult.percentileMs(p.result().itlMicros(), 99)
            - LoadResult.percentileMs(d.result().itlMicros(), 99));
        m.put("added_ttft_p50_ms", LoadResult.percentileMs(p.result().ttftMicros(), 50)
            - LoadResult.percentileMs(d.result().ttftMicros(), 50));
        m.put("direct", d.toMap());
        m.put("llmproxy", p.toMap());
        out.put(phase.trim(), m);
        ctx.log().printf("%s: %.0f tokens/s through the proxy at %.2f us CPU/token%n", phase,
            p.result().tokensPerSecond(), p.proxyMicrosPerToken());
      }
    }
    return out;
  }
}
