package dev.llmproxy.sim;

import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.LlmProxyGrpc;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A simulated backend on an ephemeral port of 127.0.0.1 and a plaintext channel to it. */
final class BackendFixture implements AutoCloseable {
  /** Bound for every wait in the tests. */
  static final Duration WAIT = Duration.ofSeconds(10);

  final SimulatedBackend backend;
  final ManagedChannel channel;

  private BackendFixture(SimulatedBackend backend, ManagedChannel channel) {
    this.backend = backend;
    this.channel = channel;
  }

  static BackendFixture start(SimulatedBackendConfig config) throws IOException {
    return start(config, NettyChannelBuilder::usePlaintext);
  }

  static BackendFixture start(
      SimulatedBackendConfig config, java.util.function.Consumer<NettyChannelBuilder> channelConfig)
      throws IOException {
    SimulatedBackend backend = SimulatedBackend.start("127.0.0.1", 0, config);
    NettyChannelBuilder builder = NettyChannelBuilder.forTarget(backend.address()).usePlaintext();
    channelConfig.accept(builder);
    return new BackendFixture(backend, builder.build());
  }

  /** A blocking stub whose every call has a deadline of {@link #WAIT}. */
  LlmProxyGrpc.LlmProxyBlockingStub blocking() {
    return LlmProxyGrpc.newBlockingStub(channel).withDeadlineAfter(WAIT.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** An async stub whose every call has a deadline of {@link #WAIT}. */
  LlmProxyGrpc.LlmProxyStub async() {
    return LlmProxyGrpc.newStub(channel).withDeadlineAfter(WAIT.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** All chunks of a stream, read with a blocking stub. */
  List<CompletionChunk> stream(CompletionRequest request) {
    List<CompletionChunk> chunks = new ArrayList<>();
    Iterator<CompletionChunk> it = blocking().streamComplete(request);
    it.forEachRemaining(chunks::add);
    return chunks;
  }

  CallRecorder recorder() {
    return backend.recorder();
  }

  static CompletionRequest prompt(String prompt, int maxTokens) {
    return CompletionRequest.newBuilder()
        .setModel("sim-model")
        .setPrompt(prompt)
        .setMaxTokens(maxTokens)
        .build();
  }

  static String concat(List<CompletionChunk> chunks) {
    StringBuilder text = new StringBuilder();
    chunks.forEach(c -> text.append(c.getText()));
    return text.toString();
  }

  @Override
  public void close() throws InterruptedException {
    channel.shutdownNow();
    backend.close();
    channel.awaitTermination(5, TimeUnit.SECONDS);
  }
}
