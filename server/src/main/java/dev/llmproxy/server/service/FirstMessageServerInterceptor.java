package dev.llmproxy.server.service;

import dev.llmproxy.v1.CompletionRequest;
import io.grpc.Context;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;

/**
 * Base for interceptors that decide a call on its request message, not just its headers
 * (routing, quota, cache). {@code interceptCall} sees only headers, so the call is held in a
 * {@link GatedCall} until the single request message arrives; {@link #onRequest} then proceeds
 * or rejects, at once or later from another thread.
 */
public abstract class FirstMessageServerInterceptor implements ServerInterceptor {

  @Override
  public final <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(ServerCall<ReqT, RespT> call,
      Metadata headers, ServerCallHandler<ReqT, RespT> next) {
    GatedCall<ReqT, RespT> gated = new GatedCall<>(call, headers, next, Context.current(), this);
    // The handler that normally asks for the message has not started yet: ask for it here.
    call.request(1);
    return gated;
  }

  /**
   * Decides a call. Must eventually call {@link GatedCall#proceed} or {@link GatedCall#reject};
   * runs under the call's lock, so it must not block.
   */
  protected abstract <ReqT, RespT> void onRequest(GatedCall<ReqT, RespT> call, CompletionRequest request);
}
