package dev.llmproxy.bench.floor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmproxy.sim.SimulatedBackendConfig;
import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.LlmProxyGrpc;
import io.grpc.Context;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@link GrpcRelay}, the floor on grpc-java: the contract every floor instrument keeps, and what it
 * passes on as llmproxy does: a client's cancellation and deadline reach the upstream.
 */
class GrpcRelayTest extends FloorRelayContract {
  private static final CompletionRequest LONG =
      CompletionRequest.newBuilder().setPrompt("go on").setMaxTokens(2000).build();

  @Override
  String name() {
    return "grpc-relay";
  }

  @Override
  Started start(List<InetSocketAddress> addresses) throws Exception {
    GrpcRelay relay = GrpcRelay.start(0, addresses);
    return new Started(relay, relay.port());
  }

  @Override
  int run(String[] args, PrintStream err) throws Exception {
    return GrpcRelay.run(args, err);
  }

  @Override
  SimulatedBackendConfig upstreamConfig(String name) {
    return SimulatedBackendConfig.defaults(name).withInterTokenLatency(Duration.ofMillis(10)); // 2,000 tokens: 20 s
  }

  @Test
  void aClientsCancellationReachesTheUpstream() throws Exception {
    Context.CancellableContext call = Context.current().withCancellation();
    CompletionChunk first = call.call(() -> {
      Iterator<CompletionChunk> stream = LlmProxyGrpc.newBlockingStub(channel).streamComplete(LONG);
      return stream.next();
    });
    call.cancel(null);

    assertThat(first.getText()).isNotEmpty();
    assertThat(awaitCancelled()).as("an upstream saw the call cancelled").isTrue();
  }

  @Test
  void aClientsDeadlineReachesTheUpstream() throws Exception {
    Iterator<CompletionChunk> stream =
        LlmProxyGrpc.newBlockingStub(channel).withDeadlineAfter(300, TimeUnit.MILLISECONDS).streamComplete(LONG);

    assertThatThrownBy(() -> stream.forEachRemaining(chunk -> { }))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED));
    assertThat(awaitCancelled()).as("an upstream saw the call end before its answer did").isTrue();
  }

  /** Whether the first upstream (the one a fresh relay sends its first call to) saw a call cancelled. */
  private boolean awaitCancelled() throws InterruptedException {
    return upstreams.get(0).recorder().await(r -> r.cancelled() > 0, Duration.ofSeconds(15));
  }
}
