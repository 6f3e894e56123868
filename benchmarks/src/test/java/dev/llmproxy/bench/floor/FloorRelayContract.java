package dev.llmproxy.bench.floor;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.sim.SimulatedBackend;
import dev.llmproxy.sim.SimulatedBackendConfig;
import dev.llmproxy.v1.Completion;
import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.FinishReason;
import dev.llmproxy.v1.LlmProxyGrpc;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What every floor instrument does, checked over real sockets with two simulated upstreams: real
 * gRPC calls relayed to the upstreams in turn, unary answers and whole streams arriving as the
 * upstreams sent them, and flags it does not know refused. Each instrument's test extends this.
 */
@Timeout(60)
abstract class FloorRelayContract {
  final List<SimulatedBackend> upstreams = new ArrayList<>();
  private AutoCloseable relay;
  ManagedChannel channel;

  /** The instrument's name in its messages, e.g. {@code byte-relay}. */
  abstract String name();

  /** Starts the instrument on a free port, relaying to {@code addresses}; returns it and its port. */
  abstract Started start(List<InetSocketAddress> addresses) throws Exception;

  /** The instrument's command line. */
  abstract int run(String[] args, PrintStream err) throws Exception;

  /** The simulated upstreams' settings. */
  SimulatedBackendConfig upstreamConfig(String name) {
    return SimulatedBackendConfig.defaults(name);
  }

  record Started(AutoCloseable relay, int port) {}

  @BeforeEach
  void start() throws Exception {
    List<InetSocketAddress> addresses = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      SimulatedBackend sim = SimulatedBackend.start("127.0.0.1", 0, upstreamConfig("sim-" + i));
      upstreams.add(sim);
      addresses.add(new InetSocketAddress("127.0.0.1", sim.port()));
    }
    Started started = start(addresses);
    relay = started.relay();
    channel = NettyChannelBuilder.forAddress("127.0.0.1", started.port()).usePlaintext().build();
  }

  @AfterEach
  void stop() throws Exception {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    relay.close();
    for (SimulatedBackend sim : upstreams) {
      sim.close();
    }
  }

  @Test
  void relaysUnaryCallsAndStreamsToTheUpstreamsInTurn() {
    LlmProxyGrpc.LlmProxyBlockingStub stub = LlmProxyGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS);
    CompletionRequest request = CompletionRequest.newBuilder().setPrompt("hello there").setMaxTokens(12).build();

    Completion answer = stub.complete(request);
    List<CompletionChunk> chunks = new ArrayList<>();
    for (Iterator<CompletionChunk> it = stub.streamComplete(request); it.hasNext(); ) {
      chunks.add(it.next());
    }
    for (int i = 0; i < 2; i++) {
      stub.complete(request);
    }

    assertThat(answer.getText()).isNotEmpty();
    assertThat(answer.getUsage().getCompletionTokens()).isEqualTo(12);
    assertThat(chunks).hasSizeGreaterThanOrEqualTo(12);
    CompletionChunk last = chunks.get(chunks.size() - 1);
    assertThat(last.getFinishReason()).isEqualTo(FinishReason.FINISH_REASON_LENGTH);
    assertThat(last.getUsage().getCompletionTokens()).isEqualTo(12);
    assertThat(upstreams.get(0).recorder().completed()).isEqualTo(2);
    assertThat(upstreams.get(1).recorder().completed()).isEqualTo(2);
  }

  @Test
  void refusesFlagsItDoesNotKnow() throws Exception {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(err, true);
    assertThat(run(new String[] {"--port", "0", "--upstreams", "nohost"}, out)).isEqualTo(2);
    assertThat(run(new String[] {"--port", "x", "--upstreams", "127.0.0.1:1"}, out)).isEqualTo(2);
    assertThat(run(new String[] {"--speed", "9"}, out)).isEqualTo(2);
    assertThat(run(new String[] {"--port", "1"}, out)).isEqualTo(2);
    assertThat(err.toString()).contains("'nohost' is not host:port", "usage: " + name(), "--speed: unknown flag",
        "--upstreams: missing");
  }
}
