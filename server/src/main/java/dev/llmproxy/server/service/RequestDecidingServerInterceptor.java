package dev.llmproxy.server.service;

import dev.llmproxy.v1.CompletionRequest;
import io.grpc.Context;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Base for interceptors that decide a call on its request message, not just its headers
 * (routing, quota, cache): {@code interceptCall} sees only headers, so the call is held as a
 * {@link PendingCall} until the single request message arrives, then {@link #decide} returns the
 * {@link Decision}, at once or later from another thread (a quota store's reply). The pending call
 * carries the decision out, rejections included, and replays what happened meanwhile; no lock is
 * held while the decision is made or while the rest of the chain runs.
 */
public abstract class RequestDecidingServerInterceptor implements ServerInterceptor {

  @Override
  public final <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(ServerCall<ReqT, RespT> call,
      Metadata headers, ServerCallHandler<ReqT, RespT> next) {
    PendingCall<ReqT, RespT> pending = new PendingCall<>(call, headers, next, Context.current(), this);
    // The handler that normally asks for the message has not started yet: ask for it here.
    call.request(1);
    return pending;
  }

  /**
   * Decides a call on its request. Must not block; a decision that needs I/O completes the stage
   * later, from any thread.
   */
  protected abstract <ReqT, RespT> CompletionStage<Decision<ReqT, RespT>> decide(PendingCall<ReqT, RespT> call,
      CompletionRequest request);

  /** A decision made at once. */
  protected static <ReqT, RespT> CompletionStage<Decision<ReqT, RespT>> now(Decision<ReqT, RespT> decision) {
    return CompletableFuture.completedFuture(decision);
  }
}
