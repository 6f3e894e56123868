package dev.llmproxy.server.observability;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class CallMetricsTest {
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final CallMetrics metrics = new CallMetrics(registry);

  private static CallStats stream(String route, String upstream, int chunks, Status.Code status) {
    CallStats call = new CallStats("StreamComplete", true, 1_000);
    call.route = route;
    call.upstream = upstream;
    call.firstMessageNanos = 1_000 + TimeUnit.MILLISECONDS.toNanos(40);
    call.messages = chunks;
    call.status = status;
    call.endNanos = 1_000 + TimeUnit.MILLISECONDS.toNanos(300);
    return call;
  }

  @Test
  void countsCallsByMethodRouteUpstreamAndStatus() {
    metrics.onClose(stream("chat", "sim-1", 3, Status.Code.OK));
    metrics.onClose(stream("chat", "sim-1", 3, Status.Code.OK));
    metrics.onClose(stream("chat", "sim-2", 1, Status.Code.UNAVAILABLE));

    assertThat(registry.get("llmproxy.calls").tags("method", "StreamComplete", "route", "chat",
        "upstream", "sim-1", "status", "OK").counter().count()).isEqualTo(2);
    assertThat(registry.get("llmproxy.calls").tags("upstream", "sim-2", "status", "UNAVAILABLE")
        .counter().count()).isEqualTo(1);
  }

  @Test
  void recordsDurationAndTimeToFirstTokenInLlmShapedBuckets() {
    metrics.onClose(stream("chat", "sim-1", 3, Status.Code.OK));

    Timer duration = registry.get("llmproxy.call.duration").tags("method", "StreamComplete", "route", "chat",
        "status", "OK").timer();
    assertThat(duration.totalTime(TimeUnit.MILLISECONDS)).isEqualTo(300);
    Timer ttft = registry.get("llmproxy.call.ttft").tags("route", "chat", "upstream", "sim-1").timer();
    assertThat(ttft.totalTime(TimeUnit.MILLISECONDS)).isEqualTo(40);
    assertThat(Arrays.stream(ttft.takeSnapshot().histogramCounts()).map(b -> b.bucket(TimeUnit.MILLISECONDS)))
        .contains(1.0, 50.0, 1000.0, 300_000.0);
  }

  @Test
  void callWithoutAnyMessageHasNoTimeToFirstToken() {
    CallStats rejected = new CallStats("StreamComplete", true, 0);
    rejected.status = Status.Code.RESOURCE_EXHAUSTED;
    rejected.endNanos = 5;
    metrics.onClose(rejected);

    assertThat(registry.find("llmproxy.call.ttft").timer()).isNull();
    assertThat(registry.get("llmproxy.calls").tags("route", "none", "upstream", "none").counter().count())
        .isEqualTo(1);
  }

  @Test
  void countsStreamedTokensAsTheyAreSentAndNotUnaryAnswers() {
    CallStats call = stream("chat", "sim-1", 0, null);
    for (int i = 0; i < 4; i++) {
      metrics.onMessage(call);
    }
    metrics.onMessage(new CallStats("Complete", false, 0));

    assertThat(registry.get("llmproxy.tokens.streamed").tags("route", "chat", "upstream", "sim-1")
        .counter().count()).isEqualTo(4);
    assertThat(registry.find("llmproxy.tokens.streamed").counters()).hasSize(1);
  }
}
