package dev.llmproxy.sim;

import static dev.llmproxy.sim.BackendFixture.WAIT;
import static dev.llmproxy.sim.BackendFixture.concat;
import static dev.llmproxy.sim.BackendFixture.prompt;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmproxy.v1.Completion;
import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.FinishReason;
import dev.llmproxy.v1.LlmProxyGrpc;
import dev.llmproxy.v1.Message;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.reflection.v1.ServiceResponse;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class SimulatedBackendE2ETest {
  private static final Metadata.Key<String> UPSTREAM =
      Metadata.Key.of("llmproxy-upstream", Metadata.ASCII_STRING_MARSHALLER);
  private static final Metadata.Key<String> API_KEY =
      Metadata.Key.of("x-api-key", Metadata.ASCII_STRING_MARSHALLER);

  private BackendFixture sim;

  @BeforeEach
  void start() throws Exception {
    sim = BackendFixture.start(SimulatedBackendConfig.defaults("sim-a"));
  }

  @AfterEach
  void stop() throws Exception {
    sim.close();
  }

  @Test
  void streamConcatenationEqualsCompleteText() {
    CompletionRequest request = prompt("write a haiku about proxies", 48).toBuilder().setSeed(42).build();
    Completion completion = sim.blocking().complete(request);
    List<CompletionChunk> chunks = sim.stream(request);

    assertThat(concat(chunks)).isEqualTo(completion.getText());
    assertThat(chunks).hasSize(48);
    assertThat(completion.getText().split(" ")).hasSize(48);
    assertThat(completion.getFinishReason()).isEqualTo(FinishReason.FINISH_REASON_LENGTH);
  }

  @Test
  void chatMessagesStreamAndCompleteToTheSameDeterministicText() {
    CompletionRequest request = CompletionRequest.newBuilder()
        .setModel("chat")
        .addMessages(Message.newBuilder().setRole("system").setContent("you are terse"))
        .addMessages(Message.newBuilder().setRole("user").setContent("say something"))
        .build();
    String first = sim.blocking().complete(request).getText();

    assertThat(sim.blocking().complete(request).getText()).isEqualTo(first);
    assertThat(concat(sim.stream(request))).isEqualTo(first);
    assertThat(first.split(" ")).hasSize(64);
  }

  @Test
  void chunksAreIndexedInOrderAndOnlyTheLastCarriesFinishReasonAndUsage() {
    List<CompletionChunk> chunks = sim.stream(prompt("one two three", 10));

    assertThat(chunks).extracting(CompletionChunk::getIndex)
        .containsExactly(0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
    assertThat(chunks).extracting(CompletionChunk::getId).containsOnly(chunks.get(0).getId());
    assertThat(chunks.get(0).getText()).doesNotStartWith(" ");
    assertThat(chunks.subList(1, 10)).allSatisfy(c -> assertThat(c.getText()).startsWith(" "));
    assertThat(chunks.subList(0, 9)).allSatisfy(c -> {
      assertThat(c.getFinishReason()).isEqualTo(FinishReason.FINISH_REASON_UNSPECIFIED);
      assertThat(c.hasUsage()).isFalse();
    });
    CompletionChunk last = chunks.get(9);
    assertThat(last.getFinishReason()).isEqualTo(FinishReason.FINISH_REASON_LENGTH);
    assertThat(last.getUsage().getPromptTokens()).isEqualTo(3);
    assertThat(last.getUsage().getCompletionTokens()).isEqualTo(10);
    assertThat(last.getUsage().getTotalTokens()).isEqualTo(13);
  }

  @Test
  void completionCarriesIdModelAndUsage() {
    Completion first = sim.blocking().complete(prompt("count my words please", 5));
    Completion second = sim.blocking().complete(prompt("count my words please", 5));

    assertThat(first.getId()).matches("cmpl-sim-a-\\d+");
    assertThat(second.getId()).matches("cmpl-sim-a-\\d+").isNotEqualTo(first.getId());
    assertThat(first.getModel()).isEqualTo("sim-model");
    assertThat(first.getUsage().getPromptTokens()).isEqualTo(4);
    assertThat(first.getUsage().getCompletionTokens()).isEqualTo(5);
    assertThat(first.getUsage().getTotalTokens()).isEqualTo(9);
  }

  @Test
  void stopSequenceEndsTheStreamBeforeItWithFinishStop() {
    CompletionRequest open = prompt("tell a long tale", 30);
    List<CompletionChunk> full = sim.stream(open);
    String stop = full.get(12).getText();
    CompletionRequest stopping = open.toBuilder().addStop(stop).build();

    Completion completion = sim.blocking().complete(stopping);
    List<CompletionChunk> chunks = sim.stream(stopping);

    assertThat(completion.getFinishReason()).isEqualTo(FinishReason.FINISH_REASON_STOP);
    assertThat(completion.getText()).doesNotContain(stop);
    assertThat(concat(full)).startsWith(completion.getText());
    assertThat(concat(chunks)).isEqualTo(completion.getText());
    assertThat(chunks).hasSizeLessThanOrEqualTo(12);
    CompletionChunk last = chunks.get(chunks.size() - 1);
    assertThat(last.getFinishReason()).isEqualTo(FinishReason.FINISH_REASON_STOP);
    assertThat(last.getUsage().getCompletionTokens()).isEqualTo(chunks.size());
  }

  @Test
  void stopAtTheFirstTokenStreamsOneEmptyFinalChunk() {
    CompletionRequest open = prompt("anything", 5);
    String firstWord = sim.stream(open).get(0).getText();
    List<CompletionChunk> chunks = sim.stream(open.toBuilder().addStop(firstWord).build());

    assertThat(chunks).hasSize(1);
    assertThat(chunks.get(0).getText()).isEmpty();
    assertThat(chunks.get(0).getFinishReason()).isEqualTo(FinishReason.FINISH_REASON_STOP);
    assertThat(chunks.get(0).getUsage().getCompletionTokens()).isZero();
  }

  @Test
  void responseHeadersNameTheUpstream() {
    AtomicReference<Metadata> headers = new AtomicReference<>();
    AtomicReference<Metadata> trailers = new AtomicReference<>();
    LlmProxyGrpc.LlmProxyBlockingStub stub = sim.blocking()
        .withInterceptors(MetadataUtils.newCaptureMetadataInterceptor(headers, trailers));

    stub.complete(prompt("hello", 3));
    assertThat(headers.get().get(UPSTREAM)).isEqualTo("sim-a");

    headers.set(null);
    Iterator<CompletionChunk> it = stub.streamComplete(prompt("hello", 3));
    it.forEachRemaining(c -> { });
    assertThat(headers.get().get(UPSTREAM)).isEqualTo("sim-a");
  }

  @Test
  void invalidRequestsFailWithInvalidArgumentNamingTheField() {
    assertThatThrownBy(() -> sim.blocking().complete(CompletionRequest.getDefaultInstance()))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
          assertThat(e.getStatus().getDescription()).contains("prompt, messages: neither set");
        });
    assertThatThrownBy(() -> sim.stream(prompt("x", -1)))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e ->
            assertThat(e.getStatus().getDescription()).isEqualTo("max_tokens: -1 (expected: >= 0)"));
    assertThatThrownBy(() -> sim.blocking().complete(prompt("x", 1).toBuilder().setTemperature(3).build()))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e ->
            assertThat(e.getStatus().getDescription()).isEqualTo("temperature: 3.0 (expected: 0 to 2)"));
    assertThat(sim.recorder().failed()).isEqualTo(3);
  }

  @Test
  void recordsMethodRequestHeadersAndDeadline() {
    Metadata extra = new Metadata();
    extra.put(API_KEY, "demo-key");
    CompletionRequest request = prompt("recorded", 2);
    sim.blocking()
        .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(extra))
        .withDeadlineAfter(5, TimeUnit.SECONDS)
        .complete(request);
    LlmProxyGrpc.newBlockingStub(sim.channel).streamComplete(request).forEachRemaining(c -> { });

    List<RecordedCall> calls = sim.recorder().calls();
    assertThat(calls).hasSize(2);
    RecordedCall complete = calls.get(0);
    assertThat(complete.method()).isEqualTo("Complete");
    assertThat(complete.request()).isEqualTo(request);
    assertThat(complete.headers().get(API_KEY)).isEqualTo("demo-key");
    assertThat(complete.deadlineRemainingAtStart())
        .isPositive().isLessThanOrEqualTo(Duration.ofSeconds(5)).isGreaterThan(Duration.ofSeconds(3));
    assertThat(complete.outcome()).isEqualTo(RecordedCall.Outcome.COMPLETED);
    assertThat(complete.tokensSent()).isEqualTo(2);
    assertThat(complete.endNanos()).isGreaterThanOrEqualTo(complete.startNanos());

    RecordedCall stream = calls.get(1);
    assertThat(stream.method()).isEqualTo("StreamComplete");
    assertThat(stream.deadlineRemainingAtStart()).isNull();
    assertThat(stream.headers().get(API_KEY)).isNull();
    assertThat(sim.recorder().started()).isEqualTo(2);
    assertThat(sim.recorder().completed()).isEqualTo(2);
    assertThat(sim.recorder().inFlight()).isZero();

    sim.recorder().reset();
    assertThat(sim.recorder().calls()).isEmpty();
    assertThat(sim.recorder().started()).isZero();
  }

  @Test
  void clientCancellationStopsGenerationAndIsRecorded() throws Exception {
    sim.backend.setConfig(sim.backend.config().withInterTokenLatency(Duration.ofMillis(20)));
    CompletableFuture<Void> gotFirst = new CompletableFuture<>();
    AtomicReference<ClientCallStreamObserver<CompletionRequest>> call = new AtomicReference<>();
    sim.async().streamComplete(prompt("cancel me", 1000),
        new ClientResponseObserver<CompletionRequest, CompletionChunk>() {
          @Override
          public void beforeStart(ClientCallStreamObserver<CompletionRequest> requestStream) {
            call.set(requestStream);
          }

          @Override
          public void onNext(CompletionChunk value) {
            gotFirst.complete(null);
          }

          @Override
          public void onError(Throwable t) {}

          @Override
          public void onCompleted() {}
        });
    gotFirst.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    long cancelledAt = System.nanoTime();
    call.get().cancel("user pressed stop", null);

    assertThat(sim.recorder().await(r -> r.cancelled() == 1, WAIT)).as("%s", sim.recorder()).isTrue();
    RecordedCall recorded = sim.recorder().lastCall();
    assertThat(recorded.outcome()).isEqualTo(RecordedCall.Outcome.CANCELLED);
    assertThat(recorded.status().getCode()).isEqualTo(Status.Code.CANCELLED);
    assertThat(recorded.endNanos()).isGreaterThanOrEqualTo(cancelledAt);
    int sent = recorded.tokensSent();
    assertThat(sent).isBetween(1, 999);
    assertThat(sim.recorder().inFlight()).isZero();
  }

  @Test
  void expiredDeadlineIsRecordedAsCancelledWithDeadlineExceeded() throws Exception {
    sim.blocking().complete(prompt("warm up the connection", 1));
    sim.recorder().reset();
    sim.backend.setConfig(sim.backend.config().withTimeToFirstToken(Duration.ofSeconds(30)));

    assertThatThrownBy(() -> sim.blocking().withDeadlineAfter(200, TimeUnit.MILLISECONDS)
        .complete(prompt("too slow", 3)))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e ->
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED));

    assertThat(sim.recorder().await(r -> r.cancelled() == 1, WAIT)).as("%s", sim.recorder()).isTrue();
    RecordedCall recorded = sim.recorder().lastCall();
    assertThat(recorded.deadlineRemainingAtStart()).isLessThanOrEqualTo(Duration.ofMillis(200));
    assertThat(recorded.status().getCode()).isIn(Status.Code.DEADLINE_EXCEEDED, Status.Code.CANCELLED);
    assertThat(recorded.tokensSent()).isZero();
  }

  @Test
  void healthFollowsSetServing() {
    HealthGrpc.HealthBlockingStub health = HealthGrpc.newBlockingStub(sim.channel)
        .withDeadlineAfter(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    HealthCheckRequest all = HealthCheckRequest.getDefaultInstance();
    HealthCheckRequest service = HealthCheckRequest.newBuilder().setService("llmproxy.v1.LlmProxy").build();
    assertThat(health.check(all).getStatus()).isEqualTo(ServingStatus.SERVING);
    assertThat(health.check(service).getStatus()).isEqualTo(ServingStatus.SERVING);

    sim.backend.setServing(false);
    assertThat(health.check(all).getStatus()).isEqualTo(ServingStatus.NOT_SERVING);
    assertThat(health.check(service).getStatus()).isEqualTo(ServingStatus.NOT_SERVING);

    sim.backend.setServing(true);
    assertThat(health.check(service).getStatus()).isEqualTo(ServingStatus.SERVING);
  }

  @Test
  void reflectionListsTheLlmProxyService() throws Exception {
    CompletableFuture<ServerReflectionResponse> response = new CompletableFuture<>();
    StreamObserver<ServerReflectionRequest> requests = ServerReflectionGrpc.newStub(sim.channel)
        .withDeadlineAfter(WAIT.toMillis(), TimeUnit.MILLISECONDS)
        .serverReflectionInfo(new StreamObserver<>() {
          @Override
          public void onNext(ServerReflectionResponse value) {
            response.complete(value);
          }

          @Override
          public void onError(Throwable t) {
            response.completeExceptionally(t);
          }

          @Override
          public void onCompleted() {}
        });
    requests.onNext(ServerReflectionRequest.newBuilder().setListServices("").build());
    requests.onCompleted();

    assertThat(response.get(WAIT.toMillis(), TimeUnit.MILLISECONDS).getListServicesResponse()
        .getServiceList()).extracting(ServiceResponse::getName)
        .contains("llmproxy.v1.LlmProxy", "grpc.health.v1.Health");
  }

  @Test
  void closeKillsOpenStreamsLikeACrashedUpstream() throws Exception {
    sim.backend.setConfig(sim.backend.config().withInterTokenLatency(Duration.ofMillis(50)));
    Iterator<CompletionChunk> stream = sim.blocking().streamComplete(prompt("long", 1000));
    assertThat(stream.next().getIndex()).isZero();

    sim.backend.close();

    assertThatThrownBy(() -> stream.forEachRemaining(c -> { }))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e ->
            assertThat(e.getStatus().getCode()).isIn(Status.Code.UNAVAILABLE, Status.Code.CANCELLED,
                Status.Code.INTERNAL));
    assertThat(sim.recorder().lastCall().outcome()).isEqualTo(RecordedCall.Outcome.CANCELLED);
  }
}
