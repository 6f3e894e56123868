package dev.llmproxy.server.service;

import java.util.concurrent.ScheduledExecutorService;
import java.util.function.LongSupplier;

/** What every relay shares: the timer and clock for stall checks, the counters. */
record RelaySupport(ScheduledExecutorService timers, LongSupplier nanoTime, RelayMetrics metrics) {
}
