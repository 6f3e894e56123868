package dev.llmproxy.server.service;

import dev.llmproxy.server.ProxyServer;
import dev.llmproxy.server.config.LbPolicy;
import dev.llmproxy.server.config.RouteConfig;
import dev.llmproxy.server.config.ServerConfig;
import dev.llmproxy.server.config.UpstreamEndpoint;
import dev.llmproxy.server.observability.CallMetrics;
import dev.llmproxy.server.observability.CallObservingServerInterceptor;
import dev.llmproxy.server.upstream.RouteTable;
import dev.llmproxy.server.upstream.UpstreamChannelFactory;
import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.FinishReason;
import dev.llmproxy.v1.LlmProxyGrpc;
import dev.llmproxy.v1.Usage;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The proxy's own work per relayed chunk, without sockets: one {@code StreamComplete} of
 * {@value #CHUNKS} chunks through the proxy service, served in-process, from an in-process upstream
 * that sends pre-built chunks back to back as flow control allows, to a client that reads them all.
 * Everything runs on the benchmark thread (direct executors, in-process transport), so the figure
 * is CPU: per chunk, the upstream call's deframing and parsing, the relay, the server call's
 * serialisation and framing, the in-process transport's hand-offs, and (with {@code observed}) the
 * metrics interceptor. It leaves out HTTP/2 and the kernel, which the {@code peers} scenario
 * measures. Scores are per chunk ({@code @OperationsPerInvocation}); with {@code -prof gc},
 * {@code gc.alloc.rate.norm} is bytes allocated per chunk.
 *
 * <pre>java -jar benchmarks/target/llmproxy-bench.jar jmh RelayBenchmark -prof gc</pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 4, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class RelayBenchmark {
  static final int CHUNKS = 256;

  /** Whether the metrics interceptor (as the proxy runs with its defaults) observes the call. */
  @Param({"false", "true"})
  public boolean observed;

  private Server upstream;
  private RouteTable routes;
  private Server proxy;
  private ManagedChannel channel;
  private CompletionRequest request;

  /** Sends {@code max_tokens} pre-built chunks while its reader is ready. */
  private static final class ChunkUpstream extends LlmProxyGrpc.LlmProxyImplBase {
    private final CompletionChunk[] chunks = new CompletionChunk[CHUNKS];

    ChunkUpstream() {
      for (int i = 0; i < CHUNKS; i++) {
        CompletionChunk.Builder chunk = CompletionChunk.newBuilder().setId("cmpl-1").setIndex(i).setText(" token");
        if (i == CHUNKS - 1) {
          chunk.setFinishReason(FinishReason.FINISH_REASON_LENGTH).setUsage(
              Usage.newBuilder().setPromptTokens(5).setCompletionTokens(CHUNKS).setTotalTokens(CHUNKS + 5));
        }
        chunks[i] = chunk.build();
      }
    }

    @Override
    public void streamComplete(CompletionRequest request, StreamObserver<CompletionChunk> observer) {
      ServerCallStreamObserver<CompletionChunk> out = (ServerCallStreamObserver<CompletionChunk>) observer;
      int[] next = {0};
      out.setOnReadyHandler(() -> {
        while (out.isReady() && next[0] < CHUNKS) {
          out.onNext(chunks[next[0]++]);
          if (next[0] == CHUNKS) {
            out.onCompleted();
          }
        }
      });
    }
  }

  @Setup(Level.Trial)
  public void setUp() throws IOException {
    String upstreamName = InProcessServerBuilder.generateName();
    upstream = InProcessServerBuilder.forName(upstreamName).directExecutor().addService(new ChunkUpstream())
        .build().start();
    UpstreamChannelFactory channels = new UpstreamChannelFactory(4 << 20, new SimpleMeterRegistry(), List.of(),
        (target, credentials) -> InProcessChannelBuilder.forName(upstreamName));
    RouteConfig route = new RouteConfig("bench", List.of("bench-model"), true,
        List.of(new UpstreamEndpoint("in-process", "127.0.0.1:1")), null, null, LbPolicy.PICK_FIRST,
        2, false, 4096, CHUNKS, RouteConfig.DEFAULT_FLOW_CONTROL_WINDOW, null);
    routes = new RouteTable(List.of(channels.create(route, route.upstreams())));
    String proxyName = InProcessServerBuilder.generateName();
    SimpleMeterRegistry meters = new SimpleMeterRegistry();
    proxy = InProcessServerBuilder.forName(proxyName).directExecutor()
        .addService(ProxyServer.proxyService(routes, ServerConfig.defaults(), meters,
            observed ? new CallObservingServerInterceptor(List.of(new CallMetrics(meters))) : null))
        .build().start();
    channel = InProcessChannelBuilder.forName(proxyName).directExecutor().build();
    request = CompletionRequest.newBuilder().setModel("bench-model").setPrompt("hello").setMaxTokens(CHUNKS).build();
  }

  @TearDown(Level.Trial)
  public void tearDown() throws InterruptedException {
    channel.shutdownNow();
    proxy.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    routes.close();
    upstream.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  @Benchmark
  @OperationsPerInvocation(CHUNKS)
  public int stream() throws Exception {
    CompletableFuture<Status> closed = new CompletableFuture<>();
    int[] received = {0};
    ClientCall<CompletionRequest, CompletionChunk> call =
        channel.newCall(LlmProxyGrpc.getStreamCompleteMethod(), CallOptions.DEFAULT);
    call.start(new ClientCall.Listener<>() {
      @Override
      public void onMessage(CompletionChunk message) {
        received[0]++;
      }

      @Override
      public void onClose(Status status, Metadata trailers) {
        closed.complete(status);
      }
    }, new Metadata());
    call.sendMessage(request);
    call.halfClose();
    call.request(Integer.MAX_VALUE);
    Status status = closed.get(10, TimeUnit.SECONDS);
    if (!status.isOk() || received[0] != CHUNKS) {
      throw new IllegalStateException("stream ended " + status + " after " + received[0] + " chunks");
    }
    return received[0];
  }
}
