package dev.llmproxy.server;

import static dev.llmproxy.server.ByteArrayMarshaller.BYTES;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.llmproxy.server.config.ConfigLoader;
import dev.llmproxy.sim.SimulatedBackend;
import dev.llmproxy.sim.SimulatedBackendConfig;
import dev.llmproxy.testing.PreviousApi;
import dev.llmproxy.v1.Completion;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.FinishReason;
import dev.llmproxy.v1.FunctionDefinition;
import dev.llmproxy.v1.LlmProxyGrpc;
import dev.llmproxy.v1.Message;
import dev.llmproxy.v1.Tool;
import io.grpc.CallOptions;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The new proxy with peers built from the previous release's .proto ({@link PreviousApi}): an old
 * client's bytes are understood and it can read the answers, and an old upstream, which knows none
 * of the new fields, still answers calls that carry them.
 */
@Timeout(60)
class PreviousApiE2ETest {

  private final List<AutoCloseable> closing = new ArrayList<>();

  @AfterEach
  void stop() throws Exception {
    for (int i = closing.size() - 1; i >= 0; i--) {
      closing.get(i).close();
    }
  }

  private static MethodDescriptor<byte[], byte[]> raw(MethodDescriptor<?, ?> method) {
    return method.toBuilder(BYTES, BYTES).build();
  }

  private ManagedChannel proxyOver(String upstream, String protocolLines) throws Exception {
    ProxyServer proxy = ProxyServer.start(new ConfigLoader().parse("""
        server: {port: 0}
        cache: {enabled: false}
        routes:
          - name: r
            models: ["*"]
            default: true
            upstreams: ["%s"]
        %s
        """.formatted(upstream, protocolLines.indent(4))), new SimpleMeterRegistry());
    closing.add(proxy::close);
    ManagedChannel channel = Grpc.newChannelBuilder("127.0.0.1:" + proxy.port(), InsecureChannelCredentials.create())
        .build();
    closing.add(channel::shutdownNow);
    return channel;
  }

  private static DynamicMessage oldRequest(String prompt, int maxTokens) {
    Descriptor request = PreviousApi.message("CompletionRequest");
    return DynamicMessage.newBuilder(request)
        .setField(request.findFieldByName("prompt"), prompt)
        .setField(request.findFieldByName("max_tokens"), maxTokens)
        .build();
  }

  @Test
  void anOldClientsRequestIsServedAndItsAnswerReadsWithTheOldSchema() throws Exception {
    SimulatedBackend sim = SimulatedBackend.start("127.0.0.1", 0, SimulatedBackendConfig.defaults("sim"));
    closing.add(sim::close);
    ManagedChannel channel = proxyOver(sim.address(), "");
    byte[] request = oldRequest("Hello from 2025", 8).toByteArray();

    byte[] unary = ClientCalls.blockingUnaryCall(channel, raw(LlmProxyGrpc.getCompleteMethod()),
        CallOptions.DEFAULT.withDeadlineAfter(20, TimeUnit.SECONDS), request);
    Iterator<byte[]> stream = ClientCalls.blockingServerStreamingCall(channel,
        raw(LlmProxyGrpc.getStreamCompleteMethod()), CallOptions.DEFAULT.withDeadlineAfter(20, TimeUnit.SECONDS),
        request);

    DynamicMessage completion = DynamicMessage.parseFrom(PreviousApi.message("Completion"), unary);
    Descriptor completionType = completion.getDescriptorForType();
    String text = (String) completion.getField(completionType.findFieldByName("text"));
    assertThat(text).isNotEmpty();
    assertThat(completion.getUnknownFields().asMap()).as("nothing an old client cannot read").isEmpty();
    StringBuilder streamed = new StringBuilder();
    Descriptor chunkType = PreviousApi.message("CompletionChunk");
    while (stream.hasNext()) {
      DynamicMessage chunk = DynamicMessage.parseFrom(chunkType, stream.next());
      assertThat(chunk.getUnknownFields().asMap()).isEmpty();
      streamed.append(chunk.getField(chunkType.findFieldByName("text")));
    }
    assertThat(streamed.toString()).isEqualTo(text);
    assertThat(sim.recorder().lastCall().request())
        .isEqualTo(CompletionRequest.newBuilder().setPrompt("Hello from 2025").setMaxTokens(8).build());
  }

  @Test
  void anOldUpstreamIgnoresTheNewFieldsAndStillAnswers() throws Exception {
    List<DynamicMessage> received = new CopyOnWriteArrayList<>();
    Descriptor requestType = PreviousApi.message("CompletionRequest");
    Descriptor completionType = PreviousApi.message("Completion");
    ServerServiceDefinition oldService = ServerServiceDefinition.builder(LlmProxyGrpc.SERVICE_NAME)
        .addMethod(raw(LlmProxyGrpc.getCompleteMethod()), ServerCalls.asyncUnaryCall((bytes, out) -> {
          DynamicMessage request;
          try {
            request = DynamicMessage.parseFrom(requestType, bytes);
          } catch (InvalidProtocolBufferException e) {
            out.onError(e);
            return;
          }
          received.add(request);
          out.onNext(DynamicMessage.newBuilder(completionType)
              .setField(completionType.findFieldByName("id"), "old-1")
              .setField(completionType.findFieldByName("text"), "an old answer")
              .setField(completionType.findFieldByName("finish_reason"),
                  completionType.findFieldByName("finish_reason").getEnumType().findValueByNumber(1))
              .build().toByteArray());
          out.onCompleted();
        }))
        .addMethod(raw(LlmProxyGrpc.getStreamCompleteMethod()), ServerCalls.asyncServerStreamingCall(
            (bytes, out) -> out.onError(io.grpc.Status.UNIMPLEMENTED.asRuntimeException())))
        .build();
    Server old = Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create()).addService(oldService)
        .build().start();
    closing.add(() -> old.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));
    ManagedChannel channel = proxyOver("127.0.0.1:" + old.getPort(), "health_check: false");

    CompletionRequest withTools = CompletionRequest.newBuilder().setMaxTokens(8)
        .addMessages(Message.newBuilder().setRole("user").setContent("Call a tool?"))
        .addTools(Tool.newBuilder().setFunction(FunctionDefinition.newBuilder().setName("get_time")))
        .setLogprobs(true).setUser("u").build();
    Completion answer = LlmProxyGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS)
        .complete(withTools);

    assertThat(answer.getText()).isEqualTo("an old answer");
    assertThat(answer.getFinishReason()).isEqualTo(FinishReason.FINISH_REASON_STOP);
    assertThat(answer.getToolCallsList()).isEmpty();
    DynamicMessage seen = received.get(0);
    assertThat(((List<?>) seen.getField(requestType.findFieldByName("messages")))).hasSize(1);
    // the new fields arrive as fields the old upstream does not know, and it skips them
    assertThat(seen.getUnknownFields().asMap()).containsKeys(9, 13, 16);
  }
}
