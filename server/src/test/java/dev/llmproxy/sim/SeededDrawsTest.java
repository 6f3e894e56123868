package dev.llmproxy.sim;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.v1.CompletionRequest;
import io.grpc.Metadata;
import io.grpc.Status;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.Test;

/**
 * The simulated backend's random choices come from its seed: two backends with the same seed that see
 * the same calls in the same order compute the same delays. Delays are read as the calls compute
 * them, before anything is scheduled, so no time passes and no clock is read.
 */
class SeededDrawsTest {
  private static final long MS = 1_000_000L;
  private static final SimulatedBackendConfig JITTERY = SimulatedBackendConfig.defaults("sim-s")
      .withTimeToFirstToken(Duration.ofMillis(20))
      .withInterTokenLatency(Duration.ofMillis(10))
      .withJitter(Duration.ofMillis(5))
      .withEngine(new EngineModel(Duration.ofMillis(1), 0.1, 64, 16));

  @Test
  void theSameSeedGivesTheSameTimingsForTheSameArrivals() {
    List<Long> first = new Engine(JITTERY.withSeed(42)).serve(20, 4);
    List<Long> second = new Engine(JITTERY.withSeed(42)).serve(20, 4);

    assertThat(second).isEqualTo(first);
    assertThat(first.stream().distinct().count()).as("the jitter moved the delays").isGreaterThan(20);
  }

  @Test
  void anotherSeedGivesOtherTimings() {
    assertThat(new Engine(JITTERY.withSeed(43)).serve(20, 4)).isNotEqualTo(new Engine(JITTERY.withSeed(42)).serve(20, 4));
  }

  @Test
  void aCallsDrawsDoNotDependOnHowManyTheCallsBeforeItMade() {
    // Calls draw on different threads in a real backend, interleaved any way: each call has its own.
    Engine a = new Engine(JITTERY.withSeed(7));
    Engine b = new Engine(JITTERY.withSeed(7));
    a.serve(1, 2);
    b.serve(1, 9);

    assertThat(b.serve(1, 3)).isEqualTo(a.serve(1, 3));
  }

  @Test
  void theSameSeedFailsTheSameCalls() {
    SimulatedBackendConfig failing = JITTERY.withFaults(Faults.none().withFailRate(0.5, Status.Code.UNAVAILABLE));
    List<Long> first = new Engine(failing.withSeed(3)).serve(40, 1);
    List<Long> second = new Engine(failing.withSeed(3)).serve(40, 1);

    assertThat(second).isEqualTo(first);
    assertThat(first).contains(FAILED).hasSizeLessThan(40 * 2);
  }

  private static final long FAILED = -1;

  /** One backend's state (batch, prefix cache, recorder) with calls that report their delays. */
  private static final class Engine {
    private final SimulatedBackendConfig config;
    private final AdmissionQueue admission = new AdmissionQueue(0, Integer.MAX_VALUE);
    private final PrefixKvCache cache = new PrefixKvCache();
    private final CallRecorder recorder = new CallRecorder();
    private int next;

    Engine(SimulatedBackendConfig config) {
      this.config = config;
    }

    /** Starts {@code calls} calls (left generating, so the batch grows); the delays each computed. */
    List<Long> serve(int calls, int tokens) {
      List<Long> delays = new ArrayList<>();
      for (int i = 0; i < calls; i++, next++) {
        CompletionRequest request = CompletionRequest.newBuilder()
            .setPrompt(PrefixKvCacheTest.words("tenant" + next % 3, 40) + " turn " + next).build();
        RecordedCall record = new RecordedCall("StreamComplete", "cmpl-" + next, request, new Metadata(), null, 0);
        new ProbeCall(config, admission, cache, recorder, record, tokens, delays).start();
      }
      return delays;
    }
  }

  private static final class ProbeCall extends SimulatedCall {
    private final int tokens;
    private final List<Long> delays;

    ProbeCall(SimulatedBackendConfig config, AdmissionQueue admission, PrefixKvCache cache, CallRecorder recorder,
        RecordedCall record, int tokens, List<Long> delays) {
      super(config, (ScheduledExecutorService) null, admission, cache, recorder, record, null);
      this.tokens = tokens;
      this.delays = delays;
    }

    @Override
    protected void generate() {
      delays.add(firstTokenDelayNanos());
      for (int i = 1; i < tokens; i++) {
        delays.add(nextTokenDelayNanos());
      }
    }

    @Override
    protected void sendFailure(Status status) {
      delays.add(FAILED);
    }
  }

  @Test
  void delaysStayWithinTheJitterOfTheModel() {
    List<Long> delays = new Engine(JITTERY.withSeed(1)).serve(1, 1);
    // 20 ms + 42 uncached prompt tokens x 1 ms, moved by at most 5 ms.
    assertThat(delays.get(0)).isBetween(57 * MS, 67 * MS);
  }
}
