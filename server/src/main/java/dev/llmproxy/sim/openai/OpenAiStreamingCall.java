package dev.llmproxy.sim.openai;

import dev.llmproxy.sim.Faults;
import dev.llmproxy.sim.RecordedCall;
import dev.llmproxy.sim.AnswerScript;
import dev.llmproxy.sim.SeededTokenGenerator;
import dev.llmproxy.sim.SimulatedBackendConfig;
import io.grpc.Status;
import java.util.concurrent.ScheduledExecutorService;

/**
 * A {@code stream: true} completion: one server-sent event per token, each written when it is due and
 * the connection is writable, then the optional usage chunk and {@code data: [DONE]}.
 *
 * <p>The response starts with the first token, so a failure before it is a plain HTTP error. Events
 * are written without a flush while the loop runs and flushed when it stops (to wait for a token, for
 * the socket, or at the end), so a burst costs one system call. When the connection's outbound buffer
 * passes its high-water mark the call stops generating until {@link #ready()}: a client that stops
 * reading holds generation back, as TCP flow control should, and after the wait the next token is one
 * inter-token latency away.
 */
final class OpenAiStreamingCall extends OpenAiCall {
  private static final AnswerScript.Piece EMPTY = new AnswerScript.Piece("", "", null, null);

  // Guarded by this.
  private AnswerScript tokens;
  private long nextDueNanos;
  private boolean waitedForTransport;
  private boolean malformedSent;

  OpenAiStreamingCall(
      SimulatedBackendConfig config,
      OpenAiSimSettings settings,
      ScheduledExecutorService eventLoop,
      BackendState state,
      RecordedCall record,
      OpenAiRequest openAi,
      OpenAiEncoder encoder,
      HttpExchange exchange) {
    super(config, settings, eventLoop, state, record, openAi, encoder, exchange);
  }

  @Override
  protected void generate() {
    tokens = new AnswerScript(request);
    metrics.addPromptTokens(SeededTokenGenerator.promptTokens(request));
    nextDueNanos = System.nanoTime() + firstTokenDelayNanos();
    pump();
  }

  @Override
  protected void ready() {
    pump();
  }

  private void pump() {
    try {
      sendDueTokens();
    } finally {
      exchange.flush();
    }
  }

  private void sendDueTokens() {
    while (phase == Phase.GENERATING && !timerPending()) {
      long now = System.nanoTime();
      long wait = nextDueNanos - now;
      if (wait > 0) {
        schedule(this::pump, wait);
        return;
      }
      int sent = tokens.produced();
      boolean more = tokens.hasNext();
      if (crashDue(sent, more)) {
        crash(sent);
        return;
      }
      if (injectFault(sent, more)) {
        return;
      }
      if (!exchange.writable()) {
        waitedForTransport = true;
        return;
      }
      send(now, sent, more);
    }
  }

  private void send(long now, int sent, boolean more) {
    if (!exchange.started()) {
      exchange.startEvents();
    }
    Faults faults = config.faults();
    if (more && !malformedSent && faults.malformedAfterTokens() >= 0
        && sent >= faults.malformedAfterTokens()) {
      malformedSent = true;
      exchange.writeEvent(encoder.malformedEvent(), false);
    }
    AnswerScript.Piece piece = more ? tokens.next() : EMPTY;
    boolean last = !tokens.hasNext();
    exchange.writeEvent(encoder.chunkEvent(header, piece, sent == 0, last ? tokens.finishReason() : null),
        false);
    int count = more ? 1 : 0;
    countTokens(count, now);
    metrics.addGenerationTokens(count);
    if (last) {
      if (openAi.includeUsage() && settings.usageChunk()) {
        exchange.writeEvent(encoder.usageEvent(header, usage(tokens)), false);
      }
      exchange.writeEvent(encoder.doneEvent(), false);
      end(RecordedCall.Outcome.COMPLETED, Status.OK);
      exchange.endEvents();
      return;
    }
    nextDueNanos = (waitedForTransport ? now : nextDueNanos) + nextTokenDelayNanos();
    waitedForTransport = false;
  }
}
