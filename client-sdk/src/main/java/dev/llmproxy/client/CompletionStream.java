package dev.llmproxy.client;

import dev.llmproxy.v1.Completion;
import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.LlmProxyGrpc;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.grpc.Status;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

/**
 * The chunks of one {@code StreamComplete} call, read as they arrive: a blocking {@link Iterator} that
 * is also a single-use {@link Iterable}, so it works in a for-each loop, and {@link AutoCloseable}:
 * closing it before the last chunk cancels the call, and the proxy cancels the upstream generation, so
 * no more tokens are produced or paid for.
 *
 * <pre>{@code
 * try (CompletionStream stream = client.stream(request)) {
 *   for (CompletionChunk chunk : stream) {
 *     System.out.print(chunk.getText());
 *     if (enough()) {
 *       break; // close() cancels the rest
 *     }
 *   }
 * }
 * }</pre>
 *
 * <p>The stream is pulled, not pushed: the client asks gRPC for the next chunk only when the reader has
 * taken the previous one, so a slow reader holds the proxy and the upstream back instead of buffering.
 * A failure is thrown by {@link #hasNext()} or {@link #next()} as the typed {@link LlmProxyException},
 * after the chunks that arrived before it. Read from one thread; {@link #close()} may be called from
 * any thread.
 */
public final class CompletionStream implements Iterator<CompletionChunk>, Iterable<CompletionChunk>,
    AutoCloseable {

  private final ClientCall<CompletionRequest, CompletionChunk> call;
  private final CompletionRequest request;
  private final BlockingQueue<Object> arrivals = new LinkedBlockingQueue<>();
  private final CompletableFuture<ResponseMetadata> metadata = new CompletableFuture<>();
  private final AtomicBoolean closed = new AtomicBoolean();
  private volatile boolean ended;
  // Reader-thread state.
  private CompletionChunk next;
  private LlmProxyException failure;
  private boolean finished;
  private boolean iterated;
  private final CompletionAccumulator read = new CompletionAccumulator();

  private CompletionStream(ClientCall<CompletionRequest, CompletionChunk> call, CompletionRequest request) {
    this.call = call;
    this.request = request;
  }

  static CompletionStream start(Channel channel, CallOptions options, CompletionRequest request) {
    CompletionStream stream = new CompletionStream(
        channel.newCall(LlmProxyGrpc.getStreamCompleteMethod(), options), request);
    try {
      stream.call.start(stream.new Listener(), new Metadata());
      stream.call.sendMessage(request);
      stream.call.halfClose();
      stream.call.request(1);
    } catch (RuntimeException | Error e) {
      stream.call.cancel("could not start the call", e);
      throw e;
    }
    return stream;
  }

  /**
   * Whether another chunk follows, waiting for it if needed. False once the stream has ended or has
   * been {@linkplain #close() closed}.
   *
   * @throws LlmProxyException if the call failed; again on every later call
   */
  @Override
  public boolean hasNext() {
    if (closed.get()) {
      return false;
    }
    if (next != null) {
      return true;
    }
    if (failure != null) {
      throw failure;
    }
    if (finished) {
      return false;
    }
    Object arrival;
    try {
      arrival = arrivals.take();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      call.cancel("interrupted while waiting for the next chunk", e);
      failure = new LlmProxyException(Status.CANCELLED.withDescription(
          "interrupted while waiting for the next chunk"), ResponseMetadata.empty());
      throw failure;
    }
    if (arrival instanceof CompletionChunk chunk) {
      next = chunk;
      return true;
    }
    Closed end = (Closed) arrival;
    finished = true;
    if (end.status.isOk() || closed.get()) {
      return false;
    }
    failure = StatusExceptionMapper.toException(end.status, end.headers, end.trailers, request);
    throw failure;
  }

  /**
   * The next chunk, waiting for it if needed.
   *
   * @throws NoSuchElementException if the stream has ended or been closed
   * @throws LlmProxyException if the call failed
   */
  @Override
  public CompletionChunk next() {
    if (!hasNext()) {
      throw new NoSuchElementException(closed.get() ? "the stream was closed" : "the stream has ended");
    }
    CompletionChunk chunk = next;
    next = null;
    read.add(chunk);
    call.request(1);
    return chunk;
  }

  /**
   * What the chunks read so far add up to: the {@link Completion} that {@code Complete} returns for
   * the same request once the stream has ended, with the tool calls assembled from their deltas (the
   * request's model stands in for the model, which chunks do not carry). Call it from the reading
   * thread, typically after the loop.
   *
   * @return text, reasoning, tool calls, logprobs, finish reason and usage of the chunks read
   */
  public Completion completion() {
    return read.completion().toBuilder().setModel(request.getModel()).build();
  }

  /**
   * This stream as an {@link Iterable}, for a for-each loop.
   *
   * @throws IllegalStateException on a second call: the chunks can be read only once
   */
  @Override
  public Iterator<CompletionChunk> iterator() {
    if (iterated) {
      throw new IllegalStateException("a CompletionStream can be iterated only once");
    }
    iterated = true;
    return this;
  }

  /**
   * The chunks as a sequential {@link Stream}; closing it closes this stream, and so cancels the call if
   * it is still running. Use it in try-with-resources.
   *
   * @return the remaining chunks, in order
   */
  public Stream<CompletionChunk> toStream() {
    return StreamSupport.stream(Spliterators.spliteratorUnknownSize(this,
        Spliterator.ORDERED | Spliterator.NONNULL), false).onClose(this::close);
  }

  /**
   * The response metadata (upstream, cache status, remaining quota), waiting for the response headers,
   * which the proxy sends with the first chunk. For a call that failed before any header, what the
   * trailers carried.
   *
   * @return the response metadata
   * @throws LlmProxyException with {@code CANCELLED} if interrupted while waiting
   */
  public ResponseMetadata metadata() {
    try {
      return metadata.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new LlmProxyException(Status.CANCELLED.withDescription("interrupted while waiting for headers"),
          ResponseMetadata.empty());
    } catch (ExecutionException e) {
      throw new IllegalStateException(e); // never: the future only ever completes normally
    }
  }

  /**
   * Cancels the call if it is still running, so the proxy stops the upstream generation; after it,
   * {@link #hasNext()} is false. Idempotent; safe from any thread.
   */
  @Override
  public void close() {
    if (closed.compareAndSet(false, true) && !ended) {
      call.cancel("the client closed the stream", null);
    }
  }

  private record Closed(Status status, Metadata headers, Metadata trailers) {}

  private final class Listener extends ClientCall.Listener<CompletionChunk> {
    private Metadata headers;

    @Override
    public void onHeaders(Metadata headers) {
      this.headers = headers;
      metadata.complete(ResponseMetadata.of(headers));
    }

    @Override
    public void onMessage(CompletionChunk chunk) {
      arrivals.add(chunk);
    }

    @Override
    public void onClose(Status status, Metadata trailers) {
      ended = true;
      metadata.complete(ResponseMetadata.of(headers, trailers));
      arrivals.add(new Closed(status, headers, trailers));
    }
  }
}
