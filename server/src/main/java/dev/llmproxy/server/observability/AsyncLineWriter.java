package dev.llmproxy.server.observability;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/*
 * Writes lines to a stream from its own thread, so that callers on Netty event loops never wait
 * for a terminal, a pipe or a disk.
 *
 * Callers only append to a lock-free queue: no lock, no wake-up of the writer per line (on a busy
 * machine a thread wake-up per call costs more than the line itself). The writer wakes every
 * INTERVAL, writes whatever has queued up and flushes once: one write system call per interval
 * rather than per call; a line reaches the output at most about INTERVAL after it was offered.
 *
 * The queue is bounded: when the writer falls behind (a stuck terminal), new lines are dropped and
 * counted rather than held in memory or allowed to slow the proxy down.
 */
final class AsyncLineWriter implements AutoCloseable {
  private static final Duration INTERVAL = Duration.ofMillis(50);

  private final Queue<String> queue = new ConcurrentLinkedQueue<>();
  private final AtomicInteger queued = new AtomicInteger();
  private final int capacity;
  private final Writer out;
  private final AtomicLong dropped = new AtomicLong();
  private final Thread thread;
  private volatile boolean closing;

  /** Starts the writer thread; {@code capacity} lines may wait to be written. */
  AsyncLineWriter(OutputStream out, int capacity, String threadName) {
    this.capacity = capacity;
    this.out = new BufferedWriter(new OutputStreamWriter(out, StandardCharsets.UTF_8), 1 << 16);
    this.thread = new Thread(this::drain, threadName);
    thread.setDaemon(true);
    thread.start();
  }

  /** Queues one line (without its newline); false, and counted as dropped, if the queue is full. */
  boolean offer(String line) {
    if (queued.incrementAndGet() > capacity) {
      queued.decrementAndGet();
      dropped.incrementAndGet();
      return false;
    }
    queue.add(line);
    return true;
  }

  /** Lines dropped so far because the writer could not keep up. */
  long dropped() {
    return dropped.get();
  }

  private void drain() {
    try {
      while (!closing) {
        LockSupport.parkNanos(this, INTERVAL.toNanos());
        writeQueued();
      }
      writeQueued();
    } catch (IOException e) {
      // The stream is gone (a closed pipe): nothing sensible is left to write to.
    }
  }

  private void writeQueued() throws IOException {
    boolean wrote = false;
    for (String line = queue.poll(); line != null; line = queue.poll()) {
      queued.decrementAndGet();
      out.write(line);
      out.write('\n');
      wrote = true;
    }
    if (wrote) {
      out.flush();
    }
  }

  /** Writes what is queued, then stops; waits up to two seconds. */
  @Override
  public void close() {
    closing = true;
    LockSupport.unpark(thread);
    try {
      thread.join(2000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
