package dev.llmproxy.sim;

import static dev.llmproxy.sim.BackendFixture.WAIT;
import static dev.llmproxy.sim.BackendFixture.prompt;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmproxy.v1.CompletionChunk;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class SimulatedBackendFaultsE2ETest {
  private BackendFixture sim;

  @BeforeEach
  void start() throws Exception {
    sim = BackendFixture.start(SimulatedBackendConfig.defaults("sim-x"));
    sim.blocking().complete(prompt("warm up", 1));
    sim.recorder().reset();
  }

  @AfterEach
  void stop() throws Exception {
    sim.close();
  }

  /** Reads a stream until it ends; returns the chunks and puts the failure, if any, in {@code error}. */
  private List<CompletionChunk> read(Iterator<CompletionChunk> stream, AtomicReference<Status> error) {
    List<CompletionChunk> chunks = new ArrayList<>();
    try {
      stream.forEachRemaining(chunks::add);
    } catch (StatusRuntimeException e) {
      error.set(e.getStatus());
    }
    return chunks;
  }

  @Test
  void failRateOneFailsEveryCallBeforeAnyHeaderWithTheFailCode() {
    sim.backend.setFaults(Faults.none().withFailRate(1, Status.Code.UNAVAILABLE));
    AtomicReference<Metadata> headers = new AtomicReference<>();
    AtomicReference<Metadata> trailers = new AtomicReference<>();

    assertThatThrownBy(() -> sim.blocking()
        .withInterceptors(MetadataUtils.newCaptureMetadataInterceptor(headers, trailers))
        .complete(prompt("fail", 3)))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
          assertThat(e.getStatus().getDescription()).isEqualTo("simulated failure of backend sim-x");
        });
    assertThat(headers.get()).as("trailers-only: retryable before the first token").isNull();

    AtomicReference<Status> error = new AtomicReference<>();
    assertThat(read(sim.blocking().streamComplete(prompt("fail", 3)), error)).isEmpty();
    assertThat(error.get().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(sim.recorder().failed()).isEqualTo(2);
    assertThat(sim.recorder().lastCall().outcome()).isEqualTo(RecordedCall.Outcome.FAILED);
  }

  @Test
  void failRateFailsThatShareOfCalls() {
    sim.backend.setFaults(Faults.none().withFailRate(0.5, Status.Code.RESOURCE_EXHAUSTED));
    int failed = 0;
    for (int i = 0; i < 200; i++) {
      try {
        sim.blocking().complete(prompt("maybe", 1));
      } catch (StatusRuntimeException e) {
        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
        failed++;
      }
    }
    assertThat(failed).isBetween(50, 150);
    assertThat(sim.recorder().failed()).isEqualTo(failed);
  }

  @Test
  void failAfterTokensSendsThatManyTokensThenFailsWithItsCode() {
    sim.backend.setFaults(Faults.none().withFailAfterTokens(5, Status.Code.INTERNAL));
    AtomicReference<Status> error = new AtomicReference<>();

    List<CompletionChunk> chunks = read(sim.blocking().streamComplete(prompt("partial", 20)), error);

    assertThat(chunks).hasSize(5);
    assertThat(error.get().getCode()).isEqualTo(Status.Code.INTERNAL);
    assertThat(error.get().getDescription()).isEqualTo("simulated failure of backend sim-x after 5 tokens");
    RecordedCall call = sim.recorder().lastCall();
    assertThat(call.tokensSent()).isEqualTo(5);
    assertThat(call.outcome()).isEqualTo(RecordedCall.Outcome.FAILED);
    assertThat(call.status().getCode()).isEqualTo(Status.Code.INTERNAL);
  }

  @Test
  void failAfterTokensFailsCompleteToo() {
    sim.backend.setFaults(Faults.none().withFailAfterTokens(2, Status.Code.DATA_LOSS));

    assertThatThrownBy(() -> sim.blocking().complete(prompt("partial", 20)))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e ->
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DATA_LOSS));
  }

  @Test
  void tokenFaultsDoNotFireWhenGenerationEndsFirst() throws Exception {
    sim.backend.setFaults(Faults.none()
        .withFailAfterTokens(5, Status.Code.INTERNAL)
        .withStallAfterTokens(7));

    assertThat(sim.stream(prompt("short", 5))).hasSize(5);
    assertThat(sim.blocking().complete(prompt("short", 5)).getText().split(" ")).hasSize(5);
    // The client can see the answer a moment before the backend records the call as ended.
    assertThat(sim.recorder().await(r -> r.calls().stream()
        .filter(c -> c.request().getPrompt().equals("short"))
        .filter(c -> c.outcome() == RecordedCall.Outcome.COMPLETED).count() == 2, WAIT))
        .as(sim.recorder().calls().toString()).isTrue();
  }

  @Test
  void stallAfterTokensStopsSendingUntilTheDeadline() throws Exception {
    sim.backend.setFaults(Faults.none().withStallAfterTokens(3));
    AtomicReference<Status> error = new AtomicReference<>();

    List<CompletionChunk> chunks = read(sim.blocking().withDeadlineAfter(500, TimeUnit.MILLISECONDS)
        .streamComplete(prompt("stall", 20)), error);

    assertThat(chunks).hasSize(3);
    assertThat(error.get().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
    assertThat(sim.recorder().await(r -> r.cancelled() == 1, WAIT)).isTrue();
    RecordedCall call = sim.recorder().lastCall();
    assertThat(call.tokensSent()).isEqualTo(3);
    // Client and backend deadlines expire together: the backend may see the client's cancel first.
    assertThat(call.status().getCode()).isIn(Status.Code.DEADLINE_EXCEEDED, Status.Code.CANCELLED);
  }

  @Test
  void stallLeavesCompleteUnansweredUntilTheDeadline() throws Exception {
    sim.backend.setFaults(Faults.none().withStallAfterTokens(0));

    assertThatThrownBy(() -> sim.blocking().withDeadlineAfter(300, TimeUnit.MILLISECONDS)
        .complete(prompt("stall", 5)))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e ->
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED));
    assertThat(sim.recorder().await(r -> r.cancelled() == 1, WAIT)).isTrue();
  }

  @Test
  void lowerTokenFaultWinsWhenBothAreSet() {
    sim.backend.setFaults(Faults.none()
        .withFailAfterTokens(4, Status.Code.INTERNAL)
        .withStallAfterTokens(2));
    AtomicReference<Status> error = new AtomicReference<>();

    List<CompletionChunk> chunks = read(sim.blocking().withDeadlineAfter(300, TimeUnit.MILLISECONDS)
        .streamComplete(prompt("both", 20)), error);

    assertThat(chunks).hasSize(2);
    assertThat(error.get().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
  }

  @Test
  void setFaultsAppliesToCallsThatStartAfterIt() throws Exception {
    sim.backend.setConfig(sim.backend.config().withInterTokenLatency(Duration.ofMillis(20)));
    Iterator<CompletionChunk> before = sim.blocking().streamComplete(prompt("before", 10));
    assertThat(before.next().getIndex()).isZero();

    sim.backend.setFaults(Faults.none().withFailRate(1, Status.Code.UNAVAILABLE));

    AtomicReference<Status> error = new AtomicReference<>();
    assertThat(read(before, error)).hasSize(9);
    assertThat(error.get()).isNull();
    assertThatThrownBy(() -> sim.blocking().complete(prompt("after", 1)))
        .isInstanceOf(StatusRuntimeException.class);

    sim.backend.setFaults(Faults.none());
    assertThat(sim.blocking().complete(prompt("healed", 1)).getText()).isNotEmpty();
  }
}
