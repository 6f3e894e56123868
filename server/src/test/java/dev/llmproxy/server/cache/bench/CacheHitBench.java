package dev.llmproxy.server.cache.bench;

import dev.llmproxy.server.ProxyServer;
import dev.llmproxy.server.config.CacheConfig;
import dev.llmproxy.server.config.LbPolicy;
import dev.llmproxy.server.config.ProxyConfig;
import dev.llmproxy.server.config.RouteConfig;
import dev.llmproxy.server.config.ServerConfig;
import dev.llmproxy.server.config.UpstreamEndpoint;
import dev.llmproxy.sim.SimulatedBackend;
import dev.llmproxy.sim.SimulatedBackendConfig;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.LlmProxyGrpc;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import com.sun.management.OperatingSystemMXBean;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongFunction;

/**
 * What a cache hit costs against a miss, through the real server on loopback sockets (not a unit
 * test: a measurement, run by hand).
 *
 * <p>Workload: one proxy (cache on, defaults) over one simulated backend with no simulated latency
 * by default, so a miss costs only the proxy's upstream leg and the backend's work: the least
 * favourable case for the ratio. Requests are deterministic ({@code seed} = i, 16 tokens).
 * <ol>
 *   <li>Latency, one call at a time: for each of {@code n} new seeds a miss, then at once a hit of the
 *       same request (so both see the same background load), for {@code Complete} and for
 *       {@code StreamComplete} (the whole stream); p50 and p99.
 *   <li>The floor: {@code Complete} straight to the backend, without the proxy.
 *   <li>Throughput: {@code threads} blocking clients for {@code seconds}, first all hits (over the
 *       seeds already stored), then all misses (fresh seeds); calls per second, and the CPU time this
 *       process (client, proxy and backend together) spent per call, which other load on the machine
 *       disturbs less than wall-clock figures.
 * </ol>
 *
 * <p>Run (from the repository root, after {@code ./mvnw -q install -DskipTests}):
 * <pre>
 * ./mvnw -q -pl server test-compile dependency:build-classpath -Dmdep.outputFile=target/cp.txt
 * java -cp server/target/classes:server/target/test-classes:$(cat server/target/cp.txt) \
 *     dev.llmproxy.server.cache.bench.CacheHitBench [n=5000] [threads=8] [seconds=5] [ttftMs=0] [itlMs=0]
 * </pre>
 */
public final class CacheHitBench {
  private CacheHitBench() {}

  public static void main(String[] args) throws Exception {
    int n = arg(args, 0, 5000);
    int threads = arg(args, 1, 8);
    int seconds = arg(args, 2, 5);
    int ttftMs = arg(args, 3, 0);
    int itlMs = arg(args, 4, 0);

    SimulatedBackend sim = SimulatedBackend.start("127.0.0.1", 0, SimulatedBackendConfig.defaults("bench-sim")
        .withTimeToFirstToken(Duration.ofMillis(ttftMs)).withInterTokenLatency(Duration.ofMillis(itlMs)));
    ProxyConfig config = new ProxyConfig(ServerConfig.defaults().withAddress("127.0.0.1", 0),
        List.of(RouteConfig.forUpstreams(List.of(new UpstreamEndpoint("bench-sim", sim.address())),
            LbPolicy.ROUND_ROBIN))).withCache(CacheConfig.defaults());
    ProxyServer proxy = ProxyServer.start(config, new SimpleMeterRegistry());
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", proxy.port()).usePlaintext()
        .directExecutor().build();
    try {
      LlmProxyGrpc.LlmProxyBlockingStub stub = LlmProxyGrpc.newBlockingStub(channel);
      System.out.printf(Locale.ROOT, "cache hit vs miss: n=%d, threads=%d, %ds, upstream ttft=%dms itl=%dms, "
          + "16 tokens, %d cores%n", n, threads, seconds, ttftMs, itlMs, Runtime.getRuntime().availableProcessors());

      // Warm-up: JIT, connections, both paths of both RPCs (hits are cheap: many of them).
      int warmUp = Math.min(2000, n);
      for (long i = 0; i < warmUp; i++) {
        stub.complete(request(1_000_000 + i));
        drain(stub, request(2_000_000 + i));
      }
      for (long i = 0; i < 5000; i++) {
        stub.complete(request(1_000_000 + i % warmUp));
        drain(stub, request(2_000_000 + i % warmUp));
      }

      // Each key twice in a row, miss then hit, so both see the same background load.
      long[][] complete = missThenHit(n, i -> stub.complete(request(i)));
      long[][] stream = missThenHit(n, i -> drain(stub, request(100_000 + i)));
      report("Complete", complete[0], complete[1]);
      report("StreamComplete", stream[0], stream[1]);
      // The floor: the same Complete straight to the backend, a bare gRPC round trip plus its work.
      ManagedChannel direct = NettyChannelBuilder.forAddress("127.0.0.1", sim.port()).usePlaintext()
          .directExecutor().build();
      try {
        LlmProxyGrpc.LlmProxyBlockingStub upstream = LlmProxyGrpc.newBlockingStub(direct);
        long[][] bare = missThenHit(n, i -> upstream.complete(request(200_000 + i)));
        System.out.printf(Locale.ROOT, "%-15s p50 %7.1f us  p99 %7.1f us (no proxy, no cache)%n",
            "direct upstream", percentile(bare[0], 50), percentile(bare[0], 99));
      } finally {
        direct.shutdownNow();
      }
      int expected = 2 * warmUp + 2 * n + 2 * n;
      if (sim.recorder().started() != expected) {
        throw new IllegalStateException("expected " + expected + " upstream calls, saw " + sim.recorder().started());
      }

      double[] hits = throughput(threads, seconds, i -> stub.complete(request(i % n)));
      AtomicLong fresh = new AtomicLong(10_000_000);
      double[] misses = throughput(threads, seconds, i -> stub.complete(request(fresh.getAndIncrement())));
      System.out.printf(Locale.ROOT, "throughput (Complete, %d threads): hits %.0f/s, misses %.0f/s, ratio %.1fx%n",
          threads, hits[0], misses[0], hits[0] / misses[0]);
      System.out.printf(Locale.ROOT, "CPU per call (whole JVM: client, proxy, backend): hit %.1f us, miss %.1f us, "
          + "ratio %.1fx%n", hits[1], misses[1], misses[1] / hits[1]);
    } finally {
      channel.shutdownNow();
      proxy.close();
      sim.close();
    }
  }

