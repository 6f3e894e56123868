package dev.llmproxy.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Fallbacks, splits and upstream model names in the config: read, and refused with their paths. */
class PoolsConfigTest {
  private final ConfigLoader loader = new ConfigLoader();

  private static String routes(String a, String b, String c) {
    return "routes:\n"
        + "  - {name: a, default: true, upstreams: ['h:1']" + a + "}\n"
        + "  - {name: b, models: [mb], upstreams: ['h:2']" + b + "}\n"
        + "  - {name: c, models: [mc], upstreams: ['h:3']" + c + "}\n";
  }

  @Test
  void readsFallbacksAndTheModelSentUpstream() {
    ProxyConfig config = loader.parse(routes(", fallbacks: [b, c], upstream_model: org/model-a", "", ""));

    assertThat(config.routes().get(0).fallbacks()).containsExactly("b", "c");
    assertThat(config.routes().get(0).upstreamModel()).isEqualTo("org/model-a");
    assertThat(config.routes().get(1).fallbacks()).isEmpty();
    assertThat(config.routes().get(1).upstreamModel()).isNull();
  }

  @Test
  void aFallbackToAnUnknownRouteOrToItselfNamesItsPath() {
    assertThatThrownBy(() -> loader.parse(routes(", fallbacks: [b, nope]", "", "")))
        .hasMessage("routes[0].fallbacks[1]: \"nope\" (expected: the name of a route in routes)");
    assertThatThrownBy(() -> loader.parse(routes("", ", fallbacks: [b]", "")))
        .hasMessage("routes[1].fallbacks[0]: \"b\" (expected: another route: a route cannot fall back to itself)");
    assertThatThrownBy(() -> loader.parse(routes(", fallbacks: [b, b]", "", "")))
        .hasMessage("routes[0].fallbacks[1]: \"b\" (expected: each fallback once)");
  }

  @Test
  void aCycleOfFallbacksIsRefusedWithTheCycle() {
    assertThatThrownBy(() -> loader.parse(routes(", fallbacks: [b]", ", fallbacks: [c]", ", fallbacks: [a]")))
        .hasMessage("routes[0].fallbacks[0]: \"b\" (expected: no cycle of fallbacks: a -> b -> c -> a)");
    assertThatThrownBy(() -> loader.parse(routes("", ", fallbacks: [c]", ", fallbacks: [b]")))
        .hasMessage("routes[1].fallbacks[0]: \"c\" (expected: no cycle of fallbacks: b -> c -> b)");
  }

  @Test
  void fallbacksOfFallbacksFollowInDepthFirstOrderEachOnce() {
    Map<String, List<String>> graph = Map.of("a", List.of("b", "c"), "b", List.of("d", "c"), "c", List.of("d"));

    assertThat(RouteFallbacks.order("a", graph)).containsExactly("a", "b", "d", "c");
    assertThat(RouteFallbacks.order("d", graph)).containsExactly("d");
  }

  @Test
  void readsSplits() {
    ProxyConfig config = loader.parse(routes("", "", "") + """
        splits:
          - model: llama
            sticky: api_key
            routes: [{route: b, weight: 95}, {route: c, weight: 5}]
          - {model: other, routes: [{route: a}]}
        """);

    assertThat(config.splits()).containsExactly(
        new ModelSplit("llama", ModelSplit.Sticky.API_KEY,
            List.of(new ModelSplit.Share("b", 95), new ModelSplit.Share("c", 5))),
        new ModelSplit("other", ModelSplit.Sticky.NONE, List.of(new ModelSplit.Share("a", 1))));
  }

  @Test
  void aBadSplitNamesItsPath() {
    assertThatThrownBy(() -> loader.parse(routes("", "", "") + "splits: [{model: x, routes: [{route: z, weight: 1}]}]"))
        .hasMessage("splits[0].routes[0].route: \"z\" (expected: the name of a route in routes)");
    assertThatThrownBy(() -> loader.parse(routes("", "", "") + "splits: [{model: mb, routes: [{route: b}]}]"))
        .hasMessage("splits[0].model: \"mb\" (expected: a model no route or other split serves; route 'b' already serves it)");
    assertThatThrownBy(() -> loader.parse(routes("", "", "") + "splits: [{model: x, routes: [{route: b, weight: 0}]}]"))
        .hasMessageStartingWith("splits[0].routes[0].weight: 0");
    assertThatThrownBy(() -> loader.parse(routes("", "", "") + "splits: [{model: x, routes: []}]"))
        .hasMessageStartingWith("splits[0].routes: missing");
    assertThatThrownBy(() -> loader.parse(routes("", "", "") + "splits: [{model: x, sticky: ip, routes: [{route: b}]}]"))
        .hasMessage("splits[0].sticky: \"ip\" (expected: one of none, api_key)");
    assertThatThrownBy(() -> loader.parse(routes("", "", "")
        + "splits: [{model: x, routes: [{route: b}, {route: b}]}]"))
        .hasMessage("splits[0].routes[1].route: \"b\" (expected: each route once in a split)");
  }

  @Test
  void aKeyMayBeLimitedToASplitModel() {
    ProxyConfig config = loader.parse(routes("", "", "") + """
        splits: [{model: llama, routes: [{route: b}]}]
        auth:
          keys: [{id: k, plaintext_dev_only: s, models: [llama]}]
        """);

    assertThat(config.auth().keys().get(0).models()).containsExactly("llama");
  }
}
