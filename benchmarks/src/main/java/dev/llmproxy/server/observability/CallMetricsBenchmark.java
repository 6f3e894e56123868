package dev.llmproxy.server.observability;

import io.grpc.Status;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What observability costs a call: {@link CallMetrics#onMessage} runs once per streamed token,
 * {@link CallMetrics#onClose} once per call (a counter and a histogram, and for streams the TTFT
 * histogram), into the Prometheus registry the proxy serves. Workload: one route, one upstream,
 * meters already registered (the steady state). {@code -prof gc} shows the token path allocates
 * nothing.
 *
 * <pre>java -jar benchmarks/target/llmproxy-bench.jar jmh CallMetricsBenchmark -prof gc</pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class CallMetricsBenchmark {
  @Param({"prometheus", "simple"})
  public String registry;

  private CallMetrics metrics;
  private CallStats stream;

  @Setup
  public void setUp() {
    metrics = new CallMetrics(registry.equals("prometheus")
        ? new PrometheusMeterRegistry(PrometheusConfig.DEFAULT) : new SimpleMeterRegistry());
    stream = new CallStats("StreamComplete", true, 0);
    stream.route = "chat";
    stream.upstream = "sim-1";
    stream.messages = 64;
    stream.firstMessageNanos = 40_000_000;
    stream.status = Status.Code.OK;
    stream.endNanos = 900_000_000;
    metrics.onMessage(stream);
    metrics.onClose(stream);
  }

  @Benchmark
  public void perToken() {
    metrics.onMessage(stream);
  }

  @Benchmark
  public void perCall() {
    metrics.onClose(stream);
  }
}
