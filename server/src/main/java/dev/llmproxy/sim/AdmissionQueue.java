package dev.llmproxy.sim;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;

/**
 * Caps concurrent generations and queues the overflow first come first served, like a GPU server's
 * scheduler. A caller {@link #enter enters} with a callback; it is either admitted at once, queued
 * (its callback runs later, on the thread that {@link #release releases} a slot or raises the limit,
 * never under this queue's lock), or rejected. Every admission must be released exactly once.
 * A queued caller that goes away {@link #leave leaves} the queue.
 */
public final class AdmissionQueue {
  /** What {@link #enter} decided. */
  public enum Decision { ADMITTED, QUEUED, REJECTED }

  private final LinkedHashSet<Runnable> waiting = new LinkedHashSet<>();
  private int maxConcurrency;
  private int maxQueue;
  private int running;

  /** A queue admitting {@code maxConcurrency} callers at once (0: unlimited) and queueing {@code maxQueue}. */
  public AdmissionQueue(int maxConcurrency, int maxQueue) {
    this.maxConcurrency = maxConcurrency;
    this.maxQueue = maxQueue;
  }

  /** Admits, queues ({@code onAdmitted} runs once a slot frees) or rejects a caller. */
  public synchronized Decision enter(Runnable onAdmitted) {
    if (waiting.isEmpty() && hasFreeSlot()) {
      running++;
      return Decision.ADMITTED;
    }
    if (waiting.size() < maxQueue) {
      waiting.add(onAdmitted);
      return Decision.QUEUED;
    }
    return Decision.REJECTED;
  }

  /**
   * Removes a queued caller. Returns false if it was not queued: then it has been admitted, or is
   * about to be, and must release its slot.
   */
  public synchronized boolean leave(Runnable onAdmitted) {
    return waiting.remove(onAdmitted);
  }

  /** Frees one slot and admits the next waiters that fit. */
  public void release() {
    List<Runnable> admitted;
    synchronized (this) {
      running--;
      admitted = admitWaiters();
    }
    admitted.forEach(Runnable::run);
  }

  /** Changes the limits; calls already generating keep their slots even above a lower limit. */
  public void setLimits(int newMaxConcurrency, int newMaxQueue) {
    List<Runnable> admitted;
    synchronized (this) {
      maxConcurrency = newMaxConcurrency;
      maxQueue = newMaxQueue;
      admitted = admitWaiters();
    }
    admitted.forEach(Runnable::run);
  }

  /** Callers waiting for a slot. */
  public synchronized int queued() {
    return waiting.size();
  }

  /** Callers holding a slot. */
  public synchronized int running() {
    return running;
  }

  private boolean hasFreeSlot() {
    return maxConcurrency == 0 || running < maxConcurrency;
  }

  private List<Runnable> admitWaiters() {
    List<Runnable> admitted = new ArrayList<>(0);
    var it = waiting.iterator();
    while (it.hasNext() && hasFreeSlot()) {
      admitted.add(it.next());
      it.remove();
      running++;
    }
    return admitted;
  }
}
