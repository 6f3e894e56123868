package dev.llmproxy.server.quota;

import io.grpc.Context;
import io.grpc.ForwardingServerCall.SimpleForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.Status;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * An admitted call, wrapped: it adds the remaining-quota headers, watches the response for usage
 * and settles the permit with the store exactly once, however the call ends. A call that closes
 * (OK or error) settles in {@link #close}, before the client sees the status; a call that ends
 * any other way (the client cancels, the deadline passes, the transport breaks) settles when its
 * context is cancelled, which grpc-java does on every ending.
 */
final class SettlingServerCall<ReqT, RespT> extends SimpleForwardingServerCall<ReqT, RespT>
    implements Context.CancellationListener {
  static final Metadata.Key<String> REMAINING_REQUESTS =
      Metadata.Key.of("llmproxy-ratelimit-remaining-requests", Metadata.ASCII_STRING_MARSHALLER);
  static final Metadata.Key<String> REMAINING_TOKENS =
      Metadata.Key.of("llmproxy-ratelimit-remaining-tokens", Metadata.ASCII_STRING_MARSHALLER);

  private final QuotaStore store;
  private final QuotaDecision decision;
  private final CallUsage usage;
  private final AtomicBoolean settled = new AtomicBoolean();
  private volatile Context watched;
  private boolean headersSent;

  SettlingServerCall(ServerCall<ReqT, RespT> call, QuotaStore store, QuotaDecision decision, long promptTokens) {
    super(call);
    this.store = store;
    this.decision = decision;
    this.usage = new CallUsage(decision.permit().reservedTokens(), promptTokens);
  }

  /** Settles when {@code context} is cancelled (at once if it already is). */
  void settleWhenCancelled(Context context) {
    watched = context;
    context.addListener(this, Runnable::run);
  }

  @Override
  public void sendHeaders(Metadata headers) {
    headersSent = true;
    usage.onHeaders(headers);
    addRemaining(headers, decision);
    super.sendHeaders(headers);
  }

  @Override
  public void sendMessage(RespT message) {
    usage.onMessage(message);
    super.sendMessage(message);
  }

  @Override
  public void close(Status status, Metadata trailers) {
    if (!headersSent) {
      addRemaining(trailers, decision); // a trailers-only response: the client finds them here
    }
    settle(status.getCode());
    super.close(status, trailers);
  }

  @Override
  public void cancelled(Context context) {
    settle(Status.Code.CANCELLED);
  }

  /** Settles a call that never started (cancelled while it was being decided). */
  void abandon() {
    settle(Status.Code.CANCELLED);
  }

  private void settle(Status.Code ending) {
    if (settled.compareAndSet(false, true)) {
      Context context = watched;
      if (context != null) {
        context.removeListener(this);
      }
      store.release(decision.permit(), usage.usedTokens(ending), usage.refundsRequest(ending));
    }
  }

  static void addRemaining(Metadata metadata, QuotaDecision decision) {
    if (decision.remainingRequests() >= 0) {
      metadata.put(REMAINING_REQUESTS, Long.toString(decision.remainingRequests()));
    }
    if (decision.remainingTokens() >= 0) {
      metadata.put(REMAINING_TOKENS, Long.toString(decision.remainingTokens()));
    }
  }
}
