package dev.llmproxy.server.upstream;

import dev.llmproxy.orca.LoadReport;
import dev.llmproxy.orca.LoadReportProto;
import io.grpc.Attributes;
import io.grpc.ClientStreamTracer;
import io.grpc.Metadata;
import io.grpc.Status;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;

/*
 * What one endpoint last said about its load (an ORCA per-call report in a call's trailers,
 * endpoint-load-metrics-bin), and what the proxy did to it since.
 *
 * load() = waiting requests + busiest utilization (0..1) + calls started since the report.
 * A queued request costs a whole slot's wait, so queue depth dominates; utilization (batch slots,
 * KV cache) orders engines that queue nothing. Calls started since the report count as one more
 * waiting request each (pessimistic: one may have found a free slot), so a burst between reports
 * does not all land on the engine that looked idlest. A report older than the TTL no longer counts:
 * load() is NaN and the picker falls back to calls in flight.
 */
/** Per-endpoint engine load and the stream tracer that feeds it. Thread-safe. */
final class EngineLoad extends ClientStreamTracer.Factory implements TwoChoiceLoadBalancer.Stats {
  private final LongSupplier nanoTime;
  private final long ttlNanos;
  private final AtomicInteger inFlight = new AtomicInteger();
  private final AtomicInteger startedSinceReport = new AtomicInteger();
  private volatile Reading reading;

  private record Reading(double waiting, double utilization, long receivedNanos) {
  }

  EngineLoad(LongSupplier nanoTime, long ttlNanos) {
    if (ttlNanos <= 0) {
      throw new IllegalArgumentException("ttlNanos: " + ttlNanos + " (expected: > 0)");
    }
    this.nanoTime = nanoTime;
    this.ttlNanos = ttlNanos;
  }

  /** Calls in flight. */
  int inFlight() {
    return inFlight.get();
  }

  /** The reported load now (see the class comment), or NaN without a report younger than the TTL. */
  double load() {
    Reading current = reading;
    if (current == null || nanoTime.getAsLong() - current.receivedNanos > ttlNanos) {
      return Double.NaN;
    }
    return current.waiting + current.utilization + startedSinceReport.get();
  }

  /** Takes a report received now. */
  void report(LoadReport report) {
    double waiting = Math.max(0, report.named(LoadReport.WAITING).orElse(0));
    reading = new Reading(Double.isNaN(waiting) ? 0 : waiting, report.maxUtilization(), nanoTime.getAsLong());
    startedSinceReport.set(0);
  }

  /** Forgets the report: the endpoint came back after being unavailable. */
  @Override
  public void reset() {
    reading = null;
    startedSinceReport.set(0);
  }

  @Override
  public ClientStreamTracer newClientStreamTracer(ClientStreamTracer.StreamInfo info, Metadata headers) {
    return new Tracer();
  }

  @Override
  public String toString() {
    return "EngineLoad{inFlight=" + inFlight.get() + ", load=" + load() + "}";
  }

  private final class Tracer extends ClientStreamTracer {
    // Count down only what was counted up (see InFlightCounter).
    private volatile boolean counted;

    @Override
    public void streamCreated(Attributes transportAttrs, Metadata headers) {
      counted = true;
      inFlight.incrementAndGet();
      startedSinceReport.incrementAndGet();
    }

    @Override
    public void inboundTrailers(Metadata trailers) {
      byte[] bytes = trailers.get(LoadReportProto.TRAILER);
      if (bytes != null) {
        try {
          report(LoadReportProto.decode(bytes));
        } catch (IllegalArgumentException e) {
          // A malformed report says nothing about load; the previous one ages out.
        }
      }
    }

    @Override
    public void streamClosed(Status status) {
      if (counted) {
        counted = false;
        inFlight.decrementAndGet();
      }
    }
  }
}
