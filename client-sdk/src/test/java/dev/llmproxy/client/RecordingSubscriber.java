package dev.llmproxy.client;

import dev.llmproxy.v1.CompletionChunk;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A subscriber that records every signal and checks the publisher's side of the contract: no
 * {@code onNext} beyond what it requested, nothing after a terminal signal. Demand is the test's to
 * give, through {@link #request(long)}, or {@code initialDemand} in {@code onSubscribe}.
 */
class RecordingSubscriber implements Flow.Subscriber<CompletionChunk> {
  final List<CompletionChunk> chunks = new CopyOnWriteArrayList<>();
  final List<String> violations = new CopyOnWriteArrayList<>();
  final AtomicReference<Throwable> error = new AtomicReference<>();
  final CountDownLatch done = new CountDownLatch(1);
  private final long initialDemand;
  private final AtomicLong outstanding = new AtomicLong();
  private final Object arrivals = new Object();
  private volatile Flow.Subscription subscription;
  private volatile boolean completed;

  RecordingSubscriber(long initialDemand) {
    this.initialDemand = initialDemand;
  }

  @Override
  public void onSubscribe(Flow.Subscription s) {
    if (subscription != null) {
      violations.add("onSubscribe twice");
    }
    subscription = s;
    if (initialDemand > 0) {
      request(initialDemand);
    }
  }

  @Override
  public void onNext(CompletionChunk chunk) {
    if (done.getCount() == 0) {
      violations.add("onNext after a terminal signal");
    }
    if (outstanding.getAndDecrement() <= 0) {
      violations.add("onNext beyond demand: chunk " + chunk.getIndex());
    }
    chunks.add(chunk);
    synchronized (arrivals) {
      arrivals.notifyAll();
    }
  }

  @Override
  public void onError(Throwable t) {
    terminal();
    error.set(t);
    done.countDown();
  }

  @Override
  public void onComplete() {
    terminal();
    completed = true;
    done.countDown();
  }

  private void terminal() {
    if (done.getCount() == 0) {
      violations.add("a second terminal signal");
    }
  }

  void request(long n) {
    outstanding.addAndGet(n);
    subscription.request(n);
  }

  void cancel() {
    subscription.cancel();
  }

  boolean completed() {
    return completed;
  }

  boolean awaitDone(Duration timeout) throws InterruptedException {
    return done.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** Waits until at least {@code count} chunks arrived; returns whether they did. */
  boolean awaitChunks(int count, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (arrivals) {
      while (chunks.size() < count) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        arrivals.wait(Math.max(1, left / 1_000_000));
      }
    }
    return true;
  }

  String text() {
    StringBuilder text = new StringBuilder();
    chunks.forEach(c -> text.append(c.getText()));
    return text.toString();
  }
}
