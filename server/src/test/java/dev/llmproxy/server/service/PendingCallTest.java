package dev.llmproxy.server.service;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.CompletionRequest;
import io.grpc.Context;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.Status;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The pending call on its own: a decision that comes later, events meanwhile, rejection, abandonment. */
class PendingCallTest {
  private static final CompletionRequest REQUEST = CompletionRequest.newBuilder().setPrompt("hi").build();

  private final List<String> events = new CopyOnWriteArrayList<>();
  private final FakeCall call = new FakeCall();
  private final CompletableFuture<Decision<CompletionRequest, CompletionChunk>> decision = new CompletableFuture<>();
  private final AtomicInteger started = new AtomicInteger();

  private final RequestDecidingServerInterceptor deferred = new RequestDecidingServerInterceptor() {
    @Override
    @SuppressWarnings("unchecked")
    protected <ReqT, RespT> CompletionStage<Decision<ReqT, RespT>> decide(PendingCall<ReqT, RespT> pending,
        CompletionRequest request) {
      events.add("decide " + request.getPrompt());
      return (CompletionStage<Decision<ReqT, RespT>>) (CompletionStage<?>) decision;
    }
  };

  private ServerCall.Listener<CompletionRequest> intercept() {
    return deferred.interceptCall(call, new Metadata(), (c, h) -> {
      started.incrementAndGet();
      return new ServerCall.Listener<>() {
        @Override
        public void onMessage(CompletionRequest message) {
          events.add("message " + message.getPrompt());
        }

        @Override
        public void onHalfClose() {
          events.add("halfClose");
        }

        @Override
        public void onReady() {
          events.add("ready");
        }

        @Override
        public void onCancel() {
          events.add("cancel");
        }

        @Override
        public void onComplete() {
          events.add("complete");
        }
      };
    });
  }

  @Test
  void eventsThatArriveWhileDecidingAreReplayedAfterTheDecisionAndLaterOnesGoStraightThrough() throws Exception {
    ServerCall.Listener<CompletionRequest> listener = intercept();
    listener.onMessage(REQUEST);
    listener.onReady();
    listener.onHalfClose();
    assertThat(events).containsExactly("decide hi");

    Thread decider = new Thread(() -> decision.complete(Decision.proceed(
        REQUEST.toBuilder().setPrompt("hi, routed").build(), call, Context.current())));
    decider.start();
    decider.join();
    listener.onReady();
    listener.onComplete();

    assertThat(started).hasValue(1);
    assertThat(events).containsExactly("decide hi", "message hi, routed", "ready", "halfClose", "ready", "complete");
  }

  @Test
  void aRejectionClosesTheCallOnceAndTheChainNeverSeesIt() {
    ServerCall.Listener<CompletionRequest> listener = intercept();
    listener.onMessage(REQUEST);
    listener.onHalfClose();
    decision.complete(Decision.reject(Status.NOT_FOUND.withDescription("model: \"x\" has no route")));
    listener.onReady();
    listener.onComplete();

    assertThat(started).hasValue(0);
    assertThat(call.closed).containsExactly(Status.Code.NOT_FOUND);
  }

  @Test
  void aCallCancelledWhileDecidingIsAbandonedNotStarted() {
    ServerCall.Listener<CompletionRequest> listener = intercept();
    listener.onMessage(REQUEST);
    listener.onCancel();
    AtomicInteger abandoned = new AtomicInteger();
    decision.complete(Decision.proceed(REQUEST, call, Context.current(), abandoned::incrementAndGet));

    assertThat(started).hasValue(0);
    assertThat(abandoned).hasValue(1);
    assertThat(call.closed).isEmpty();
  }

  @Test
  void aDecisionThatFailsIsAnInternalErrorNamingTheInterceptor() {
    ServerCall.Listener<CompletionRequest> listener = intercept();
    listener.onMessage(REQUEST);
    decision.completeExceptionally(new IllegalStateException("store exploded"));

    assertThat(started).hasValue(0);
    assertThat(call.closed).containsExactly(Status.Code.INTERNAL);
    assertThat(call.description).doesNotContain("store exploded");
  }

  @Test
  void aHalfCloseWithoutARequestIsInvalidArgument() {
    intercept().onHalfClose();
    assertThat(call.closed).containsExactly(Status.Code.INVALID_ARGUMENT);
    assertThat(events).isEmpty();
  }

  private static final class FakeCall extends ServerCall<CompletionRequest, CompletionChunk> {
    final List<Status.Code> closed = new CopyOnWriteArrayList<>();
    volatile String description;

    @Override
    public void request(int numMessages) {
    }

    @Override
    public void sendHeaders(Metadata headers) {
    }

    @Override
    public void sendMessage(CompletionChunk message) {
    }

    @Override
    public void close(Status status, Metadata trailers) {
      closed.add(status.getCode());
      description = status.getDescription();
    }

    @Override
    public boolean isCancelled() {
      return false;
    }

    @Override
    public MethodDescriptor<CompletionRequest, CompletionChunk> getMethodDescriptor() {
      return dev.llmproxy.v1.LlmProxyGrpc.getStreamCompleteMethod();
    }
  }
}
