package dev.llmproxy.server.shed;

import dev.llmproxy.server.config.RouteConfig;
import dev.llmproxy.server.service.RouteSlots;
import dev.llmproxy.server.upstream.Route;
import io.grpc.Context;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;

/** The {@link InFlightLimiter} of every route that sets {@code max_in_flight}. */
public final class LoadShedder implements RouteSlots {
  private final Map<String, InFlightLimiter> limiters = new HashMap<>();

  public LoadShedder(Collection<RouteConfig> routes, ScheduledExecutorService timers, MeterRegistry meters) {
    this(routes, timers, meters, null);
  }

  /**
   * After a reload: a route whose cap is unchanged keeps its limiter from {@code previous}, so calls
   * still running on the old config keep counting against the same cap (and its gauges stay true).
   */
  public LoadShedder(Collection<RouteConfig> routes, ScheduledExecutorService timers, MeterRegistry meters,
      LoadShedder previous) {
    for (RouteConfig route : routes) {
      if (route.resilience().shedding().isCapped()) {
        InFlightLimiter kept = previous == null ? null : previous.limiters.get(route.name());
        limiters.put(route.name(), kept != null && kept.config().equals(route.resilience().shedding()) ? kept
            : new InFlightLimiter(route.name(), route.resilience().shedding(), timers, meters));
      }
    }
  }

  /** A slot of {@code route}'s cap, if it has one and a slot is free; released when the call's context ends. */
  @Override
  public boolean tryTake(Route route, Context callContext) {
    InFlightLimiter limiter = limiters.get(route.name());
    if (limiter == null) {
      return true;
    }
    if (!limiter.tryEnter()) {
      return false;
    }
    callContext.addListener(ended -> limiter.release(), Runnable::run);
    return true;
  }

  /** The route's limiter, or null if its calls are not capped. */
  public InFlightLimiter limiter(String route) {
    return limiters.get(route);
  }
}
