package dev.llmproxy.server.service;

import dev.llmproxy.v1.CompletionRequest;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.Status;

/**
 * A call held at an interceptor until its request message has arrived and the interceptor has
 * decided: {@link #proceed} starts the rest of the chain (possibly from another thread, after
 * asynchronous work), {@link #reject} closes the call. Listener events that arrive while the
 * call is held (half-close, ready, cancel) are replayed to the chain when it starts.
 *
 * <p>All methods are serialized on this object: the decision may come from any thread.
 */
public final class GatedCall<ReqT, RespT> extends ServerCall.Listener<ReqT> {
  private enum State { WAITING_FOR_MESSAGE, DECIDING, STARTED, CLOSED }

  private final ServerCall<ReqT, RespT> call;
  private final Metadata headers;
  private final ServerCallHandler<ReqT, RespT> next;
  private final Context context;
  private final FirstMessageServerInterceptor owner;

  private State state = State.WAITING_FOR_MESSAGE;
  private ServerCall.Listener<ReqT> delegate;
  private boolean halfClosed;
  private boolean ready;
  private boolean cancelled;

  GatedCall(ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next,
      Context context, FirstMessageServerInterceptor owner) {
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

  public synchronized boolean isCancelled() {
    return cancelled;
  }

  /** Starts the rest of the chain with {@code request}, in the intercepted context. */
  public boolean proceed(CompletionRequest request) {
    return proceed(request, call, context);
  }

  /**
   * Starts the rest of the chain with {@code request}, a (possibly wrapped) call and a context.
   *
   * @return false if the call was cancelled or closed meanwhile: nothing was started
   */
  @SuppressWarnings("unchecked")
  public synchronized boolean proceed(CompletionRequest request, ServerCall<ReqT, RespT> onCall,
      Context inContext) {
    if (state != State.DECIDING || cancelled) {
      return false;
    }
    state = State.STARTED;
    delegate = Contexts.interceptCall(inContext, onCall, headers, next);
    delegate.onMessage((ReqT) request);
    if (ready) {
      delegate.onReady();
    }
    if (halfClosed) {
      delegate.onHalfClose();
    }
    return true;
  }

  /**
   * Answers the call in the interceptor instead of starting the rest of the chain (for example
   * from a cache): from now on the call's listener events go to {@code listener}, and a ready or
   * half-close that arrived while the call was held is replayed to it.
   *
   * @return false if the call was cancelled or closed meanwhile: the listener gets nothing
   */
  public synchronized boolean serve(ServerCall.Listener<ReqT> listener) {
    if (state != State.DECIDING || cancelled) {
      return false;
    }
    state = State.STARTED;
    delegate = listener;
    if (ready) {
      listener.onReady();
    }
    if (halfClosed) {
      listener.onHalfClose();
    }
    return true;
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

  /** Closes the call without starting the rest of the chain. */
  public synchronized void reject(Status status, Metadata trailers) {
    if (state == State.STARTED || state == State.CLOSED) {
      return;
    }
    state = State.CLOSED;
    if (!cancelled) {
      call.close(status, trailers);
    }
  }

  @Override
  public synchronized void onMessage(ReqT message) {
    if (state == State.STARTED) {
      delegate.onMessage(message);
    } else if (state == State.WAITING_FOR_MESSAGE) {
      state = State.DECIDING;
      owner.onRequest(this, (CompletionRequest) message);
    }
  }

  @Override
  public synchronized void onHalfClose() {
    if (state == State.STARTED) {
      delegate.onHalfClose();
    } else if (state == State.WAITING_FOR_MESSAGE) {
      reject(Status.INVALID_ARGUMENT.withDescription("request: missing (expected: one request message)"),
          new Metadata());
    } else {
      halfClosed = true;
    }
  }

  @Override
  public synchronized void onCancel() {
    cancelled = true;
    if (state == State.STARTED) {
      delegate.onCancel();
    }
  }

  @Override
  public synchronized void onComplete() {
    if (state == State.STARTED) {
      delegate.onComplete();
    }
  }

  @Override
  public synchronized void onReady() {
    if (state == State.STARTED) {
      delegate.onReady();
    } else {
      ready = true;
    }
  }
}
