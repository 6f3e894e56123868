package dev.llmproxy.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.server.config.ProxyConfig;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.LlmProxyGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The demo as a new user meets it, over real sockets: no key needed, and demo-key runs out after ten calls. */
@Timeout(60)
class DemoQuotaE2ETest {
  private static final Metadata.Key<String> API_KEY = Metadata.Key.of("x-api-key", Metadata.ASCII_STRING_MARSHALLER);
  private static final Metadata.Key<String> REMAINING =
      Metadata.Key.of("llmproxy-ratelimit-remaining-requests", Metadata.ASCII_STRING_MARSHALLER);

  private ProxyServer proxy;
  private ManagedChannel channel;

  @BeforeEach
  void start() throws Exception {
    ProxyConfig demo = ProxyConfig.demo();
    proxy = ProxyServer.start(demo.withServer(demo.server().withAddress("127.0.0.1", 0)));
    channel = NettyChannelBuilder.forAddress("127.0.0.1", proxy.port()).usePlaintext().build();
  }

  @AfterEach
  void stop() {
    channel.shutdownNow();
    proxy.close();
  }

  private LlmProxyGrpc.LlmProxyBlockingStub stub(String key, AtomicReference<Metadata> headers) {
    Metadata extra = new Metadata();
    if (key != null) {
      extra.put(API_KEY, key);
    }
    return LlmProxyGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS).withInterceptors(
        MetadataUtils.newCaptureMetadataInterceptor(headers, new AtomicReference<>()),
        MetadataUtils.newAttachHeadersInterceptor(extra));
  }

  private static CompletionRequest hello() {
    return CompletionRequest.newBuilder().setPrompt("Hello, proxy").setMaxTokens(1).build();
  }

  @Test
  void callersWithoutAKeyAreServedByTheAnonymousTier() {
    AtomicReference<Metadata> headers = new AtomicReference<>();
    assertThat(stub(null, headers).complete(hello()).getUsage().getCompletionTokens()).isEqualTo(1);
    assertThat(headers.get().get(REMAINING)).isEqualTo("599");
  }

  @Test
  void theDemoKeyCountsDownFromTenThenIsExhausted() {
    AtomicReference<Metadata> headers = new AtomicReference<>();
    LlmProxyGrpc.LlmProxyBlockingStub demoKey = stub(ProxyConfig.DEMO_KEY, headers);
    for (int left = 9; left >= 0; left--) {
      demoKey.complete(hello());
      assertThat(headers.get().get(REMAINING)).isEqualTo(Integer.toString(left));
    }
    try {
      demoKey.complete(hello());
      throw new AssertionError("the eleventh call in a minute was admitted");
    } catch (StatusRuntimeException e) {
      assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
      assertThat(e.getStatus().getDescription()).contains("key 'demo'").doesNotContain(ProxyConfig.DEMO_KEY);
    }
  }

  @Test
  void anUnknownKeyIsRefusedEvenThoughAnonymousCallersAreServed() {
    try {
      stub("demo-kee", new AtomicReference<>()).complete(hello());
      throw new AssertionError("an unknown key was admitted");
    } catch (StatusRuntimeException e) {
      assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
    }
  }
}
