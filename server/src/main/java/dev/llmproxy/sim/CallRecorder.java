package dev.llmproxy.sim;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.List;
import java.util.function.Predicate;

/**
 * Records what a {@link SimulatedBackend} saw, so tests can assert on it. Thread-safe.
 *
 * <p>Counters are exact. {@link #calls()} keeps the latest {@value #MAX_RECORDED_CALLS} calls so that a
 * long benchmark does not fill the heap. {@link #inFlight()} counts calls that are open at the backend,
 * queued or generating.
 *
 * <p>Tests wait for a state with {@link #await}: it wakes on every start, admission, end and, while
 * someone waits, every token, so it needs no polling.
 */
public final class CallRecorder {
  /** How many of the latest calls {@link #calls()} keeps. */
  public static final int MAX_RECORDED_CALLS = 10_000;

  private final ArrayDeque<RecordedCall> calls = new ArrayDeque<>();
  private int started;
  private int completed;
  private int cancelled;
  private int failed;
  private int inFlight;
  private int maxInFlight;
  private long arrivals; // never reset: numbers the backend's calls for their random draws
  private volatile int waiters;

  /** An empty recorder, for a backend to fill. */
  public CallRecorder() {}

  /** The latest calls, oldest first (a snapshot). */
  public synchronized List<RecordedCall> calls() {
    return List.copyOf(calls);
  }

  /** The latest call to start; throws {@link IllegalStateException} if none did since the last reset. */
  public synchronized RecordedCall lastCall() {
    RecordedCall last = calls.peekLast();
    if (last == null) {
      throw new IllegalStateException("no call recorded");
    }
    return last;
  }

  /** Calls that started. */
  public synchronized int started() {
    return started;
  }

  /** Calls that ended with OK. */
  public synchronized int completed() {
    return completed;
  }

  /** Calls cancelled by the client, its deadline or shutdown. */
  public synchronized int cancelled() {
    return cancelled;
  }

  /** Calls that the backend failed. */
  public synchronized int failed() {
    return failed;
  }

  /** Calls open now, queued or generating. */
  public synchronized int inFlight() {
    return inFlight;
  }

  /** The most calls that were open at once. */
  public synchronized int maxInFlight() {
    return maxInFlight;
  }

  /**
   * Forgets recorded calls and zeroes the counters; {@link #maxInFlight()} restarts from the calls
   * open now. Calls still open are counted when they end.
   */
  public synchronized void reset() {
    calls.clear();
    started = 0;
    completed = 0;
    cancelled = 0;
    failed = 0;
    maxInFlight = inFlight;
    notifyAll();
  }

  /**
   * Waits until {@code condition} holds or {@code timeout} passes.
   *
   * @return whether the condition holds
   */
  public boolean await(Predicate<? super CallRecorder> condition, Duration timeout)
      throws InterruptedException {
    requireNonNull(condition, "condition");
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (this) {
      waiters++;
      try {
        while (!condition.test(this)) {
          long remaining = deadline - System.nanoTime();
          if (remaining <= 0) {
            return false;
          }
          wait(Math.max(1, remaining / 1_000_000));
        }
        return true;
      } finally {
        waiters--;
      }
    }
  }

  @Override
  public synchronized String toString() {
    return "CallRecorder{started=" + started + ", completed=" + completed + ", failed=" + failed
        + ", cancelled=" + cancelled + ", inFlight=" + inFlight + ", maxInFlight=" + maxInFlight
        + ", latest=" + calls.peekLast() + "}";
  }

  /** Records a call that starts, and returns its arrival number at this backend: 0, 1, 2, ... */
  synchronized long started(RecordedCall call) {
    if (calls.size() == MAX_RECORDED_CALLS) {
      calls.removeFirst();
    }
    calls.addLast(call);
    started++;
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    notifyAll();
    return arrivals++;
  }

  synchronized void ended(RecordedCall.Outcome outcome) {
    inFlight--;
    switch (outcome) {
      case COMPLETED -> completed++;
      case CANCELLED -> cancelled++;
      case FAILED -> failed++;
      default -> throw new IllegalArgumentException("not an end: " + outcome);
    }
    notifyAll();
  }

  /** Wakes waiters after a change that is not a start or an end (admission, tokens); cheap if none. */
  void changed() {
    if (waiters > 0) {
      synchronized (this) {
        notifyAll();
      }
    }
  }
}
