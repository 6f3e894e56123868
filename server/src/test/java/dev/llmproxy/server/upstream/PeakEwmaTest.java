package dev.llmproxy.server.upstream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.grpc.Attributes;
import io.grpc.CallOptions;
import io.grpc.ClientStreamTracer;
import io.grpc.Metadata;
import io.grpc.Status;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class PeakEwmaTest {
  private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);
  private static final ClientStreamTracer.StreamInfo STREAM_INFO =
      ClientStreamTracer.StreamInfo.newBuilder().setCallOptions(CallOptions.DEFAULT).build();

  private final AtomicLong clock = new AtomicLong(1_000_000 * MS);
  private final PeakEwma ewma = new PeakEwma(clock::get, 10_000 * MS);

  @Test
  void aSlowerSampleReplacesTheAverageAtOnce() {
    ewma.sampleTtft(100 * MS);
    clock.addAndGet(10 * MS);
    ewma.sampleTtft(400 * MS);

    assertThat(ewma.ttft()).isCloseTo(400 * MS, within(1.0));
  }

  @Test
  void aFasterSamplePullsTheAverageDownByTheTimeSinceTheLastUpdate() {
    ewma.sampleTtft(400 * MS);
    clock.addAndGet(10_000 * MS); // one decay time: weight of the old average e^-1
    ewma.sampleTtft(100 * MS);

    double old = 400 * MS * Math.exp(-1);
    double w = Math.exp(-1);
    assertThat(ewma.ttft()).isCloseTo(old * w + 100 * MS * (1 - w), within(1e3));
  }

  @Test
  void withoutSamplesTheAverageDecaysSoASlowEndpointIsTriedAgain() {
    ewma.sampleTtft(400 * MS);
    clock.addAndGet(20_000 * MS);

    assertThat(ewma.ttft()).isCloseTo(400 * MS * Math.exp(-2), within(1e3));
  }

  @Test
  void theTracerSamplesTimeToFirstTokenAndTheGapsBetweenTokens() {
    ClientStreamTracer call = startedCall();
    assertThat(ewma.inFlight()).isEqualTo(1);
    clock.addAndGet(250 * MS);
    call.inboundMessage(0);
    clock.addAndGet(20 * MS);
    call.inboundMessage(1);
    call.streamClosed(Status.OK);

    assertThat(ewma.inFlight()).isZero();
    // Read 20 ms after the sample: decayed by e^(-20/10000).
    assertThat(ewma.ttft()).isCloseTo(250 * MS * Math.exp(-20.0 / 10_000), within(1e3));
    assertThat(ewma.itl()).isCloseTo(20 * MS, within(1e3));
  }

  @Test
  void aStreamIsOneInterTokenSampleTheMeanOfItsGapsSoOneHiccupIsNoPeak() {
    ClientStreamTracer call = startedCall();
    clock.addAndGet(100 * MS);
    call.inboundMessage(0);
    for (long gap : new long[] {10, 10, 10, 70}) { // one gap stretched by a pause of the process
      clock.addAndGet(gap * MS);
      call.inboundMessage(1);
    }
    assertThat(ewma.itl()).as("no sample before the stream ends").isNaN();
    call.streamClosed(Status.OK);

    assertThat(ewma.itl()).isCloseTo(25 * MS, within(1e3));
  }

  @Test
  void aStreamCancelledAfterItsFirstTokensIsNoInterTokenSample() {
    ClientStreamTracer call = startedCall();
    clock.addAndGet(100 * MS);
    call.inboundMessage(0);
    clock.addAndGet(400 * MS);
    call.inboundMessage(1);
    call.streamClosed(Status.CANCELLED);

    assertThat(ewma.itl()).isNaN();
    assertThat(ewma.inFlight()).isZero();
  }

  @Test
  void aCallCancelledBeforeItsFirstTokenIsNotASample() {
    ClientStreamTracer call = startedCall();
    clock.addAndGet(5_000 * MS);
    call.streamClosed(Status.CANCELLED);

    assertThat(ewma.ttft()).isNaN();
    assertThat(ewma.inFlight()).isZero();
  }

  @Test
  void aFastFailureNeverMakesAnEndpointLookFaster() {
    ewma.sampleTtft(300 * MS);
    ClientStreamTracer call = startedCall();
    clock.addAndGet(MS);
    call.streamClosed(Status.UNAVAILABLE);

    assertThat(ewma.ttft()).isGreaterThan(290 * MS);
  }

  @Test
  void aResetEndpointHasNoAverage() {
    ewma.sampleTtft(300 * MS);
    ewma.sampleItl(30 * MS);
    ewma.reset();

    assertThat(ewma.ttft()).isNaN();
    assertThat(ewma.itl()).isNaN();
  }

  private ClientStreamTracer startedCall() {
    ClientStreamTracer call = ewma.newClientStreamTracer(STREAM_INFO, new Metadata());
    call.streamCreated(Attributes.EMPTY, new Metadata());
    return call;
  }
}
