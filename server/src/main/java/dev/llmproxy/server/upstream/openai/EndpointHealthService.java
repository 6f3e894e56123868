package dev.llmproxy.server.upstream.openai;

import io.grpc.Status;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArraySet;

/**
 * The {@code grpc.health.v1} service of one OpenAI-compatible upstream, fed by its HTTP health
 * poller, which the route channel's client-side health checking watches like a gRPC upstream's.
 *
 * <p>Unlike grpc's {@code HealthStatusManager}, a watch gets no answer until the first poll has
 * one: an answer of "unknown" would put the upstream in TRANSIENT_FAILURE and fail the first calls
 * fast, where holding the answer keeps the upstream CONNECTING and those calls waiting for it.
 * Every service name gets the upstream's status.
 */
final class EndpointHealthService extends HealthGrpc.HealthImplBase {
  private final Set<ServerCallStreamObserver<HealthCheckResponse>> watchers = new CopyOnWriteArraySet<>();
  private volatile ServingStatus status;

  /** Publishes a new status to every watcher (no-op when unchanged). */
  void set(ServingStatus newStatus) {
    ServingStatus old = status;
    status = newStatus;
    if (old == newStatus) {
      return;
    }
    HealthCheckResponse response = HealthCheckResponse.newBuilder().setStatus(newStatus).build();
    for (ServerCallStreamObserver<HealthCheckResponse> watcher : watchers) {
      synchronized (watcher) {
        if (!watcher.isCancelled()) {
          watcher.onNext(response);
        }
      }
    }
  }

  /** The last status published, or {@code null} before the first. */
  ServingStatus status() {
    return status;
  }

  @Override
  public void check(HealthCheckRequest request, StreamObserver<HealthCheckResponse> response) {
    ServingStatus now = status;
    if (now == null) {
      response.onError(Status.UNAVAILABLE.withDescription("first health poll pending").asRuntimeException());
      return;
    }
    response.onNext(HealthCheckResponse.newBuilder().setStatus(now).build());
    response.onCompleted();
  }

  @Override
  public void watch(HealthCheckRequest request, StreamObserver<HealthCheckResponse> response) {
    ServerCallStreamObserver<HealthCheckResponse> watcher = (ServerCallStreamObserver<HealthCheckResponse>) response;
    watcher.setOnCancelHandler(() -> watchers.remove(watcher));
    synchronized (watcher) {
      watchers.add(watcher);
      ServingStatus now = status;
      if (now != null) {
        watcher.onNext(HealthCheckResponse.newBuilder().setStatus(now).build());
      }
    }
  }

  /** Ends every watch, as a server going away does. */
  void close() {
    for (ServerCallStreamObserver<HealthCheckResponse> watcher : watchers) {
      synchronized (watcher) {
        if (!watcher.isCancelled()) {
          watcher.onError(Status.UNAVAILABLE.withDescription("upstream removed").asRuntimeException());
        }
      }
    }
    watchers.clear();
  }
}
