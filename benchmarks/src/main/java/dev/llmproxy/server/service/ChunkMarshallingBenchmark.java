package dev.llmproxy.server.service;

import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.LlmProxyGrpc;
import io.grpc.Drainable;
import io.grpc.KnownLength;
import io.grpc.MethodDescriptor;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * A relayed stream chunk's marshalling on the network path, per chunk: the bytes grpc's deframer
 * hands over become the response message, and that message becomes the bytes the server call's
 * framer writes. {@code generated}: parsed into a {@code CompletionChunk} and serialised again (the
 * relay before {@link ChunkMarshaller}); {@code relayed}: checked and kept as bytes. The rest of
 * the relay path is the same for both and measured by {@code RelayBenchmark} and {@code peers.sh}.
 * With {@code -prof gc}, {@code gc.alloc.rate.norm} is bytes allocated per chunk.
 *
 * <pre>java -jar benchmarks/target/llmproxy-bench.jar jmh ChunkMarshallingBenchmark -prof gc</pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class ChunkMarshallingBenchmark {
  /** A token chunk as the simulated upstream sends them. */
  private final byte[] bytes = CompletionChunk.newBuilder().setId("cmpl-sim-1234").setIndex(17).setText(" engine")
      .build().toByteArray();
  private final MethodDescriptor.Marshaller<CompletionChunk> generated =
      LlmProxyGrpc.getStreamCompleteMethod().getResponseMarshaller();
  private final MethodDescriptor.Marshaller<Object> relayed = ProxyMethods.STREAM_COMPLETE.getResponseMarshaller();
  private final Sink sink = new Sink();

  @Benchmark
  public int generated() throws IOException {
    CompletionChunk chunk = generated.parse(new NetworkStream(bytes));
    return ((Drainable) generated.stream(chunk)).drainTo(sink);
  }

  @Benchmark
  public int relayed() throws IOException {
    Object chunk = relayed.parse(new NetworkStream(bytes));
    return ((Drainable) relayed.stream(chunk)).drainTo(sink);
  }

  /** What grpc's deframer hands a marshaller: a stream of known length, not drainable. */
  private static final class NetworkStream extends ByteArrayInputStream implements KnownLength {
    NetworkStream(byte[] bytes) {
      super(bytes);
    }
  }

  /** The framer's buffer, reused: a write lands in memory and is then forgotten. */
  private static final class Sink extends OutputStream {
    private final byte[] buffer = new byte[4096];
    private int blackhole;

    @Override
    public void write(int b) {
      buffer[0] = (byte) b;
    }

    @Override
    public void write(byte[] b, int off, int len) {
      System.arraycopy(b, off, buffer, 0, len);
      blackhole += len;
    }
  }
}
