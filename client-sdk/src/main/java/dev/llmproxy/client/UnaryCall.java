package dev.llmproxy.client;

import dev.llmproxy.v1.Completion;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.LlmProxyGrpc;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.grpc.Status;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;

/**
 * One {@code Complete} call whose outcome is a future: the completion with its response metadata, or
 * the typed {@link LlmProxyException}. Cancelling the future cancels the call, and the proxy cancels
 * the upstream generation in turn.
 */
final class UnaryCall extends ClientCall.Listener<Completion> {
  private final ClientCall<CompletionRequest, Completion> call;
  private final CompletionRequest request;
  private final CompletableFuture<Response<Completion>> result = new CompletableFuture<>();
  // Written by the listener callbacks, which gRPC runs one at a time.
  private Metadata headers;
  private Completion completion;

  private UnaryCall(ClientCall<CompletionRequest, Completion> call, CompletionRequest request) {
    this.call = call;
    this.request = request;
  }

  static CompletableFuture<Response<Completion>> start(Channel channel, CallOptions options,
      CompletionRequest request) {
    UnaryCall unary = new UnaryCall(channel.newCall(LlmProxyGrpc.getCompleteMethod(), options), request);
    unary.result.whenComplete((value, failure) -> {
      if (failure instanceof CancellationException) {
        unary.call.cancel("cancelled by the caller", failure);
      }
    });
    try {
      unary.call.start(unary, new Metadata());
      unary.call.sendMessage(request);
      unary.call.halfClose();
      unary.call.request(2); // two, so that a second response message is noticed as an error
    } catch (RuntimeException | Error e) {
      unary.call.cancel("could not start the call", e);
      throw e;
    }
    return unary.result;
  }

  @Override
  public void onHeaders(Metadata headers) {
    this.headers = headers;
  }

  @Override
  public void onMessage(Completion message) {
    if (completion != null) {
      call.cancel("Complete answered with more than one message", null);
      return;
    }
    completion = message;
  }

  @Override
  public void onClose(Status status, Metadata trailers) {
    if (status.isOk() && completion == null) {
      status = Status.INTERNAL.withDescription("Complete ended OK without a response message");
    }
    if (status.isOk()) {
      result.complete(new Response<>(completion, ResponseMetadata.of(headers, trailers)));
    } else {
      result.completeExceptionally(StatusExceptionMapper.toException(status, headers, trailers, request));
    }
  }
}
