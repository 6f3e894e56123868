package dev.llmproxy.server;

import static dev.llmproxy.server.ByteArrayMarshaller.BYTES;
import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.server.config.LbPolicy;
import dev.llmproxy.server.config.ObservabilityConfig;
import dev.llmproxy.v1.Completion;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.LlmProxyGrpc;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.micrometer.core.instrument.Counter;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Requests that are not requests, sent over a real socket the way a broken or hostile client
 * would: bytes that are not a {@code CompletionRequest}, a string field that is not UTF-8, two
 * request messages on a method that takes one. Each gets INVALID_ARGUMENT naming the problem, is
 * counted with that status, and costs one log line per interval, not a stack trace per call.
 */
@Timeout(60)
class MalformedRequestE2ETest {

  private static final int MAX_REQUEST_BYTES = 64 << 10;

  private ProxyFixture f;
  private final CapturingHandler logged = new CapturingHandler();
  private final Logger grpcLog = Logger.getLogger("io.grpc");
  private final Logger parsingLog = Logger.getLogger("dev.llmproxy.server.service.RequestParsing");

  @BeforeEach
  void start() throws Exception {
    grpcLog.addHandler(logged);
    parsingLog.addHandler(logged);
    f = ProxyFixture.start(1, LbPolicy.PICK_FIRST, c -> c, r -> r, c -> c.withObservability(
        new ObservabilityConfig(new ObservabilityConfig.Metrics(true, "127.0.0.1", 0), false, false))
        .withServer(c.server().withMaxRequestBytes(MAX_REQUEST_BYTES)));
  }

  @AfterEach
  void stop() throws Exception {
    f.close();
    grpcLog.removeHandler(logged);
    parsingLog.removeHandler(logged);
  }

  /** Sends {@code messages} as the raw request messages of {@code Complete} (or a streaming copy), returns the status. */
  private Status send(MethodDescriptor.MethodType type, byte[]... messages) throws Exception {
    MethodDescriptor<byte[], byte[]> method = MethodDescriptor.<byte[], byte[]>newBuilder()
        .setType(type)
        .setFullMethodName(LlmProxyGrpc.getCompleteMethod().getFullMethodName())
        .setRequestMarshaller(BYTES).setResponseMarshaller(BYTES).build();
    ClientCall<byte[], byte[]> call = f.channel.newCall(method, CallOptions.DEFAULT.withDeadlineAfter(20, TimeUnit.SECONDS));
    CompletableFuture<Status> closed = new CompletableFuture<>();
    call.start(new ClientCall.Listener<>() {
      @Override
      public void onClose(Status status, Metadata trailers) {
        closed.complete(status);
      }
    }, new Metadata());
    call.request(1);
    for (byte[] message : messages) {
      call.sendMessage(message);
    }
    call.halfClose();
    return closed.get(30, TimeUnit.SECONDS);
  }

  private double calls(String status) {
    return f.meters.find("llmproxy.calls").tag("status", status).counters().stream().mapToDouble(Counter::count).sum();
  }

  @Test
  void bytesThatAreNotARequestAreInvalidArgumentCountedAndLoggedOncePerInterval() throws Exception {
    byte[] garbage = {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x0f, 0x01, 0x02};
    for (int i = 0; i < 20; i++) {
      Status status = send(MethodDescriptor.MethodType.UNARY, garbage);
      assertThat(status.getCode()).as(status.toString()).isEqualTo(Status.Code.INVALID_ARGUMENT);
      assertThat(status.getDescription()).startsWith("request: not a valid llmproxy.v1.CompletionRequest (");
    }
    assertThat(calls("INVALID_ARGUMENT")).as("counted with the status the client got").isEqualTo(20);
    assertThat(logged.records).as("one line for the 20 calls, no stack trace")
        .filteredOn(r -> r.getLevel().intValue() >= Level.WARNING.intValue()).hasSize(1)
        .allSatisfy(r -> assertThat(r.getThrown()).isNull());
    // The proxy still serves well-formed calls.
    Completion answer = f.blocking().complete(ProxyFixture.prompt("still here", 3));
    assertThat(answer.getText()).isNotEmpty();
  }

  @Test
  void aStringThatIsNotUtf8IsInvalidArgument() throws Exception {
    // Field 2 (prompt), length-delimited, 2 bytes that are not UTF-8.
    byte[] badUtf8 = {0x12, 0x02, (byte) 0xc3, (byte) 0x28};
    Status status = send(MethodDescriptor.MethodType.UNARY, badUtf8);
    assertThat(status.getCode()).as(status.toString()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(status.getDescription()).contains("UTF-8");
  }

  @Test
  void aSecondRequestMessageIsRefusedWithAStatusNotAReset() throws Exception {
    byte[] request = ProxyFixture.prompt("one", 2).toByteArray();
    // Sent as a client-streaming call would: two messages, then the half-close.
    Status status = send(MethodDescriptor.MethodType.CLIENT_STREAMING, request, request);
    assertThat(status.getCode()).as(status.toString()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(status.getDescription()).contains("a second request message");
    assertThat(f.upstreams.get(0).recorder().started()).as("nothing reached the upstream").isZero();
    assertThat(calls("INVALID_ARGUMENT")).isEqualTo(1);
  }

  @Test
  void aRequestLargerThanTheLimitIsCountedWithTheStatusTheClientGotNotAsCancelled() throws Exception {
    byte[] tooLarge = ProxyFixture.prompt("x".repeat(MAX_REQUEST_BYTES + 100), 2).toByteArray();
    Status status = send(MethodDescriptor.MethodType.UNARY, tooLarge);
    assertThat(status.getCode()).as(status.toString()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(ProxyFixture.eventually(java.time.Duration.ofSeconds(10), () -> calls("RESOURCE_EXHAUSTED") == 1))
        .as("counted RESOURCE_EXHAUSTED; CANCELLED: %s", calls("CANCELLED")).isTrue();
    assertThat(calls("CANCELLED")).isZero();
  }

  @Test
  void aWellFormedRequestStillGoesThroughWithItsRawBytes() throws Exception {
    byte[] request = CompletionRequest.newBuilder().setPrompt("raw").setMaxTokens(2).build().toByteArray();
    assertThat(send(MethodDescriptor.MethodType.UNARY, request).getCode()).isEqualTo(Status.Code.OK);
  }

  private static final class CapturingHandler extends Handler {
    final List<LogRecord> records = new java.util.concurrent.CopyOnWriteArrayList<>();

    @Override
    public void publish(LogRecord record) {
      records.add(record);
    }

    @Override
    public void flush() {}

    @Override
    public void close() {}
  }
}
