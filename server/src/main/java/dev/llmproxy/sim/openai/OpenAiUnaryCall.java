package dev.llmproxy.sim.openai;

import dev.llmproxy.sim.RecordedCall;
import dev.llmproxy.sim.AnswerScript;
import dev.llmproxy.sim.SeededTokenGenerator;
import dev.llmproxy.sim.SimulatedBackendConfig;
import io.grpc.Status;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ScheduledExecutorService;

/**
 * A {@code stream: false} completion: the whole answer once its last token is due (time to first
 * token plus one inter-token latency per further token, each jittered), with usage. A token fault
 * strikes when its token would have been due: an HTTP error, no answer (stall), a dropped connection
 * (crash), or a body that is not JSON (malformed).
 */
final class OpenAiUnaryCall extends OpenAiCall {
  private static final byte[] MALFORMED = "{not json".getBytes(StandardCharsets.US_ASCII);

  // Guarded by this.
  private AnswerScript tokens;
  private AnswerScript.Answer answer;

  OpenAiUnaryCall(
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
    answer = tokens.drain();
    int total = tokens.produced();
    int crashPoint = crashPoint(total);
    int faultPoint = faultPoint(total);
    int point = crashPoint >= 0 && (faultPoint < 0 || crashPoint <= faultPoint) ? crashPoint : faultPoint;
    int dueTokens = point >= 0 ? point : Math.max(0, total - 1);
    long delay = firstTokenDelayNanos();
    for (int i = 0; i < dueTokens; i++) {
      delay = saturatedAdd(delay, nextTokenDelayNanos());
    }
    Runnable step;
    if (point >= 0 && point == crashPoint) {
      step = () -> crash(point);
    } else if (point >= 0) {
      step = () -> injectFault(point, true);
    } else {
      step = this::answer;
    }
    schedule(step, delay);
  }

  private void answer() {
    int total = tokens.produced();
    int malformed = config.faults().malformedAfterTokens();
    countTokens(total, System.nanoTime());
    metrics.addGenerationTokens(total);
    end(RecordedCall.Outcome.COMPLETED, Status.OK);
    if (malformed >= 0 && malformed < total) {
      exchange.respond(HttpResponseStatus.OK, JSON, Unpooled.wrappedBuffer(MALFORMED));
      return;
    }
    exchange.respond(HttpResponseStatus.OK, JSON,
        encoder.completionBody(header, answer, tokens.finishReason(), usage(tokens)));
  }

  private static long saturatedAdd(long a, long b) {
    long sum = a + b;
    return sum < 0 ? Long.MAX_VALUE : sum;
  }
}
