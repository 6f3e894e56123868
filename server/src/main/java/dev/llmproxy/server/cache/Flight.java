package dev.llmproxy.server.cache;

import dev.llmproxy.server.completion.RelayedChunk;
import dev.llmproxy.server.service.ProxyContext;
import dev.llmproxy.v1.Completion;
import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.FinishReason;
import io.grpc.Context;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.Status;
import io.opentelemetry.api.trace.Span;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * One upstream call whose answer any number of clients read, each at its own pace: the in-memory
 * log of a single flight (see {@link SingleFlight}).
 *
 * <p>The upstream call is the rest of the interceptor chain (the forwarding service) started on a
 * {@link FlightServerCall}, whose sends land here, under a context forked from the first client's:
 * it carries that client's values (route, key id) but neither its cancellation nor its deadline, so
 * it outlives the client that started it. It ends when the upstream ends, or is cancelled when its
 * last reader leaves. Each reader's own deadline and cancellation end only its own reading.
 *
 * <p>Memory: while the answer is at most {@code maxEntryBytes}, every chunk is kept (late joiners
 * replay from the start, and the answer is stored when it ends OK), and the upstream is never held
 * back. A larger answer cannot be stored: the flight stops taking new readers, drops the chunks
 * every reader has passed, and holds the upstream back (its call reports not ready) while the
 * slowest reader is {@code maxEntryBytes} behind; the readers' progress lets it go on. So a flight
 * holds at most about {@code maxEntryBytes}, whatever its answer's length or its readers' speed.
 *
 * <p>Threads: the upstream side (append, finish) runs on the upstream's thread, readers on their
 * clients' threads. State is guarded by this object; nothing outside is called while holding it
 * (readers are woken, the chain is cancelled or readied, after the lock is released).
 */
final class Flight implements ChunkSource {
  private final int maxEntryBytes;
  private final Consumer<CachedAnswer> store;
  private final Consumer<Flight> detach;
  private final CacheMetrics metrics;
  private final Context.CancellableContext context;

  // Guarded by this.
  private final List<CompletionChunk> chunks = new ArrayList<>();
  private final Set<Reader> readers = Collections.newSetFromMap(new IdentityHashMap<>());
  private int dropped;
  private long bytes;
  private long retainedBytes;
  private String model;
  private Metadata upstreamHeaders;
  private Status end;
  private Metadata endTrailers;
  private boolean started;
  private boolean cancelled;
  private boolean upstreamWaiting;
  private ServerCall.Listener<?> chain;
  private volatile boolean oversized;

  /**
   * @param requestModel the model the answer names until the upstream says otherwise (a
   *     {@code Completion} carries it; stream chunks do not)
   * @param parent the context of the client whose call starts the flight; forked, not inherited
   * @param store takes the answer when it ended OK, complete and small enough
   * @param detach called once the flight takes no more readers (ended, cancelled or too large)
   */
  Flight(String requestModel, int maxEntryBytes, Context parent, Consumer<CachedAnswer> store,
      Consumer<Flight> detach, CacheMetrics metrics) {
    this.model = Objects.requireNonNull(requestModel, "requestModel");
    this.maxEntryBytes = maxEntryBytes;
    this.store = Objects.requireNonNull(store, "store");
    this.detach = Objects.requireNonNull(detach, "detach");
    this.metrics = Objects.requireNonNull(metrics, "metrics");
    this.context = parent.fork().withCancellation();
  }

  /** The server span of the call that started the flight, or null when tracing is off. */
  Span startedBy() {
    return ProxyContext.SERVER_SPAN.get(context);
  }

  /**
   * Adds a reader, who will read from the first chunk.
   *
   * @return false if the flight cannot serve a new reader from the start: it failed, was
   *     cancelled, or its answer grew beyond what is kept
   */
  synchronized boolean join(Reader reader) {
    if (cancelled || oversized || (end != null && !end.isOk())) {
      return false;
    }
    readers.add(reader);
    return true;
  }

  /**
   * Starts the upstream call, unless every reader left already: {@code upstream} starts the rest of
   * the chain in the given context on a {@link FlightServerCall} of this flight.
   */
  void start(Function<Context, ServerCall.Listener<?>> upstream) {
    synchronized (this) {
      if (started || cancelled || end != null) {
        return;
      }
      started = true;
    }
    ServerCall.Listener<?> listener;
    try {
      listener = upstream.apply(context);
    } catch (RuntimeException e) {
      finish(Status.INTERNAL.withDescription("cache: the upstream call could not start"), new Metadata());
      return;
    }
    boolean cancelNow;
    synchronized (this) {
      chain = listener;
      cancelNow = cancelled;
    }
    if (cancelNow) {
      listener.onCancel();
    }
  }

  /** Ends the flight with a stored answer (found after the flight was registered) instead of an upstream call. */
  void completeFrom(CachedAnswer answer) {
    synchronized (this) {
      if (started || end != null) {
        return;
      }
      for (CompletionChunk c : answer.chunks()) {
        chunks.add(c);
        bytes += c.getSerializedSize();
      }
      retainedBytes = bytes;
      model = answer.model();
      end = Status.OK;
    }
    detach.accept(this);
    context.cancel(null);
    wakeAll();
  }

