package dev.llmproxy.sim;

import static dev.llmproxy.sim.BackendFixture.WAIT;
import static dev.llmproxy.sim.BackendFixture.prompt;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.CompletionRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.lang.management.ManagementFactory;
import dev.llmproxy.v1.LlmProxyGrpc;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class SimulatedBackendCapacityE2ETest {
  private BackendFixture sim;

  @AfterEach
  void stop() throws Exception {
    if (sim != null) {
      sim.close();
    }
  }

  /** A stream the test can cancel; {@link #done} completes with its final status. */
  private final class Stream implements ClientResponseObserver<CompletionRequest, CompletionChunk> {
    final String prompt;
    final CompletableFuture<Status> done = new CompletableFuture<>();
    final AtomicInteger chunks = new AtomicInteger();
    final CountDownLatch secondChunk = new CountDownLatch(2);
    private volatile ClientCallStreamObserver<CompletionRequest> call;

    Stream(String prompt, int maxTokens) {
      this(prompt, maxTokens, BackendFixture.WAIT);
    }

    Stream(String prompt, int maxTokens, Duration deadline) {
      this.prompt = prompt;
      LlmProxyGrpc.newStub(sim.channel).withDeadlineAfter(deadline.toMillis(), TimeUnit.MILLISECONDS)
          .streamComplete(prompt(prompt, maxTokens), this);
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<CompletionRequest> requestStream) {
      call = requestStream;
    }

    @Override
    public void onNext(CompletionChunk value) {
      chunks.incrementAndGet();
      secondChunk.countDown();
    }

    @Override
    public void onError(Throwable t) {
      done.complete(Status.fromThrowable(t));
    }

    @Override
    public void onCompleted() {
      done.complete(Status.OK);
    }

    void cancel() {
      call.cancel("test cancels", null);
    }

    RecordedCall recorded() {
      return sim.recorder().calls().stream()
          .filter(c -> c.request().getPrompt().equals(prompt))
          .findFirst()
          .orElseThrow();
    }

    Status awaitDone() throws Exception {
      return done.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  private static SimulatedBackendConfig slow(int maxConcurrency, int maxQueue) {
    return SimulatedBackendConfig.defaults("sim-c")
        .withInterTokenLatency(Duration.ofMillis(20))
        .withMaxConcurrency(maxConcurrency)
        .withMaxQueue(maxQueue);
  }

  private boolean await(java.util.function.Predicate<CallRecorder> condition) throws Exception {
    return sim.recorder().await(condition, WAIT);
  }

  @Test
  void callsBeyondMaxConcurrencyWaitAndAreAdmittedInArrivalOrder() throws Exception {
    sim = BackendFixture.start(slow(2, 10));
    Stream a = new Stream("a", 10_000);
    Stream b = new Stream("b", 10_000);
    assertThat(await(r -> r.started() == 2)).isTrue();
    Stream c = new Stream("c", 10_000);
    assertThat(await(r -> r.started() == 3)).isTrue();
    Stream d = new Stream("d", 3);
    assertThat(await(r -> r.started() == 4)).isTrue();

    assertThat(a.recorded().admittedNanos()).isPositive();
    assertThat(b.recorded().admittedNanos()).isPositive();
    assertThat(c.recorded().admittedNanos()).isZero();
    assertThat(d.recorded().admittedNanos()).isZero();
    assertThat(c.chunks).hasValue(0);
    assertThat(sim.recorder().inFlight()).isEqualTo(4);

    a.cancel();
    assertThat(await(r -> c.recorded().admittedNanos() > 0)).isTrue();
    assertThat(d.recorded().admittedNanos()).as("d waits behind c").isZero();
    b.cancel();
    assertThat(d.awaitDone()).isEqualTo(Status.OK);
    assertThat(d.chunks).hasValue(3);
    assertThat(d.recorded().admittedNanos()).isGreaterThan(c.recorded().admittedNanos());
    assertThat(sim.recorder().maxInFlight()).isEqualTo(4);
    c.cancel();
  }

  @Test
  void callsBeyondTheQueueFailWithResourceExhausted() throws Exception {
    sim = BackendFixture.start(slow(1, 1));
    Stream running = new Stream("running", 10_000);
    Stream queued = new Stream("queued", 10_000);
    assertThat(await(r -> r.started() == 2)).isTrue();

    assertThatThrownBy(() -> sim.blocking().complete(prompt("one too many", 1)))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
          assertThat(e.getStatus().getDescription()).isEqualTo("simulated backend sim-c is at capacity");
        });
    assertThat(sim.recorder().failed()).isEqualTo(1);
    running.cancel();
    queued.cancel();
  }

  @Test
  void cancelledQueuedCallLeavesTheQueue() throws Exception {
    sim = BackendFixture.start(slow(1, 1));
    Stream running = new Stream("running", 10_000);
    assertThat(await(r -> r.started() == 1)).isTrue();
    Stream leaving = new Stream("leaving", 3);
    assertThat(await(r -> r.started() == 2)).isTrue();

    leaving.cancel();
    assertThat(await(r -> r.cancelled() == 1)).isTrue();
    assertThat(leaving.recorded().admittedNanos()).isZero();
    assertThat(leaving.recorded().outcome()).isEqualTo(RecordedCall.Outcome.CANCELLED);

    Stream next = new Stream("next", 3); // fits in the queue again
    assertThat(await(r -> r.started() == 3)).isTrue();
    assertThat(sim.recorder().failed()).isZero();
    running.cancel();
    assertThat(next.awaitDone()).isEqualTo(Status.OK);
  }

  @Test
  void raisingMaxConcurrencyAdmitsQueuedCalls() throws Exception {
    sim = BackendFixture.start(slow(1, 10));
    Stream running = new Stream("running", 10_000);
    assertThat(await(r -> r.started() == 1)).isTrue();
    Stream waiting = new Stream("waiting", 3);
    assertThat(await(r -> r.started() == 2)).isTrue();

    sim.backend.setConfig(sim.backend.config().withMaxConcurrency(2));

    assertThat(waiting.awaitDone()).isEqualTo(Status.OK);
    running.cancel();
  }

  @Test
  void holdsTenThousandConcurrentSlowStreamsWithoutAThreadEach() throws Exception {
    int streams = 10_000;
    // The client runs its callbacks on the transport threads, so every new thread is the backend's.
    sim = BackendFixture.start(SimulatedBackendConfig.defaults("sim-many")
        .withInterTokenLatency(Duration.ofSeconds(1)), b -> b.directExecutor());
    sim.blocking().complete(prompt("warm up", 1));
    sim.recorder().reset();
    int threadsBefore = ManagementFactory.getThreadMXBean().getThreadCount();

    List<Stream> all = new ArrayList<>();
    for (int i = 0; i < streams; i++) {
      // What is tested is threads, not latency: on a loaded machine the 10,000th stream may get its
      // second chunk long after the first stream was opened.
      all.add(new Stream("s" + i, 1_000, Duration.ofSeconds(90)));
    }
    assertThat(sim.recorder().await(r -> r.inFlight() == streams, Duration.ofSeconds(40)))
        .as("%s", sim.recorder()).isTrue();
    for (Stream s : all) {
      assertThat(s.secondChunk.await(40, TimeUnit.SECONDS)).as("second chunk of %s", s.prompt).isTrue();
    }
    int threadsDuring = ManagementFactory.getThreadMXBean().getThreadCount();
    all.forEach(Stream::cancel);
    assertThat(sim.recorder().await(r -> r.cancelled() == streams, Duration.ofSeconds(40)))
        .as("%s", sim.recorder()).isTrue();

    assertThat(sim.recorder().maxInFlight()).isEqualTo(streams);
    assertThat(threadsDuring - threadsBefore).isLessThan(20);
  }
}
