package dev.llmproxy.server.upstream;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.Callable;
import java.util.concurrent.Delayed;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A scheduled executor on a fake clock: tasks run when the test advances the clock past their time
 * ({@link #advance}), on the test's thread. Only one-shot {@code schedule(Runnable, ...)} is supported.
 */
final class FakeTimers extends AbstractExecutorService implements ScheduledExecutorService {
  final AtomicLong nanos = new AtomicLong(1_000_000_000L);
  private final List<Task> tasks = new ArrayList<>();

  long now() {
    return nanos.get();
  }

  /** Moves the clock on by {@code amount} and runs what has come due, in time order. */
  void advance(long amount, TimeUnit unit) {
    long until = nanos.get() + unit.toNanos(amount);
    while (true) {
      Task next = tasks.stream().filter(t -> !t.cancelled && t.due - until <= 0)
          .min(Comparator.comparingLong(t -> t.due)).orElse(null);
      if (next == null) {
        break;
      }
      tasks.remove(next);
      nanos.set(Math.max(nanos.get(), next.due));
      next.task.run();
    }
    nanos.set(until);
  }

  int pending() {
    return (int) tasks.stream().filter(t -> !t.cancelled).count();
  }

  @Override
  public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
    Task task = new Task(command, nanos.get() + unit.toNanos(delay));
    tasks.add(task);
    return task;
  }

  @Override
  public <V> ScheduledFuture<V> schedule(Callable<V> callable, long delay, TimeUnit unit) {
    throw new UnsupportedOperationException();
  }

  @Override
  public ScheduledFuture<?> scheduleAtFixedRate(Runnable command, long initialDelay, long period, TimeUnit unit) {
    throw new UnsupportedOperationException();
  }

  @Override
  public ScheduledFuture<?> scheduleWithFixedDelay(Runnable command, long initialDelay, long delay, TimeUnit unit) {
    throw new UnsupportedOperationException();
  }

  @Override
  public void execute(Runnable command) {
    command.run();
  }

  @Override
  public void shutdown() {
  }

  @Override
  public List<Runnable> shutdownNow() {
    return List.of();
  }

  @Override
  public boolean isShutdown() {
    return false;
  }

  @Override
  public boolean isTerminated() {
    return false;
  }

  @Override
  public boolean awaitTermination(long timeout, TimeUnit unit) {
    return true;
  }

  private final class Task implements ScheduledFuture<Object> {
    final Runnable task;
    final long due;
    boolean cancelled;

    Task(Runnable task, long due) {
      this.task = task;
      this.due = due;
    }

    @Override
    public long getDelay(TimeUnit unit) {
      return unit.convert(due - nanos.get(), TimeUnit.NANOSECONDS);
    }

    @Override
    public int compareTo(Delayed o) {
      return Long.compare(getDelay(TimeUnit.NANOSECONDS), o.getDelay(TimeUnit.NANOSECONDS));
    }

    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
      cancelled = true;
      return true;
    }

    @Override
    public boolean isCancelled() {
      return cancelled;
    }

    @Override
    public boolean isDone() {
      return cancelled || !tasks.contains(this);
    }

    @Override
    public Object get() {
      return null;
    }

    @Override
    public Object get(long timeout, TimeUnit unit) {
      return null;
    }
  }
}
