package dev.llmproxy.server.cache;

import dev.llmproxy.v1.CompletionRequest;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.Status;
import java.util.ArrayList;
import java.util.List;

/** A server call that records what is sent to it and is ready for as many messages as the test allows. */
final class FakeServerCall<RespT> extends ServerCall<CompletionRequest, RespT> {
  private final MethodDescriptor<CompletionRequest, RespT> method;
  final List<RespT> messages = new ArrayList<>();
  Metadata headers;
  Status status;
  Metadata trailers;
  int readyFor = Integer.MAX_VALUE;

  FakeServerCall(MethodDescriptor<CompletionRequest, RespT> method) {
    this.method = method;
  }

  @Override
  public void request(int numMessages) {}

  @Override
  public void sendHeaders(Metadata h) {
    if (headers != null || status != null) {
      throw new IllegalStateException("headers already sent");
    }
    headers = h;
  }

  @Override
  public void sendMessage(RespT message) {
    if (status != null) {
      throw new IllegalStateException("call already closed");
    }
    messages.add(message);
    readyFor--;
  }

  @Override
  public void close(Status s, Metadata t) {
    if (status != null) {
      throw new IllegalStateException("call already closed");
    }
    status = s;
    trailers = t;
  }

  @Override
  public boolean isReady() {
    return readyFor > 0;
  }

  @Override
  public boolean isCancelled() {
    return false;
  }

  @Override
  public MethodDescriptor<CompletionRequest, RespT> getMethodDescriptor() {
    return method;
  }
}
