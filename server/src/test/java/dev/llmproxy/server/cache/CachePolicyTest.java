package dev.llmproxy.server.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmproxy.server.config.CacheConfig;
import dev.llmproxy.server.config.CacheMode;
import dev.llmproxy.v1.CompletionRequest;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CachePolicyTest {
  private final CachePolicy policy = new CachePolicy(CacheConfig.defaults().withModes(CacheMode.DETERMINISTIC,
      Map.of("open", CacheMode.ALWAYS, "closed", CacheMode.OFF)));

  private static CompletionRequest.Builder request() {
    return CompletionRequest.newBuilder().setPrompt("p");
  }

  private CacheAction decide(String route, CompletionRequest.Builder request) {
    return policy.decide(route, request.build(), CacheControl.DEFAULT);
  }

  @Test
  void temperatureZeroOrASeedMakesARequestCacheable() {
    assertThat(decide("chat", request().setTemperature(0))).isEqualTo(CacheAction.LOOKUP);
    assertThat(decide("chat", request().setSeed(0))).isEqualTo(CacheAction.LOOKUP);
    assertThat(decide("chat", request().setTemperature(1.5f).setSeed(9))).isEqualTo(CacheAction.LOOKUP);
  }

  @Test
  void sampledRequestsAndUnsetTemperatureAreNotCacheable() {
    assertThat(decide("chat", request())).isEqualTo(CacheAction.BYPASS);
    assertThat(decide("chat", request().setTemperature(0.01f))).isEqualTo(CacheAction.BYPASS);
  }

  @Test
  void routeModesWidenOrDisableTheRule() {
    assertThat(decide("open", request().setTemperature(1))).isEqualTo(CacheAction.LOOKUP);
    assertThat(decide("closed", request().setTemperature(0))).isEqualTo(CacheAction.BYPASS);
  }

  @Test
  void noCacheRefreshesAndNoStoreBypasses() {
    CompletionRequest cacheable = request().setSeed(1).build();
    assertThat(policy.decide("chat", cacheable, CacheControl.NO_CACHE)).isEqualTo(CacheAction.REFRESH);
    assertThat(policy.decide("chat", cacheable, CacheControl.NO_STORE)).isEqualTo(CacheAction.BYPASS);
    assertThat(policy.decide("chat", request().build(), CacheControl.NO_CACHE)).isEqualTo(CacheAction.BYPASS);
  }

  @Test
  void cacheControlAcceptsBothDirectivesInAnyCaseAndNoStoreWins() {
    assertThat(CacheControl.parse(null)).isEqualTo(CacheControl.DEFAULT);
    assertThat(CacheControl.parse(List.of("No-Cache"))).isEqualTo(CacheControl.NO_CACHE);
    assertThat(CacheControl.parse(List.of("no-cache, no-store"))).isEqualTo(CacheControl.NO_STORE);
    assertThat(CacheControl.parse(List.of("no-store", "no-cache"))).isEqualTo(CacheControl.NO_STORE);
  }

  @Test
  void anUnknownCacheControlDirectiveIsRefusedByName() {
    assertThatThrownBy(() -> CacheControl.parse(List.of("no-cache, max-age=5")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("llmproxy-cache-control: \"max-age=5\" (expected: no-cache or no-store)");
    assertThatThrownBy(() -> CacheControl.parse(List.of("")))
        .hasMessage("llmproxy-cache-control: \"\" (expected: no-cache or no-store)");
  }
}
