package dev.llmproxy.server.upstream;

import dev.llmproxy.orca.LoadReport;
import dev.llmproxy.orca.OpenRcaService;
import io.grpc.HandlerRegistry;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerMethodDefinition;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An in-process backend for out-of-band ORCA tests: it counts the streams opened to it, and either
 * has no {@code OpenRcaService} (every stream ends UNIMPLEMENTED) or keeps each stream open for the
 * test to send reports on, or ends it with {@link #failWith} at once. Direct executors throughout.
 */
final class FakeOrcaServer implements AutoCloseable {
  private static final AtomicInteger NAMES = new AtomicInteger();

  final AtomicInteger attempts = new AtomicInteger();
  final List<ServerCall<Duration, LoadReport>> streams = new CopyOnWriteArrayList<>();
  final List<Duration> requested = new CopyOnWriteArrayList<>();
  volatile Status failWith;
  private final io.grpc.Server server;
  private final ManagedChannel channel;

  FakeOrcaServer(boolean servesOrca) throws IOException {
    String name = "fake-orca-" + NAMES.incrementAndGet();
    ServerCallHandler<Duration, LoadReport> handler = (call, headers) -> {
      Status failure = failWith;
      if (failure != null) {
        call.close(failure, new Metadata());
        return new ServerCall.Listener<>() { };
      }
      streams.add(call);
      call.request(1);
      return new ServerCall.Listener<>() {
        @Override
        public void onMessage(Duration interval) {
          requested.add(interval);
          call.sendHeaders(new Metadata());
        }
      };
    };
    ServerMethodDefinition<Duration, LoadReport> method =
        ServerMethodDefinition.create(OpenRcaService.STREAM_CORE_METRICS, handler);
    server = InProcessServerBuilder.forName(name).directExecutor()
        .fallbackHandlerRegistry(new HandlerRegistry() {
          @Override
          public ServerMethodDefinition<?, ?> lookupMethod(String methodName, String authority) {
            attempts.incrementAndGet();
            return servesOrca && methodName.equals(method.getMethodDescriptor().getFullMethodName()) ? method : null;
          }
        })
        .build().start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
  }

  ManagedChannel channel() {
    return channel;
  }

  /** Sends {@code waiting} as the load on the newest stream. */
  void report(double waiting) {
    streams.get(streams.size() - 1).sendMessage(LoadReport.ofNamedMetrics(Map.of(LoadReport.WAITING, waiting)));
  }

  @Override
  public void close() {
    channel.shutdownNow();
    server.shutdownNow();
  }
}
