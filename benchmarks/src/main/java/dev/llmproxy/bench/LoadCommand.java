package dev.llmproxy.bench;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The load generator on its own, against servers that are already running: one or more load
 * levels, open or closed loop, {@code Complete} or {@code StreamComplete}; JSON and a latency
 * versus load chart.
 *
 * <pre>java -jar llmproxy-bench.jar load --target 127.0.0.1:50051 --rpc stream --mode open --load 100,200,400</pre>
 */
final class LoadCommand implements Scenario {
  @Override
  public String name() {
    return "load";
  }

  @Override
  public String summary() {
    return "the generator alone against --target host:port[,...]: --rpc unary|stream --mode open|closed --load N[,N...]";
  }

  @Override
  public Map<String, Object> run(ScenarioContext ctx) throws Exception {
    Options o = ctx.options();
    String target = o.string("target", null);
    if (target == null) {
      throw new IllegalArgumentException("--target: missing (expected: host:port[,host:port...])");
    }
    boolean stream = switch (o.string("rpc", "unary")) {
      case "unary" -> false;
      case "stream" -> true;
      default -> throw new IllegalArgumentException("--rpc: expected unary or stream");
    };
    boolean open = switch (o.string("mode", "closed")) {
      case "open" -> true;
      case "closed" -> false;
      default -> throw new IllegalArgumentException("--mode: expected open or closed");
    };
    List<Double> loads = o.numbers("load", "16");
    Duration warmup = o.duration("warmup", Duration.ofSeconds(3));
    Duration duration = o.duration("duration", Duration.ofSeconds(10));
    int maxTokens = o.integer("max-tokens", 16);
    String model = o.string("model", "");
    int connections = o.integer("connections", 1);
    long calls = o.integer("calls", 0);
    Map<String, String> headers = new LinkedHashMap<>();
    String header = o.string("header", null);
    if (header != null) {
      int colon = header.indexOf(':');
      if (colon <= 0) {
        throw new IllegalArgumentException("--header: " + header + " (expected: name: value)");
      }
      headers.put(header.substring(0, colon).trim().toLowerCase(java.util.Locale.ROOT), header.substring(colon + 1).trim());
    }
    o.rejectUnknown();

    LatencyChart chart = new LatencyChart((stream ? "StreamComplete" : "Complete") + ", " + (open ? "open" : "closed")
        + " loop, " + target, "throughput (calls/s)", "latency (ms, log scale)");
    List<Object> runs = new ArrayList<>();
    for (double load : loads) {
      LoadSpec spec = new LoadSpec(List.of(target.split(",")), stream, open, load, warmup, duration, calls,
          maxTokens, model, connections, headers, ScenarioContext.CALL_TIMEOUT);
      ctx.log().printf("%s %s loop at %s%n", spec.rpc(), spec.mode(), load);
      LoadResult r = ctx.generator().run(spec);
      ctx.log().printf("  -> %.1f calls/s, p50 %.2f ms, p99 %.2f ms, errors %s%n", r.throughput(), r.latencyMs(50),
          r.latencyMs(99), r.errors());
      chart.add(target, r.throughput(), r.latencyMs(50), r.latencyMs(99));
      runs.add(r.toMap());
    }
    chart.write(ctx.file("png"));
    return Map.of("runs", runs);
  }
}
