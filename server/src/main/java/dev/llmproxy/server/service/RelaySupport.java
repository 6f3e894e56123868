package dev.llmproxy.server.service;

import dev.llmproxy.server.shed.LoadShedder;
import java.util.concurrent.ScheduledExecutorService;

/** What every relay shares: the timer for stall checks, the routes' limiters, the counters. */
record RelaySupport(ScheduledExecutorService timers, LoadShedder shedder, RelayMetrics metrics) {
}
