package dev.llmproxy.server.shed;

import static java.util.Objects.requireNonNull;

import dev.llmproxy.server.config.ConfigNode;
import dev.llmproxy.server.config.LoadShedding;
import io.grpc.Status;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/*
 * A counting semaphore with a bounded FIFO queue and a wait limit, for one route.
 *
 * enter(): a free slot is taken at once (ADMITTED); otherwise, while the queue has room, the call
 * waits (QUEUED) and a timer is set for its wait limit; otherwise it is refused (REJECTED) and the
 * caller fails it fast. release(): a finished call's slot passes straight to the head of the queue
 * (so a burst cannot overtake calls that waited), or becomes free. A queued call leaves the queue on
 * admission, on its timer (rejected with "waited ..."), or when its client goes away (leave()).
 *
 * Callbacks to a Waiter run outside the lock, on the thread that released the slot or on the timer
 * thread; a Waiter gets exactly one of admitted() or rejected(), and none after leave() returned true.
 */
/**
 * Caps the calls in flight on one route, with an optional bounded wait queue. Thread-safe.
 */
public final class InFlightLimiter {
  /** What became of a call that asked for a slot. */
  public enum Admission {
    /** It holds a slot now; it must {@link #release()} it when it ends. */
    ADMITTED,
    /** It waits: {@link Waiter#admitted()} or {@link Waiter#rejected(Status)} follows. */
    QUEUED,
    /** No slot and no room to wait: fail it with {@link #overloaded()}. */
    REJECTED
  }

  /** A call waiting in the queue. */
  public interface Waiter {
    /** The call now holds a slot and must release it when it ends. */
    void admitted();

    /** The call waited too long; fail it with {@code status}. */
    void rejected(Status status);
  }

  private final String route;
  private final LoadShedding config;
  private final ScheduledExecutorService timers;
  private final ArrayDeque<Queued> queue = new ArrayDeque<>();
  private final Counter rejectedFull;
  private final Counter rejectedTimeout;
  private int inFlight;

  /** The cap this limiter enforces. */
  public LoadShedding config() {
    return config;
  }

  public InFlightLimiter(String route, LoadShedding config, ScheduledExecutorService timers, MeterRegistry meters) {
    this.route = requireNonNull(route, "route");
    this.config = requireNonNull(config, "config");
    this.timers = requireNonNull(timers, "timers");
    if (!config.isCapped()) {
      throw new IllegalArgumentException("max_in_flight: 0 (expected: a cap, for a limiter)");
    }
    Gauge.builder("llmproxy.shed.in_flight", this, InFlightLimiter::inFlight)
        .description("calls holding a slot of the route's max_in_flight").tag("route", route).register(meters);
    Gauge.builder("llmproxy.shed.queued", this, InFlightLimiter::queued)
        .description("calls waiting for a slot").tag("route", route).register(meters);
    rejectedFull = Counter.builder("llmproxy.shed.rejected").description("calls shed")
        .tags("route", route, "reason", "full").register(meters);
    rejectedTimeout = Counter.builder("llmproxy.shed.rejected").description("calls shed")
        .tags("route", route, "reason", "timeout").register(meters);
  }

  /** Asks for a slot for {@code waiter}'s call. */
  public Admission enter(Waiter waiter) {
    requireNonNull(waiter, "waiter");
    synchronized (this) {
      if (inFlight < config.maxInFlight()) {
        inFlight++;
        return Admission.ADMITTED;
      }
      if (queue.size() >= config.queueSize()) {
        rejectedFull.increment();
        return Admission.REJECTED;
      }
      Queued entry = new Queued(waiter);
      queue.addLast(entry);
      try {
        entry.timer = timers.schedule(() -> expire(entry), config.queueTimeout().toNanos(), TimeUnit.NANOSECONDS);
      } catch (RejectedExecutionException e) {
        queue.removeLast(); // shutting down: no waiting
        rejectedFull.increment();
        return Admission.REJECTED;
      }
      return Admission.QUEUED;
    }
  }

  /**
   * Takes a slot if one is free, without waiting (for a call that moves here from another route);
   * true if it did: the call must {@link #release()} it when it ends.
   */
  public boolean tryEnter() {
    synchronized (this) {
      if (inFlight < config.maxInFlight()) {
        inFlight++;
        return true;
      }
      return false;
    }
  }

  /**
   * Takes a waiting call out of the queue (its client went away).
   *
   * @return true if it was still waiting; false if it was admitted or rejected already (an
   *     admitted call then holds a slot and must release it)
   */
  public boolean leave(Waiter waiter) {
    synchronized (this) {
      for (Iterator<Queued> it = queue.iterator(); it.hasNext(); ) {
        Queued entry = it.next();
        if (entry.waiter == waiter) {
          it.remove();
          entry.timer.cancel(false);
          return true;
        }
      }
      return false;
    }
  }

  /** Gives back the slot of a call that ended; the longest-waiting call gets it. */
  public void release() {
    Queued next;
    synchronized (this) {
      next = queue.pollFirst();
      if (next == null) {
        if (inFlight > 0) {
          inFlight--;
        }
        return;
      }
      next.timer.cancel(false);
    }
    next.waiter.admitted();
  }

  /** The status of a call refused for want of a slot and of room in the queue. */
  public Status overloaded() {
    return Status.UNAVAILABLE.withDescription("route '" + route + "': overloaded, "
        + config.maxInFlight() + " calls in flight (max_in_flight: " + config.maxInFlight() + ")"
        + (config.queueSize() > 0 ? " and " + config.queueSize() + " waiting (queue.size: "
            + config.queueSize() + ")" : ""));
  }

  public synchronized int inFlight() {
    return inFlight;
  }

  public synchronized int queued() {
    return queue.size();
  }

  private void expire(Queued entry) {
    synchronized (this) {
      if (!queue.remove(entry)) {
        return;
      }
    }
    rejectedTimeout.increment();
    entry.waiter.rejected(Status.UNAVAILABLE.withDescription("route '" + route + "': overloaded, waited "
        + ConfigNode.format(config.queueTimeout()) + " for one of " + config.maxInFlight()
        + " slots (max_in_flight: " + config.maxInFlight() + ", queue.timeout: "
        + ConfigNode.format(config.queueTimeout()) + ")"));
  }

  @Override
  public synchronized String toString() {
    return "InFlightLimiter{route=" + route + ", inFlight=" + inFlight + "/" + config.maxInFlight()
        + ", queued=" + queue.size() + "/" + config.queueSize() + "}";
  }

  private static final class Queued {
    final Waiter waiter;
    ScheduledFuture<?> timer;

    Queued(Waiter waiter) {
      this.waiter = waiter;
    }
  }
}
