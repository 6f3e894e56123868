package dev.llmproxy.bench;

import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One measured load level against one target: the generator's result and the CPU every process
 * used during the measured part (warm-up runs first, separately, and is not counted).
 */
record Step(String target, LoadResult result, Map<String, Double> cpuSeconds, double wallSeconds) {

  static Step run(LoadGenerator generator, LoadSpec spec, Topology topology, String target, PrintStream log)
      throws InterruptedException {
    log.printf("%s: %s %s loop at %s, %s%n", target, spec.rpc(), spec.mode(), fmt(spec.load()),
        spec.openLoop() ? "calls/s" : "in flight");
    if (!spec.warmup().isZero()) {
      generator.run(spec.measuredFor(spec.warmup()));
    }
    Map<String, Double> before = topology.cpu();
    long start = System.nanoTime();
    LoadResult result = generator.run(spec.measuredFor(spec.duration()));
    double wall = (System.nanoTime() - start) / 1e9;
    Map<String, Double> after = topology.cpu();
    Map<String, Double> used = new LinkedHashMap<>();
    after.forEach((k, v) -> used.put(k, v - before.getOrDefault(k, 0.0)));
    Step step = new Step(target, result, used, wall);
    log.printf("  -> %s calls/s, p50 %.2f ms, p99 %.2f ms, %d errors%s%n", fmt(result.throughput()),
        result.latencyMs(50), result.latencyMs(99), result.errorCount(),
        step.proxyMicrosPerCall() > 0 ? String.format(", proxy %.1f us CPU/call", step.proxyMicrosPerCall()) : "");
    return step;
  }

  private static String fmt(double v) {
    return v == Math.rint(v) ? String.format("%,d", (long) v) : String.format("%,.1f", v);
  }

  /** Proxy CPU per finished call in microseconds; 0 without a proxy. */
  double proxyMicrosPerCall() {
    Double proxy = cpuSeconds.get("proxy");
    long calls = result.ok() + result.errorCount();
    return proxy == null || calls == 0 ? 0 : proxy * 1e6 / calls;
  }

  /** Proxy CPU per relayed token (stream chunk) in microseconds; 0 without a proxy or tokens. */
  double proxyMicrosPerToken() {
    Double proxy = cpuSeconds.get("proxy");
    return proxy == null || result.tokens() == 0 ? 0 : proxy * 1e6 / result.tokens();
  }

  /** Cores a process group kept busy on average during the measured part. */
  double cores(String group) {
    Double s = cpuSeconds.get(group);
    return s == null ? 0 : s / wallSeconds;
  }

  Map<String, Object> toMap() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("target", target);
    m.putAll(result.toMap());
    Map<String, Object> cpu = new LinkedHashMap<>();
    for (String group : cpuSeconds.keySet()) {
      cpu.put(group + "_cores", cores(group));
    }
    if (cpuSeconds.containsKey("proxy")) {
      cpu.put("proxy_us_per_call", proxyMicrosPerCall());
      if (result.spec().stream()) {
        cpu.put("proxy_us_per_token", proxyMicrosPerToken());
      }
    }
    long calls = result.ok() + result.errorCount();
    if (calls > 0) {
      cpu.put("sims_us_per_call", cpuSeconds.getOrDefault("sims", 0.0) * 1e6 / calls);
    }
    m.put("cpu", cpu);
    return m;
  }
}
