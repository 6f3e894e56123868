package dev.llmproxy.server.cache;

import dev.llmproxy.server.config.CacheConfig;
import dev.llmproxy.server.config.CacheMode;
import dev.llmproxy.v1.CompletionRequest;
import java.util.Objects;

/**
 * Decides, as a pure function of the route's mode, the request and the client's cache control,
 * whether a call may be answered from the cache and whether its answer may be stored.
 *
 * <p>A request is deterministic when it sets {@code temperature} to 0 or gives a {@code seed}: only
 * then does a second call promise the same answer, so only those are cached by default. An unset
 * temperature is the upstream's default, which is rarely 0.
 */
final class CachePolicy {
  private final CacheConfig config;

  CachePolicy(CacheConfig config) {
    this.config = Objects.requireNonNull(config, "config");
  }

  CacheAction decide(String route, CompletionRequest request, CacheControl control) {
    if (control == CacheControl.NO_STORE || !cacheable(config.modeOf(route), request)) {
      return CacheAction.BYPASS;
    }
    return control == CacheControl.NO_CACHE ? CacheAction.REFRESH : CacheAction.LOOKUP;
  }

  static boolean cacheable(CacheMode mode, CompletionRequest request) {
    return switch (mode) {
      case OFF -> false;
      case ALWAYS -> true;
      case DETERMINISTIC -> isDeterministic(request);
    };
  }

  static boolean isDeterministic(CompletionRequest request) {
    return (request.hasTemperature() && request.getTemperature() == 0f) || request.hasSeed();
  }
}
