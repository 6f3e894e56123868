package dev.llmproxy.sim;

import static dev.llmproxy.sim.BackendFixture.WAIT;
import static dev.llmproxy.sim.BackendFixture.prompt;
import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.CompletionRequest;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class SimulatedBackendFlowControlE2ETest {
  private static final int MAX_TOKENS = 50_000;

  private BackendFixture sim;

  @BeforeEach
  void start() throws Exception {
    // A small fixed HTTP/2 window (no BDP growth) keeps the bytes in transit small and predictable.
    sim = BackendFixture.start(SimulatedBackendConfig.defaults("sim-f"), b -> b.flowControlWindow(32 * 1024));
  }

  @AfterEach
  void stop() throws Exception {
    sim.close();
  }

  @Test
  void slowReaderBlocksGenerationAndResumingReadsTheWholeStream() throws Exception {
    AtomicInteger received = new AtomicInteger();
    CompletableFuture<Void> firstChunk = new CompletableFuture<>();
    CompletableFuture<Void> done = new CompletableFuture<>();
    AtomicReference<ClientCallStreamObserver<CompletionRequest>> call = new AtomicReference<>();
    sim.async().withDeadlineAfter(50, TimeUnit.SECONDS).streamComplete(prompt("slow reader", MAX_TOKENS),
        new ClientResponseObserver<CompletionRequest, CompletionChunk>() {
          @Override
          public void beforeStart(ClientCallStreamObserver<CompletionRequest> requestStream) {
            call.set(requestStream);
            requestStream.disableAutoRequestWithInitial(1);
          }

          @Override
          public void onNext(CompletionChunk chunk) {
            received.incrementAndGet();
            firstChunk.complete(null);
          }

          @Override
          public void onError(Throwable t) {
            done.completeExceptionally(t);
          }

          @Override
          public void onCompleted() {
            done.complete(null);
          }
        });
    firstChunk.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);

    // The point is real time: give a sender that ignored flow control every chance to run ahead.
    Thread.sleep(500);
    int blockedAt = sim.recorder().lastCall().tokensSent();
    Thread.sleep(300);
    int later = sim.recorder().lastCall().tokensSent();

    assertThat(received).hasValue(1);
    assertThat(blockedAt).isGreaterThan(0).isLessThan(MAX_TOKENS / 10);
    assertThat(later).isEqualTo(blockedAt);
    assertThat(sim.recorder().lastCall().outcome()).isEqualTo(RecordedCall.Outcome.IN_FLIGHT);

    call.get().request(Integer.MAX_VALUE);
    done.get(50, TimeUnit.SECONDS);
    assertThat(received).hasValue(MAX_TOKENS);
    assertThat(sim.recorder().lastCall().outcome()).isEqualTo(RecordedCall.Outcome.COMPLETED);
  }
}
