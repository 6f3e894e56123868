package dev.llmproxy.server.service;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.server.ProxyServer;
import dev.llmproxy.server.config.LbPolicy;
import dev.llmproxy.server.config.RouteConfig;
import dev.llmproxy.server.config.ServerConfig;
import dev.llmproxy.server.config.UpstreamEndpoint;
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
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The relay with no socket anywhere: the proxy service and its upstream both served in-process, the
 * route's channel built through {@link UpstreamChannelFactory}'s transport seam. The in-process
 * transport's flow control counts messages (a stream is ready while its reader has asked for more),
 * and with direct executors everything a client's {@code request} sets off has happened by the
 * time it returns, so how far a slow reader lets the upstream run ahead is exact.
 */
@Timeout(30)
class RelayInProcessTest {
  private final AtomicInteger upstreamSent = new AtomicInteger();
  private Server upstream;
  private RouteTable routes;
  private Server proxy;
  private ManagedChannel channel;

  /** Streams {@code max_tokens} chunks, each only while its reader is ready, like a real model server. */
  private final class FlowControlledUpstream extends LlmProxyGrpc.LlmProxyImplBase {
    @Override
    public void streamComplete(CompletionRequest request, StreamObserver<CompletionChunk> observer) {
      ServerCallStreamObserver<CompletionChunk> out = (ServerCallStreamObserver<CompletionChunk>) observer;
      int total = request.getMaxTokens();
      int[] next = {0};
      out.setOnReadyHandler(() -> {
        while (out.isReady() && next[0] < total) {
          int i = next[0]++;
          CompletionChunk.Builder chunk = CompletionChunk.newBuilder().setId("c").setIndex(i).setText("t" + i + " ");
          if (i == total - 1) {
            chunk.setFinishReason(FinishReason.FINISH_REASON_LENGTH)
                .setUsage(Usage.newBuilder().setPromptTokens(3).setCompletionTokens(total).setTotalTokens(total + 3));
          }
          upstreamSent.incrementAndGet();
          out.onNext(chunk.build());
          if (i == total - 1) {
            out.onCompleted();
          }
        }
      });
    }
  }

  @BeforeEach
  void start() throws Exception {
    String upstreamName = InProcessServerBuilder.generateName();
    upstream = InProcessServerBuilder.forName(upstreamName).directExecutor()
        .addService(new FlowControlledUpstream()).build().start();
    UpstreamChannelFactory channels = new UpstreamChannelFactory(4 << 20, new SimpleMeterRegistry(), List.of(),
        (target, credentials) -> InProcessChannelBuilder.forName(upstreamName));
    RouteConfig route = new RouteConfig("chat", List.of("chat-model"), true,
        List.of(new UpstreamEndpoint("in-process", "127.0.0.1:1")), null, null, LbPolicy.PICK_FIRST,
        2, false, 4096, 32, RouteConfig.DEFAULT_FLOW_CONTROL_WINDOW, null);
    routes = new RouteTable(List.of(channels.create(route, route.upstreams())));
    String proxyName = InProcessServerBuilder.generateName();
    proxy = InProcessServerBuilder.forName(proxyName).directExecutor()
        .addService(ProxyServer.proxyService(routes, ServerConfig.defaults(), new SimpleMeterRegistry())).build().start();
    channel = InProcessChannelBuilder.forName(proxyName).directExecutor().build();
  }

  @AfterEach
  void stop() throws Exception {
    channel.shutdownNow();
    proxy.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    routes.close();
    upstream.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  /** Reads the stream only as far as the test asks. */
  private static final class Reader extends ClientCall.Listener<CompletionChunk> {
    final AtomicInteger received = new AtomicInteger();
    final StringBuilder text = new StringBuilder();
    final CompletableFuture<Status> closed = new CompletableFuture<>();
    volatile Metadata headers;
    volatile CompletionChunk last;

    @Override
    public void onHeaders(Metadata h) {
      headers = h;
    }

    @Override
    public void onMessage(CompletionChunk chunk) {
      synchronized (text) {
        text.append(chunk.getText());
      }
      last = chunk;
      received.incrementAndGet();
    }

    @Override
    public void onClose(Status status, Metadata trailers) {
      closed.complete(status);
    }
  }

  private ClientCall<CompletionRequest, CompletionChunk> open(Reader reader, int maxTokens) {
    ClientCall<CompletionRequest, CompletionChunk> call = channel.newCall(LlmProxyGrpc.getStreamCompleteMethod(),
        CallOptions.DEFAULT.withDeadlineAfter(20, TimeUnit.SECONDS));
    call.start(reader, new Metadata());
    call.sendMessage(CompletionRequest.newBuilder().setModel("chat-model").setPrompt("hi").setMaxTokens(maxTokens).build());
    call.halfClose();
    return call;
  }

  @Test
  void relaysEveryChunkInOrderWithTheLastChunksUsageAndNamesTheUpstream() throws Exception {
    Reader reader = new Reader();
    open(reader, 40).request(Integer.MAX_VALUE);

    assertThat(reader.closed.get(10, TimeUnit.SECONDS).getCode()).isEqualTo(Status.Code.OK);
    assertThat(reader.received).hasValue(40);
    StringBuilder expected = new StringBuilder();
    for (int i = 0; i < 40; i++) {
      expected.append("t").append(i).append(' ');
    }
    assertThat(reader.text.toString()).isEqualTo(expected.toString());
    assertThat(reader.last.getUsage().getCompletionTokens()).isEqualTo(40);
    assertThat(reader.last.getFinishReason()).isEqualTo(FinishReason.FINISH_REASON_LENGTH);
    assertThat(reader.headers.get(Relay.UPSTREAM_HEADER)).isNotEmpty();
  }

  @Test
  void aReaderThatStopsReadingHoldsTheUpstreamBackToWhatItAskedForPlusABoundedLead() throws Exception {
    Reader reader = new Reader();
    ClientCall<CompletionRequest, CompletionChunk> call = open(reader, 1_000);
    call.request(5);
    assertThat(reader.received).hasValue(5);
    // What the proxy may hold for a reader that is not reading: the messages it asked for ahead.
    assertThat(upstreamSent.get()).isBetween(5, 5 + Relay.MAX_AHEAD);

    call.request(995);
    assertThat(reader.closed.get(10, TimeUnit.SECONDS).getCode()).isEqualTo(Status.Code.OK);
    assertThat(reader.received).hasValue(1_000);
    assertThat(upstreamSent).hasValue(1_000);
  }
}
