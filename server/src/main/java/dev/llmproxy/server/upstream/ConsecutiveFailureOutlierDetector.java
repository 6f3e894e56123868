package dev.llmproxy.server.upstream;

import static java.util.Objects.requireNonNull;

import dev.llmproxy.server.config.OutlierDetection;
import java.net.SocketAddress;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * An {@link OutlierDetector} that ejects an upstream after a run of faults (see
 * {@link EjectionState} for the algorithm), never more than the configured share of the route's
 * upstreams at once.
 *
 * <p>Reads ({@link #avoids}, on every pick) take no lock: states are immutable and published
 * through a concurrent map, and a volatile horizon (the latest time anything is avoided until)
 * answers "nothing is avoided" without a map lookup in the common case. Writes ({@link #record},
 * once per upstream call) are serialized, so the limit on ejected upstreams holds exactly.
 *
 * <p>The upstreams counted for that limit are those the channel resolved ({@link #upstreamsAre}) and
 * those with an outcome in the last {@code max_ejection_time} (at least a minute), so addresses
 * that left a DNS fleet stop counting; their states are dropped an hour after their last outcome.
 */
public final class ConsecutiveFailureOutlierDetector implements OutlierDetector {
  private static final long FORGET_AFTER_NANOS = 3_600_000_000_000L;
  private static final long MIN_KNOWN_WINDOW_NANOS = 60_000_000_000L;

  private final OutlierDetection config;
  private final LongSupplier nanoClock;
  private final Map<SocketAddress, EjectionState> states = new ConcurrentHashMap<>();
  private volatile Set<SocketAddress> upstreams = Set.of();
  private volatile long horizon;
  private volatile long ejections;

  /** @param nanoClock {@link System#nanoTime()} in production, a fake in tests */
  public ConsecutiveFailureOutlierDetector(OutlierDetection config, LongSupplier nanoClock) {
    this.config = requireNonNull(config, "config");
    this.nanoClock = requireNonNull(nanoClock, "nanoClock");
    this.horizon = nanoClock.getAsLong();
  }

  @Override
  public boolean avoids(SocketAddress address) {
    long now = nanoClock.getAsLong();
    if (horizon - now <= 0) {
      return false;
    }
    EjectionState state = states.get(address);
    return state != null && state.isAvoided(now);
  }

  @Override
  public boolean avoidsAny() {
    return horizon - nanoClock.getAsLong() > 0;
  }

  @Override
  public boolean isEjected(SocketAddress address) {
    EjectionState state = states.get(address);
    return state != null && state.isEjected(nanoClock.getAsLong());
  }

  @Override
  public void upstreamsAre(Set<SocketAddress> addresses) {
    upstreams = Set.copyOf(addresses);
  }

  @Override
  public long nanosUntilReturn(SocketAddress address) {
    EjectionState state = states.get(address);
    long now = nanoClock.getAsLong();
    return state != null && state.isEjected(now) ? state.ejectedUntil() - now : 0;
  }

  @Override
  public void record(SocketAddress address, UpstreamOutcome outcome) {
    record(address, outcome, config.busyAvoidance().toNanos());
  }

  /** Never longer than {@code max_ejection_time}: a Retry-After of hours must not empty a route. */
  @Override
  public void recordBusy(SocketAddress address, long retryAfterNanos) {
    long busy = Math.max(config.busyAvoidance().toNanos(), Math.min(retryAfterNanos, config.maxEjectionTime().toNanos()));
    record(address, UpstreamOutcome.BUSY, busy);
  }

  private synchronized void record(SocketAddress address, UpstreamOutcome outcome, long busyNanos) {
    if (address == null) {
      return;
    }
    long now = nanoClock.getAsLong();
    EjectionState state = states.get(address);
    if (state == null) {
      state = EjectionState.fresh(now);
    }
    boolean mayEject = outcome == UpstreamOutcome.FAULT && state.wouldEjectOnFault(now, config)
        && roomToEject(address, now);
    EjectionState next = state.after(outcome, now, config, mayEject, busyNanos);
    states.put(address, next);
    if (!state.isEjected(now) && next.isEjected(now)) {
      ejections++;
    }
    long until = next.avoidedUntil();
    if (until - horizon > 0) {
      horizon = until;
    }
  }

  @Override
  public int ejectedCount() {
    return countEjected(nanoClock.getAsLong());
  }

  @Override
  public long ejections() {
    return ejections;
  }

  private boolean roomToEject(SocketAddress candidate, long now) {
    long window = Math.max(config.maxEjectionTime().toNanos(), MIN_KNOWN_WINDOW_NANOS);
    Set<SocketAddress> resolved = upstreams;
    int known = 0;
    int ejected = 0;
    for (Iterator<Map.Entry<SocketAddress, EjectionState>> it = states.entrySet().iterator(); it.hasNext(); ) {
      Map.Entry<SocketAddress, EjectionState> e = it.next();
      EjectionState s = e.getValue();
      if (now - s.lastSeen() > FORGET_AFTER_NANOS && !s.isEjected(now)) {
        it.remove();
        continue;
      }
      if (s.isEjected(now)) {
        ejected++;
        known++;
      } else if (now - s.lastSeen() <= window || e.getKey().equals(candidate) || resolved.contains(e.getKey())) {
        known++;
      }
    }
    if (!states.containsKey(candidate)) {
      known++;
    }
    for (SocketAddress address : resolved) {
      if (!states.containsKey(address) && !address.equals(candidate)) {
        known++;
      }
    }
    // Ejecting the only upstream would help nothing: picks fall back to it anyway.
    int allowed = known < 2 ? 0 : Math.max(1, known * config.maxEjectionPercent() / 100);
    return ejected + 1 <= allowed;
  }

  private int countEjected(long now) {
    if (horizon - now <= 0) {
      return 0;
    }
    int n = 0;
    for (EjectionState s : states.values()) {
      if (s.isEjected(now)) {
        n++;
      }
    }
    return n;
  }

  @Override
  public String toString() {
    return "ConsecutiveFailureOutlierDetector{ejected=" + ejectedCount() + ", ejections=" + ejections + "}";
  }
}
