package dev.llmproxy.bench;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Scale: N (10,000) {@code StreamComplete} calls held open at once through one proxy at a slow
 * token rate, every call made exactly once. While they run, the proxy's own Prometheus endpoint is
 * sampled for heap and direct memory; the result says whether every call completed and whether the
 * heap stayed under the limit (1 GiB). The proxy runs with {@code -Xmx1g}, so a heap that needed
 * more would fail calls rather than just report a number.
 */
final class ScaleScenario implements Scenario {
  private static final long GIB = 1L << 30;

  @Override
  public String name() {
    return "scale";
  }

  @Override
  public String summary() {
    return "10,000 concurrent slow streams through one proxy: all complete? peak heap and direct memory";
  }

  @Override
  public Map<String, Object> run(ScenarioContext ctx) throws Exception {
    Options o = ctx.options();
    int streams = o.integer("streams", 10_000);
    int tokens = o.integer("tokens", 20);
    String itl = o.string("itl", "500ms");
    int sims = o.integer("sims", 2);
    // 625 streams per connection: under the proxy's default server.max_concurrent_streams (1000).
    int connections = o.integer("connections", 16);
    o.rejectUnknown();

    Path config = Files.createTempFile("llmproxy-bench-scale-", ".yaml");
    try (Topology t = Topology.startSims(ctx.serverJar(), sims, List.of("--itl", itl), ScenarioContext.SIM_JVM)) {
      Files.copy(ProxyConfigFile.write(t.simAddresses(), "least_outstanding", "metrics"), config,
          java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      t.startProxy(ctx.serverJar(), List.of("--config", config.toString()), ScenarioContext.PROXY_JVM);
      String metricsUrl = metricsUrl(t.proxy().log());
      Map<String, Double> idle = memory(metricsUrl);

      LoadSpec spec = new LoadSpec(List.of(t.proxyAddress()), true, false, streams, Duration.ZERO,
          Duration.ofMinutes(10), streams, tokens, "bench-model", connections, Map.of(), ScenarioContext.CALL_TIMEOUT);
      Map<String, Double> peak = new LinkedHashMap<>();
      AtomicReference<Double> peakInFlight = new AtomicReference<>(0.0);
      Thread sampler = new Thread(() -> {
        try {
          while (!Thread.currentThread().isInterrupted()) {
            Map<String, Double> m = memory(metricsUrl);
            synchronized (peak) {
              m.forEach((k, v) -> peak.merge(k, v, Math::max));
            }
            peakInFlight.accumulateAndGet(m.getOrDefault("upstream_inflight", 0.0), Math::max);
            Thread.sleep(500);
          }
        } catch (InterruptedException | IOException e) {
          // Sampling ends with the run.
        }
      }, "bench-memory-sampler");
      sampler.setDaemon(true);
      sampler.start();
      ctx.log().printf("scale: %,d streams of %d tokens at %s per token through %s%n", streams, tokens, itl,
          t.proxyAddress());
      Step step = Step.run(ctx.generator(), spec, t, "llmproxy", ctx.log());
      sampler.interrupt();
      sampler.join(5000);

      Map<String, Object> out = new LinkedHashMap<>();
      out.put("streams", streams);
      out.put("tokens_per_stream", tokens);
      out.put("upstream_itl", itl);
      out.put("proxy_jvm", ScenarioContext.PROXY_JVM);
      out.put("completed_ok", step.result().ok());
      out.put("errors_by_status", step.result().errors());
      out.put("peak_upstream_streams_in_flight", peakInFlight.get());
      out.put("idle_memory_bytes", idle);
      synchronized (peak) {
        out.put("peak_memory_bytes", new LinkedHashMap<>(peak));
        double heap = peak.getOrDefault("heap_used", Double.NaN);
        out.put("all_completed", step.result().ok() == streams);
        out.put("heap_under_1_gib", heap < GIB);
      }
      out.put("run", step.toMap());
      ctx.log().printf("scale: %,d of %,d completed, peak heap %.0f MiB, peak direct %.0f MiB%n",
          step.result().ok(), streams, peak.getOrDefault("heap_used", 0.0) / (1 << 20),
          peak.getOrDefault("jvm_direct_buffers", 0.0) / (1 << 20));
      return out;
    } finally {
      Files.deleteIfExists(config);
    }
  }

  private static String metricsUrl(Path proxyLog) throws IOException {
    Matcher m = Pattern.compile("metrics: (http://\\S+/metrics)").matcher(Files.readString(proxyLog));
    if (!m.find()) {
      throw new IOException("the proxy printed no metrics URL (log: " + proxyLog + ")");
    }
    return m.group(1);
  }

  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  /** Heap, direct memory and upstream streams from the proxy's own /metrics. */
  static Map<String, Double> memory(String url) throws IOException, InterruptedException {
    String text = HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build(),
        HttpResponse.BodyHandlers.ofString()).body();
    Map<String, Double> m = new LinkedHashMap<>();
    m.put("heap_used", PrometheusText.sum(text, "jvm_memory_used_bytes", "area=\"heap\""));
    m.put("nonheap_used", PrometheusText.sum(text, "jvm_memory_used_bytes", "area=\"nonheap\""));
    m.put("jvm_direct_buffers", PrometheusText.sum(text, "jvm_buffer_memory_used_bytes", "id=\"direct\""));
    m.put("netty_direct", PrometheusText.sum(text, "llmproxy_netty_direct_memory_used_bytes"));
    m.put("upstream_inflight", PrometheusText.sum(text, "llmproxy_upstream_inflight"));
    return m;
  }
}
