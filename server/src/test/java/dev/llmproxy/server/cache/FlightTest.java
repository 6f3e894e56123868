package dev.llmproxy.server.cache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.v1.Completion;
import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.FinishReason;
import dev.llmproxy.v1.Usage;
import io.grpc.Context;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.Status;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class FlightTest {
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  private final List<CachedAnswer> stored = new ArrayList<>();
  private final List<Flight> detached = new ArrayList<>();
  private final AtomicReference<Context> upstreamContext = new AtomicReference<>();
  private final RecordingListener chain = new RecordingListener();

  private Flight flight(int maxEntryBytes) {
    return new Flight("model-x", maxEntryBytes, Context.ROOT, stored::add, detached::add, new CacheMetrics(meters));
  }

  private void start(Flight flight) {
    flight.start(context -> {
      upstreamContext.set(context);
      return chain;
    });
  }

  private static CompletionChunk chunk(int index, String text) {
    return CompletionChunk.newBuilder().setId("c-1").setIndex(index).setText(text).build();
  }

  private static CompletionChunk last(int index, String text) {
    return chunk(index, text).toBuilder().setFinishReason(FinishReason.FINISH_REASON_STOP)
        .setUsage(Usage.newBuilder().setCompletionTokens(index + 1)).build();
  }

  private double stores(String result) {
    return meters.get("llmproxy.cache.stores").tag("result", result).counter().count();
  }

  @Test
  void storesAStreamThatEndedOkWithItsFinalChunk() {
    Flight flight = flight(1 << 20);
    FakeReader reader = new FakeReader();
    flight.join(reader);
    start(flight);
    flight.append(chunk(0, "a"));
    flight.append(last(1, "b"));
    flight.finish(Status.OK, new Metadata());

    assertThat(stored).singleElement().satisfies(a -> {
      assertThat(a.chunks()).containsExactly(chunk(0, "a"), last(1, "b"));
      assertThat(a.model()).isEqualTo("model-x");
    });
    assertThat(detached).containsExactly(flight);
    assertThat(reader.wakes).isEqualTo(3);
    assertThat(flight.endAfter(2)).isEqualTo(Status.OK);
    assertThat(flight.endAfter(1)).isNull();
  }

  @Test
  void storesACompletionAsOneChunkWithTheModelItNames() {
    Flight flight = flight(1 << 20);
    flight.join(new FakeReader());
    start(flight);
    flight.append(Completion.newBuilder().setId("c-9").setModel("served-by").setText("whole")
        .setFinishReason(FinishReason.FINISH_REASON_LENGTH).build());
    flight.finish(Status.OK, new Metadata());

    assertThat(stored).singleElement().satisfies(a -> {
      assertThat(a.model()).isEqualTo("served-by");
      assertThat(a.chunks()).singleElement().satisfies(c -> {
        assertThat(c.getId()).isEqualTo("c-9");
        assertThat(c.getText()).isEqualTo("whole");
        assertThat(c.getFinishReason()).isEqualTo(FinishReason.FINISH_REASON_LENGTH);
      });
    });
  }

  @Test
  void neverStoresAFailedOrCutShortAnswer() {
    Flight failed = flight(1 << 20);
    failed.join(new FakeReader());
    start(failed);
    failed.append(chunk(0, "a"));
    failed.finish(Status.UNAVAILABLE, new Metadata());

    Flight cutShort = flight(1 << 20);
    cutShort.join(new FakeReader());
    start(cutShort);
    cutShort.append(chunk(0, "a"));
    cutShort.finish(Status.OK, new Metadata());

    assertThat(stored).isEmpty();
    assertThat(stores("incomplete")).isEqualTo(2);
  }

  @Test
  void readersJoinFromTheFirstChunkUntilTheFlightFails() {
    Flight flight = flight(1 << 20);
    flight.join(new FakeReader());
    start(flight);
    flight.append(chunk(0, "a"));
    flight.append(chunk(1, "b"));
    FakeReader late = new FakeReader();
    assertThat(flight.join(late)).isTrue();
    assertThat(flight.chunkAt(0)).isEqualTo(chunk(0, "a"));

    flight.finish(Status.INTERNAL, new Metadata());
    assertThat(flight.join(new FakeReader())).isFalse();
    assertThat(flight.endAfter(2)).isEqualTo(Status.INTERNAL);
  }

  @Test
  void theUpstreamCallGoesOnUntilItsLastReaderLeaves() {
    Flight flight = flight(1 << 20);
    FakeReader leader = new FakeReader();
    FakeReader follower = new FakeReader();
    flight.join(leader);
    start(flight);
    flight.join(follower);

    flight.leave(leader);
    assertThat(upstreamContext.get().isCancelled()).isFalse();
    assertThat(chain.cancelled).isFalse();
    assertThat(detached).isEmpty();

    flight.leave(follower);
    assertThat(upstreamContext.get().isCancelled()).isTrue();
    assertThat(chain.cancelled).isTrue();
    assertThat(detached).containsExactly(flight);
    assertThat(flight.join(new FakeReader())).isFalse();

    flight.append(last(0, "late"));
    flight.finish(Status.OK, new Metadata()); // whatever the upstream says after the cancel
    assertThat(stored).isEmpty();
  }

  @Test
  void aFlightEveryoneLeftBeforeItStartedNeverStarts() {
    Flight flight = flight(1 << 20);
    FakeReader only = new FakeReader();
    flight.join(only);
    flight.leave(only);
    start(flight);
    assertThat(upstreamContext.get()).isNull();
  }

  @Test
  void theUpstreamContextKeepsValuesButNotTheCallersCancellationOrDeadline() {
    Context.Key<String> value = Context.key("v");
    Context.CancellableContext caller = Context.current().withValue(value, "kept")
        .withDeadlineAfter(1, java.util.concurrent.TimeUnit.MINUTES, java.util.concurrent.Executors
            .newSingleThreadScheduledExecutor(r -> {
              Thread t = new Thread(r);
              t.setDaemon(true);
              return t;
            }));
    Flight flight = new Flight("m", 1 << 20, caller, stored::add, detached::add, new CacheMetrics(meters));
    flight.join(new FakeReader());
    start(flight);
    caller.cancel(null);

    assertThat(upstreamContext.get().isCancelled()).isFalse();
    assertThat(upstreamContext.get().getDeadline()).isNull();
    assertThat(value.get(upstreamContext.get())).isEqualTo("kept");
  }

  @Test
  void anAnswerTooLargeToStoreHoldsTheUpstreamToItsSlowestReader() {
    int chunkSize = chunk(1, "0123456789").getSerializedSize(); // chunk 0 is smaller: index 0 is not written
    int limit = CachedAnswer.ENTRY_OVERHEAD + "model-x".length() + 10 * chunkSize;
    Flight flight = flight(limit);
    FakeReader fast = new FakeReader();
    FakeReader slow = new FakeReader();
    flight.join(fast);
    flight.join(slow);
    start(flight);
    for (int i = 0; i < 10; i++) {
      flight.append(chunk(i, "0123456789"));
      assertThat(flight.upstreamMayProceed()).isTrue(); // small enough to store: never held back
    }
    assertThat(detached).isEmpty();

    flight.append(chunk(10, "0123456789")); // now too large: no more joiners, no store
    assertThat(detached).containsExactly(flight);
    assertThat(flight.join(new FakeReader())).isFalse();
    for (int i = 11; i < 40; i++) {
      fast.position = i;
      flight.progressed(fast);
      flight.append(chunk(i, "0123456789"));
    }
    fast.position = 40;
    // The slow reader has read nothing: what it still needs is past the limit, so the upstream waits.
    assertThat(flight.upstreamMayProceed()).isFalse();
    assertThat(flight.chunkAt(0)).isEqualTo(chunk(0, "0123456789"));

    slow.position = 35;
    flight.progressed(slow);
    assertThat(chain.readied).isEqualTo(1);
    assertThat(flight.upstreamMayProceed()).isTrue();
    assertThat(flight.chunkAt(35)).isEqualTo(chunk(35, "0123456789"));

    flight.append(last(40, "end"));
    flight.finish(Status.OK, new Metadata());
    assertThat(stored).isEmpty();
    assertThat(stores("too_large")).isEqualTo(1);
    assertThat(flight.endAfter(41)).isEqualTo(Status.OK);
  }

  @Test
  void anAnswerStoredMeanwhileCompletesTheFlightWithoutAnUpstreamCall() {
    Flight flight = flight(1 << 20);
    FakeReader reader = new FakeReader();
    flight.join(reader);
    flight.completeFrom(new CachedAnswer("stored-model", List.of(last(0, "cached"))));
    start(flight);

    assertThat(upstreamContext.get()).isNull();
    assertThat(flight.chunkAt(0).getText()).isEqualTo("cached");
    assertThat(flight.endAfter(1)).isEqualTo(Status.OK);
    assertThat(flight.model()).isEqualTo("stored-model");
    assertThat(reader.wakes).isEqualTo(1);
    assertThat(stored).isEmpty();
  }

  private static final class FakeReader implements ChunkSource.Reader {
    int position;
    int wakes;

    @Override
    public int position() {
      return position;
    }

    @Override
    public void wake() {
      wakes++;
    }
  }

  private static final class RecordingListener extends ServerCall.Listener<Object> {
    boolean cancelled;
    int readied;

    @Override
    public void onCancel() {
      cancelled = true;
    }

    @Override
    public void onReady() {
      readied++;
    }
  }
}
