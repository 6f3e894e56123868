package dev.llmproxy.server.service;

import dev.llmproxy.server.shed.LoadShedder;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.LongSupplier;

/** What every relay shares: the timer and clock for stall checks, the routes' limiters, the counters. */
record RelaySupport(ScheduledExecutorService timers, LongSupplier nanoTime, LoadShedder shedder,
    RelayMetrics metrics) {
}
