package dev.llmproxy.server.service;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.llmproxy.server.completion.MessageBytes;
import dev.llmproxy.server.completion.RelayedChunk;
import dev.llmproxy.v1.CompletionChunk;
import io.grpc.Drainable;
import io.grpc.KnownLength;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/**
 * {@code StreamComplete}'s chunks on the relay path, where they are relayed without being parsed
 * and serialised again: what arrives from the network becomes a {@link RelayedChunk} (its bytes,
 * checked), and a relayed chunk is sent as those bytes. Parsed chunks (from the cache, the OpenAI
 * translator, tests) still go through the generated marshaller, and so do messages handed over
 * in process, which arrive as the sender's message object rather than bytes.
 */
final class ChunkMarshaller implements MethodDescriptor.Marshaller<Object> {
  private final MethodDescriptor.Marshaller<CompletionChunk> generated;

  ChunkMarshaller(MethodDescriptor.Marshaller<CompletionChunk> generated) {
    this.generated = generated;
  }

  @Override
  public InputStream stream(Object value) {
    if (value instanceof RelayedChunk relayed) {
      return new MessageBytes(relayed.bytes());
    }
    return generated.stream((CompletionChunk) value);
  }

  @Override
  public Object parse(InputStream stream) {
    if (stream instanceof Drainable) {
      // An in-process sender's stream over its message (grpc's, or MessageBytes): the generated
      // marshaller takes the message itself without a copy where it can.
      return generated.parse(stream);
    }
    byte[] bytes;
    try {
      bytes = stream instanceof KnownLength ? exactly(stream, stream.available()) : stream.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    try {
      return RelayedChunk.of(bytes);
    } catch (InvalidProtocolBufferException e) {
      // The generated marshaller's wording for the same fault.
      throw Status.INTERNAL.withDescription("Invalid protobuf byte sequence").withCause(e).asRuntimeException();
    }
  }

  private static byte[] exactly(InputStream stream, int length) throws IOException {
    byte[] bytes = new byte[length];
    int read = stream.readNBytes(bytes, 0, length);
    if (read != length || stream.read() != -1) {
      throw new IOException("message length " + length + " but " + (read != length ? read : "more") + " bytes");
    }
    return bytes;
  }
}
