package dev.llmproxy.sim;

import dev.llmproxy.v1.CompletionChunk;
import io.grpc.Deadline;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import java.util.concurrent.ScheduledExecutorService;
import javax.annotation.Nullable;

/**
 * A {@code StreamComplete} call: one chunk per token, each sent when it is due and the transport is
 * ready.
 *
 * <p>{@link #pump()} sends every token that is due while {@code isReady()} holds. When the next token
 * is not due yet it sets one timer; when the transport is not ready it returns and onReady resumes it.
 * So a client that stops reading stops generation (as flow control should), and generation does not
 * run ahead of the reader: after a wait for the transport the next token is due one inter-token
 * latency after the one that waited, not in a burst. The last token's chunk carries the finish reason
 * and usage; a generation of zero tokens (a stop string at once) sends a single empty final chunk.
 */
final class StreamingCall extends SimulatedCall {
  private final ServerCallStreamObserver<CompletionChunk> out;

  // Guarded by this.
  private AnswerScript tokens;
  private long nextDueNanos;
  private boolean waitedForTransport;
  private int index;

  StreamingCall(
      SimulatedBackendConfig config,
      ScheduledExecutorService scheduler,
      AdmissionQueue admission,
      PrefixKvCache kvCache,
      CallRecorder recorder,
      RecordedCall record,
      @Nullable Deadline deadline,
      ServerCallStreamObserver<CompletionChunk> out) {
    super(config, scheduler, admission, kvCache, recorder, record, deadline);
    this.out = out;
  }

  /** Starts the call; must run inside the service method, before it returns. */
  void startOn() {
    out.setOnCancelHandler(this::cancel);
    out.setOnReadyHandler(this::transportReady);
    start();
  }

  @Override
  protected void sendFailure(Status status) {
    out.onError(status.asRuntimeException());
  }

  @Override
  protected void generate() {
    tokens = new AnswerScript(request);
    nextDueNanos = System.nanoTime() + firstTokenDelayNanos();
    pump();
  }

  @Override
  protected void ready() {
    pump();
  }

  private void pump() {
    while (phase == Phase.GENERATING && !timerPending()) {
      long now = System.nanoTime();
      long wait = nextDueNanos - now;
      if (wait > 0) {
        schedule(this::pump, wait);
        return;
      }
      if (injectFault(tokens.produced(), tokens.hasNext())) {
        return;
      }
      if (!out.isReady()) {
        waitedForTransport = true;
        return;
      }
      send(now);
    }
  }

  private void send(long now) {
    AnswerScript.Piece piece = tokens.hasNext() ? tokens.next() : null;
    boolean last = !tokens.hasNext();
    CompletionChunk.Builder chunk = CompletionChunk.newBuilder()
        .setId(record.completionId())
        .setIndex(index++);
    if (piece != null) {
      chunk.setText(piece.text()).setReasoning(piece.reasoning());
      if (piece.toolCall() != null) {
        chunk.addToolCalls(piece.toolCall());
      }
      if (piece.logprob() != null) {
        chunk.addLogprobs(piece.logprob());
      }
    }
    if (last) {
      chunk.setFinishReason(tokens.finishReason()).setUsage(usage(tokens));
    }
    out.onNext(chunk.build());
    countTokens(piece == null ? 0 : 1, now);
    if (last) {
      end(RecordedCall.Outcome.COMPLETED, Status.OK);
      out.onCompleted();
      return;
    }
    nextDueNanos = (waitedForTransport ? now : nextDueNanos) + nextTokenDelayNanos();
    waitedForTransport = false;
  }
}
