package dev.llmproxy.server.cache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.v1.Completion;
import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.FinishReason;
import dev.llmproxy.v1.LlmProxyGrpc;
import dev.llmproxy.v1.Usage;
import io.grpc.Context;
import io.grpc.Metadata;
import io.grpc.Status;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ReplayTest {
  private static final Metadata.Key<String> UPSTREAM =
      Metadata.Key.of("llmproxy-upstream", Metadata.ASCII_STRING_MARSHALLER);

  private static CachedAnswer answer(int chunks) {
    List<CompletionChunk> list = new ArrayList<>();
    for (int i = 0; i < chunks; i++) {
      CompletionChunk.Builder c = CompletionChunk.newBuilder().setId("c-1").setIndex(i).setText("t" + i);
      if (i == chunks - 1) {
        c.setFinishReason(FinishReason.FINISH_REASON_LENGTH).setUsage(Usage.newBuilder().setCompletionTokens(chunks));
      }
      list.add(c.build());
    }
    return new CachedAnswer("m", list);
  }

  private static Flight flight() {
    return new Flight("m", 1 << 20, Context.ROOT, a -> { }, f -> { }, new CacheMetrics(new SimpleMeterRegistry()));
  }

  @Test
  void aStreamIsSentOnlyWhileTheCallIsReadyAndResumesOnReady() {
    FakeServerCall<CompletionChunk> call = new FakeServerCall<>(LlmProxyGrpc.getStreamCompleteMethod());
    call.readyFor = 2;
    Replay<Object, CompletionChunk> replay = new Replay<>(cast(call), false);
    CachedAnswer answer = answer(5);
    replay.begin(ChunkSource.of(answer), CacheOutcome.HIT);
    replay.drain();

    assertThat(call.messages).hasSize(2);
    assertThat(call.status).isNull();
    assertThat(call.headers.get(CacheOutcome.HEADER)).isEqualTo("hit");

    call.readyFor = 10;
    replay.onReady();
    assertThat(call.messages).containsExactlyElementsOf(answer.chunks());
    assertThat(call.status).isEqualTo(Status.OK);
  }

  @Test
  void completeGetsOneCompletionBuiltFromEveryChunk() {
    FakeServerCall<Completion> call = new FakeServerCall<>(LlmProxyGrpc.getCompleteMethod());
    call.readyFor = 0; // a unary answer does not wait for readiness
    Replay<Object, Completion> replay = new Replay<>(cast(call), true);
    replay.begin(ChunkSource.of(answer(3)), CacheOutcome.HIT);
    replay.drain();

    assertThat(call.messages).singleElement().isEqualTo(Completion.newBuilder().setId("c-1").setModel("m")
        .setText("t0t1t2").setFinishReason(FinishReason.FINISH_REASON_LENGTH)
        .setUsage(Usage.newBuilder().setCompletionTokens(3)).build());
    assertThat(call.status).isEqualTo(Status.OK);
  }

  @Test
  void followsAFlightLiveWithTheUpstreamHeaders() {
    Flight flight = flight();
    FakeServerCall<CompletionChunk> call = new FakeServerCall<>(LlmProxyGrpc.getStreamCompleteMethod());
    Replay<Object, CompletionChunk> replay = new Replay<>(cast(call), false);
    flight.join(replay);
    replay.begin(flight, CacheOutcome.MISS);
    replay.drain();
    assertThat(call.headers).isNull();

    Metadata upstreamHeaders = new Metadata();
    upstreamHeaders.put(UPSTREAM, "gpu-a");
    flight.headers(upstreamHeaders);
    CachedAnswer answer = answer(3);
    flight.append(answer.chunks().get(0));
    assertThat(call.messages).hasSize(1);
    assertThat(call.headers.get(UPSTREAM)).isEqualTo("gpu-a");
    assertThat(call.headers.get(CacheOutcome.HEADER)).isEqualTo("miss");

    flight.append(answer.chunks().get(1));
    flight.append(answer.chunks().get(2));
    flight.finish(Status.OK, new Metadata());
    assertThat(call.messages).containsExactlyElementsOf(answer.chunks());
    assertThat(call.status).isEqualTo(Status.OK);
  }

  @Test
  void aFailureEndsTheCallWithTheUpstreamStatusAndReportsTheOutcomeInTrailers() {
    Flight flight = flight();
    FakeServerCall<CompletionChunk> call = new FakeServerCall<>(LlmProxyGrpc.getStreamCompleteMethod());
    Replay<Object, CompletionChunk> replay = new Replay<>(cast(call), false);
    flight.join(replay);
    replay.begin(flight, CacheOutcome.COALESCED);
    flight.finish(Status.UNAVAILABLE.withDescription("route 'r': no healthy upstream"), new Metadata());

    assertThat(call.headers).isNull();
    assertThat(call.status.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(call.status.getDescription()).isEqualTo("route 'r': no healthy upstream");
    assertThat(call.trailers.get(CacheOutcome.HEADER)).isEqualTo("coalesced");
  }

  @Test
  void aCancelledClientLeavesTheFlightAndIsSentNothingMore() {
    Flight flight = flight();
    FakeServerCall<CompletionChunk> call = new FakeServerCall<>(LlmProxyGrpc.getStreamCompleteMethod());
    Replay<Object, CompletionChunk> replay = new Replay<>(cast(call), false);
    flight.join(replay);
    replay.begin(flight, CacheOutcome.MISS);
    flight.append(answer(1).chunks().get(0));
    replay.onCancel();
    flight.append(answer(2).chunks().get(1));

    assertThat(call.messages).hasSize(1);
    assertThat(flight.isCancelled()).isTrue(); // it was the only reader
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  private static <RespT> io.grpc.ServerCall<Object, RespT> cast(FakeServerCall<RespT> call) {
    return (io.grpc.ServerCall) call;
  }
}
