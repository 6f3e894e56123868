package dev.llmproxy.server.cache;

import dev.llmproxy.server.completion.CompletionAssembler;
import dev.llmproxy.v1.CompletionChunk;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.Status;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Sends an answer from a {@link ChunkSource} (a stored entry or a flight in progress) to one client
 * call, at the client's pace: a stream gets the source's chunks as they are, sent only while the
 * call is ready and resumed by its {@code onReady}; {@code Complete} gets one {@code Completion}
 * built from all of them once the source has ended. The call ends with the source's status.
 *
 * <p>Serialization: {@code ServerCall} is not thread-safe, and this replay is driven from the
 * client's thread (ready, cancel) and the upstream's (new chunks). {@link #drain()} lets exactly one
 * thread send at a time: a caller that finds a drain running only counts a missed signal, which the
 * running drain picks up before it returns, so no wake-up is lost and no lock is held while sending.
 */
final class Replay<ReqT, RespT> extends ServerCall.Listener<ReqT> implements ChunkSource.Reader {
  private final ServerCall<ReqT, RespT> call;
  private final boolean unary;
  private final AtomicInteger signals = new AtomicInteger();
  private volatile ChunkSource source;
  private volatile CacheOutcome outcome;
  private volatile int position;
  private volatile boolean cancelled;

  // Touched only by the thread that drains.
  private boolean headersSent;
  private boolean closed;
  private CompletionAssembler assembled;

  Replay(ServerCall<ReqT, RespT> call, boolean unary) {
    this.call = Objects.requireNonNull(call, "call");
    this.unary = unary;
  }

  /** Sets what this replay sends and the {@code llmproxy-cache} value it reports; before it is woken. */
  void begin(ChunkSource from, CacheOutcome reported) {
    this.outcome = Objects.requireNonNull(reported, "reported");
    this.source = Objects.requireNonNull(from, "from");
  }

  @Override
  public int position() {
    return position;
  }

  @Override
  public void wake() {
    drain();
  }

  @Override
  public void onReady() {
    drain();
  }

  @Override
  public void onCancel() {
    cancelled = true;
    ChunkSource s = source;
    if (s != null) {
      s.leave(this);
    }
  }

  /** Sends what the source has and the call can take; see the class comment for the protocol. */
  void drain() {
    if (signals.getAndIncrement() != 0) {
      return;
    }
    int missed = 1;
    do {
      send();
      missed = signals.addAndGet(-missed);
    } while (missed != 0);
  }

  private void send() {
    ChunkSource s = source;
    if (s == null || closed) {
      return;
    }
    while (!cancelled) {
      if (!unary && !call.isReady()) {
        return;
      }
      CompletionChunk chunk = s.chunkAt(position);
      if (chunk == null) {
        Status end = s.endAfter(position);
        if (end != null) {
          finish(s, end);
        }
        return;
      }
      deliver(s, chunk);
      position++;
      s.progressed(this);
    }
  }

  @SuppressWarnings("unchecked")
  private void deliver(ChunkSource s, CompletionChunk chunk) {
    if (!unary) {
      sendHeadersOnce(s);
      call.sendMessage((RespT) chunk);
      return;
    }
    if (assembled == null) {
      assembled = new CompletionAssembler();
    }
    assembled.add(chunk);
  }

  @SuppressWarnings("unchecked")
  private void finish(ChunkSource s, Status end) {
    closed = true;
    try {
      if (!end.isOk()) {
        Metadata trailers = s.trailers();
        if (!headersSent) {
          trailers.put(CacheOutcome.HEADER, outcome.headerValue());
        }
        call.close(end, trailers);
      } else if (unary && assembled == null) {
        call.close(Status.INTERNAL.withDescription("cache: the upstream answered without a completion"),
            new Metadata());
      } else {
        sendHeadersOnce(s);
        if (unary) {
          call.sendMessage((RespT) assembled.build(s.model()));
        }
        call.close(Status.OK, new Metadata());
      }
    } finally {
      s.leave(this);
    }
  }

  private void sendHeadersOnce(ChunkSource s) {
    if (!headersSent) {
      headersSent = true;
      Metadata headers = s.upstreamHeaders();
      headers.put(CacheOutcome.HEADER, outcome.headerValue());
      call.sendHeaders(headers);
    }
  }
}
