package dev.llmproxy.server.upstream;

import dev.llmproxy.server.config.OutlierDetection;

/*
 * Consecutive-fault ejection with exponential back-off, as a pure transition function.
 *
 * What: an upstream is ejected after `consecutiveFailures` faults in a row (a success resets the
 * count). An ejection lasts base * 2^level, capped at max; `level` grows by one when an upstream is
 * ejected again within `max` of coming back from its last ejection and starts over at 0 otherwise,
 * so a flapping upstream stays out longer and longer while one that failed once long ago gets the
 * base time. While ejected, faults of calls that were already in flight are ignored. When the time is
 * up the upstream simply gets calls again: the next faults eject it again, the next success resets
 * its count.
 *
 * Busy (RESOURCE_EXHAUSTED) is separate: it sets `busyUntil` (now + busyAvoidance) and leaves the
 * fault count alone, because an upstream at capacity is healthy and will have room again shortly.
 *
 * Why consecutive faults rather than a failure rate: LLM calls are few and long (tens per second per
 * upstream, not thousands), so a rate over a window either needs a long window or judges on a handful
 * of calls; a run of faults with no success in between is the signal that an upstream is broken, and
 * it reacts within `consecutiveFailures` calls. Partial failures (an upstream failing one call in
 * three) are left to failover, which re-sends those calls to another upstream.
 *
 * Times are System.nanoTime() readings, compared by subtraction so that wrap-around is harmless.
 */
/**
 * One upstream's ejection state at a point in time. Immutable; {@link #after} gives the next state.
 *
 * @param consecutiveFaults faults since the last success or ejection
 * @param level how many times the ejection time has doubled
 * @param ejectedUntil when the current (or last) ejection ends
 * @param busyUntil when the current (or last) busy avoidance ends
 * @param everEjected whether {@code ejectedUntil} means anything
 * @param lastSeen when the latest outcome was recorded
 */
record EjectionState(int consecutiveFaults, int level, long ejectedUntil, long busyUntil, boolean everEjected,
    long lastSeen) {

  private static final int MAX_LEVEL = 30;

  /** An upstream first heard of at {@code now}: no faults, not avoided. */
  static EjectionState fresh(long now) {
    return new EjectionState(0, 0, now, now, false, now);
  }

  boolean isEjected(long now) {
    return everEjected && ejectedUntil - now > 0;
  }

  boolean isAvoided(long now) {
    return isEjected(now) || busyUntil - now > 0;
  }

  /** The end of the later of the ejection and the busy avoidance. */
  long avoidedUntil() {
    return everEjected && ejectedUntil - busyUntil > 0 ? ejectedUntil : busyUntil;
  }

  /**
   * The state after {@code outcome} at {@code now}.
   *
   * @param mayEject whether the route's limit on ejected upstreams leaves room for this one
   * @param busyNanos how long a BUSY outcome avoids the upstream
   */
  EjectionState after(UpstreamOutcome outcome, long now, OutlierDetection config, boolean mayEject, long busyNanos) {
    return switch (outcome) {
      case SUCCESS -> new EjectionState(0, level, ejectedUntil, busyUntil, everEjected, now);
      case NOT_COUNTED -> new EjectionState(consecutiveFaults, level, ejectedUntil, busyUntil, everEjected, now);
      case BUSY -> new EjectionState(consecutiveFaults, level, ejectedUntil,
          later(busyUntil, now + busyNanos), everEjected, now);
      case FAULT -> afterFault(now, config, mayEject);
    };
  }

  /** Whether one more fault at {@code now} would eject (ignoring the route's limit). */
  boolean wouldEjectOnFault(long now, OutlierDetection config) {
    return config.ejects() && !isEjected(now) && consecutiveFaults + 1 >= config.consecutiveFailures();
  }

  private EjectionState afterFault(long now, OutlierDetection config, boolean mayEject) {
    if (isEjected(now)) {
      return new EjectionState(0, level, ejectedUntil, busyUntil, true, now);
    }
    int faults = consecutiveFaults + 1;
    if (!config.ejects() || faults < config.consecutiveFailures() || !mayEject) {
      return new EjectionState(faults, level, ejectedUntil, busyUntil, everEjected, now);
    }
    long maxNanos = config.maxEjectionTime().toNanos();
    boolean soonAfterLast = everEjected && now - ejectedUntil < maxNanos;
    int newLevel = soonAfterLast ? Math.min(level + 1, MAX_LEVEL) : 0;
    long base = config.baseEjectionTime().toNanos();
    long duration = base > (maxNanos >> newLevel) ? maxNanos : Math.min(maxNanos, base << newLevel);
    return new EjectionState(0, newLevel, now + duration, busyUntil, true, now);
  }

  private static long later(long a, long b) {
    return a - b > 0 ? a : b;
  }
}
