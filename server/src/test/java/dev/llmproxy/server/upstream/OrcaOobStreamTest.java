package dev.llmproxy.server.upstream;

import static io.grpc.ConnectivityState.CONNECTING;
import static io.grpc.ConnectivityState.READY;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.llmproxy.orca.LoadReport;
import dev.llmproxy.server.shed.ManualScheduler;
import io.grpc.ConnectivityStateInfo;
import io.grpc.Status;
import io.grpc.SynchronizationContext;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class OrcaOobStreamTest {
  private static final Duration WAIT = Duration.ofSeconds(10);

  private final SynchronizationContext syncContext = new SynchronizationContext((thread, error) -> {
    throw new AssertionError("uncaught in sync context", error);
  });
  private final ManualScheduler scheduler = new ManualScheduler();
  private final List<LoadReport> reports = new CopyOnWriteArrayList<>();
  private FakeOrcaServer server;
  private OrcaOobStream stream;

  @AfterEach
  void stop() {
    syncContext.execute(stream::close);
    server.close();
  }

  private void start(boolean servesOrca) throws Exception {
    server = new FakeOrcaServer(servesOrca);
    // No jitter: the random draw is the middle of the range.
    ExponentialBackoff backoff = new ExponentialBackoff(Duration.ofSeconds(1), Duration.ofMinutes(2), 1.6, () -> Long.MIN_VALUE);
    stream = new OrcaOobStream(syncContext, scheduler, server::channel, Duration.ofMillis(250), reports::add, backoff,
        () -> "test-backend");
  }

  private void state(ConnectivityStateInfo state) {
    syncContext.execute(() -> stream.onSubchannelState(state));
  }

  @Test
  void opensAStreamWhenReadyAskingForTheIntervalAndPassesEachReportOn() throws Exception {
    start(true);
    state(ConnectivityStateInfo.forNonError(CONNECTING));
    assertThat(server.attempts).hasValue(0);

    state(ConnectivityStateInfo.forNonError(READY));

    await().atMost(WAIT).until(() -> server.requested.size() == 1);
    assertThat(server.requested).containsExactly(Duration.ofMillis(250));
    server.report(3);
    server.report(5);
    await().atMost(WAIT).until(() -> reports.size() == 2);
    assertThat(reports).extracting(r -> r.named(LoadReport.WAITING).getAsDouble()).containsExactly(3.0, 5.0);
  }

  @Test
  void unimplementedMeansNoServiceAndStopsTrying() throws Exception {
    start(false);

    state(ConnectivityStateInfo.forNonError(READY));

    await().atMost(WAIT).until(() -> server.attempts.get() == 1 && !isOpen());
    assertThat(retryPending()).isFalse();
    scheduler.advance(Duration.ofMinutes(10));
    state(ConnectivityStateInfo.forNonError(READY));
    assertThat(server.attempts).hasValue(1);
  }

  @Test
  void aNewConnectionAsksAgainAfterUnimplemented() throws Exception {
    start(false);
    state(ConnectivityStateInfo.forNonError(READY));
    await().atMost(WAIT).until(() -> server.attempts.get() == 1 && !isOpen());

    state(ConnectivityStateInfo.forTransientFailure(Status.UNAVAILABLE));
    state(ConnectivityStateInfo.forNonError(READY));

    await().atMost(WAIT).until(() -> server.attempts.get() == 2);
  }

  @Test
  void aFailedStreamIsOpenedAgainAfterABackoffThatGrowsAndResetsOnAReport() throws Exception {
    start(true);
    server.failWith = Status.INTERNAL.withDescription("broken");

    state(ConnectivityStateInfo.forNonError(READY));
    await().atMost(WAIT).until(this::retryPending);
    assertThat(server.attempts).hasValue(1);

    scheduler.advance(Duration.ofMillis(999));
    assertThat(server.attempts).hasValue(1);
    scheduler.advance(Duration.ofMillis(1));
    await().atMost(WAIT).until(() -> server.attempts.get() == 2 && retryPending());

    scheduler.advance(Duration.ofMillis(1599)); // 1.6 s the second time
    assertThat(server.attempts).hasValue(2);
    server.failWith = null;
    scheduler.advance(Duration.ofMillis(1));
    await().atMost(WAIT).until(() -> server.requested.size() == 1);
    server.report(1);
    await().atMost(WAIT).until(() -> reports.size() == 1);

    // The stream delivered a report: when it ends, it is opened again at once, and a failure after
    // that waits the initial backoff again.
    server.failWith = Status.INTERNAL.withDescription("broken again");
    server.streams.get(0).close(Status.UNAVAILABLE.withDescription("server restarting"), new io.grpc.Metadata());
    await().atMost(WAIT).until(() -> server.attempts.get() == 4 && retryPending());
    scheduler.advance(Duration.ofMillis(999));
    assertThat(server.attempts).hasValue(4);
    scheduler.advance(Duration.ofMillis(1));
    await().atMost(WAIT).until(() -> server.attempts.get() == 5);
  }

  @Test
  void leavingReadyCancelsTheStreamAndAnyRetry() throws Exception {
    start(true);
    state(ConnectivityStateInfo.forNonError(READY));
    await().atMost(WAIT).until(() -> server.streams.size() == 1);

    state(ConnectivityStateInfo.forTransientFailure(Status.UNAVAILABLE));

    await().atMost(WAIT).until(() -> server.streams.get(0).isCancelled());
    assertThat(isOpen()).isFalse();
    server.failWith = Status.INTERNAL;
    state(ConnectivityStateInfo.forNonError(READY));
    await().atMost(WAIT).until(this::retryPending);
    state(ConnectivityStateInfo.forNonError(CONNECTING));
    assertThat(retryPending()).isFalse();
    assertThat(scheduler.pending()).isZero();
  }

  @Test
  void closingCancelsTheStreamForGood() throws Exception {
    start(true);
    state(ConnectivityStateInfo.forNonError(READY));
    await().atMost(WAIT).until(() -> server.streams.size() == 1);

    syncContext.execute(stream::close);

    await().atMost(WAIT).until(() -> server.streams.get(0).isCancelled());
    state(ConnectivityStateInfo.forNonError(READY));
    scheduler.advance(Duration.ofMinutes(10));
    assertThat(server.attempts).hasValue(1);
  }

  private boolean isOpen() {
    boolean[] open = new boolean[1];
    syncContext.execute(() -> open[0] = stream.isOpen());
    return open[0];
  }

  private boolean retryPending() {
    boolean[] pending = new boolean[1];
    syncContext.execute(() -> pending[0] = stream.retryPending());
    return pending[0];
  }
}
