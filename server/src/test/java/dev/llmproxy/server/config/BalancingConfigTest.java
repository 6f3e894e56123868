package dev.llmproxy.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmproxy.server.upstream.UpstreamServiceConfig;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class BalancingConfigTest {
  private final ConfigLoader loader = new ConfigLoader();

  @Test
  void readsThePolicySettings() {
    RouteConfig affinity = loader.parse("""
        routes:
          - {name: r, default: true, upstreams: ['a:1'], lb: prefix_affinity,
             prefix_affinity: {prefix_chars: 2048, tenant_aware: false, load_factor: 1.5}}
        """).routes().get(0);
    RouteConfig ewma = loader.parse("""
        routes: [{name: r, default: true, upstreams: ['a:1'], lb: peak_ewma, peak_ewma: {decay: 30s}}]
        """).routes().get(0);

    assertThat(affinity.lb()).isEqualTo(LbPolicy.PREFIX_AFFINITY);
    assertThat(affinity.balancing()).isEqualTo(new Balancing(Balancing.DEFAULT_EWMA_DECAY, 2048, false, 1.5, Balancing.DEFAULT_REPORT_TTL));
    assertThat(ewma.balancing().ewmaDecay()).isEqualTo(Duration.ofSeconds(30));
    assertThat(ewma.balancing().ewmaBatchSize()).isEqualTo(1);
    assertThat(loader.parse("""
        routes: [{name: r, default: true, upstreams: ['a:1'], lb: peak_ewma, peak_ewma: {batch_size: 32}}]
        """).routes().get(0).balancing().ewmaBatchSize()).isEqualTo(32);
    assertThat(loader.parse("routes: [{name: r, default: true, upstreams: ['a:1']}]").routes().get(0).balancing())
        .isEqualTo(Balancing.defaults());
  }

  @Test
  void theServiceConfigCarriesThemToThePolicy() {
    assertThat(UpstreamServiceConfig.newBuilder().policy(LbPolicy.PREFIX_AFFINITY).loadFactor(1.5).build()
        .toServiceConfig().get("loadBalancingConfig"))
        .isEqualTo(List.of(Map.of("prefix_affinity", Map.of("loadFactor", 1.5))));
    assertThat(UpstreamServiceConfig.newBuilder().policy(LbPolicy.PEAK_EWMA).ewmaDecay(Duration.ofSeconds(3)).build()
        .toServiceConfig().get("loadBalancingConfig"))
        .isEqualTo(List.of(Map.of("peak_ewma", Map.of("decayMillis", 3000.0, "batchSize", 1.0))));
    assertThat(UpstreamServiceConfig.newBuilder().policy(LbPolicy.PEAK_EWMA).ewmaBatchSize(32).build()
        .toServiceConfig().get("loadBalancingConfig"))
        .isEqualTo(List.of(Map.of("peak_ewma", Map.of("decayMillis", 10_000.0, "batchSize", 32.0))));

  }

  @Test
  void aSectionForAnotherPolicyOrABadValueNamesItsPath() {
    assertThatThrownBy(() -> loader.parse("""
        routes: [{name: r, default: true, upstreams: ['a:1'], prefix_affinity: {load_factor: 1.5}}]
        """))
        .hasMessage("routes[0].prefix_affinity: \"a prefix_affinity section with lb: least_outstanding\""
            + " (expected: only with lb: prefix_affinity)");
    assertThatThrownBy(() -> loader.parse("""
        routes: [{name: r, default: true, upstreams: ['a:1'], lb: prefix_affinity, prefix_affinity: {load_factor: 1}}]
        """))
        .hasMessageStartingWith("routes[0].prefix_affinity.load_factor: 1");
    assertThatThrownBy(() -> loader.parse("""
        routes: [{name: r, default: true, upstreams: ['a:1'], lb: peak_ewma, peak_ewma: {decay: 0}}]
        """))
        .hasMessageStartingWith("routes[0].peak_ewma.decay: ");
    assertThatThrownBy(() -> loader.parse("""
        routes: [{name: r, default: true, upstreams: ['a:1'], lb: peak_ewma, peak_ewma: {batch_size: 0}}]
        """))
        .hasMessageStartingWith("routes[0].peak_ewma.batch_size: 0");
    assertThatThrownBy(() -> loader.parse("""
        routes: [{name: r, default: true, upstreams: ['a:1'], lb: peak_ewma, least_loaded: {report_ttl: 5s}}]
        """))
        .hasMessage("routes[0].least_loaded: \"a least_loaded section with lb: peak_ewma\""
            + " (expected: only with lb: least_loaded)");
    assertThatThrownBy(() -> loader.parse("""
        routes: [{name: r, default: true, upstreams: ['a:1'], lb: least_loaded, least_loaded: {report_ttl: 0}}]
        """))
        .hasMessageStartingWith("routes[0].least_loaded.report_ttl: ");
  }

  @Test
  void leastLoadedTakesItsReportTtlToThePolicy() {
    RouteConfig route = loader.parse("""
        routes: [{name: r, default: true, upstreams: ['a:1'], lb: least_loaded, least_loaded: {report_ttl: 3s}}]
        """).routes().get(0);

    assertThat(route.lb()).isEqualTo(LbPolicy.LEAST_LOADED);
    assertThat(route.balancing().reportTtl()).isEqualTo(Duration.ofSeconds(3));
    assertThat(UpstreamServiceConfig.newBuilder().policy(LbPolicy.LEAST_LOADED).reportTtl(Duration.ofSeconds(3)).build()
        .toServiceConfig().get("loadBalancingConfig"))
        .isEqualTo(List.of(Map.of("least_loaded", Map.of("reportTtlMillis", 3000.0))));
  }

  @Test
  void leastLoadedReportsOutOfBandWhenAsked() {
    assertThat(leastLoaded("{out_of_band: {interval: 250ms}}").outOfBand()).isEqualTo(Duration.ofMillis(250));
    assertThat(leastLoaded("{out_of_band: true}").outOfBand()).isEqualTo(Duration.ofSeconds(1));
    assertThat(leastLoaded("{out_of_band: false}").outOfBand()).isNull();
    assertThat(leastLoaded("{report_ttl: 5s}").outOfBand()).isNull();
    assertThat(UpstreamServiceConfig.newBuilder().policy(LbPolicy.LEAST_LOADED).reportTtl(Duration.ofSeconds(5))
        .outOfBandReports(Duration.ofMillis(250)).build().toServiceConfig().get("loadBalancingConfig"))
        .isEqualTo(List.of(Map.of("least_loaded", Map.of("reportTtlMillis", 5000.0, "enableOobLoadReport", true,
            "oobReportingPeriodMillis", 250.0))));
  }

  @Test
  void badOutOfBandSettingsNameTheFieldAndWhatWasExpected() {
    assertThatThrownBy(() -> leastLoaded("{out_of_band: yes please}"))
        .hasMessage("routes[0].least_loaded.out_of_band: \"yes please\" (expected: true, false or {interval: 1s})");
    assertThatThrownBy(() -> leastLoaded("{out_of_band: {interval: 10ms}}"))
        .hasMessageStartingWith("routes[0].least_loaded.out_of_band.interval: ")
        .hasMessageContaining("expected: a duration from 100ms to 1h");
    assertThatThrownBy(() -> leastLoaded("{report_ttl: 2s, out_of_band: {interval: 2s}}"))
        .hasMessage("routes[0].least_loaded.out_of_band.interval: \"2s\" (expected: shorter than report_ttl (2s), "
            + "or each report ages out before the next)");
    assertThatThrownBy(() -> leastLoaded("{out_of_band: {interval: 1s, every: 2s}}"))
        .hasMessageStartingWith("routes[0].least_loaded.out_of_band.every: unknown setting");
  }

  private Balancing leastLoaded(String section) {
    return loader.parse("routes: [{name: r, default: true, upstreams: ['a:1'], lb: least_loaded, least_loaded: "
        + section + "}]").routes().get(0).balancing();
  }
}
