package dev.llmproxy.sim;

import dev.llmproxy.v1.Completion;
import io.grpc.Deadline;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import java.util.concurrent.ScheduledExecutorService;
import javax.annotation.Nullable;

/**
 * A {@code Complete} call: the whole answer once its last token is due, that is after the time to
 * first token plus one inter-token latency per further token (each delay jittered). A token fault
 * fails the call when its token would have been due, or leaves it unanswered (stall).
 */
final class UnaryCall extends SimulatedCall {
  private final ServerCallStreamObserver<Completion> out;

  // Guarded by this.
  private AnswerScript.Answer answer;
  private AnswerScript tokens;

  UnaryCall(
      SimulatedBackendConfig config,
      ScheduledExecutorService scheduler,
      AdmissionQueue admission,
      PrefixKvCache kvCache,
      CallRecorder recorder,
      RecordedCall record,
      @Nullable Deadline deadline,
      ServerCallStreamObserver<Completion> out) {
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
    answer = tokens.drain();
    int total = tokens.produced();
    int faultPoint = faultPoint(total);
    int dueTokens = faultPoint >= 0 ? faultPoint : Math.max(0, total - 1);
    long delay = firstTokenDelayNanos();
    for (int i = 0; i < dueTokens; i++) {
      delay = saturatedAdd(delay, nextTokenDelayNanos());
    }
    schedule(faultPoint >= 0 ? () -> injectFault(faultPoint, true) : this::answer, delay);
  }

  private void answer() {
    int total = tokens.produced();
    out.onNext(Completion.newBuilder()
        .setId(record.completionId())
        .setModel(request.getModel())
        .setText(answer.text())
        .setReasoning(answer.reasoning())
        .addAllToolCalls(answer.toolCalls())
        .addAllLogprobs(answer.logprobs())
        .setFinishReason(tokens.finishReason())
        .setUsage(usage(tokens))
        .build());
    countTokens(total, System.nanoTime());
    end(RecordedCall.Outcome.COMPLETED, Status.OK);
    out.onCompleted();
  }

  private static long saturatedAdd(long a, long b) {
    long sum = a + b;
    return sum < 0 ? Long.MAX_VALUE : sum;
  }
}
