package dev.llmproxy.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Proxy overhead: the same closed-loop load sent straight to the simulated upstreams and through
 * llmproxy, in one run, at several concurrencies. Reports the throughput ratio, the latency the
 * proxy adds at p50 and p99, and the proxy's CPU per call, and draws latency against throughput.
 *
 * <p>Why the upstreams are not the bottleneck: the "direct" rows drive the very same sims without
 * the proxy; each row records how many cores the sims used. If the sims sustain more calls per
 * second directly than through the proxy, and use less CPU than they did directly, the proxy (or
 * the machine) is the limit, not them. The JSON states both numbers per step.
 */
final class OverheadScenario implements Scenario {
  @Override
  public String name() {
    return "overhead";
  }

  @Override
  public String summary() {
    return "direct vs through llmproxy, same load: throughput ratio, added p50/p99, proxy CPU per call";
  }

  @Override
  public Map<String, Object> run(ScenarioContext ctx) throws Exception {
    Options o = ctx.options();
    boolean stream = o.string("rpc", "unary").equals("stream");
    List<Double> steps = o.numbers("steps", "1,4,16,64");
    Duration warmup = o.duration("warmup", Duration.ofSeconds(5));
    Duration duration = o.duration("duration", Duration.ofSeconds(10));
    int maxTokens = o.integer("max-tokens", stream ? 64 : 16);
    int sims = o.integer("sims", 2);
    String lb = o.string("lb", "round_robin");
    int connections = o.integer("connections", 2);
    String observability = o.string("observability", "off");
    o.rejectUnknown();

    LatencyChart chart = new LatencyChart("llmproxy overhead: " + (stream ? "StreamComplete" : "Complete")
        + ", " + maxTokens + " tokens, closed loop", "throughput (calls/s)", "latency (ms, log scale)");
    List<Object> rows = new ArrayList<>();
    try (Topology t = Topology.startSims(ctx.serverJar(), sims, List.of(), ScenarioContext.SIM_JVM)) {
      Path config = ProxyConfigFile.write(t.simAddresses(), lb, observability);
      try {
        t.startProxy(ctx.serverJar(), List.of("--config", config.toString()), ScenarioContext.PROXY_JVM);
      } finally {
        Files.deleteIfExists(config);
      }
      for (double concurrency : steps) {
        LoadSpec direct = new LoadSpec(t.simAddresses(), stream, false, concurrency, warmup, duration, 0,
            maxTokens, "bench-model", connections, Map.of(), ScenarioContext.CALL_TIMEOUT);
        Step d = Step.run(ctx.generator(), direct, t, "direct", ctx.log());
        Step p = Step.run(ctx.generator(), direct.withTargets(List.of(t.proxyAddress())), t, "llmproxy", ctx.log());
        chart.add("direct", d.result().throughput(), d.result().latencyMs(50), d.result().latencyMs(99));
        chart.add("llmproxy", p.result().throughput(), p.result().latencyMs(50), p.result().latencyMs(99));
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("concurrency", concurrency);
        row.put("throughput_ratio", p.result().throughput() / d.result().throughput());
        row.put("added_p50_ms", p.result().latencyMs(50) - d.result().latencyMs(50));
        row.put("added_p99_ms", p.result().latencyMs(99) - d.result().latencyMs(99));
        row.put("proxy_us_per_call", p.proxyMicrosPerCall());
        row.put("sims_cores_direct", d.cores("sims"));
        row.put("sims_cores_behind_proxy", p.cores("sims"));
        row.put("sims_not_the_bottleneck", d.result().throughput() > p.result().throughput()
            && p.cores("sims") < d.cores("sims"));
        row.put("direct", d.toMap());
        row.put("llmproxy", p.toMap());
        rows.add(row);
      }
    }
    chart.write(ctx.file("png"));
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("rpc", stream ? "StreamComplete" : "Complete");
    out.put("lb", lb);
    out.put("proxy_observability", observability);
    out.put("sims", sims);
    out.put("steps", rows);
    return out;
  }
}
