package dev.llmproxy.client;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.CallOptions;
import io.grpc.ClientStreamTracer;
import io.grpc.Metadata;
import io.grpc.Status;
import org.junit.jupiter.api.Test;

class PushbackScopingTracerFactoryTest {
  private static Metadata closeAttempt(Status status, String pushback) {
    Metadata trailers = new Metadata();
    trailers.put(StatusExceptionMapper.RETRY_PUSHBACK_MS, pushback);
    ClientStreamTracer tracer = new PushbackScopingTracerFactory().newClientStreamTracer(
        ClientStreamTracer.StreamInfo.newBuilder().setCallOptions(CallOptions.DEFAULT).build(), new Metadata());
    tracer.inboundTrailers(trailers);
    tracer.streamClosed(status);
    return trailers;
  }

  @Test
  void keepsThePushbackOfAnUnavailableAttemptForTheRetry() {
    Metadata trailers = closeAttempt(Status.UNAVAILABLE, "300");

    assertThat(trailers.get(StatusExceptionMapper.RETRY_PUSHBACK_MS)).isEqualTo("300");
    assertThat(trailers.get(PushbackScopingTracerFactory.HELD_PUSHBACK_MS)).isNull();
  }

  @Test
  void holdsThePushbackOfAQuotaRejectionBackFromTheRetry() {
    Metadata trailers = closeAttempt(Status.RESOURCE_EXHAUSTED, "40000");

    assertThat(trailers.get(StatusExceptionMapper.RETRY_PUSHBACK_MS)).isNull();
    assertThat(trailers.get(PushbackScopingTracerFactory.HELD_PUSHBACK_MS)).isEqualTo("40000");
  }
}
