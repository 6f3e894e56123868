package dev.llmproxy.server.observability;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.server.ProxyServer;
import dev.llmproxy.server.config.LbPolicy;
import dev.llmproxy.server.config.ObservabilityConfig;
import dev.llmproxy.server.config.RouteConfig;
import dev.llmproxy.server.config.ServerConfig;
import dev.llmproxy.server.config.UpstreamEndpoint;
import dev.llmproxy.server.upstream.RouteTable;
import dev.llmproxy.server.upstream.UpstreamChannelFactory;
import dev.llmproxy.sim.SimulatedBackend;
import dev.llmproxy.sim.SimulatedBackendConfig;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.LlmProxyGrpc;
import dev.llmproxy.v1.Message;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.MetadataUtils;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The access log as the proxy writes it: one line per call, and nothing a caller sent. */
@Timeout(30)
class AccessLogInProcessTest {
  private static final String PROMPT = "my medical history is private";
  private static final String KEY = "sk-live-0123456789abcdef";

  @Test
  void writesOneLinePerCallWithoutPromptsCompletionsOrKeys() throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (SimulatedBackend upstream = SimulatedBackend.start(SimulatedBackendConfig.defaults("chat-sim"))) {
      RouteConfig chat = RouteConfig.forUpstreams(List.of(new UpstreamEndpoint("chat-sim", upstream.address())),
          LbPolicy.PICK_FIRST);
      RouteTable routes = new RouteTable(List.of(new UpstreamChannelFactory(4 << 20).create(chat, chat.upstreams())));
      ObservabilityConfig config = new ObservabilityConfig(ObservabilityConfig.Metrics.disabled(), true, false);
      Observability observability = Observability.start(config, new SimpleMeterRegistry(), out);
      String name = InProcessServerBuilder.generateName();
      Server server = InProcessServerBuilder.forName(name).directExecutor()
          .addService(ProxyServer.proxyService(routes, ServerConfig.defaults(), observability.registry(),
              observability.generation(config).serverInterceptor()))
          .build().start();
      ManagedChannel channel = InProcessChannelBuilder.forName(name).directExecutor().build();
      String completion;
      try {
        Metadata headers = new Metadata();
        headers.put(Metadata.Key.of("x-api-key", Metadata.ASCII_STRING_MARSHALLER), KEY);
        LlmProxyGrpc.LlmProxyBlockingStub stub = LlmProxyGrpc.newBlockingStub(channel)
            .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
            .withDeadlineAfter(10, TimeUnit.SECONDS);
        completion = stub.complete(CompletionRequest.newBuilder().setPrompt(PROMPT).setMaxTokens(6).build()).getText();
        stub.streamComplete(CompletionRequest.newBuilder().setMaxTokens(3)
            .addMessages(Message.newBuilder().setRole("user").setContent(PROMPT)).build()).forEachRemaining(c -> { });
      } finally {
        channel.shutdownNow();
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        routes.close();
        observability.close(); // writes what is queued
      }

      String log = out.toString(StandardCharsets.UTF_8);
      String[] lines = log.split("\n");
      assertThat(lines).hasSize(2);
      assertThat(lines[0]).contains("\"method\":\"Complete\"", "\"route\":\"default\"", "\"upstream\":\"chat-sim\"",
          "\"status\":\"OK\"", "\"tokens\":6");
      assertThat(lines[1]).contains("\"method\":\"StreamComplete\"", "\"tokens\":3", "\"ttft_ms\":");
      assertThat(log).doesNotContain(PROMPT, KEY, "sk-live", completion);
    }
  }
}
