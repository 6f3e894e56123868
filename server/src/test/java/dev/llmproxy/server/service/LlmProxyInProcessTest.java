package dev.llmproxy.server.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmproxy.server.ProxyServer;
import dev.llmproxy.server.config.LbPolicy;
import dev.llmproxy.server.config.RouteConfig;
import dev.llmproxy.server.config.ServerConfig;
import dev.llmproxy.server.config.UpstreamEndpoint;
import dev.llmproxy.server.upstream.RouteTable;
import dev.llmproxy.server.upstream.UpstreamChannelFactory;
import dev.llmproxy.sim.SimulatedBackend;
import dev.llmproxy.sim.SimulatedBackendConfig;
import dev.llmproxy.v1.Completion;
import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.FinishReason;
import dev.llmproxy.v1.LlmProxyGrpc;
import dev.llmproxy.v1.Message;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The proxy service served in-process, with routes over simulated upstreams. */
@Timeout(30)
class LlmProxyInProcessTest {
  private SimulatedBackend chatUpstream;
  private SimulatedBackend codeUpstream;
  private RouteTable routes;
  private Server server;
  private ManagedChannel channel;
  private LlmProxyGrpc.LlmProxyBlockingStub stub;

  @BeforeEach
  void start() throws Exception {
    chatUpstream = SimulatedBackend.start("127.0.0.1", 0, SimulatedBackendConfig.defaults("chat-sim"));
    codeUpstream = SimulatedBackend.start("127.0.0.1", 0, SimulatedBackendConfig.defaults("code-sim"));
    UpstreamChannelFactory channels = new UpstreamChannelFactory(4 << 20);
    RouteConfig chat = new RouteConfig("chat", List.of("chat-model"), true,
        List.of(new UpstreamEndpoint("chat-sim", chatUpstream.address())), null, null, LbPolicy.ROUND_ROBIN,
        2, true, 1000, 32, RouteConfig.DEFAULT_FLOW_CONTROL_WINDOW, null);
    RouteConfig code = new RouteConfig("code", List.of("code-model"), false,
        List.of(new UpstreamEndpoint("code-sim", codeUpstream.address())), null, null, LbPolicy.PICK_FIRST,
        2, false, 4096, 256, RouteConfig.DEFAULT_FLOW_CONTROL_WINDOW, null);
    routes = new RouteTable(List.of(channels.create(chat, chat.upstreams()), channels.create(code, code.upstreams())));
    String name = InProcessServerBuilder.generateName();
    server = InProcessServerBuilder.forName(name).directExecutor()
        .addService(ProxyServer.proxyService(routes, ServerConfig.defaults(), new SimpleMeterRegistry())).build().start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    stub = LlmProxyGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS);
  }

  @AfterEach
  void stop() throws Exception {
    channel.shutdownNow();
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    routes.close();
    chatUpstream.close();
    codeUpstream.close();
  }

  private static CompletionRequest.Builder request() {
    return CompletionRequest.newBuilder().setPrompt("Tell me about proxies");
  }

  private Status statusOf(CompletionRequest.Builder request) {
    try {
      stub.complete(request.build());
      throw new AssertionError("expected the call to fail");
    } catch (StatusRuntimeException e) {
      return e.getStatus();
    }
  }

  @Test
  void streamChunksArriveInOrderAndConcatenateToTheCompleteText() {
    CompletionRequest req = request().setModel("chat-model").setMaxTokens(40).setSeed(7).build();
    Completion whole = stub.complete(req);
    List<CompletionChunk> chunks = new ArrayList<>();
    stub.streamComplete(req).forEachRemaining(chunks::add);

    assertThat(chunks).hasSize(40);
    for (int i = 0; i < chunks.size(); i++) {
      assertThat(chunks.get(i).getIndex()).isEqualTo(i);
    }
    StringBuilder text = new StringBuilder();
    chunks.forEach(c -> text.append(c.getText()));
    assertThat(text.toString()).isEqualTo(whole.getText()).isNotEmpty();
    CompletionChunk last = chunks.get(chunks.size() - 1);
    assertThat(last.getFinishReason()).isEqualTo(FinishReason.FINISH_REASON_LENGTH);
    assertThat(last.getUsage()).isEqualTo(whole.getUsage());
  }

  @Test
  void routesByModelAndAppliesTheRouteDefaultMaxTokens() {
    Completion viaDefault = stub.complete(request().build());
    assertThat(viaDefault.getUsage().getCompletionTokens()).isEqualTo(32);
    assertThat(chatUpstream.recorder().started()).isEqualTo(1);

    stub.complete(request().setModel("code-model").build());
    assertThat(codeUpstream.recorder().started()).isEqualTo(1);
    assertThat(codeUpstream.recorder().lastCall().request().getMaxTokens()).isEqualTo(256);
  }

  @Test
  void unknownModelIsNotFoundNamingTheModel() {
    Status status = statusOf(request().setModel("gpt-9"));
    assertThat(status.getCode()).isEqualTo(Status.Code.NOT_FOUND);
    assertThat(status.getDescription()).contains("\"gpt-9\"").contains("chat-model, code-model");
  }

  @Test
  void everyMalformedRequestIsInvalidArgumentNamingTheFieldAndNeverReachesAnUpstream() {
    List<CompletionRequest.Builder> bad = List.of(
        CompletionRequest.newBuilder(),
        request().addMessages(Message.newBuilder().setRole("user").setContent("both")),
        request().setMaxTokens(-1),
        request().setMaxTokens(1001),
        request().setTemperature(2.01f),
        request().setTemperature(-1f),
        request().setTopP(1.5f),
        request().addStop(""),
        CompletionRequest.newBuilder().addMessages(Message.newBuilder().setRole("user")));
    List<String> fields = List.of("prompt/messages", "prompt/messages", "max_tokens", "max_tokens",
        "temperature", "temperature", "top_p", "stop[0]", "messages[0].content");
    for (int i = 0; i < bad.size(); i++) {
      Status status = statusOf(bad.get(i));
      assertThat(status.getCode()).as(fields.get(i)).isEqualTo(Status.Code.INVALID_ARGUMENT);
      assertThat(status.getDescription()).startsWith(fields.get(i) + ":");
      // The streaming RPC validates the same way.
      assertThatThrownBy(() -> stub.streamComplete(bad.get(0).build()).hasNext())
          .isInstanceOfSatisfying(StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT));
    }
    assertThat(chatUpstream.recorder().started()).isZero();
  }

  @Test
  void aSecondRequestMessageFailsTheCallAndLeavesNoUpstreamCallBehind() throws Exception {
    CompletableFuture<Status> closed = new CompletableFuture<>();
    ClientCall<CompletionRequest, CompletionChunk> call = channel.newCall(LlmProxyGrpc.getStreamCompleteMethod(),
        CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS));
    call.start(new ClientCall.Listener<>() {
      @Override
      public void onClose(Status status, Metadata trailers) {
        closed.complete(status);
      }
    }, new Metadata());
    call.request(Integer.MAX_VALUE);
    call.sendMessage(request().setMaxTokens(500).build());
    call.sendMessage(request().setMaxTokens(500).build());
    call.halfClose();

    // Refused with a status (grpc-java's own answer is a bare reset) before anything went upstream.
    Status status = closed.get(10, TimeUnit.SECONDS);
    assertThat(status.getCode()).as(status.toString()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(status.getDescription()).contains("a second request message");
    assertThat(chatUpstream.recorder().started()).isZero();
  }
}
