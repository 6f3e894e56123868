package dev.llmproxy.server.service;

import dev.llmproxy.v1.Completion;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.LlmProxyGrpc;
import io.grpc.MethodDescriptor;
import io.grpc.ServiceDescriptor;

/**
 * The {@code llmproxy.v1.LlmProxy} methods as the proxy serves and forwards them: {@code Complete}
 * as generated; {@code StreamComplete} with chunks relayed as their bytes ({@link ChunkMarshaller}),
 * so its response type is {@code Object}: a {@code CompletionChunk} or a
 * {@link dev.llmproxy.server.completion.RelayedChunk}. Same names, types and proto schema as the
 * generated ones, so clients, upstreams and server reflection see no difference.
 */
public final class ProxyMethods {
  public static final MethodDescriptor<CompletionRequest, Completion> COMPLETE = LlmProxyGrpc.getCompleteMethod();
  public static final MethodDescriptor<CompletionRequest, Object> STREAM_COMPLETE =
      LlmProxyGrpc.getStreamCompleteMethod().toBuilder(LlmProxyGrpc.getStreamCompleteMethod().getRequestMarshaller(),
          new ChunkMarshaller(LlmProxyGrpc.getStreamCompleteMethod().getResponseMarshaller())).build();
  /** The service with these two methods (grpc binds methods to their service by identity). */
  public static final ServiceDescriptor SERVICE = ServiceDescriptor.newBuilder(LlmProxyGrpc.SERVICE_NAME)
      .setSchemaDescriptor(LlmProxyGrpc.getServiceDescriptor().getSchemaDescriptor())
      .addMethod(COMPLETE)
      .addMethod(STREAM_COMPLETE)
      .build();

  private ProxyMethods() {}
}
