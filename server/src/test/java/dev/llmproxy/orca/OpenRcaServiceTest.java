package dev.llmproxy.orca;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.llmproxy.server.shed.ManualScheduler;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The ORCA out-of-band server: timing on a manual scheduler, over an in-process transport. */
class OpenRcaServiceTest {
  private static final Duration WAIT = Duration.ofSeconds(10);
  private static final LoadReport BUSY = LoadReport.ofNamedMetrics(Map.of(LoadReport.WAITING, 4.0));

  private final ManualScheduler scheduler = new ManualScheduler();
  private final AtomicReference<LoadReport> load = new AtomicReference<>(BUSY);
  private final List<LoadReport> received = new CopyOnWriteArrayList<>();
  private final Server server;
  private final ManagedChannel channel;
  private ClientCall<Duration, LoadReport> call;

  OpenRcaServiceTest() throws Exception {
    String name = "orca-" + System.nanoTime();
    server = InProcessServerBuilder.forName(name).directExecutor()
        .addService(OpenRcaService.definition(load::get, scheduler, Duration.ofMillis(100))).build().start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
  }

  @AfterEach
  void stop() {
    channel.shutdownNow();
    server.shutdownNow();
  }

  private void ask(Duration interval) {
    call = channel.newCall(OpenRcaService.STREAM_CORE_METRICS, CallOptions.DEFAULT);
    call.start(new ClientCall.Listener<>() {
      @Override
      public void onMessage(LoadReport report) {
        received.add(report);
      }
    }, new Metadata());
    call.sendMessage(interval);
    call.halfClose();
    call.request(Integer.MAX_VALUE);
    scheduler.advance(Duration.ZERO);
  }

  @Test
  void reportsAtOnceThenEveryRequestedInterval() {
    ask(Duration.ofMillis(300));
    await().atMost(WAIT).until(() -> received.size() == 1);
    assertThat(received.get(0)).isEqualTo(BUSY);

    scheduler.advance(Duration.ofMillis(299));
    assertThat(received).hasSize(1);
    scheduler.advance(Duration.ofMillis(1));
    await().atMost(WAIT).until(() -> received.size() == 2);
  }

  @Test
  void aShorterOrUnsetIntervalGetsTheMinimum() {
    ask(Duration.ofMillis(10));
    await().atMost(WAIT).until(() -> received.size() == 1);
    scheduler.advance(Duration.ofMillis(99));
    assertThat(received).hasSize(1);
    scheduler.advance(Duration.ofMillis(1));
    await().atMost(WAIT).until(() -> received.size() == 2);

    call.cancel("next", null);
    received.clear();
    ask(Duration.ZERO);
    await().atMost(WAIT).until(() -> received.size() == 1);
    scheduler.advance(Duration.ofMillis(99));
    assertThat(received).hasSize(1);
    scheduler.advance(Duration.ofMillis(1));
    await().atMost(WAIT).until(() -> received.size() == 2);
  }

  @Test
  void aTickWithNothingToReportSendsNothing() {
    load.set(null);
    ask(Duration.ofMillis(100));
    scheduler.advance(Duration.ofMillis(200));
    assertThat(received).isEmpty();

    load.set(BUSY);
    scheduler.advance(Duration.ofMillis(100));
    await().atMost(WAIT).until(() -> received.size() == 1);
  }

  @Test
  void aCancelledStreamStopsTicking() {
    ask(Duration.ofMillis(100));
    await().atMost(WAIT).until(() -> received.size() == 1);

    call.cancel("done", null);

    await().atMost(WAIT).until(() -> scheduler.pending() == 0);
  }
}
