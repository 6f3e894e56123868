package dev.llmproxy.client;

import dev.llmproxy.v1.Completion;
import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.FinishReason;
import dev.llmproxy.v1.LlmProxyGrpc;
import io.grpc.ForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.function.IntFunction;

/**
 * A stand-in for llmproxy over real loopback sockets whose answers a test scripts: attempt {@code n}
 * (1-based, counting both methods) fails with what the script returns for it, or, for null, succeeds
 * with {@link #TEXT} (one chunk per word for StreamComplete) and the configured response headers.
 * Records every attempt: its request, headers and arrival time.
 */
final class ScriptedServer implements AutoCloseable {
  static final List<String> WORDS = List.of("scripted", " answer", " in", " four");
  static final String TEXT = String.join("", WORDS);

  /** One call as the server saw it. */
  record Attempt(String method, CompletionRequest request, Metadata headers, long nanos) {}

  /** How the server answers an attempt. */
  interface Script {
    /** A failure to end attempt {@code n} with before any response, or null to answer it. */
    StatusRuntimeException failure(int attempt);

    /** How many chunks a stream sends before it fails with {@link #failure}: 0 unless overridden. */
    default int chunksBeforeFailure(int attempt) {
      return 0;
    }
  }

  final List<Attempt> attempts = new CopyOnWriteArrayList<>();
  final CountDownLatch cancelled = new CountDownLatch(1);
  private final Server server;
  private volatile Metadata responseHeaders = new Metadata();

  private ScriptedServer(Script script) throws IOException {
    ServerInterceptor recorder = new ServerInterceptor() {
      @Override
      public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(ServerCall<ReqT, RespT> call, Metadata headers,
          ServerCallHandler<ReqT, RespT> next) {
        Metadata copy = new Metadata();
        copy.merge(headers);
        ServerCall<ReqT, RespT> withHeaders = new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
          @Override
          public void sendHeaders(Metadata outgoing) {
            outgoing.merge(responseHeaders);
            super.sendHeaders(outgoing);
          }
        };
        ServerCall.Listener<ReqT> listener = next.startCall(withHeaders, headers);
        return new io.grpc.ForwardingServerCallListener.SimpleForwardingServerCallListener<>(listener) {
          @Override
          public void onMessage(ReqT message) {
            attempts.add(new Attempt(call.getMethodDescriptor().getBareMethodName(), (CompletionRequest) message,
                copy, System.nanoTime()));
            super.onMessage(message);
          }

          @Override
          public void onCancel() {
            cancelled.countDown();
            super.onCancel();
          }
        };
      }
    };
    LlmProxyGrpc.LlmProxyImplBase service = new LlmProxyGrpc.LlmProxyImplBase() {
      @Override
      public void complete(CompletionRequest request, StreamObserver<Completion> out) {
        StatusRuntimeException failure = script.failure(attempts.size());
        if (failure != null) {
          out.onError(failure);
          return;
        }
        out.onNext(Completion.newBuilder().setId("c-1").setText(TEXT).setFinishReason(FinishReason.FINISH_REASON_STOP)
            .build());
        out.onCompleted();
      }

      @Override
      public void streamComplete(CompletionRequest request, StreamObserver<CompletionChunk> out) {
        int attempt = attempts.size();
        StatusRuntimeException failure = script.failure(attempt);
        int before = failure == null ? WORDS.size() : script.chunksBeforeFailure(attempt);
        ServerCallStreamObserver<CompletionChunk> stream = (ServerCallStreamObserver<CompletionChunk>) out;
        for (int i = 0; i < before && !stream.isCancelled(); i++) {
          CompletionChunk.Builder chunk = CompletionChunk.newBuilder().setId("c-1").setIndex(i).setText(WORDS.get(i));
          if (failure == null && i == WORDS.size() - 1) {
            chunk.setFinishReason(FinishReason.FINISH_REASON_STOP);
          }
          out.onNext(chunk.build());
        }
        if (failure != null) {
          out.onError(failure);
        } else {
          out.onCompleted();
        }
      }
    };
    server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .addService(ServerInterceptors.intercept(service, recorder))
        .build().start();
  }

  static ScriptedServer start(Script script) throws IOException {
    return new ScriptedServer(script);
  }

  /** A server that fails every attempt with {@code failure}. */
  static ScriptedServer failing(StatusRuntimeException failure) throws IOException {
    return start(attempt -> failure);
  }

  /** A server that answers every attempt. */
  static ScriptedServer answering() throws IOException {
    return start(attempt -> null);
  }

  /** Headers to send with successful answers. */
  ScriptedServer withResponseHeaders(Metadata headers) {
    this.responseHeaders = headers;
    return this;
  }

  String target() {
    return "127.0.0.1:" + server.getPort();
  }

  LlmProxyClient.Builder client() {
    return LlmProxyClient.builder(target()).usePlaintext().defaultDeadline(java.time.Duration.ofSeconds(20));
  }

  List<Long> attemptTimes() {
    List<Long> times = new ArrayList<>();
    attempts.forEach(a -> times.add(a.nanos()));
    return times;
  }

  @Override
  public void close() {
    server.shutdownNow();
    try {
      server.awaitTermination(5, java.util.concurrent.TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
