package dev.llmproxy.server.service;

import static dev.llmproxy.server.ByteArrayMarshaller.BYTES;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.CodedOutputStream;
import dev.llmproxy.server.ProxyServer;
import dev.llmproxy.server.config.LbPolicy;
import dev.llmproxy.server.config.ObservabilityConfig;
import dev.llmproxy.server.config.ProxyConfig;
import dev.llmproxy.server.config.RouteConfig;
import dev.llmproxy.server.config.ServerConfig;
import dev.llmproxy.server.config.UpstreamEndpoint;
import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.FinishReason;
import dev.llmproxy.v1.LlmProxyGrpc;
import dev.llmproxy.v1.Usage;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCalls;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Stream chunks cross the proxy as the bytes the upstream sent, over real sockets: an upstream that
 * writes chunk bytes of its own making, a client that reads the bytes it gets. Re-serialising would
 * put the fields in schema order; relaying keeps them as they came, while the proxy still reads the
 * last chunk's usage and still refuses bytes that are not a chunk.
 */
@Timeout(60)
class ChunkPassthroughE2ETest {
  private static final MethodDescriptor<byte[], byte[]> RAW_STREAM = LlmProxyGrpc.getStreamCompleteMethod()
      .toBuilder(BYTES, BYTES).build();

  private final List<AutoCloseable> closing = new ArrayList<>();
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();

  @AfterEach
  void stop() throws Exception {
    for (int i = closing.size() - 1; i >= 0; i--) {
      closing.get(i).close();
    }
  }

  @Test
  void chunksReachTheClientByteForByteAndTheLastOnesUsageIsCounted() throws Exception {
    byte[] first = chunk(out -> {
      out.writeString(CompletionChunk.TEXT_FIELD_NUMBER, "Hello"); // text before id: not schema order
      out.writeUInt64(15, 7); // a field the proxy's schema does not know
      out.writeString(CompletionChunk.ID_FIELD_NUMBER, "cmpl-raw");
    });
    byte[] second = chunk(out -> {
      out.writeInt32(CompletionChunk.INDEX_FIELD_NUMBER, 1);
      out.writeString(CompletionChunk.TEXT_FIELD_NUMBER, ", wörld");
      out.writeString(CompletionChunk.ID_FIELD_NUMBER, "cmpl-raw");
    });
    byte[] last = CompletionChunk.newBuilder().setId("cmpl-raw").setIndex(2)
        .setFinishReason(FinishReason.FINISH_REASON_STOP)
        .setUsage(Usage.newBuilder().setPromptTokens(17).setCompletionTokens(3)).build().toByteArray();
    assertThat(CompletionChunk.parseFrom(first).toByteArray()).as("what re-serialising would send").isNotEqualTo(first);

    Received got = call(proxyTo(upstream(first, second, last)));

    assertThat(got.status.getCode()).isEqualTo(Status.Code.OK);
    assertThat(got.chunks).hasSize(3);
    assertThat(got.chunks.get(0)).isEqualTo(first);
    assertThat(got.chunks.get(1)).isEqualTo(second);
    assertThat(got.chunks.get(2)).isEqualTo(last);
    assertThat(tokens("prompt")).as("the last chunk's usage, read by the proxy").isEqualTo(17);
    assertThat(tokens("completion")).isEqualTo(3);
  }

  @Test
  void aChunkThatIsNotAChunkFailsTheCallAfterWhatWasRelayed() throws Exception {
    byte[] good = CompletionChunk.newBuilder().setId("c").setText("Hi").build().toByteArray();
    byte[] truncated = Arrays.copyOf(good, good.length - 1);

    Received got = call(proxyTo(upstream(good, truncated)));

    assertThat(got.chunks).containsExactly(good);
    assertThat(got.status.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(got.status.getDescription()).contains("after 1 chunk");
  }

  @Test
  void textThatIsNotUtf8NeverReachesTheClient() throws Exception {
    byte[] notUtf8 = chunk(out -> out.writeByteArray(CompletionChunk.TEXT_FIELD_NUMBER, new byte[] {'a', (byte) 0xFF}));

    Received got = call(proxyTo(upstream(notUtf8)));

    assertThat(got.chunks).isEmpty();
    assertThat(got.status.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
  }

  private interface Fields {
    void write(CodedOutputStream out) throws IOException;
  }

  private static byte[] chunk(Fields fields) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    CodedOutputStream out = CodedOutputStream.newInstance(bytes);
    fields.write(out);
    out.flush();
    return bytes.toByteArray();
  }

  /** A gRPC upstream on a real socket answering every stream with {@code chunks} as given. */
  private String upstream(byte[]... chunks) throws IOException {
    Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .addService(ServerServiceDefinition.builder(LlmProxyGrpc.SERVICE_NAME)
            .addMethod(RAW_STREAM, ServerCalls.asyncServerStreamingCall((request, out) -> {
              for (byte[] chunk : chunks) {
                out.onNext(chunk);
              }
              out.onCompleted();
            }))
            .build())
        .build().start();
    closing.add(() -> server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));
    return "127.0.0.1:" + server.getPort();
  }

  private ManagedChannel proxyTo(String upstream) throws IOException {
    RouteConfig route = RouteConfig.forUpstreams(List.of(new UpstreamEndpoint("raw", upstream)), LbPolicy.PICK_FIRST);
    ProxyConfig config = new ProxyConfig(ServerConfig.defaults().withAddress("127.0.0.1", 0), List.of(route))
        .withObservability(ObservabilityConfig.defaults()
            .withMetrics(new ObservabilityConfig.Metrics(true, "127.0.0.1", 0))); // call metrics on
    ProxyServer proxy = ProxyServer.start(config, meters);
    closing.add(proxy::close);
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", proxy.port()).usePlaintext().build();
    closing.add(channel::shutdownNow);
    return channel;
  }

  private record Received(List<byte[]> chunks, Status status) {}

  private static Received call(ManagedChannel channel) throws Exception {
    List<byte[]> chunks = new ArrayList<>();
    CompletableFuture<Status> closed = new CompletableFuture<>();
    ClientCall<byte[], byte[]> call = channel.newCall(RAW_STREAM, CallOptions.DEFAULT.withDeadlineAfter(20, TimeUnit.SECONDS));
    call.start(new ClientCall.Listener<>() {
      @Override
      public void onMessage(byte[] message) {
        chunks.add(message);
        call.request(1);
      }

      @Override
      public void onClose(Status status, Metadata trailers) {
        closed.complete(status);
      }
    }, new Metadata());
    call.request(1);
    call.sendMessage(CompletionRequest.newBuilder().setPrompt("hi").setMaxTokens(8).build().toByteArray());
    call.halfClose();
    Status status = closed.get(30, TimeUnit.SECONDS);
    return new Received(chunks, status);
  }

  private double tokens(String type) {
    return meters.find("llmproxy.tokens").tag("type", type).counters().stream().mapToDouble(c -> c.count()).sum();
  }
}
