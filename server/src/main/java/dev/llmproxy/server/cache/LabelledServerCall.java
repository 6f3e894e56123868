package dev.llmproxy.server.cache;

import io.grpc.ForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.ServerCall;

/** A client call passed on down the chain, whose response headers report how the cache took part. */
final class LabelledServerCall<ReqT, RespT> extends ForwardingServerCall.SimpleForwardingServerCall<ReqT, RespT> {
  private final CacheOutcome outcome;

  LabelledServerCall(ServerCall<ReqT, RespT> call, CacheOutcome outcome) {
    super(call);
    this.outcome = outcome;
  }

  @Override
  public void sendHeaders(Metadata headers) {
    headers.put(CacheOutcome.HEADER, outcome.headerValue());
    super.sendHeaders(headers);
  }
}
