package dev.llmproxy.server;

import static dev.llmproxy.server.ProxyFixture.eventually;
import static dev.llmproxy.server.ProxyFixture.prompt;
import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.server.config.LbPolicy;
import dev.llmproxy.sim.SimulatedBackend;
import dev.llmproxy.sim.SimulatedBackendConfig;
import dev.llmproxy.v1.LlmProxyGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Graceful drain: health turns NOT_SERVING, new calls are refused, calls in flight finish within
 * the grace period; on SIGTERM the process then exits 0.
 */
@Timeout(90)
class GracefulDrainE2ETest {
  private static final Duration DEADLINE = Duration.ofSeconds(30);

  private static List<StreamProbe> startStreams(ManagedChannel channel, int count, int tokens) {
    List<StreamProbe> streams = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      streams.add(StreamProbe.start(channel, prompt("stream " + i, tokens), DEADLINE));
    }
    return streams;
  }

  /** Calls on a new connection until one is refused; returns the refusal. */
  private static Status awaitRefusal(int port) throws InterruptedException {
    List<Status> seen = new CopyOnWriteArrayList<>();
    boolean refused = eventually(Duration.ofSeconds(5), () -> {
      ManagedChannel fresh = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
      try {
        LlmProxyGrpc.newBlockingStub(fresh).withDeadlineAfter(2, TimeUnit.SECONDS).complete(prompt("new call", 1));
        return false;
      } catch (StatusRuntimeException e) {
        seen.add(e.getStatus());
        return true;
      } finally {
        fresh.shutdownNow();
      }
    });
    assertThat(refused).as("a new call is refused while draining").isTrue();
    return seen.get(seen.size() - 1);
  }

  @Test
  void drainLetsFiftyStreamsFinishRefusesNewCallsAndTurnsHealthNotServing() throws Exception {
    try (ProxyFixture f = ProxyFixture.start(3, LbPolicy.LEAST_OUTSTANDING,
        c -> c.withInterTokenLatency(Duration.ofMillis(25)), r -> r)) {
      List<ServingStatus> health = new CopyOnWriteArrayList<>();
      HealthGrpc.newStub(f.channel).watch(HealthCheckRequest.newBuilder().setService("llmproxy.v1.LlmProxy").build(),
          new StreamObserver<HealthCheckResponse>() {
            @Override public void onNext(HealthCheckResponse r) { health.add(r.getStatus()); }
            @Override public void onError(Throwable t) {}
            @Override public void onCompleted() {}
          });
      List<StreamProbe> streams = startStreams(f.channel, 50, 60);
      assertThat(eventually(Duration.ofSeconds(10), () -> streams.stream().allMatch(s -> s.chunks() > 0))).isTrue();
      assertThat(f.proxy.callsInFlight()).isEqualTo(50);

      CompletableFuture<Boolean> drained = CompletableFuture.supplyAsync(() -> {
        try {
          return f.proxy.drain(Duration.ofSeconds(20));
        } catch (InterruptedException e) {
          throw new IllegalStateException(e);
        }
      });
      Status refusal = awaitRefusal(f.proxy.port());
      assertThat(refusal.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
      assertThat(streams.stream().filter(s -> s.result().isDone()).count())
          .as("the refusal came while the streams were still running").isLessThan(50);
      assertThat(eventually(Duration.ofSeconds(2), () -> health.contains(ServingStatus.NOT_SERVING))).isTrue();

      assertThat(drained.get(30, TimeUnit.SECONDS)).as("every call finished within the grace period").isTrue();
      for (StreamProbe s : streams) {
        StreamProbe.Result r = s.await(Duration.ofSeconds(1));
        assertThat(r.ok()).as(r.status().toString()).isTrue();
        assertThat(r.chunks()).isEqualTo(60);
      }
    }
  }

  @Test
  void callsStillRunningWhenTheGracePeriodEndsAreCancelledAndTheirUpstreamCallsToo() throws Exception {
    try (ProxyFixture f = ProxyFixture.start(1, LbPolicy.LEAST_OUTSTANDING,
        c -> c.withInterTokenLatency(Duration.ofMillis(50)), r -> r)) {
      List<StreamProbe> streams = startStreams(f.channel, 3, 1000);
      assertThat(eventually(Duration.ofSeconds(10), () -> streams.stream().allMatch(s -> s.chunks() > 0))).isTrue();

      long t0 = System.nanoTime();
      assertThat(f.proxy.drain(Duration.ofMillis(500))).isFalse();
      assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isLessThan(5000);
      for (StreamProbe s : streams) {
        StreamProbe.Result r = s.await(Duration.ofSeconds(5));
        assertThat(r.status().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(r.status().getDescription()).contains("llmproxy is shutting down");
      }
      SimulatedBackend sim = f.upstreams.get(0);
      assertThat(sim.recorder().await(r -> r.cancelled() == 3, Duration.ofSeconds(5))).isTrue();
    }
  }

  /** The proxy as a child process (its own JVM, so it can be sent signals), with its output. */
  private static final class ProxyProcess implements AutoCloseable {
    final List<SimulatedBackend> sims = new ArrayList<>();
    final Path config;
    final Path errors;
    final List<String> lines = new CopyOnWriteArrayList<>();
    final Process process;
    final int port;

    ProxyProcess(Duration itl, String grace) throws Exception {
      config = Files.createTempFile("llmproxy-drain-", ".yaml");
      errors = Files.createTempFile("llmproxy-drain-", ".err");
      StringBuilder upstreams = new StringBuilder();
      for (int i = 0; i < 3; i++) {
        SimulatedBackend sim = SimulatedBackend.start("127.0.0.1", 0,
            SimulatedBackendConfig.defaults("drain-sim-" + i).withInterTokenLatency(itl));
        sims.add(sim);
        upstreams.append(i == 0 ? "" : ", ").append('"').append(sim.address()).append('"');
      }
      Files.writeString(config, """
          server: {host: 127.0.0.1, port: 0, shutdown_grace: %s}
          routes: [{name: chat, default: true, models: ["*"], upstreams: [%s]}]
          """.formatted(grace, upstreams));
      String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
      process = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
          "dev.llmproxy.server.Main", "--config", config.toString())
          .redirectError(errors.toFile()).start();
      BufferedReader output = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
      CompletableFuture<Integer> listening = new CompletableFuture<>();
      Thread reader = new Thread(() -> {
        Pattern banner = Pattern.compile("llmproxy listening on 127\\.0\\.0\\.1:(\\d+)");
        try {
          for (String line = output.readLine(); line != null; line = output.readLine()) {
            lines.add(line);
            Matcher m = banner.matcher(line);
            if (m.find()) {
              listening.complete(Integer.parseInt(m.group(1)));
            }
          }
        } catch (java.io.IOException e) {
          // the process ended
        }
        listening.completeExceptionally(new AssertionError("no banner: " + lines));
      }, "proxy-output");
      reader.setDaemon(true);
      reader.start();
      port = listening.get(30, TimeUnit.SECONDS);
    }

    List<String> errorLines() throws java.io.IOException {
      return Files.readAllLines(errors);
    }

    @Override
    public void close() throws Exception {
      if (process.isAlive()) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
      sims.forEach(SimulatedBackend::close);
      Files.deleteIfExists(config);
      Files.deleteIfExists(errors);
    }
  }

  @Test
  void sigtermDrainsFiftyStreamsRefusesNewCallsAndExitsZero() throws Exception {
    try (ProxyProcess p = new ProxyProcess(Duration.ofMillis(40), "20s")) {
      ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", p.port).usePlaintext().build();
      try {
        List<StreamProbe> streams = startStreams(channel, 50, 50); // about 2 s each
        assertThat(eventually(Duration.ofSeconds(15), () -> streams.stream().allMatch(s -> s.chunks() > 0))).isTrue();

        p.process.destroy(); // SIGTERM
        Status refusal = awaitRefusal(p.port);
        assertThat(refusal.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(streams.stream().filter(s -> s.result().isDone()).count()).isLessThan(50);

        for (StreamProbe s : streams) {
          StreamProbe.Result r = s.await(Duration.ofSeconds(20));
          assertThat(r.ok()).as(r.status().toString()).isTrue();
          assertThat(r.chunks()).isEqualTo(50);
        }
        assertThat(p.process.waitFor(20, TimeUnit.SECONDS)).as("exited: %s", p.lines).isTrue();
        assertThat(p.process.exitValue()).as("exit code; output: %s", p.lines).isZero();
        // 50 streams, plus the probe for the refusal if it got in before the signal was handled.
        assertThat(p.errorLines())
            .anyMatch(l -> l.matches("llmproxy: SIGTERM: draining 5[01] calls in flight .*"))
            .anyMatch(l -> l.matches("llmproxy: drained 5[01] calls; stopped"));
      } finally {
        channel.shutdownNow();
      }
    }
  }

  @Test
  void aSecondSigtermEndsTheCallsStillRunningWithUnavailableAndTheLogSaysSo() throws Exception {
    try (ProxyProcess p = new ProxyProcess(Duration.ofMillis(40), "60s")) {
      ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", p.port).usePlaintext().build();
      try {
        List<StreamProbe> streams = startStreams(channel, 10, 1000); // about 40 s each
        assertThat(eventually(Duration.ofSeconds(15), () -> streams.stream().allMatch(s -> s.chunks() > 0))).isTrue();

        p.process.destroy(); // SIGTERM: the drain starts
        assertThat(eventually(Duration.ofSeconds(10), () -> {
          try {
            return p.errorLines().stream().anyMatch(l -> l.startsWith("llmproxy: SIGTERM: draining"));
          } catch (java.io.IOException e) {
            return false;
          }
        })).isTrue();
        p.process.destroy(); // SIGTERM again: stop now

        for (StreamProbe s : streams) {
          StreamProbe.Result r = s.await(Duration.ofSeconds(20));
          assertThat(r.status().getCode()).as(r.status().toString()).isEqualTo(Status.Code.UNAVAILABLE);
          assertThat(r.status().getDescription()).contains("shutting down");
          assertThat(r.chunks()).isLessThan(1000);
        }
        assertThat(p.process.waitFor(20, TimeUnit.SECONDS)).as("exited: %s", p.lines).isTrue();
        assertThat(p.errorLines())
            .anyMatch(l -> l.startsWith("llmproxy: SIGTERM again: stopping now"))
            .anyMatch(l -> l.matches("llmproxy: stopped before the drain finished: 10 calls were cancelled .*"))
            .noneMatch(l -> l.startsWith("llmproxy: drained"));
      } finally {
        channel.shutdownNow();
      }
    }
  }
}
