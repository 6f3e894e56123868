package dev.llmproxy.sim;

import dev.llmproxy.v1.Completion;
import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.LlmProxyGrpc;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.Metadata;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/** {@code llmproxy.v1.LlmProxy} as the simulated backend serves it: one {@link SimulatedCall} per call. */
final class SimulatedLlmService extends LlmProxyGrpc.LlmProxyImplBase {
  private final Supplier<SimulatedBackendConfig> config;
  private final ScheduledExecutorService scheduler;
  private final AdmissionQueue admission;
  private final PrefixKvCache kvCache;
  private final CallRecorder recorder;
  private final AtomicLong ids = new AtomicLong();

  SimulatedLlmService(
      Supplier<SimulatedBackendConfig> config,
      ScheduledExecutorService scheduler,
      AdmissionQueue admission,
      PrefixKvCache kvCache,
      CallRecorder recorder) {
    this.kvCache = kvCache;
    this.config = config;
    this.scheduler = scheduler;
    this.admission = admission;
    this.recorder = recorder;
  }

  @Override
  public void complete(CompletionRequest request, StreamObserver<Completion> responseObserver) {
    SimulatedBackendConfig current = config.get();
    Deadline deadline = Context.current().getDeadline();
    new UnaryCall(current, scheduler, admission, kvCache, recorder,
        record("Complete", current, request, deadline), deadline,
        (ServerCallStreamObserver<Completion>) responseObserver)
        .startOn();
  }

  @Override
  public void streamComplete(
      CompletionRequest request, StreamObserver<CompletionChunk> responseObserver) {
    SimulatedBackendConfig current = config.get();
    Deadline deadline = Context.current().getDeadline();
    new StreamingCall(current, scheduler, admission, kvCache, recorder,
        record("StreamComplete", current, request, deadline), deadline,
        (ServerCallStreamObserver<CompletionChunk>) responseObserver)
        .startOn();
  }

  private RecordedCall record(
      String method, SimulatedBackendConfig current, CompletionRequest request, Deadline deadline) {
    long now = System.nanoTime();
    Metadata headers = UpstreamMetadataServerInterceptor.REQUEST_HEADERS.get();
    return new RecordedCall(
        method,
        "cmpl-" + current.name() + "-" + ids.incrementAndGet(),
        request,
        headers == null ? new Metadata() : headers,
        deadline == null ? null : Duration.ofNanos(deadline.timeRemaining(TimeUnit.NANOSECONDS)),
        now);
  }
}