  private static CompletionRequest request(long seed) {
    return CompletionRequest.newBuilder().setPrompt("benchmark the cache").setSeed(seed).setMaxTokens(16).build();
  }

  private static Object drain(LlmProxyGrpc.LlmProxyBlockingStub stub, CompletionRequest request) {
    int[] count = new int[1];
    stub.streamComplete(request).forEachRemaining(c -> count[0]++);
    return count[0];
  }

  private static long[][] missThenHit(int n, LongFunction<Object> call) {
    long[] miss = new long[n];
    long[] hit = new long[n];
    for (int i = 0; i < n; i++) {
      long start = System.nanoTime();
      call.apply(i);
      long middle = System.nanoTime();
      call.apply(i);
      hit[i] = System.nanoTime() - middle;
      miss[i] = middle - start;
    }
    Arrays.sort(miss);
    Arrays.sort(hit);
    return new long[][] {miss, hit};
  }

  /** Calls per second and CPU microseconds per call (of this whole process). */
  private static double[] throughput(int threads, int seconds, LongFunction<Object> call) throws Exception {
    OperatingSystemMXBean os = (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    AtomicBoolean stop = new AtomicBoolean();
    AtomicLong done = new AtomicLong();
    try {
      Future<?>[] workers = new Future<?>[threads];
      long cpuStart = os.getProcessCpuTime();
      long start = System.nanoTime();
      for (int t = 0; t < threads; t++) {
        long offset = t * 7919L;
        workers[t] = pool.submit(() -> {
          for (long i = offset; !stop.get(); i++) {
            call.apply(i);
            done.incrementAndGet();
          }
        });
      }
      Thread.sleep(TimeUnit.SECONDS.toMillis(seconds));
      stop.set(true);
      for (Future<?> w : workers) {
        w.get();
      }
      double elapsed = (System.nanoTime() - start) / 1e9;
      double cpuMicros = (os.getProcessCpuTime() - cpuStart) / 1e3;
      return new double[] {done.get() / elapsed, cpuMicros / done.get()};
    } finally {
      pool.shutdownNow();
    }
  }

  private static void report(String rpc, long[] miss, long[] hit) {
    double missP50 = percentile(miss, 50);
    double missP99 = percentile(miss, 99);
    double hitP50 = percentile(hit, 50);
    double hitP99 = percentile(hit, 99);
    System.out.printf(Locale.ROOT, "%-15s miss p50 %7.1f us  p99 %7.1f us | hit p50 %7.1f us  p99 %7.1f us | "
        + "miss/hit p50 %.1fx  p99 %.1fx%n", rpc, missP50, missP99, hitP50, hitP99, missP50 / hitP50, missP99 / hitP99);
  }

  private static double percentile(long[] sorted, int p) {
    int i = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
    return sorted[Math.max(0, i)] / 1000.0;
  }

  private static int arg(String[] args, int i, int defaultValue) {
    return args.length > i ? Integer.parseInt(args[i]) : defaultValue;
  }
}
