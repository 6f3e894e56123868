package dev.llmproxy.server.observability;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Writes lines to a stream from its own thread, so that callers on Netty event loops never wait
 * for a terminal, a pipe or a disk. The queue is bounded: when the writer falls behind, new lines
 * are dropped and counted rather than held in memory or allowed to slow the proxy down.
 */
final class AsyncLineWriter implements AutoCloseable {
  private static final String STOP = new String("stop"); // compared by identity

  private final BlockingQueue<String> queue;
  private final Writer out;
  private final AtomicLong dropped = new AtomicLong();
  private final Thread thread;

  /** Starts the writer thread; {@code capacity} lines may wait to be written. */
  AsyncLineWriter(OutputStream out, int capacity, String threadName) {
    this.queue = new ArrayBlockingQueue<>(capacity);
    this.out = new BufferedWriter(new OutputStreamWriter(out, StandardCharsets.UTF_8), 1 << 16);
    this.thread = new Thread(this::drain, threadName);
    thread.setDaemon(true);
    thread.start();
  }

  /** Queues one line (without its newline); false, and counted as dropped, if the queue is full. */
  boolean offer(String line) {
    if (queue.offer(line)) {
      return true;
    }
    dropped.incrementAndGet();
    return false;
  }

  /** Lines dropped so far because the writer could not keep up. */
  long dropped() {
    return dropped.get();
  }

  private void drain() {
    try {
      while (true) {
        String line = queue.take();
        if (line == STOP) {
          break;
        }
        write(line);
        if (queue.isEmpty()) {
          out.flush();
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (IOException e) {
      // The stream is gone (a closed pipe): nothing sensible is left to write to.
      return;
    }
    try {
      for (String line = queue.poll(); line != null; line = queue.poll()) {
        if (line != STOP) {
          write(line);
        }
      }
      out.flush();
    } catch (IOException e) {
      // Closing anyway.
    }
  }

  private void write(String line) throws IOException {
    out.write(line);
    out.write('\n');
  }

  /** Writes what is queued, then stops; waits up to two seconds. */
  @Override
  public void close() {
    try {
      if (!queue.offer(STOP, 1, TimeUnit.SECONDS)) {
        thread.interrupt();
      }
      thread.join(2000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
