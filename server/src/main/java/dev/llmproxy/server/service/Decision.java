package dev.llmproxy.server.service;

import dev.llmproxy.v1.CompletionRequest;
import io.grpc.Context;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.Status;
import java.util.Objects;

/**
 * What a {@link RequestDecidingServerInterceptor} decided about a call, once its request message
 * was in: go on down the chain, answer the call here, or refuse it. {@link PendingCall} carries it
 * out, in one place for every interceptor.
 */
public sealed interface Decision<ReqT, RespT> {
  /** Starts the rest of the chain with {@code request} on {@code call} (possibly wrapped) in {@code context}. */
  static <ReqT, RespT> Decision<ReqT, RespT> proceed(CompletionRequest request, ServerCall<ReqT, RespT> call,
      Context context) {
    return new Proceed<>(request, call, context, () -> { });
  }

  /**
   * As {@link #proceed(CompletionRequest, ServerCall, Context)}; {@code ifAbandoned} runs instead if
   * the call ended (the client cancelled) before the chain could start.
   */
  static <ReqT, RespT> Decision<ReqT, RespT> proceed(CompletionRequest request, ServerCall<ReqT, RespT> call,
      Context context, Runnable ifAbandoned) {
    return new Proceed<>(request, call, context, ifAbandoned);
  }

  /**
   * Answers the call here instead of starting the rest of the chain: from now on its listener events
   * go to {@code listener} (a ready or half-close that came while the call was pending is replayed
   * to it), then {@code onServing} runs; {@code ifAbandoned} runs instead if the call ended first.
   */
  static <ReqT, RespT> Decision<ReqT, RespT> serve(ServerCall.Listener<ReqT> listener, Runnable onServing,
      Runnable ifAbandoned) {
    return new Serve<>(listener, onServing, ifAbandoned);
  }

  /** Closes the call with {@code status} and {@code trailers}; the rest of the chain never sees it. */
  static <ReqT, RespT> Decision<ReqT, RespT> reject(Status status, Metadata trailers) {
    return new Reject<>(status, trailers);
  }

  /** Closes the call with {@code status}. */
  static <ReqT, RespT> Decision<ReqT, RespT> reject(Status status) {
    return new Reject<>(status, new Metadata());
  }

  record Proceed<ReqT, RespT>(CompletionRequest request, ServerCall<ReqT, RespT> call, Context context,
      Runnable ifAbandoned) implements Decision<ReqT, RespT> {
    public Proceed {
      Objects.requireNonNull(request, "request");
      Objects.requireNonNull(call, "call");
      Objects.requireNonNull(context, "context");
      Objects.requireNonNull(ifAbandoned, "ifAbandoned");
    }
  }

  record Serve<ReqT, RespT>(ServerCall.Listener<ReqT> listener, Runnable onServing, Runnable ifAbandoned)
      implements Decision<ReqT, RespT> {
    public Serve {
      Objects.requireNonNull(listener, "listener");
      Objects.requireNonNull(onServing, "onServing");
      Objects.requireNonNull(ifAbandoned, "ifAbandoned");
    }
  }

  record Reject<ReqT, RespT>(Status status, Metadata trailers) implements Decision<ReqT, RespT> {
    public Reject {
      Objects.requireNonNull(status, "status");
      Objects.requireNonNull(trailers, "trailers");
    }
  }
}
