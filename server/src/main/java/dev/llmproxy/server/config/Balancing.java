package dev.llmproxy.server.config;

import java.time.Duration;

/**
 * Settings of the route's load-balancing policy beyond its name.
 *
 * @param ewmaDecay {@code peak_ewma}: how fast latency averages forget (Finagle's decay time)
 * @param ewmaBatchSize {@code peak_ewma}: how many calls an upstream runs at once (an engine's batch
 *     limit); calls in flight count as their share of it, 1 is Finagle's cost
 * @param prefixChars {@code prefix_affinity}: characters of the prompt (system prompt and first
 *     messages, in order) whose hash picks the upstream
 * @param tenantAware {@code prefix_affinity}: whether the caller's API key id is part of the hash,
 *     so tenants with the same prompt are spread and one tenant's calls stay together
 * @param loadFactor {@code prefix_affinity}: the 1+ε of bounded loads; no upstream takes a call
 *     while it has this times the mean calls in flight
 * @param reportTtl {@code least_loaded}: how long an engine's load report counts after it arrived
 * @param outOfBand {@code least_loaded}: how often engines report their load out of band (gRPC
 *     upstreams on an {@code OpenRcaService} stream, OpenAI-compatible ones through a scrape of
 *     their {@code /metrics}), or {@code null}: only per-call reports
 */
public record Balancing(Duration ewmaDecay, int ewmaBatchSize, int prefixChars, boolean tenantAware, double loadFactor,
    Duration reportTtl, Duration outOfBand) {
  public static final Duration DEFAULT_EWMA_DECAY = Duration.ofSeconds(10);
  public static final int DEFAULT_EWMA_BATCH_SIZE = 1;
  public static final int MAX_EWMA_BATCH_SIZE = 4096;
  public static final int DEFAULT_PREFIX_CHARS = 1024;
  public static final double DEFAULT_LOAD_FACTOR = 1.25;
  public static final Duration DEFAULT_REPORT_TTL = Duration.ofSeconds(10);
  public static final Duration DEFAULT_OUT_OF_BAND_INTERVAL = Duration.ofSeconds(1);
  private static final Duration MIN_OUT_OF_BAND_INTERVAL = Duration.ofMillis(100);

  /** Without out-of-band reports. */
  public Balancing(Duration ewmaDecay, int prefixChars, boolean tenantAware, double loadFactor, Duration reportTtl) {
    this(ewmaDecay, DEFAULT_EWMA_BATCH_SIZE, prefixChars, tenantAware, loadFactor, reportTtl, null);
  }

  public static Balancing defaults() {
    return new Balancing(DEFAULT_EWMA_DECAY, DEFAULT_PREFIX_CHARS, true, DEFAULT_LOAD_FACTOR, DEFAULT_REPORT_TTL);
  }

  /**
   * Reads {@code peak_ewma: {decay, batch_size}}, {@code prefix_affinity: {...}} and
   * {@code least_loaded: {report_ttl, out_of_band}} of a route using {@code lb}.
   */
  static Balancing from(ConfigNode route, LbPolicy lb) {
    Balancing d = defaults();
    Duration decay = d.ewmaDecay();
    int batchSize = d.ewmaBatchSize();
    if (route.has("peak_ewma")) {
      requirePolicy(route, "peak_ewma", lb, LbPolicy.PEAK_EWMA);
      ConfigNode node = route.child("peak_ewma");
      decay = node.duration("decay", decay, Duration.ofMillis(1), Duration.ofHours(1));
      batchSize = node.integer("batch_size", batchSize, 1, MAX_EWMA_BATCH_SIZE);
      node.rejectUnknownKeys();
    }
    int prefixChars = d.prefixChars();
    boolean tenantAware = d.tenantAware();
    double loadFactor = d.loadFactor();
    if (route.has("prefix_affinity")) {
      requirePolicy(route, "prefix_affinity", lb, LbPolicy.PREFIX_AFFINITY);
      ConfigNode node = route.child("prefix_affinity");
      prefixChars = node.integer("prefix_chars", prefixChars, 16, 1 << 20);
      tenantAware = node.bool("tenant_aware", tenantAware);
      loadFactor = node.number("load_factor", loadFactor, 1.01, 10);
      node.rejectUnknownKeys();
    }
    Duration reportTtl = d.reportTtl();
    Duration outOfBand = null;
    if (route.has("least_loaded")) {
      requirePolicy(route, "least_loaded", lb, LbPolicy.LEAST_LOADED);
      ConfigNode node = route.child("least_loaded");
      reportTtl = node.duration("report_ttl", reportTtl, Duration.ofMillis(1), Duration.ofHours(1));
      outOfBand = outOfBand(node, reportTtl);
      node.rejectUnknownKeys();
    }
    return new Balancing(decay, batchSize, prefixChars, tenantAware, loadFactor, reportTtl, outOfBand);
  }

  /** {@code out_of_band: true}, {@code false} or {@code {interval: 1s}}: the interval, or null for off. */
  private static Duration outOfBand(ConfigNode leastLoaded, Duration reportTtl) {
    Object raw = leastLoaded.raw("out_of_band");
    if (raw == null || Boolean.FALSE.equals(raw)) {
      return null;
    }
    String path = leastLoaded.pathOf("out_of_band");
    if (!(raw instanceof Boolean) && !(raw instanceof java.util.Map<?, ?>)) {
      throw ConfigException.invalid(path, raw, "true, false or {interval: 1s}");
    }
    Duration interval = DEFAULT_OUT_OF_BAND_INTERVAL;
    if (raw instanceof java.util.Map<?, ?>) {
      ConfigNode node = leastLoaded.child("out_of_band");
      interval = node.duration("interval", interval, MIN_OUT_OF_BAND_INTERVAL, Duration.ofHours(1));
      node.rejectUnknownKeys();
    }
    if (interval.compareTo(reportTtl) >= 0) {
      throw ConfigException.invalid(path + ".interval", ConfigNode.format(interval),
          "shorter than report_ttl (" + ConfigNode.format(reportTtl) + "), or each report ages out before the next");
    }
    return interval;
  }

  private static void requirePolicy(ConfigNode route, String key, LbPolicy lb, LbPolicy expected) {
    if (lb != expected) {
      throw ConfigException.invalid(route.pathOf(key), "a " + key + " section with lb: " + lb.policyName(),
          "only with lb: " + expected.policyName());
    }
  }
}
