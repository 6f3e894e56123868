package dev.llmproxy.server.shed;

import dev.llmproxy.server.service.Decision;
import dev.llmproxy.server.service.FallbackRoutes;
import dev.llmproxy.server.service.PendingCall;
import dev.llmproxy.server.service.ProxyContext;
import dev.llmproxy.server.service.RequestDecidingServerInterceptor;
import dev.llmproxy.server.upstream.Route;
import dev.llmproxy.v1.CompletionRequest;
import io.grpc.Context;
import io.grpc.Status;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Load shedding as a stage of the chain, the last before the forwarding service (so calls answered
 * from the cache are never shed, and a cache miss's upstream call is): a call on a route with a cap
 * proceeds once it holds one of the route's {@link InFlightLimiter} slots, waits in the route's
 * queue for one, or is refused with UNAVAILABLE naming the route. The slot is given back when the
 * call's context ends, which grpc guarantees for every call however it ends; a call whose client
 * goes away while it waits leaves the queue.
 *
 * <p>A call its route refuses (full, or it waited too long) moves to the first of the route's
 * fallbacks ({@link ProxyContext#FALLBACKS}) with a free slot, without waiting there; the context
 * it proceeds in names that route. Only when none has room is it refused, with its own route's status.
 */
public final class LoadSheddingServerInterceptor extends RequestDecidingServerInterceptor {
  private final LoadShedder shedder;

  public LoadSheddingServerInterceptor(LoadShedder shedder) {
    this.shedder = Objects.requireNonNull(shedder, "shedder");
  }

  @Override
  protected <ReqT, RespT> CompletionStage<Decision<ReqT, RespT>> decide(PendingCall<ReqT, RespT> call,
      CompletionRequest request) {
    Route route = ProxyContext.ROUTE.get(call.context());
    InFlightLimiter limiter = route == null ? null : shedder.limiter(route.name());
    if (limiter == null) {
      return now(Decision.proceed(request, call.call(), call.context()));
    }
    SlotWaiter<ReqT, RespT> waiter = new SlotWaiter<>(shedder, limiter, call, request);
    switch (limiter.enter(waiter)) {
      case ADMITTED -> waiter.admitted();
      case QUEUED -> call.context().addListener(waiter, Runnable::run);
      case REJECTED -> waiter.rejected(limiter.overloaded());
    }
    return waiter.decision;
  }

  /** One call asking for a slot: its decision completes on admission or refusal. */
  private static final class SlotWaiter<ReqT, RespT> implements InFlightLimiter.Waiter, Context.CancellationListener {
    final CompletableFuture<Decision<ReqT, RespT>> decision = new CompletableFuture<>();
    private final LoadShedder shedder;
    private final InFlightLimiter limiter;
    private final PendingCall<ReqT, RespT> call;
    private final CompletionRequest request;

    SlotWaiter(LoadShedder shedder, InFlightLimiter limiter, PendingCall<ReqT, RespT> call,
        CompletionRequest request) {
      this.shedder = shedder;
      this.limiter = limiter;
      this.call = call;
      this.request = request;
    }

    @Override
    public void admitted() {
      call.context().removeListener(this);
      // Released when the call's context ends; at once if it already has (the client left).
      call.context().addListener(ended -> limiter.release(), Runnable::run);
      decision.complete(Decision.proceed(request, call.call(), call.context()));
    }

    @Override
    public void rejected(Status status) {
      call.context().removeListener(this);
      FallbackRoutes fallbacks = ProxyContext.FALLBACKS.get(call.context());
      if (fallbacks != null && !call.context().isCancelled()) {
        for (int i = 0; i < fallbacks.routes().size(); i++) {
          Route route = fallbacks.routes().get(i);
          if (shedder.tryTake(route, call.context())) {
            decision.complete(Decision.proceed(request, call.call(), call.context().withValues(
                ProxyContext.ROUTE, route, ProxyContext.FALLBACKS, fallbacks.after(i))));
            return;
          }
        }
        if (!fallbacks.isEmpty()) {
          status = status.withDescription(status.getDescription() + "; its fallbacks "
              + fallbacks.routes().stream().map(Route::name).toList() + " have no free slot either");
        }
      }
      decision.complete(Decision.reject(status));
    }

    /** The client went away while the call waited. */
    @Override
    public void cancelled(Context context) {
      if (limiter.leave(this)) {
        decision.complete(Decision.reject(Status.CANCELLED.withDescription("the client went away while queued")));
      }
    }
  }
}
