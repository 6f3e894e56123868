package dev.llmproxy.server.upstream;

import io.grpc.Attributes;
import io.grpc.CallOptions;
import io.grpc.ClientStreamTracer;
import io.grpc.LoadBalancer.PickResult;
import io.grpc.LoadBalancer.PickSubchannelArgs;
import io.grpc.LoadBalancer.Subchannel;
import io.grpc.LoadBalancer.SubchannelPicker;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The load-balancing pick on the hot path: {@link LeastOutstandingPicker#pickSubchannel}, run by
 * gRPC for every upstream call. Workload: {@code endpoints} READY children whose in-flight counts
 * differ (0..endpoints-1 calls, set once), {@code choiceCount} 2, thread-local random. Measures the
 * whole pick: Floyd's distinct sampling, reading the counters, and wrapping the child's result with
 * the counting tracer factory (one small allocation, as grpc's own least_request does).
 *
 * <pre>java -jar benchmarks/target/llmproxy-bench.jar jmh LeastOutstandingPickerBenchmark -prof gc</pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class LeastOutstandingPickerBenchmark {
  @Param({"2", "3", "16", "100"})
  public int endpoints;

  private LeastOutstandingPicker picker;
  private PickSubchannelArgs args;

  @Setup(Level.Trial)
  public void setUp() {
    List<SubchannelPicker> children = new ArrayList<>();
    List<InFlightCounter> counters = new ArrayList<>();
    for (int i = 0; i < endpoints; i++) {
      PickResult ready = PickResult.withSubchannel(new BenchSubchannel());
      children.add(new SubchannelPicker() {
        @Override
        public PickResult pickSubchannel(PickSubchannelArgs args) {
          return ready;
        }
      });
      InFlightCounter counter = new InFlightCounter();
      for (int c = 0; c < i; c++) {
        ClientStreamTracer tracer = counter.newClientStreamTracer(
            ClientStreamTracer.StreamInfo.newBuilder().build(), new Metadata());
        tracer.streamCreated(Attributes.EMPTY, new Metadata());
      }
      counters.add(counter);
    }
    picker = new LeastOutstandingPicker(children, counters, 2, LeastOutstandingPicker.THREAD_LOCAL_RANDOM);
    args = new BenchArgs();
  }

  @Benchmark
  public PickResult pick() {
    return picker.pickSubchannel(args);
  }

  private static final class BenchSubchannel extends Subchannel {
    @Override
    public void shutdown() {}

    @Override
    public void requestConnection() {}

    @Override
    public Attributes getAttributes() {
      return Attributes.EMPTY;
    }
  }

  private static final class BenchArgs extends PickSubchannelArgs {
    private final Metadata headers = new Metadata();

    @Override
    public CallOptions getCallOptions() {
      return CallOptions.DEFAULT;
    }

    @Override
    public Metadata getHeaders() {
      return headers;
    }

    @Override
    public MethodDescriptor<?, ?> getMethodDescriptor() {
      return null;
    }
  }
}
