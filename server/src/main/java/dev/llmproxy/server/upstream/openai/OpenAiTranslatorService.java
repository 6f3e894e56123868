package dev.llmproxy.server.upstream.openai;

import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.LlmProxyGrpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerServiceDefinition;

/**
 * {@code llmproxy.v1.LlmProxy} served by one OpenAI-compatible upstream: each call becomes an
 * {@link OpenAiCall}. Served in-process, one server per upstream, so that the route's channel sees
 * each HTTP upstream as one address; or over the network by the {@code bridge} command.
 */
final class OpenAiTranslatorService {
  private OpenAiTranslatorService() {}

  static ServerServiceDefinition definition(OpenAiEndpoint endpoint) {
    return ServerServiceDefinition.builder(LlmProxyGrpc.getServiceDescriptor())
        .addMethod(LlmProxyGrpc.getCompleteMethod(), handler(endpoint))
        .addMethod(LlmProxyGrpc.getStreamCompleteMethod(), handler(endpoint))
        .build();
  }

  private static <RespT> ServerCallHandler<CompletionRequest, RespT> handler(OpenAiEndpoint endpoint) {
    return new ServerCallHandler<>() {
      @Override
      public ServerCall.Listener<CompletionRequest> startCall(ServerCall<CompletionRequest, RespT> call,
          Metadata headers) {
        call.request(2); // the request message, then the half-close
        return new OpenAiCall<>(call, endpoint, PropagatedHeaders.from(headers));
      }
    };
  }
}