  // The upstream side, called by FlightServerCall.

  synchronized void headers(Metadata headers) {
    upstreamHeaders = headers;
  }

  void append(Object message) {
    CompletionChunk chunk;
    String answerModel = null;
    if (message instanceof Completion completion) {
      chunk = CachedAnswer.chunkOf(completion);
      answerModel = completion.getModel();
    } else {
      chunk = RelayedChunk.parsed(message);
      if (chunk == null) {
        throw new IllegalArgumentException("not an answer message: " + message.getClass().getName());
      }
    }
    boolean becameOversized = false;
    synchronized (this) {
      if (end != null) {
        return;
      }
      if (answerModel != null) {
        model = answerModel;
      }
      chunks.add(chunk);
      int size = chunk.getSerializedSize();
      bytes += size;
      retainedBytes += size;
      if (!oversized && CachedAnswer.weight(model, bytes) > maxEntryBytes) {
        oversized = true;
        becameOversized = true;
      }
      if (oversized) {
        dropPassedChunks();
      }
    }
    if (becameOversized) {
      detach.accept(this);
    }
    wakeAll();
  }

  void finish(Status status, Metadata trailers) {
    CachedAnswer answer = null;
    boolean tooLarge;
    synchronized (this) {
      if (end != null) {
        return;
      }
      end = status;
      endTrailers = trailers;
      tooLarge = oversized;
      if (status.isOk() && !oversized && !cancelled && endsWithFinalChunk()) {
        answer = new CachedAnswer(model, chunks);
      }
    }
    if (answer != null) {
      store.accept(answer);
    } else if (tooLarge) {
      metrics.tooLarge();
    } else {
      metrics.incomplete();
    }
    detach.accept(this);
    context.cancel(null);
    wakeAll();
  }

  /** Whether the upstream may send more: always, unless the answer is too large and a reader lags. */
  boolean upstreamMayProceed() {
    if (!oversized) {
      return true;
    }
    synchronized (this) {
      dropPassedChunks();
      if (retainedBytes < maxEntryBytes) {
        return true;
      }
      upstreamWaiting = true;
      return false;
    }
  }

  synchronized boolean isCancelled() {
    return cancelled;
  }

  // The reader side.

  @Override
  public synchronized CompletionChunk chunkAt(int position) {
    int i = position - dropped;
    return i < chunks.size() ? chunks.get(i) : null;
  }

  @Override
  public synchronized Status endAfter(int position) {
    return end != null && position >= dropped + chunks.size() ? end : null;
  }

  @Override
  public synchronized Metadata trailers() {
    return copy(endTrailers);
  }

  @Override
  public synchronized Metadata upstreamHeaders() {
    return copy(upstreamHeaders);
  }

  @Override
  public synchronized String model() {
    return model;
  }

  @Override
  public void progressed(Reader reader) {
    if (!oversized) {
      return;
    }
    ServerCall.Listener<?> resume = null;
    synchronized (this) {
      if (upstreamWaiting) {
        dropPassedChunks();
        if (retainedBytes < maxEntryBytes) {
          upstreamWaiting = false;
          resume = chain;
        }
      }
    }
    if (resume != null) {
      resume.onReady();
    }
  }

  @Override
  public void leave(Reader reader) {
    ServerCall.Listener<?> cancel = null;
    boolean cancelNow = false;
    synchronized (this) {
      if (!readers.remove(reader)) {
        return;
      }
      if (readers.isEmpty() && end == null && !cancelled) {
        cancelled = true;
        cancelNow = true;
        cancel = chain;
      }
    }
    if (cancelNow) {
      // Nobody is listening any more: stop the generation. Cancelling the context cancels the
      // upstream call created in it; the chain is told too, as a server call's listener would be.
      detach.accept(this);
      context.cancel(Status.CANCELLED.withDescription("every client of the call went away").asRuntimeException());
      if (cancel != null) {
        cancel.onCancel();
      }
    } else {
      progressed(reader);
    }
  }

  private boolean endsWithFinalChunk() {
    return !chunks.isEmpty()
        && chunks.get(chunks.size() - 1).getFinishReason() != FinishReason.FINISH_REASON_UNSPECIFIED;
  }

  /** Drops the chunks every reader has read; only once the answer is too large to store. */
  private void dropPassedChunks() {
    int slowest = dropped + chunks.size();
    for (Reader r : readers) {
      slowest = Math.min(slowest, r.position());
    }
    int n = slowest - dropped;
    if (n <= 0) {
      return;
    }
    List<CompletionChunk> passed = chunks.subList(0, n);
    for (CompletionChunk c : passed) {
      retainedBytes -= c.getSerializedSize();
    }
    passed.clear();
    dropped += n;
  }

  private void wakeAll() {
    Reader[] toWake;
    synchronized (this) {
      toWake = readers.toArray(new Reader[0]);
    }
    for (Reader r : toWake) {
      r.wake();
    }
  }

  private static Metadata copy(Metadata source) {
    Metadata copy = new Metadata();
    if (source != null) {
      copy.merge(source);
    }
    return copy;
  }
}
