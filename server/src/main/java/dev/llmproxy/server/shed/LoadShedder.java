package dev.llmproxy.server.shed;

import dev.llmproxy.server.config.RouteConfig;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;

/** The {@link InFlightLimiter} of every route that sets {@code max_in_flight}. */
public final class LoadShedder {
  private final Map<String, InFlightLimiter> limiters = new HashMap<>();

  public LoadShedder(Collection<RouteConfig> routes, ScheduledExecutorService timers, MeterRegistry meters) {
    for (RouteConfig route : routes) {
      if (route.resilience().shedding().isCapped()) {
        limiters.put(route.name(), new InFlightLimiter(route.name(), route.resilience().shedding(), timers, meters));
      }
    }
  }

  /** The route's limiter, or null if its calls are not capped. */
  public InFlightLimiter limiter(String route) {
    return limiters.get(route);
  }
}
