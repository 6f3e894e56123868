package dev.llmproxy.bench;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Many concurrent paced streams: inter-token latency and time to first token as the number of
 * streams held open grows, direct and through the proxy. The chart plots inter-token latency
 * (p50, p99) against concurrent streams: a flat line at the upstream's pace means the proxy keeps
 * up; a rising p99 is where it starts to queue.
 */
final class ManyStreamsScenario implements Scenario {
  @Override
  public String name() {
    return "many-streams";
  }

  @Override
  public String summary() {
    return "paced streams at rising concurrency: inter-token latency vs streams, direct vs proxy";
  }

  @Override
  public Map<String, Object> run(ScenarioContext ctx) throws Exception {
    Options o = ctx.options();
    List<Double> steps = o.numbers("steps", "250,500,1000,2000");
    Duration warmup = o.duration("warmup", Duration.ofSeconds(5));
    Duration duration = o.duration("duration", Duration.ofSeconds(15));
    int tokens = o.integer("tokens", 100);
    String itl = o.string("itl", "20ms");
    int sims = o.integer("sims", 2);
    o.rejectUnknown();

    LatencyChart chart = new LatencyChart("Paced streams (" + itl + " per token): inter-token latency",
        "concurrent streams", "inter-token latency (ms, log scale)");
    List<Object> rows = new ArrayList<>();
    try (Topology t = Topology.start(ctx.serverJar(), sims, List.of("--itl", itl), ScenarioContext.SIM_JVM,
        List.of("--host", "127.0.0.1", "--port", "0", "--upstreams", "{UPSTREAMS}", "--lb", "least_outstanding"),
        ScenarioContext.PROXY_JVM)) {
      for (double streams : steps) {
        LoadSpec spec = new LoadSpec(t.simAddresses(), true, false, streams, warmup, duration, 0, tokens,
            "bench-model", 4, Map.of(), ScenarioContext.CALL_TIMEOUT);
        Step d = Step.run(ctx.generator(), spec, t, "direct", ctx.log());
        Step p = Step.run(ctx.generator(), spec.withTargets(List.of(t.proxyAddress())), t, "llmproxy", ctx.log());
        for (Step s : List.of(d, p)) {
          chart.add(s.target(), streams, LoadResult.percentileMs(s.result().itlMicros(), 50),
              LoadResult.percentileMs(s.result().itlMicros(), 99));
        }
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("streams", streams);
        row.put("proxy_tokens_per_s", p.result().tokensPerSecond());
        row.put("proxy_us_per_token", p.proxyMicrosPerToken());
        row.put("proxy_cores", p.cores("proxy"));
        row.put("direct", d.toMap());
        row.put("llmproxy", p.toMap());
        rows.add(row);
      }
    }
    chart.write(ctx.file("png"));
    return Map.of("steps", rows);
  }
}
