package dev.llmproxy.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.llmproxy.server.upstream.openai.FakeOpenAiServer;
import dev.llmproxy.server.upstream.openai.FakeOpenAiServer.Answer;
import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.LlmProxyGrpc;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The bridge over real sockets: gRPC in, OpenAI-compatible HTTP out. */
@Timeout(30)
class BridgeCommandTest {
  private static final String CHUNK = "{\"id\":\"c\",\"choices\":[{\"delta\":{\"content\":\"%s\"},\"finish_reason\":%s}]}";

  @Test
  void servesAnOpenAiEngineAsAGrpcUpstreamWithHealth() throws Exception {
    try (FakeOpenAiServer engine = new FakeOpenAiServer(seen -> Answer.stream(
            CHUNK.formatted("Hi", "null"), CHUNK.formatted("!", "\"stop\""), "[DONE]"));
         BridgeCommand.Bridge bridge = BridgeCommand.Bridge.start(
             BridgeCommand.route(engine.baseUrl(), "served-model", null, "/health"), null, "127.0.0.1", 0)) {
      ManagedChannel channel = Grpc.newChannelBuilder("127.0.0.1:" + bridge.port(), InsecureChannelCredentials.create())
          .build();
      try {
        List<CompletionChunk> chunks = new ArrayList<>();
        LlmProxyGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
            .streamComplete(CompletionRequest.newBuilder().setPrompt("Hello").build()).forEachRemaining(chunks::add);
        assertThat(chunks).extracting(CompletionChunk::getText).containsExactly("Hi", "!");
        assertThat(engine.seen().get(0).body()).contains("\"model\":\"served-model\"");

        HealthGrpc.HealthBlockingStub health = HealthGrpc.newBlockingStub(channel);
        HealthCheckRequest check = HealthCheckRequest.newBuilder().setService("llmproxy.v1.LlmProxy").build();
        await().atMost(Duration.ofSeconds(10)).ignoreExceptions().untilAsserted(() -> assertThat(
            health.withDeadlineAfter(5, TimeUnit.SECONDS).check(check).getStatus()).isEqualTo(ServingStatus.SERVING));
        engine.healthStatus = 503; // out after three failed polls, 2 s apart
        await().atMost(Duration.ofSeconds(30)).ignoreExceptions().untilAsserted(() -> assertThat(
            health.withDeadlineAfter(5, TimeUnit.SECONDS).check(check).getStatus()).isEqualTo(ServingStatus.NOT_SERVING));
      } finally {
        channel.shutdownNow();
      }
    }
  }

  @Test
  void badFlagsExitWithTwoAndSayWhy() {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(new ByteArrayOutputStream());
    assertThat(BridgeCommand.run(new String[] {"--port", "7001"}, out, new PrintStream(err))).isEqualTo(2);
    assertThat(err.toString()).contains("--upstream: missing");
    err.reset();
    assertThat(BridgeCommand.run(new String[] {"--upstream", "localhost:8000"}, out, new PrintStream(err))).isEqualTo(2);
    assertThat(err.toString()).contains("--upstream: \"localhost:8000\" (expected: an http:// or https:// URL");
    err.reset();
    assertThat(BridgeCommand.run(new String[] {"--upstream", "http://x:1", "--colour", "red"}, out,
        new PrintStream(err))).isEqualTo(2);
    assertThat(err.toString()).contains("--colour: unknown flag");
  }
}
