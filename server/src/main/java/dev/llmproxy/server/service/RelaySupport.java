package dev.llmproxy.server.service;

import dev.llmproxy.server.observability.ThrottledLog;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.LongSupplier;

/**
 * What every relay shares: the timer and clock for stall checks, the counters, and the log of
 * upstream protocol faults (an upstream that is not HTTP/2 or sends oversized messages fails every
 * call sent to it, so its line is written at most once per interval), and the room on routes a call
 * falls back to.
 */
record RelaySupport(ScheduledExecutorService timers, LongSupplier nanoTime, RelayMetrics metrics,
    ThrottledLog upstreamFaults, RouteSlots slots) {
}
