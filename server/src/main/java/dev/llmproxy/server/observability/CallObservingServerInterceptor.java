package dev.llmproxy.server.observability;

import dev.llmproxy.server.completion.AnswerEnd;
import dev.llmproxy.server.service.ProxyContext;
import dev.llmproxy.server.upstream.Route;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Deadline;
import io.grpc.ForwardingServerCall.SimpleForwardingServerCall;
import io.grpc.ForwardingServerCallListener.SimpleForwardingServerCallListener;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongSupplier;

/**
 * The outermost interceptor: follows each call from start to close and tells the
 * {@link CallObserver}s (metrics, access log) what happened, without changing anything.
 *
 * <p>How it learns what inner interceptors decided, without their help:
 * <ul>
 *   <li>the route, the requested model and the caller's key id from {@link ProxyContext}: inner interceptors put them
 *       in the call's {@link Context}, and grpc-java runs the inner layers' calls to
 *       {@code request}, {@code sendHeaders} and {@code close} in that context (listener callbacks
 *       and upstream-call callbacks carry it), so the wrapped call reads them there;
 *   <li>the upstream and the cache status from the {@code llmproxy-upstream} and
 *       {@code llmproxy-cache} response headers (or trailers) as they pass by;
 *   <li>time to first token from the first response message, tokens from the {@code usage} of the
 *       last one.
 * </ul>
 * A call the client cancels (or whose deadline passes) before any inner layer closes it is
 * recorded on {@code onCancel}; a close that follows is not recorded twice.
 *
 * <p>Per streamed message this does a counter increment and a type check: nothing that allocates,
 * locks or logs.
 */
public final class CallObservingServerInterceptor implements ServerInterceptor {
  static final Metadata.Key<String> UPSTREAM_HEADER =
      Metadata.Key.of("llmproxy-upstream", Metadata.ASCII_STRING_MARSHALLER);
  static final Metadata.Key<String> CACHE_HEADER =
      Metadata.Key.of("llmproxy-cache", Metadata.ASCII_STRING_MARSHALLER);

  private final CallObserver[] observers;
  private final LongSupplier nanoTime;

  public CallObservingServerInterceptor(List<CallObserver> observers) {
    this(observers, System::nanoTime);
  }

  /** @param nanoTime the clock calls are timed with (a fake one in tests) */
  public CallObservingServerInterceptor(List<CallObserver> observers, LongSupplier nanoTime) {
    this.observers = observers.toArray(new CallObserver[0]);
    this.nanoTime = nanoTime;
  }

  @Override
  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(ServerCall<ReqT, RespT> call,
      Metadata headers, ServerCallHandler<ReqT, RespT> next) {
    CallStats stats = new CallStats(call.getMethodDescriptor().getBareMethodName(),
        !call.getMethodDescriptor().getType().serverSendsOneMessage(), nanoTime.getAsLong());
    stats.requestId = headers.get(RequestIdServerInterceptor.REQUEST_ID);
    stats.clientAddress = call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
    for (CallObserver observer : observers) {
      observer.onStart(stats, headers);
    }
    ObservedCall<ReqT, RespT> observed = new ObservedCall<>(call, stats);
    if (stats.span().getSpanContext().isValid()) { // tracing on: inner layers may relate their calls to it
      Context traced = Context.current().withValue(ProxyContext.SERVER_SPAN, stats.span());
      return new CancelListener<>(Contexts.interceptCall(traced, observed, headers, next), observed);
    }
    return new CancelListener<>(next.startCall(observed, headers), observed);
  }

  private final class ObservedCall<ReqT, RespT> extends SimpleForwardingServerCall<ReqT, RespT> {
    private final CallStats stats;
    private final AtomicBoolean recorded = new AtomicBoolean();

    ObservedCall(ServerCall<ReqT, RespT> delegate, CallStats stats) {
      super(delegate);
      this.stats = stats;
    }

    @Override
    public void request(int numMessages) {
      learnFromContext();
      super.request(numMessages);
    }

    @Override
    public void sendHeaders(Metadata headers) {
      learnFromContext();
      stats.upstream = headers.get(UPSTREAM_HEADER);
      stats.cache = headers.get(CACHE_HEADER);
      super.sendHeaders(headers);
    }

    @Override
    public void sendMessage(RespT message) {
      if (stats.messages++ == 0) {
        stats.firstMessageNanos = nanoTime.getAsLong();
      }
      AnswerEnd end = AnswerEnd.of(message); // null for every chunk but the last
      if (end != null) {
        if (end.usage() != null) {
          stats.promptTokens = end.usage().getPromptTokens();
          stats.completionTokens = end.usage().getCompletionTokens();
        }
        if (end.finishReason() != null) {
          stats.finishReason = end.finishReason();
        }
        if (end.model() != null) {
          stats.responseModel = end.model();
        }
      }
      super.sendMessage(message);
      for (CallObserver observer : observers) {
        observer.onMessage(stats);
      }
    }

    @Override
    public void close(Status status, Metadata trailers) {
      learnFromContext();
      if (stats.cache == null) {
        stats.cache = trailers.get(CACHE_HEADER); // a trailers-only answer carries it here
      }
      // Recorded first, so a call is in the metrics and the access log by the time its client sees
      // it end.
      record(status.getCode());
      super.close(status, trailers);
    }

    void cancelled() {
      Deadline deadline = Context.current().getDeadline();
      StreamEndTracer.End end = StreamEndTracer.current();
      Status sent = end == null ? null : end.status();
      if (sent != null && !sent.isOk() && sent.getCode() != Status.Code.CANCELLED) {
        record(sent.getCode()); // grpc's transport answered (request too large, bad framing): what the client got
      } else {
        record(deadline != null && deadline.isExpired() ? Status.Code.DEADLINE_EXCEEDED : Status.Code.CANCELLED);
      }
    }

    private void record(Status.Code code) {
      if (!recorded.compareAndSet(false, true)) {
        return;
      }
      stats.status = code;
      stats.endNanos = nanoTime.getAsLong();
      for (CallObserver observer : observers) {
        observer.onClose(stats);
      }
    }

    private void learnFromContext() {
      if (stats.route == null) {
        Route route = ProxyContext.ROUTE.get();
        if (route != null) {
          ProxyContext.RequestedModel requested = ProxyContext.REQUESTED_MODEL.get();
          if (requested != null) {
            stats.requestModel = requested.model();
            stats.chat = requested.chat();
          }
          stats.routeModels = route.config().models();
          stats.route = route.name(); // last: the fields above are read once route is set
        }
      }
      if (stats.keyId == null) {
        stats.keyId = ProxyContext.API_KEY_ID.get();
      }
    }
  }

  private static final class CancelListener<ReqT> extends SimpleForwardingServerCallListener<ReqT> {
    private final ObservedCall<ReqT, ?> call;

    CancelListener(ServerCall.Listener<ReqT> delegate, ObservedCall<ReqT, ?> call) {
      super(delegate);
      this.call = call;
    }

    @Override
    public void onCancel() {
      try {
        super.onCancel();
      } finally {
        call.cancelled();
      }
    }
  }
}
