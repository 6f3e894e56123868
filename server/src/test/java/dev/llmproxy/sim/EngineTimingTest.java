package dev.llmproxy.sim;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.v1.CompletionRequest;
import io.grpc.Metadata;
import io.grpc.Status;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The engine model's formulas, computed by a call without running it (no time passes). */
class EngineTimingTest {
  private static final long MS = 1_000_000L;
  private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
  private final AdmissionQueue admission = new AdmissionQueue(0, Integer.MAX_VALUE);
  private final PrefixKvCache cache = new PrefixKvCache();
  private final SimulatedBackendConfig config = SimulatedBackendConfig.defaults("sim-t")
      .withTimeToFirstToken(Duration.ofMillis(20))
      .withInterTokenLatency(Duration.ofMillis(10))
      .withEngine(new EngineModel(Duration.ofMillis(1), 0.5, 1_000, 16));

  @AfterEach
  void stop() {
    scheduler.shutdownNow();
  }

  @Test
  void firstTokenWaitsForThePrefillOfUncachedPromptTokensOnly() {
    CompletionRequest first = CompletionRequest.newBuilder()
        .setPrompt(PrefixKvCacheTest.words("s", 64) + " tail one").build();
    CompletionRequest second = CompletionRequest.newBuilder()
        .setPrompt(PrefixKvCacheTest.words("s", 64) + " tail two").build();

    // 66 prompt tokens, none cached: 20 ms + 66 x 1 ms.
    assertThat(call(first).firstTokenDelayNanos()).isEqualTo(86 * MS);
    // 64 of 66 cached (four full blocks): 20 ms + 2 x 1 ms.
    assertThat(call(second).firstTokenDelayNanos()).isEqualTo(22 * MS);
  }

  @Test
  void tokensSlowDownAsTheBatchFills() {
    CompletionRequest request = CompletionRequest.newBuilder().setPrompt("hi").build();
    assertThat(call(request).nextTokenDelayNanos()).isEqualTo(10 * MS);

    for (int i = 0; i < 3; i++) {
      admission.enter(() -> { });
    }
    // Three generating: 10 ms x (1 + 0.5 x 2).
    assertThat(call(request).nextTokenDelayNanos()).isEqualTo(20 * MS);
  }

  private ProbeCall call(CompletionRequest request) {
    RecordedCall record = new RecordedCall("StreamComplete", "cmpl-t", request, new Metadata(), null, System.nanoTime());
    return new ProbeCall(config, scheduler, admission, cache, record);
  }

  private static final class ProbeCall extends SimulatedCall {
    ProbeCall(SimulatedBackendConfig config, ScheduledExecutorService scheduler, AdmissionQueue admission,
        PrefixKvCache cache, RecordedCall record) {
      super(config, scheduler, admission, cache, new CallRecorder(), record, null);
    }

    @Override
    protected void generate() {
    }

    @Override
    protected void sendFailure(Status status) {
    }
  }
}
