package dev.llmproxy.server.service;

import dev.llmproxy.v1.CompletionRequest;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.Status;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A call held at a {@link RequestDecidingServerInterceptor} until its request message has come and
 * the interceptor's {@link Decision} is in; then the decision is carried out and the listener
 * events that arrived meanwhile (half-close, ready, cancel) are replayed to whoever now listens.
 *
 * <p>No lock: the call's listener events (serialized by grpc, on the transport's thread) and the
 * decision (on whichever thread completes it, such as a quota store's reply thread) are queued and
 * run one at a time by whichever thread finds the queue idle, as grpc's own serializing executor
 * does. Once the decision is carried out and the queue is idle, events go straight to the new
 * listener: only the transport's thread submits from then on, so nothing can overtake them.
 */
public final class PendingCall<ReqT, RespT> extends ServerCall.Listener<ReqT> {
  private enum State { WAITING_FOR_MESSAGE, DECIDING, STARTED, CLOSED }

  private final ServerCall<ReqT, RespT> call;
  private final Metadata headers;
  private final ServerCallHandler<ReqT, RespT> next;
  private final Context context;
  private final RequestDecidingServerInterceptor owner;
  private final Queue<Runnable> queue = new ConcurrentLinkedQueue<>();
  private final AtomicInteger pending = new AtomicInteger();
  private volatile ServerCall.Listener<ReqT> direct;

  // Touched only by the task the queue is running.
  private State state = State.WAITING_FOR_MESSAGE;
  private ServerCall.Listener<ReqT> delegate;
  private boolean halfClosed;
  private boolean ready;
  private boolean cancelled;

  PendingCall(ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next, Context context,
      RequestDecidingServerInterceptor owner) {
    this.call = call;
    this.headers = headers;
    this.next = next;
    this.context = context;
    this.owner = owner;
  }

  public ServerCall<ReqT, RespT> call() {
    return call;
  }

  public Metadata headers() {
    return headers;
  }

  /** The context the call was intercepted in; derive from it to pass values down the chain. */
  public Context context() {
    return context;
  }

  /** Whether the RPC is one with a single response message ({@code Complete}). */
  public boolean isUnary() {
    return call.getMethodDescriptor().getType().serverSendsOneMessage();
  }

  /**
   * Starts the rest of the chain for {@code request} on a call that the interceptor drives itself
   * (for example one upstream call shared by several clients), in {@code inContext}, with this
   * call's headers. This call is not affected and must still be decided. The request message, its
   * half-close and a first ready have been delivered; the interceptor delivers further events
   * (ready, cancel) to the returned listener.
   */
  @SuppressWarnings("unchecked")
  public ServerCall.Listener<ReqT> startDetached(CompletionRequest request, ServerCall<ReqT, RespT> onCall,
      Context inContext) {
    ServerCall.Listener<ReqT> listener = Contexts.interceptCall(inContext, onCall, headers, next);
    listener.onMessage((ReqT) request);
    listener.onHalfClose();
    listener.onReady();
    return listener;
  }

  @Override
  public void onMessage(ReqT message) {
    ServerCall.Listener<ReqT> d = direct;
    if (d != null && pending.get() == 0) {
      d.onMessage(message);
    } else {
      submit(() -> message(message));
    }
  }

  @Override
  public void onHalfClose() {
    ServerCall.Listener<ReqT> d = direct;
    if (d != null && pending.get() == 0) {
      d.onHalfClose();
    } else {
      submit(this::halfClose);
    }
  }

  @Override
  public void onCancel() {
    ServerCall.Listener<ReqT> d = direct;
    if (d != null && pending.get() == 0) {
      d.onCancel();
    } else {
      submit(this::cancel);
    }
  }

  @Override
  public void onComplete() {
    ServerCall.Listener<ReqT> d = direct;
    if (d != null && pending.get() == 0) {
      d.onComplete();
    } else {
      submit(this::complete);
    }
  }

  @Override
  public void onReady() {
    ServerCall.Listener<ReqT> d = direct;
    if (d != null && pending.get() == 0) {
      d.onReady();
    } else {
      submit(this::ready);
    }
  }

  private void submit(Runnable task) {
    queue.add(task);
    if (pending.getAndIncrement() != 0) {
      return; // the thread running the queue will get to it
    }
    RuntimeException failure = null;
    int ran;
    do {
      ran = 0;
      Runnable next;
      while ((next = queue.poll()) != null) {
        ran++;
        try {
          next.run();
        } catch (RuntimeException e) {
          if (failure == null) {
            failure = e; // rethrown once the queue is idle again, so no event is stranded
          }
        }
      }
    } while (pending.addAndGet(-ran) != 0);
    if (failure != null) {
      throw failure;
    }
  }

  private void message(ReqT message) {
    if (state == State.STARTED) {
      delegate.onMessage(message);
      return;
    }
    if (state != State.WAITING_FOR_MESSAGE) {
      return;
    }
    state = State.DECIDING;
    CompletionStage<Decision<ReqT, RespT>> decision;
    try {
      decision = owner.decide(this, (CompletionRequest) message);
    } catch (RuntimeException e) {
      decision = CompletableFuture.completedFuture(internalError(e));
    }
    decision.whenComplete((d, error) -> submit(() -> apply(d != null ? d : internalError(error))));
  }

  private Decision<ReqT, RespT> internalError(Throwable error) {
    return Decision.reject(Status.INTERNAL.withDescription(
        owner.getClass().getSimpleName() + ": deciding the call failed (" + error.getClass().getSimpleName() + ")"));
  }

  @SuppressWarnings("unchecked")
  private void apply(Decision<ReqT, RespT> decision) {
    if (state != State.DECIDING) {
      return;
    }
    if (decision instanceof Decision.Reject<ReqT, RespT> reject) {
      state = State.CLOSED;
      if (!cancelled) {
        call.close(reject.status(), reject.trailers());
      }
      return;
    }
    if (cancelled) {
      state = State.CLOSED;
      if (decision instanceof Decision.Proceed<ReqT, RespT> proceed) {
        proceed.ifAbandoned().run();
      } else if (decision instanceof Decision.Serve<ReqT, RespT> serve) {
        serve.ifAbandoned().run();
      }
      return;
    }
    state = State.STARTED;
    if (decision instanceof Decision.Proceed<ReqT, RespT> proceed) {
      delegate = Contexts.interceptCall(proceed.context(), proceed.call(), headers, next);
      delegate.onMessage((ReqT) proceed.request());
      replayHeldEvents();
    } else if (decision instanceof Decision.Serve<ReqT, RespT> serve) {
      delegate = serve.listener();
      replayHeldEvents();
      serve.onServing().run();
    }
    direct = delegate;
  }

  private void replayHeldEvents() {
    if (ready) {
      delegate.onReady();
    }
    if (halfClosed) {
      delegate.onHalfClose();
    }
  }

  private void halfClose() {
    switch (state) {
      case STARTED -> delegate.onHalfClose();
      case WAITING_FOR_MESSAGE -> {
        state = State.CLOSED;
        if (!cancelled) {
          call.close(Status.INVALID_ARGUMENT.withDescription("request: missing (expected: one request message)"),
              new Metadata());
        }
      }
      case DECIDING -> halfClosed = true;
      case CLOSED -> { }
    }
  }

  private void cancel() {
    cancelled = true;
    if (state == State.STARTED) {
      delegate.onCancel();
    }
  }

  private void complete() {
    if (state == State.STARTED) {
      delegate.onComplete();
    }
  }

  private void ready() {
    if (state == State.STARTED) {
      delegate.onReady();
    } else {
      ready = true;
    }
  }
}
