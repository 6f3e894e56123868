package dev.llmproxy.server.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.llmproxy.server.ProxyServer;
import dev.llmproxy.server.config.LbPolicy;
import dev.llmproxy.server.config.RouteConfig;
import dev.llmproxy.server.config.ServerConfig;
import dev.llmproxy.server.config.UpstreamEndpoint;
import dev.llmproxy.server.upstream.RouteTable;
import dev.llmproxy.server.upstream.UpstreamChannelFactory;
import dev.llmproxy.sim.SimulatedBackend;
import dev.llmproxy.sim.SimulatedBackendConfig;
import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.LlmProxyGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.assertj.core.api.Assertions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * How upstream failures reach the client: the mapping on its own, and behind the proxy service
 * (served in-process) with real upstreams that misbehave over real sockets.
 */
@Timeout(60)
class UpstreamStatusTest {
  private final List<AutoCloseable> closing = new ArrayList<>();
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();

  @AfterEach
  void stop() throws Exception {
    for (int i = closing.size() - 1; i >= 0; i--) {
      closing.get(i).close();
    }
  }

  @Test
  void anUpstreamsOwnMessageIsMarkedAsItsAndLengthLimited() {
    Status s = UpstreamStatus.toClientStatus(Status.INVALID_ARGUMENT.withDescription("bad thing " + "x".repeat(5000)),
        "chat", "gpu-b", 0, 1);
    assertThat(s.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(s.getDescription()).startsWith("route 'chat', upstream gpu-b: upstream said INVALID_ARGUMENT: \"bad thing ")
        .hasSizeLessThan(300);
  }

  @Test
  void grpcsOwnMessageTooLargeIsUnavailableNotTheClientsQuota() {
    Status tooLarge = Status.RESOURCE_EXHAUSTED.withDescription("gRPC message exceeds maximum size 1024: 5000");
    Status before = UpstreamStatus.toClientStatus(tooLarge, "chat", "gpu-b", 0, 2);
    assertThat(before.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(before.getDescription()).contains("upstream gpu-b sent a message larger than the proxy accepts")
        .contains("after 2 attempts");
    Status after = UpstreamStatus.toClientStatus(tooLarge, "chat", "gpu-b", 3, 1);
    assertThat(after.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(after.getDescription()).contains("failed after 3 chunks");
    // A busy upstream's own RESOURCE_EXHAUSTED is still its answer.
    assertThat(UpstreamStatus.toClientStatus(Status.RESOURCE_EXHAUSTED.withDescription("queue full"), "chat", "gpu-b",
        0, 1).getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
  }

  @Test
  void anHttp2ProtocolFailureIsUnavailableNamingTheUpstream() {
    Status internal = Status.INTERNAL.withDescription("http2 exception")
        .withCause(new IllegalStateException("First received frame was not SETTINGS. Hex dump: 485454502f"));
    Status s = UpstreamStatus.toClientStatus(internal, "chat", "gpu-b", 0, 1);
    assertThat(s.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(s.getDescription()).contains("upstream gpu-b does not speak HTTP/2 (First received frame was not SETTINGS");
  }

  /** The proxy service in-process over one route to {@code upstream}, upstream messages up to {@code maxMessage}. */
  private LlmProxyGrpc.LlmProxyBlockingStub proxyTo(String name, String upstream, int maxMessage) throws Exception {
    return proxyTo(List.of(new UpstreamEndpoint(name, upstream)), LbPolicy.PICK_FIRST, maxMessage);
  }

  private LlmProxyGrpc.LlmProxyBlockingStub proxyTo(List<UpstreamEndpoint> upstreams, LbPolicy lb, int maxMessage)
      throws Exception {
    UpstreamChannelFactory channels = new UpstreamChannelFactory(maxMessage);
    RouteConfig route = RouteConfig.forUpstreams(upstreams, lb);
    RouteTable routes = new RouteTable(List.of(channels.create(route, route.upstreams())));
    closing.add(routes::close);
    String server = InProcessServerBuilder.generateName();
    Server proxy = InProcessServerBuilder.forName(server).directExecutor()
        .addService(ProxyServer.proxyService(routes, ServerConfig.defaults(), meters))
        .build().start();
    closing.add(() -> proxy.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));
    ManagedChannel channel = InProcessChannelBuilder.forName(server).directExecutor().build();
    closing.add(channel::shutdownNow);
    return LlmProxyGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS);
  }

  private static Status failure(Runnable call) {
    StatusRuntimeException e = Assertions.catchThrowableOfType(StatusRuntimeException.class, call::run);
    assertThat(e).as("the call failed").isNotNull();
    return e.getStatus();
  }

  @Test
  void anUpstreamAnsweringHttp11IsUnavailableNamingItNotInternal() throws Exception {
    LlmProxyGrpc.LlmProxyBlockingStub stub = proxyTo("web-1", http11Upstream(), 4 << 20);
    Status status = failure(() -> stub.complete(CompletionRequest.newBuilder().setPrompt("hi").setMaxTokens(2).build()));
    assertThat(status.getCode()).as(status.toString()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(status.getDescription()).contains("does not speak HTTP/2");
  }

  @Test
  void anUpstreamSendingAMessageTooLargeIsUnavailableNotResourceExhausted() throws Exception {
    SimulatedBackend sim = SimulatedBackend.start("127.0.0.1", 0, SimulatedBackendConfig.defaults("big-sim")
        .withTimeToFirstToken(java.time.Duration.ZERO).withInterTokenLatency(java.time.Duration.ZERO));
    closing.add(sim);
    LlmProxyGrpc.LlmProxyBlockingStub stub = proxyTo("big-sim", sim.address(), 256);
    Status status = failure(() -> stub.complete(CompletionRequest.newBuilder().setPrompt("a long answer")
        .setMaxTokens(400).build()));
    assertThat(status.getCode()).as(status.toString()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(status.getDescription()).contains("upstream big-sim sent a message larger than the proxy accepts");
  }

  /** A server that answers every connection with an HTTP/1.1 error, as a web server would; its address. */
  private String http11Upstream() throws IOException {
    ServerSocket http11 = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    closing.add(http11);
    Thread answering = new Thread(() -> {
      while (!http11.isClosed()) {
        try (Socket s = http11.accept(); OutputStream out = s.getOutputStream()) {
          out.write("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
              .getBytes(StandardCharsets.US_ASCII));
          out.flush();
        } catch (IOException e) {
          // closed
        }
      }
    }, "http11-upstream");
    answering.setDaemon(true);
    answering.start();
    return "127.0.0.1:" + http11.getLocalPort();
  }

  /** A gRPC upstream whose every answer is one chunk of {@code bytes} characters; counts its calls. */
  private String oversizedUpstream(int bytes, AtomicInteger calls) throws IOException {
    Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .addService(new LlmProxyGrpc.LlmProxyImplBase() {
          @Override
          public void streamComplete(CompletionRequest request, StreamObserver<CompletionChunk> out) {
            calls.incrementAndGet();
            out.onNext(CompletionChunk.newBuilder().setText("x".repeat(bytes)).build());
            out.onCompleted();
          }
        }).build().start();
    closing.add(() -> server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));
    return "127.0.0.1:" + server.getPort();
  }

  private double outcomes(String outcome) {
    return meters.find("llmproxy.upstream.outcomes").tag("outcome", outcome).counters().stream()
        .mapToDouble(c -> c.count()).sum();
  }

  @Test
  void anUpstreamSendingOversizedMessagesIsAFaultAndItsCallsFailOverToAHealthyOne() throws Exception {
    AtomicInteger oversizedCalls = new AtomicInteger();
    SimulatedBackend sim = SimulatedBackend.start("127.0.0.1", 0, SimulatedBackendConfig.defaults("good-sim")
        .withTimeToFirstToken(java.time.Duration.ZERO).withInterTokenLatency(java.time.Duration.ZERO));
    closing.add(sim);
    LlmProxyGrpc.LlmProxyBlockingStub stub = proxyTo(List.of(
        new UpstreamEndpoint("big", oversizedUpstream(100_000, oversizedCalls)),
        new UpstreamEndpoint("good-sim", sim.address())), LbPolicy.ROUND_ROBIN, 64 << 10);
    // Until the healthy upstream is connected, a call has nowhere to fail over to: wait (bounded)
    // for its first answer, then count from there.
    await().atMost(Duration.ofSeconds(20)).ignoreExceptions().until(() -> {
      stub.streamComplete(CompletionRequest.newBuilder().setPrompt("warm-up").setMaxTokens(3).build())
          .forEachRemaining(chunk -> { });
      return true;
    });
    int oversizedBefore = oversizedCalls.get();
    double faultsBefore = outcomes("fault");
    // Round robin sends every other call to the oversized upstream once both are connected: call
    // until it has had some, every call answered by the healthy one.
    for (int i = 0; i < 200 && oversizedCalls.get() - oversizedBefore < 2; i++) {
      StringBuilder text = new StringBuilder();
      stub.streamComplete(CompletionRequest.newBuilder().setPrompt("hi " + i).setMaxTokens(3).build())
          .forEachRemaining(chunk -> text.append(chunk.getText()));
      assertThat(text).as("call %d answered by the healthy upstream", i).isNotEmpty();
    }
    assertThat(oversizedCalls.get() - oversizedBefore).as("calls that reached the oversized upstream").isPositive();
    assertThat(outcomes("fault") - faultsBefore).as("counted against the upstream")
        .isEqualTo(oversizedCalls.get() - oversizedBefore);
    assertThat(outcomes("busy")).as("not mistaken for a busy upstream").isZero();
  }

  @Test
  void anUpstreamAnsweringHttp11IsAFaultAndItsCallsFailOverToAHealthyOne() throws Exception {
    SimulatedBackend sim = SimulatedBackend.start("127.0.0.1", 0, SimulatedBackendConfig.defaults("good-sim")
        .withTimeToFirstToken(java.time.Duration.ZERO).withInterTokenLatency(java.time.Duration.ZERO));
    closing.add(sim);
    LlmProxyGrpc.LlmProxyBlockingStub stub = proxyTo(List.of(new UpstreamEndpoint("web-1", http11Upstream()),
        new UpstreamEndpoint("good-sim", sim.address())), LbPolicy.ROUND_ROBIN, 4 << 20);
    for (int i = 0; i < 6; i++) {
      assertThat(stub.complete(CompletionRequest.newBuilder().setPrompt("hi " + i).setMaxTokens(3).build())
          .getText()).as("call %d", i).isNotEmpty();
    }
    assertThat(outcomes("busy")).isZero();
  }
}
