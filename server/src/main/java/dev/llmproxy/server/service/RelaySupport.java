package dev.llmproxy.server.service;

import dev.llmproxy.server.observability.ThrottledLog;
import io.grpc.ClientInterceptor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.LongSupplier;

/**
 * What every relay of a service shares: the timer and clock for stall checks, the counters, and the
 * log of upstream protocol faults (an upstream that is not HTTP/2 or sends oversized messages fails
 * every call sent to it, so its line is written at most once per interval), the room on routes a
 * call falls back to, and what intercepts each upstream attempt of the service's config generation
 * (its client spans; null: nothing, as with tracing off).
 */
record RelaySupport(ScheduledExecutorService timers, LongSupplier nanoTime, RelayMetrics metrics,
    ThrottledLog upstreamFaults, RouteSlots slots, ClientInterceptor attemptInterceptor) {
}
