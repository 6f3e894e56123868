package dev.llmproxy.sim;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.ForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;

/**
 * The simulated backend's metadata: hands the request headers to the service through {@link
 * #REQUEST_HEADERS} (for the {@link CallRecorder}), and names the backend in the
 * {@code llmproxy-upstream} response header. Response headers go out with the first message, so a call
 * that fails before its first token gets a trailers-only response that a proxy may retry.
 */
final class UpstreamMetadataServerInterceptor implements ServerInterceptor {
  static final Context.Key<Metadata> REQUEST_HEADERS = Context.key("llmproxy-sim-request-headers");
  static final Metadata.Key<String> UPSTREAM =
      Metadata.Key.of("llmproxy-upstream", Metadata.ASCII_STRING_MARSHALLER);

  private final String name;

  UpstreamMetadataServerInterceptor(String name) {
    this.name = name;
  }

  @Override
  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
      ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
    ServerCall<ReqT, RespT> named = new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
      @Override
      public void sendHeaders(Metadata responseHeaders) {
        responseHeaders.put(UPSTREAM, name);
        super.sendHeaders(responseHeaders);
      }
    };
    Context context = Context.current().withValue(REQUEST_HEADERS, headers);
    return Contexts.interceptCall(context, named, headers, next);
  }
}
