package dev.llmproxy.server;

import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.LlmProxyGrpc;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.Status;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * One {@code StreamComplete} call that records what the client saw: which upstream served it, how
 * many chunks arrived, how it ended and when. Reads every chunk as it comes, or none at all.
 */
final class StreamProbe extends ClientCall.Listener<CompletionChunk> {
  private static final Metadata.Key<String> UPSTREAM =
      Metadata.Key.of("llmproxy-upstream", Metadata.ASCII_STRING_MARSHALLER);

  /** How a call ended, as its client saw it. */
  record Result(String upstream, int chunks, Status status, long firstChunkNanos, long endNanos,
      SocketAddress localAddress) {
    boolean ok() {
      return status.isOk();
    }
  }

  private final ClientCall<CompletionRequest, CompletionChunk> call;
  private final boolean read;
  private final CompletableFuture<Result> result = new CompletableFuture<>();
  private volatile String upstream;
  private volatile int chunks;
  private volatile long firstChunkNanos;

  private StreamProbe(ClientCall<CompletionRequest, CompletionChunk> call, boolean read) {
    this.call = call;
    this.read = read;
  }

  /** Starts a stream that reads every chunk. */
  static StreamProbe start(Channel channel, CompletionRequest request, Duration deadline) {
    return start(channel, request, deadline, true);
  }

  /** Starts a stream; with {@code read} false it never asks for a single chunk. */
  static StreamProbe start(Channel channel, CompletionRequest request, Duration deadline, boolean read) {
    ClientCall<CompletionRequest, CompletionChunk> call = channel.newCall(LlmProxyGrpc.getStreamCompleteMethod(),
        CallOptions.DEFAULT.withDeadlineAfter(deadline.toNanos(), TimeUnit.NANOSECONDS));
    StreamProbe probe = new StreamProbe(call, read);
    call.start(probe, new Metadata());
    call.sendMessage(request);
    call.halfClose();
    if (read) {
      call.request(1);
    }
    return probe;
  }

  void cancel() {
    call.cancel("client cancelled", null);
  }

  int chunks() {
    return chunks;
  }

  /** The upstream named in the response headers, once they came. */
  String upstream() {
    return upstream;
  }

  CompletableFuture<Result> result() {
    return result;
  }

  Result await(Duration timeout) throws Exception {
    return result.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  @Override
  public void onHeaders(Metadata headers) {
    upstream = headers.get(UPSTREAM);
  }

  @Override
  public void onMessage(CompletionChunk message) {
    if (chunks++ == 0) {
      firstChunkNanos = System.nanoTime();
    }
    if (read) {
      call.request(1);
    }
  }

  @Override
  public void onClose(Status status, Metadata trailers) {
    result.complete(new Result(upstream, chunks, status, firstChunkNanos, System.nanoTime(),
        call.getAttributes().get(Grpc.TRANSPORT_ATTR_LOCAL_ADDR)));
  }
}
