package dev.llmproxy.server.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmproxy.server.completion.RelayedChunk;
import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.LlmProxyGrpc;
import io.grpc.Drainable;
import io.grpc.KnownLength;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.FilterInputStream;
import java.io.InputStream;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class ChunkMarshallerTest {
  private static final CompletionChunk CHUNK = CompletionChunk.newBuilder().setId("cmpl-1").setIndex(1)
      .setText("Hello").build();
  private final MethodDescriptor.Marshaller<Object> marshaller = ProxyMethods.STREAM_COMPLETE.getResponseMarshaller();

  @Test
  void bytesFromTheNetworkBecomeARelayedChunkSentAsTheSameBytes() throws Exception {
    byte[] bytes = CHUNK.toByteArray();

    Object parsed = marshaller.parse(new NetworkStream(bytes));

    assertThat(parsed).isInstanceOf(RelayedChunk.class);
    assertThat(((RelayedChunk) parsed).chunk()).isEqualTo(CHUNK);
    InputStream out = marshaller.stream(parsed);
    assertThat(out).isInstanceOf(KnownLength.class).isInstanceOf(Drainable.class);
    assertThat(out.available()).isEqualTo(bytes.length);
    ByteArrayOutputStream drained = new ByteArrayOutputStream();
    assertThat(((Drainable) out).drainTo(drained)).isEqualTo(bytes.length);
    assertThat(drained.toByteArray()).isEqualTo(bytes);
  }

  @Test
  void aStreamOfUnknownLengthIsReadToItsEnd() {
    Object parsed = marshaller.parse(new FilterInputStream(new ByteArrayInputStream(CHUNK.toByteArray())) {});
    assertThat(((RelayedChunk) parsed).bytes()).isEqualTo(CHUNK.toByteArray());
  }

  @Test
  void aMessageHandedOverInProcessIsTakenAsItIs() {
    // The generated marshaller's stream over a message, as the in-process transport passes it on.
    InputStream inProcess = LlmProxyGrpc.getStreamCompleteMethod().getResponseMarshaller().stream(CHUNK);
    assertThat(marshaller.parse(inProcess)).isSameAs(CHUNK);
  }

  @Test
  void parsedChunksAreSerialisedAsGenerated() throws Exception {
    assertThat(marshaller.stream(CHUNK).readAllBytes()).isEqualTo(CHUNK.toByteArray());
  }

  @Test
  void malformedBytesFailAsTheGeneratedMarshallerWould() {
    byte[] bytes = CHUNK.toByteArray();
    assertThatThrownBy(() -> marshaller.parse(new NetworkStream(Arrays.copyOf(bytes, bytes.length - 1))))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INTERNAL));
  }

  @Test
  void theServiceKeepsTheGeneratedSchemaForReflection() {
    assertThat(ProxyMethods.SERVICE.getName()).isEqualTo(LlmProxyGrpc.SERVICE_NAME);
    assertThat(ProxyMethods.SERVICE.getSchemaDescriptor()).isSameAs(LlmProxyGrpc.getServiceDescriptor().getSchemaDescriptor());
    assertThat(ProxyMethods.STREAM_COMPLETE.getSchemaDescriptor())
        .isSameAs(LlmProxyGrpc.getStreamCompleteMethod().getSchemaDescriptor());
    assertThat(ProxyMethods.STREAM_COMPLETE.getType()).isEqualTo(MethodDescriptor.MethodType.SERVER_STREAMING);
  }

  /** What grpc's deframer hands a marshaller: a stream of known length that is not drainable. */
  private static final class NetworkStream extends ByteArrayInputStream implements KnownLength {
    NetworkStream(byte[] bytes) {
      super(bytes);
    }
  }
}
