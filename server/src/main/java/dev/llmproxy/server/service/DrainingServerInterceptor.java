package dev.llmproxy.server.service;

import io.grpc.Context;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Counts the proxy's calls in flight and, once draining has started, refuses new ones with
 * UNAVAILABLE, so a shutdown can wait for exactly the calls it must let finish. Outermost on the
 * {@code LlmProxy} service: it counts every call, cache hits included, from its first event until
 * grpc ends its context (which it does for every call, however it ends). Health watches and
 * reflection streams are not counted, so they never hold a drain up.
 */
public final class DrainingServerInterceptor implements ServerInterceptor {
  private static final Status DRAINING = Status.UNAVAILABLE.withDescription("llmproxy is shutting down");

  private final AtomicInteger inFlight = new AtomicInteger();
  private volatile boolean draining;

  @Override
  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(ServerCall<ReqT, RespT> call, Metadata headers,
      ServerCallHandler<ReqT, RespT> next) {
    // Count first, then look: a drain that started meanwhile either sees this call or is seen by it.
    inFlight.incrementAndGet();
    if (draining) {
      ended();
      call.close(DRAINING, new Metadata());
      return new ServerCall.Listener<>() {};
    }
    Context.current().addListener(context -> ended(), Runnable::run);
    return next.startCall(call, headers);
  }

  /** From now on, new calls are refused. */
  public void startDraining() {
    draining = true;
  }

  public boolean isDraining() {
    return draining;
  }

  /** Calls in flight now. */
  public int inFlight() {
    return inFlight.get();
  }

  /**
   * Waits until no call is in flight or {@code timeout} passes.
   *
   * @return whether every call finished
   */
  public boolean awaitIdle(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (this) {
      while (inFlight.get() > 0) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        TimeUnit.NANOSECONDS.timedWait(this, left);
      }
      return true;
    }
  }

  private void ended() {
    if (inFlight.decrementAndGet() == 0) {
      synchronized (this) {
        notifyAll();
      }
    }
  }
}
