package dev.llmproxy.server.observability.tracing;

import dev.llmproxy.v1.Completion;
import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.FinishReason;
import dev.llmproxy.v1.LlmProxyGrpc;
import dev.llmproxy.v1.Usage;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * An upstream over real sockets that answers at once, except a stream whose prompt starts with
 * {@code hold}: that one sends its first chunk and then waits for {@link #release}, so a test can
 * keep a call in flight across a reload without timing it. Records the {@code traceparent} each
 * call arrived with, by prompt.
 */
final class HeldUpstream implements AutoCloseable {
  private static final Metadata.Key<String> TRACEPARENT =
      Metadata.Key.of("traceparent", Metadata.ASCII_STRING_MARSHALLER);
  private static final Context.Key<String> ARRIVED_WITH = Context.key("traceparent");
  private static final Usage USAGE = Usage.newBuilder().setPromptTokens(2).setCompletionTokens(2)
      .setTotalTokens(4).build();

  private final Map<String, String> traceparents = new ConcurrentHashMap<>();
  private final Map<String, CompletableFuture<Void>> releases = new ConcurrentHashMap<>();
  private final Server server;

  private HeldUpstream() throws IOException {
    ServerInterceptor headers = new ServerInterceptor() {
      @Override
      public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(ServerCall<ReqT, RespT> call, Metadata md,
          ServerCallHandler<ReqT, RespT> next) {
        String traceparent = md.get(TRACEPARENT);
        return Contexts.interceptCall(Context.current().withValue(ARRIVED_WITH, traceparent == null ? "" : traceparent),
            call, md, next);
      }
    };
    server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .addService(ServerInterceptors.intercept(new Service(), headers)).build().start();
  }

  static HeldUpstream start() throws IOException {
    return new HeldUpstream();
  }

  String address() {
    return "127.0.0.1:" + server.getPort();
  }

  /** The {@code traceparent} the call with {@code prompt} arrived with ("" for none); null before it arrived. */
  String traceparent(String prompt) {
    return traceparents.get(prompt);
  }

  /** Lets the held stream with {@code prompt} finish. */
  void release(String prompt) {
    releases.computeIfAbsent(prompt, p -> new CompletableFuture<>()).complete(null);
  }

  @Override
  public void close() throws InterruptedException {
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  private final class Service extends LlmProxyGrpc.LlmProxyImplBase {
    @Override
    public void complete(CompletionRequest request, StreamObserver<Completion> out) {
      traceparents.put(request.getPrompt(), ARRIVED_WITH.get());
      out.onNext(Completion.newBuilder().setId("c").setModel(request.getModel()).setText("ok ok")
          .setFinishReason(FinishReason.FINISH_REASON_STOP).setUsage(USAGE).build());
      out.onCompleted();
    }

    @Override
    public void streamComplete(CompletionRequest request, StreamObserver<CompletionChunk> out) {
      String prompt = request.getPrompt();
      out.onNext(CompletionChunk.newBuilder().setId("c").setIndex(0).setText("ok ").build());
      Runnable finish = () -> {
        out.onNext(CompletionChunk.newBuilder().setId("c").setIndex(1).setText("ok")
            .setFinishReason(FinishReason.FINISH_REASON_STOP).setUsage(USAGE).build());
        out.onCompleted();
      };
      traceparents.put(prompt, ARRIVED_WITH.get()); // after the first chunk: the call is in flight
      if (prompt.startsWith("hold")) {
        releases.computeIfAbsent(prompt, p -> new CompletableFuture<>()).thenRun(finish);
      } else {
        finish.run();
      }
    }
  }
}
