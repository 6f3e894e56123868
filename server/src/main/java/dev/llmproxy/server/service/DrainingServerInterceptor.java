package dev.llmproxy.server.service;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Tracks the proxy's calls in flight so a shutdown can wait for exactly the calls it must let
 * finish, refuses new ones with UNAVAILABLE once draining has started, and cancels the stragglers
 * with a status that says why. Outermost on the {@code LlmProxy} service: it sees every call,
 * cache hits included; health watches and reflection streams are not counted, so they never hold
 * a drain up.
 *
 * <p>Each call runs in a cancellable child of its context, so {@link #cancelAll} reaches
 * everything the call started (upstream calls are created in that context) and the client gets
 * the given status rather than a bare reset. A call counts as in flight until grpc ends its own
 * context, which it does for every call, however it ends.
 */
public final class DrainingServerInterceptor implements ServerInterceptor {
  private static final Status DRAINING = Status.UNAVAILABLE.withDescription("llmproxy is shutting down");

  private final Set<Context.CancellableContext> calls = ConcurrentHashMap.newKeySet();
  private volatile boolean draining;

  @Override
  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(ServerCall<ReqT, RespT> call, Metadata headers,
      ServerCallHandler<ReqT, RespT> next) {
    Context callContext = Context.current();
    Context.CancellableContext context = callContext.withCancellation();
    // Count first, then look: a drain that started meanwhile either sees this call or is seen by it.
    calls.add(context);
    if (draining) {
      ended(context);
      call.close(DRAINING, new Metadata());
      return new ServerCall.Listener<>() {};
    }
    callContext.addListener(ended -> ended(context), Runnable::run);
    return Contexts.interceptCall(context, call, headers, next);
  }

  /** From now on, new calls are refused. */
  public void startDraining() {
    draining = true;
  }

  /** Calls in flight now. */
  public int inFlight() {
    return calls.size();
  }

  /**
   * Waits until no call is in flight or {@code timeout} passes.
   *
   * @return whether every call finished
   */
  public boolean awaitIdle(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (this) {
      while (!calls.isEmpty()) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        TimeUnit.NANOSECONDS.timedWait(this, left);
      }
      return true;
    }
  }

  /** Cancels every call in flight; their clients get {@code status}. */
  public void cancelAll(Status status) {
    for (Context.CancellableContext context : calls) {
      context.cancel(status.asRuntimeException());
    }
  }

  private void ended(Context.CancellableContext context) {
    context.cancel(null);
    if (calls.remove(context) && calls.isEmpty()) {
      synchronized (this) {
        notifyAll();
      }
    }
  }
}
