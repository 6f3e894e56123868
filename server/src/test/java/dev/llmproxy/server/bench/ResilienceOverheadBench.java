package dev.llmproxy.server.bench;

import dev.llmproxy.server.ProxyServer;
import dev.llmproxy.server.config.LbPolicy;
import dev.llmproxy.server.config.LoadShedding;
import dev.llmproxy.server.config.OutlierDetection;
import dev.llmproxy.server.config.ProxyConfig;
import dev.llmproxy.server.config.RetryPolicy;
import dev.llmproxy.server.config.RouteConfig;
import dev.llmproxy.server.config.RouteResilience;
import dev.llmproxy.server.config.ServerConfig;
import dev.llmproxy.server.config.StallTimeouts;
import dev.llmproxy.server.config.UpstreamEndpoint;
import dev.llmproxy.sim.Faults;
import dev.llmproxy.sim.SimulatedBackend;
import dev.llmproxy.sim.SimulatedBackendConfig;
import dev.llmproxy.v1.Completion;
import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.LlmProxyGrpc;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What the resilience features cost, measured in one run on this machine (no JMH: each figure is a
 * ratio of two setups measured side by side, interleaved round by round so drift hits both).
 *
 * <ol>
 *   <li>Streaming throughput through a proxy with the defaults (stall timers, outlier tracking,
 *       failover bookkeeping, a pick filter per call) against one with all of it off: 32
 *       concurrent streams of 500 chunks from one simulated upstream with no delays, chunks per
 *       second through the proxy.
 *   <li>The latency a failover adds: 1-token {@code Complete} calls over two upstreams in round
 *       robin, one healthy pool against one whose other upstream refuses every call (round robin
 *       sends each call's first attempt there, so every call fails over once), p50 and p99.
 *   <li>How fast a shed call fails: a route capped at one call in flight, held by a long stream,
 *       against an unloaded call; p50 and p99.
 * </ol>
 *
 * Run (after {@code ./mvnw -q install -DskipTests}):
 * <pre>
 * ./mvnw -q -pl server test-compile dependency:build-classpath -Dmdep.outputFile=target/bench.cp
 * java -cp server/target/test-classes:server/target/classes:$(cat server/target/bench.cp) \
 *     dev.llmproxy.server.bench.ResilienceOverheadBench
 * </pre>
 */
public final class ResilienceOverheadBench {
  private static final int ROUNDS = 10;
  private static final int STREAMS = 32;
  private static final int CHUNKS = 500;
  private static final int LATENCY_CALLS = 2000;

  private ResilienceOverheadBench() {}

  public static void main(String[] args) throws Exception {
    List<AutoCloseable> resources = new ArrayList<>();
    try {
      SimulatedBackend sim = start(resources, "bench-a", Faults.none());
      SimulatedBackend sim2 = start(resources, "bench-b", Faults.none());
      SimulatedBackend refusing = start(resources, "bench-refusing",
          Faults.none().withFailRate(1.0, Status.Code.UNAVAILABLE));

      RouteResilience off = new RouteResilience(new RetryPolicy(1, Set.of()), StallTimeouts.off(),
          new OutlierDetection(0, Duration.ofSeconds(30), Duration.ofMinutes(5), 50, Duration.ZERO),
          LoadShedding.unlimited(), RouteResilience.defaults().keepalive());
      RouteResilience noEjection = RouteResilience.defaults().withOutliers(
          new OutlierDetection(0, Duration.ofSeconds(30), Duration.ofMinutes(5), 50, Duration.ZERO));

      ManagedChannel withDefaults = proxy(resources, List.of(sim), LbPolicy.LEAST_OUTSTANDING, RouteResilience.defaults());
      ManagedChannel withDefaultsToo = proxy(resources, List.of(sim), LbPolicy.LEAST_OUTSTANDING,
          RouteResilience.defaults());
      ManagedChannel allOff = proxy(resources, List.of(sim), LbPolicy.LEAST_OUTSTANDING, off);
      ManagedChannel healthyPool = proxy(resources, List.of(sim, sim2), LbPolicy.ROUND_ROBIN, noEjection);
      ManagedChannel halfRefusing = proxy(resources, List.of(sim, refusing), LbPolicy.ROUND_ROBIN, noEjection);
      ManagedChannel capped = proxy(resources, List.of(sim), LbPolicy.LEAST_OUTSTANDING,
          RouteResilience.defaults().withShedding(new LoadShedding(1, 0, Duration.ZERO)));

      System.out.printf("warming up (%d cores)%n", Runtime.getRuntime().availableProcessors());
      for (int i = 0; i < 3; i++) {
        streamThroughput(withDefaults);
        streamThroughput(allOff);
      }
      latencies(healthyPool, 500);
      latencies(halfRefusing, 500);

      // Per round: defaults, all off, and defaults again on a second proxy (an A/A pair that shows
      // how much two identical setups differ on this machine: the noise floor), in an order that
      // rotates from round to round so that no setup always runs first.
      ManagedChannel[] setups = {withDefaults, allOff, withDefaultsToo};
      double[] ratio = new double[ROUNDS];
      double[] noise = new double[ROUNDS];
      double[] on = new double[ROUNDS];
      for (int r = 0; r < ROUNDS; r++) {
        double[] measured = new double[setups.length];
        for (int i = 0; i < setups.length; i++) {
          int setup = (r + i) % setups.length;
          measured[setup] = streamThroughput(setups[setup]);
        }
        on[r] = measured[0];
        ratio[r] = measured[0] / measured[1];
        noise[r] = measured[2] / measured[0];
      }
      System.out.printf("1. streaming, %d x %d chunks, %d rounds: defaults %.0f chunks/s (median); defaults / all off"
          + " median %.3f (min %.3f, max %.3f); A/A defaults / defaults median %.3f (min %.3f, max %.3f)%n",
          STREAMS, CHUNKS, ROUNDS, median(on), median(ratio), min(ratio), max(ratio), median(noise), min(noise),
          max(noise));

      long[] healthy = latencies(healthyPool, LATENCY_CALLS);
      long[] failingOver = latencies(halfRefusing, LATENCY_CALLS);
      System.out.printf("2. Complete latency, healthy pool p50 %d us p99 %d us; every call failing over once"
          + " p50 %d us p99 %d us (refused attempts: %d)%n", pct(healthy, 50), pct(healthy, 99),
          pct(failingOver, 50), pct(failingOver, 99), refusing.recorder().started());

      ClientCall<CompletionRequest, CompletionChunk> holder = capped.newCall(LlmProxyGrpc.getStreamCompleteMethod(),
          CallOptions.DEFAULT);
      holder.start(new ClientCall.Listener<>() {}, new Metadata());
      holder.sendMessage(request(4000));
      holder.halfClose(); // never reads: holds the one slot
      Thread.sleep(200);
      latencies(capped, 500); // warm up the refusal path
      long[] shed = latencies(capped, LATENCY_CALLS);
      holder.cancel("done", null);
      Thread.sleep(200);
      long[] unloaded = latencies(capped, LATENCY_CALLS);
      System.out.printf("3. shed call p50 %d us p99 %d us; unloaded call p50 %d us p99 %d us; ratio of p50 %.2f%n",
          pct(shed, 50), pct(shed, 99), pct(unloaded, 50), pct(unloaded, 99),
          (double) pct(shed, 50) / pct(unloaded, 50));
    } finally {
      for (int i = resources.size() - 1; i >= 0; i--) {
        resources.get(i).close();
      }
    }
  }

  private static SimulatedBackend start(List<AutoCloseable> resources, String name, Faults faults) throws Exception {
    SimulatedBackend sim = SimulatedBackend.start("127.0.0.1", 0,
        SimulatedBackendConfig.defaults(name).withFaults(faults));
    resources.add(sim);
    return sim;
  }

  private static ManagedChannel proxy(List<AutoCloseable> resources, List<SimulatedBackend> upstreams, LbPolicy lb,
      RouteResilience resilience) throws Exception {
    List<UpstreamEndpoint> endpoints = upstreams.stream()
        .map(u -> new UpstreamEndpoint(u.name(), u.address())).toList();
    ProxyConfig config = new ProxyConfig(ServerConfig.defaults().withAddress("127.0.0.1", 0),
        List.of(RouteConfig.forUpstreams(endpoints, lb).withResilience(resilience)));
    ProxyServer proxy = ProxyServer.start(config);
    resources.add(proxy);
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", proxy.port()).usePlaintext().build();
    resources.add(channel::shutdownNow);
    return channel;
  }

  private static CompletionRequest request(int tokens) {
    return CompletionRequest.newBuilder().setPrompt("benchmark").setMaxTokens(tokens).build();
  }

  /** Chunks per second through the proxy for {@value #STREAMS} concurrent streams. */
  private static double streamThroughput(ManagedChannel channel) throws InterruptedException {
    CountDownLatch done = new CountDownLatch(STREAMS);
    AtomicLong chunks = new AtomicLong();
    AtomicLong failures = new AtomicLong();
    long t0 = System.nanoTime();
    for (int i = 0; i < STREAMS; i++) {
      ClientCall<CompletionRequest, CompletionChunk> call = channel.newCall(LlmProxyGrpc.getStreamCompleteMethod(),
          CallOptions.DEFAULT.withDeadlineAfter(60, TimeUnit.SECONDS));
      call.start(new ClientCall.Listener<>() {
        @Override
        public void onMessage(CompletionChunk message) {
          chunks.incrementAndGet();
          call.request(1);
        }

        @Override
        public void onClose(Status status, Metadata trailers) {
          if (!status.isOk()) {
            failures.incrementAndGet();
          }
          done.countDown();
        }
      }, new Metadata());
      call.sendMessage(request(CHUNKS));
      call.halfClose();
      call.request(1);
    }
    done.await(120, TimeUnit.SECONDS);
    double seconds = (System.nanoTime() - t0) / 1e9;
    if (failures.get() > 0) {
      throw new IllegalStateException(failures.get() + " streams failed");
    }
    return chunks.get() / seconds;
  }

  /**
   * Latencies in microseconds of sequential 1-token Complete calls, failed ones included; raw calls,
   * so a failure costs the client no exception.
   */
  private static long[] latencies(ManagedChannel channel, int calls) throws InterruptedException {
    long[] micros = new long[calls];
    for (int i = 0; i < calls; i++) {
      CountDownLatch done = new CountDownLatch(1);
      long t0 = System.nanoTime();
      ClientCall<CompletionRequest, Completion> call = channel.newCall(LlmProxyGrpc.getCompleteMethod(),
          CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS));
      call.start(new ClientCall.Listener<>() {
        @Override
        public void onClose(Status status, Metadata trailers) {
          if (!status.isOk() && status.getCode() != Status.Code.UNAVAILABLE) {
            throw new IllegalStateException(status.toString());
          }
          done.countDown();
        }
      }, new Metadata());
      call.sendMessage(request(1));
      call.halfClose();
      call.request(1);
      done.await(10, TimeUnit.SECONDS);
      micros[i] = (System.nanoTime() - t0) / 1000;
    }
    Arrays.sort(micros);
    return micros;
  }

  private static long pct(long[] sorted, int percentile) {
    return sorted[Math.min(sorted.length - 1, sorted.length * percentile / 100)];
  }

  private static double min(double[] values) {
    return Arrays.stream(values).min().orElse(Double.NaN);
  }

  private static double max(double[] values) {
    return Arrays.stream(values).max().orElse(Double.NaN);
  }

  private static double median(double[] values) {
    double[] copy = values.clone();
    Arrays.sort(copy);
    return copy[copy.length / 2];
  }
}
