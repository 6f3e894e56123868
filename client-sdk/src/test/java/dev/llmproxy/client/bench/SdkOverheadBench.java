package dev.llmproxy.client.bench;

import dev.llmproxy.client.CompletionStream;
import dev.llmproxy.client.LlmProxyClient;
import dev.llmproxy.client.RetryPolicy;
import dev.llmproxy.sim.SimulatedBackend;
import dev.llmproxy.sim.SimulatedBackendConfig;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.LlmProxyGrpc;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * What the SDK's layer costs over the generated blocking stub, on the same kind of channel, against a
 * simulated backend with no delays on loopback (no proxy in between, so the client side dominates).
 *
 * <p>Workload: sequential calls from one thread, the three clients taking turns in rounds so that
 * machine noise hits all alike: the SDK as built by default, the SDK without retries, and the generated
 * blocking stub. Unary: {@code Complete} of 1 token, 500 calls a round. Stream: {@code StreamComplete}
 * of 200 tokens, one chunk each, read to the end, 50 calls a round. Prints calls (chunks) per second
 * and each client's throughput as a fraction of the stub's.
 *
 * <p>Run (after {@code ./mvnw -q install -DskipTests}):
 * <pre>
 * ./mvnw -q -pl client-sdk test-compile dependency:build-classpath -Dmdep.outputFile=target/cp.txt
 * java -cp "client-sdk/target/test-classes:client-sdk/target/classes:$(cat client-sdk/target/cp.txt)" \
 *   dev.llmproxy.client.bench.SdkOverheadBench [rounds]
 * </pre>
 */
public final class SdkOverheadBench {
  private static final CompletionRequest UNARY = CompletionRequest.newBuilder().setPrompt("bench").setMaxTokens(1).build();
  private static final CompletionRequest STREAM = CompletionRequest.newBuilder().setPrompt("bench").setMaxTokens(200)
      .build();
  private static final int UNARY_CALLS = 500;
  private static final int STREAM_CALLS = 50;

  private SdkOverheadBench() {}

  /**
   * Runs the measurement.
   *
   * @param args optional number of rounds (default 6; the first is warm-up and not counted)
   */
  public static void main(String[] args) throws Exception {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 6;
    try (SimulatedBackend sim = SimulatedBackend.start(SimulatedBackendConfig.defaults("bench"));
        LlmProxyClient sdk = LlmProxyClient.builder(sim.address()).usePlaintext()
            .defaultDeadline(Duration.ofSeconds(30)).build();
        LlmProxyClient sdkNoRetry = LlmProxyClient.builder(sim.address()).usePlaintext()
            .defaultDeadline(Duration.ofSeconds(30)).retryPolicy(RetryPolicy.disabled()).build()) {
      ManagedChannel channel = NettyChannelBuilder.forTarget(sim.address()).usePlaintext().build();
      LlmProxyGrpc.LlmProxyBlockingStub stub = LlmProxyGrpc.newBlockingStub(channel);
      String[] names = {"SDK", "SDK, retries off", "generated stub"};
      Runnable[] unary = {
          () -> repeat(UNARY_CALLS, () -> sdk.complete(UNARY)),
          () -> repeat(UNARY_CALLS, () -> sdkNoRetry.complete(UNARY)),
          () -> repeat(UNARY_CALLS, () -> stub.withDeadlineAfter(30, TimeUnit.SECONDS).complete(UNARY)),
      };
      Runnable[] stream = {
          () -> repeat(STREAM_CALLS, () -> drain(sdk)),
          () -> repeat(STREAM_CALLS, () -> drain(sdkNoRetry)),
          () -> repeat(STREAM_CALLS, () -> stub.withDeadlineAfter(30, TimeUnit.SECONDS).streamComplete(STREAM)
              .forEachRemaining(c -> { })),
      };
      long[] unaryNanos = new long[names.length];
      long[] streamNanos = new long[names.length];
      for (int round = 0; round < rounds; round++) {
        for (int k = 0; k < names.length; k++) {
          long u = time(unary[k]);
          long s = time(stream[k]);
          if (round > 0) { // round 0 warms up
            unaryNanos[k] += u;
            streamNanos[k] += s;
          }
        }
      }
      channel.shutdownNow();
      int counted = Math.max(1, rounds - 1);
      int stubIndex = names.length - 1;
      for (int k = 0; k < names.length; k++) {
        double calls = UNARY_CALLS * counted / (unaryNanos[k] / 1e9);
        double chunks = STREAM_CALLS * 200.0 * counted / (streamNanos[k] / 1e9);
        System.out.printf("%-17s unary %6.0f calls/s (%.2f of stub)   stream %7.0f chunks/s (%.2f of stub)%n",
            names[k], calls, (double) unaryNanos[stubIndex] / unaryNanos[k], chunks,
            (double) streamNanos[stubIndex] / streamNanos[k]);
      }
    }
  }

  private static void drain(LlmProxyClient client) {
    try (CompletionStream s = client.stream(STREAM)) {
      s.forEachRemaining(c -> { });
    }
  }

  private static void repeat(int times, Runnable call) {
    for (int i = 0; i < times; i++) {
      call.run();
    }
  }

  private static long time(Runnable body) {
    long start = System.nanoTime();
    body.run();
    return System.nanoTime() - start;
  }
}
