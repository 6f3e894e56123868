package dev.llmproxy.server.upstream;

import io.grpc.Attributes;
import io.grpc.ClientStreamTracer;
import io.grpc.Metadata;
import io.grpc.Status;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;

/*
 * Peak EWMA of one endpoint's latency (Finagle's PeakEwma balancer, also Linkerd's default).
 *
 * Two averages: time to first token (from stream creation to the first response message) and, for
 * streams, inter-token latency: one sample per call, its mean gap between response messages, taken
 * when it ends. Not one sample per gap: a peak-sensitive average of single gaps is the largest gap
 * of the last few seconds, a scheduling hiccup (a GC pause, a busy CPU) that every engine has, so it
 * hid how much slower one engine's tokens are; the mean of a call's gaps is the engine's decode speed
 * at its batch size. A sample above the average replaces it
 * at once (peak-sensitive: an endpoint that turns slow is avoided after one slow call); a sample
 * below pulls it down by weight 1 - exp(-dt / decay), dt being the time since the last update, so a
 * recovered endpoint wins back traffic within a few decay times however often it is sampled.
 * Read between samples, the averages decay towards 0 the same way, so an endpoint avoided for being
 * slow is tried again eventually rather than starved forever.
 *
 * A cancelled call is not a sample (the client left: its first token never came, its stream was cut
 * short). Any other failure before the first token is sampled as its elapsed time only when that
 * raises the average: failing fast must not make an endpoint look fast. An endpoint without a sample
 * (new, or back after being unavailable: reset) has no average, and the picker treats it as equal
 * to whatever it is compared with.
 */
/** Per-endpoint Peak EWMA statistics and the stream tracer that feeds them. Thread-safe. */
final class PeakEwma extends ClientStreamTracer.Factory implements TwoChoiceLoadBalancer.Stats {
  private final LongSupplier nanoTime;
  private final double decayNanos;
  private final AtomicInteger inFlight = new AtomicInteger();
  // Guarded by this. NaN: no sample yet.
  private double ttftNanos = Double.NaN;
  private double itlNanos = Double.NaN;
  private long ttftUpdated;
  private long itlUpdated;

  PeakEwma(LongSupplier nanoTime, long decayNanos) {
    if (decayNanos <= 0) {
      throw new IllegalArgumentException("decayNanos: " + decayNanos + " (expected: > 0)");
    }
    this.nanoTime = nanoTime;
    this.decayNanos = decayNanos;
  }

  /** Calls in flight. */
  int inFlight() {
    return inFlight.get();
  }

  /** The decayed time-to-first-token average now, in nanoseconds, or NaN without a sample. */
  synchronized double ttft() {
    return decayed(ttftNanos, ttftUpdated, nanoTime.getAsLong());
  }

  /** The decayed inter-token average now, in nanoseconds, or NaN without a sample. */
  synchronized double itl() {
    return decayed(itlNanos, itlUpdated, nanoTime.getAsLong());
  }

  /** Forgets every sample: the endpoint is new again (it came back after being unavailable). */
  @Override
  public synchronized void reset() {
    ttftNanos = Double.NaN;
    itlNanos = Double.NaN;
  }

  synchronized void sampleTtft(long nanos) {
    long now = nanoTime.getAsLong();
    ttftNanos = update(ttftNanos, ttftUpdated, now, nanos);
    ttftUpdated = now;
  }

  synchronized void sampleItl(long nanos) {
    long now = nanoTime.getAsLong();
    itlNanos = update(itlNanos, itlUpdated, now, nanos);
    itlUpdated = now;
  }

  /** A failure's elapsed time counts only if it raises the average (see the class comment). */
  synchronized void sampleFailure(long nanos) {
    long now = nanoTime.getAsLong();
    double current = decayed(ttftNanos, ttftUpdated, now);
    if (Double.isNaN(current) || nanos > current) {
      ttftNanos = nanos;
      ttftUpdated = now;
    }
  }

  private double update(double average, long updated, long now, long sample) {
    if (Double.isNaN(average)) {
      return sample;
    }
    double current = decayed(average, updated, now);
    if (sample > current) {
      return sample;
    }
    double w = Math.exp(-Math.max(0, now - updated) / decayNanos);
    return current * w + sample * (1 - w);
  }

  private double decayed(double average, long updated, long now) {
    if (Double.isNaN(average)) {
      return average;
    }
    return average * Math.exp(-Math.max(0, now - updated) / decayNanos);
  }

  @Override
  public ClientStreamTracer newClientStreamTracer(ClientStreamTracer.StreamInfo info, Metadata headers) {
    return new Tracer();
  }

  @Override
  public synchronized String toString() {
    return "PeakEwma{inFlight=" + inFlight.get() + ", ttftMs=" + ttftNanos / 1e6 + ", itlMs=" + itlNanos / 1e6 + "}";
  }

  private final class Tracer extends ClientStreamTracer {
    // As InFlightCounter: only count down what was counted up. Messages arrive in order on one thread
    // at a time, so plain fields written there are safe; volatile for the close on another thread.
    private volatile boolean counted;
    private volatile long started;
    private volatile long firstMessage;
    private volatile long lastMessage;
    private volatile int messages;

    @Override
    public void streamCreated(Attributes transportAttrs, Metadata headers) {
      started = nanoTime.getAsLong();
      counted = true;
      inFlight.incrementAndGet();
    }

    @Override
    public void inboundMessage(int seqNo) {
      if (!counted) {
        return;
      }
      long now = nanoTime.getAsLong();
      if (messages == 0) {
        sampleTtft(now - started);
        firstMessage = now;
      }
      lastMessage = now;
      messages++;
    }

    @Override
    public void streamClosed(Status status) {
      if (!counted) {
        return;
      }
      counted = false;
      inFlight.decrementAndGet();
      if (status.getCode() == Status.Code.CANCELLED) {
        return;
      }
      int received = messages;
      if (received == 0 && !status.isOk()) {
        sampleFailure(nanoTime.getAsLong() - started);
      } else if (received >= 2) {
        sampleItl((lastMessage - firstMessage) / (received - 1));
      }
    }
  }
}
