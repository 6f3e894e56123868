package dev.llmproxy.server.observability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.llmproxy.server.ProxyServer;
import dev.llmproxy.server.config.LbPolicy;
import dev.llmproxy.server.config.ObservabilityConfig;
import dev.llmproxy.server.config.RouteConfig;
import dev.llmproxy.server.config.ServerConfig;
import dev.llmproxy.server.config.UpstreamEndpoint;
import dev.llmproxy.server.upstream.RouteTable;
import dev.llmproxy.server.upstream.UpstreamChannelFactory;
import dev.llmproxy.sim.SimulatedBackend;
import dev.llmproxy.sim.SimulatedBackendConfig;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.LlmProxyGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerInterceptor;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.MetadataUtils;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** What a config reload changes in observability: the access log per generation, the log's level and format. */
@Timeout(30)
class ObservabilityReloadInProcessTest {
  private static final ObservabilityConfig QUIET = ObservabilityConfig.defaults();
  private static final ObservabilityConfig LOGGING = QUIET.withAccessLog(true);

  private SimulatedBackend upstream;
  private RouteTable routes;

  @BeforeEach
  void upstream() throws Exception {
    upstream = SimulatedBackend.start(SimulatedBackendConfig.defaults("chat-sim"));
    RouteConfig chat = RouteConfig.forUpstreams(List.of(new UpstreamEndpoint("chat-sim", upstream.address())),
        LbPolicy.PICK_FIRST);
    routes = new RouteTable(List.of(new UpstreamChannelFactory(4 << 20).create(chat, chat.upstreams())));
  }

  @AfterEach
  void stop() {
    routes.close();
    upstream.close();
  }

  /** One call through a generation's service with {@code observing} outermost, tagged with a request id. */
  private void call(Observability observability, ServerInterceptor observing, String requestId) throws Exception {
    String name = InProcessServerBuilder.generateName();
    Server server = InProcessServerBuilder.forName(name).directExecutor()
        .addService(ProxyServer.proxyService(routes, ServerConfig.defaults(), observability.registry(), observing))
        .build().start();
    ManagedChannel channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    try {
      Metadata headers = new Metadata();
      headers.put(RequestIdServerInterceptor.REQUEST_ID, requestId);
      LlmProxyGrpc.newBlockingStub(channel).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
          .withDeadlineAfter(10, TimeUnit.SECONDS)
          .complete(CompletionRequest.newBuilder().setPrompt("hi").setMaxTokens(2).build());
    } finally {
      channel.shutdownNow();
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void eachGenerationLogsCallsAsItsConfigSaysSoAReloadTurnsTheAccessLogOnAndOff() throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (Observability observability = Observability.start(QUIET, new SimpleMeterRegistry(), out)) {
      assertThat(observability.generation(QUIET).serverInterceptor()).isNull(); // quiet: nothing per call

      call(observability, observability.generation(QUIET).serverInterceptor(), "call-while-off");
      call(observability, observability.generation(LOGGING).serverInterceptor(), "call-after-turning-on");
      await().atMost(Duration.ofSeconds(10)).until(() -> log(out).contains("call-after-turning-on"));
      call(observability, observability.generation(QUIET).serverInterceptor(), "call-after-turning-off");
      call(observability, observability.generation(LOGGING).serverInterceptor(), "call-after-turning-on-again");
      await().atMost(Duration.ofSeconds(10)).until(() -> log(out).contains("call-after-turning-on-again"));

      // The writer keeps the order of calls: what was not logged before the last line never will be.
      assertThat(log(out)).doesNotContain("call-while-off", "call-after-turning-off");
      assertThat(log(out).split("\n")).hasSize(2);
    }
  }

  private static String log(ByteArrayOutputStream out) {
    return out.toString(StandardCharsets.UTF_8);
  }

  @Test
  void aReloadedLogLevelAndFormatApplyToTheInstalledHandler() {
    Logger root = LogManager.getLogManager().getLogger("");
    Handler[] before = root.getHandlers();
    Level levelBefore = root.getLevel();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    Logger logger = Logger.getLogger("dev.llmproxy.server.reload.test");
    try {
      OperationalLog.install(new ObservabilityConfig.Log("info", "plain"), out);
      logger.fine("debug line before the reload");
      logger.info("info line before the reload");

      OperationalLog.reconfigure(new ObservabilityConfig.Log("debug", "json"));
      logger.fine("debug line after the reload");

      String[] lines = log(out).split("\n");
      assertThat(lines).hasSize(2);
      assertThat(lines[0]).doesNotStartWith("{").contains("INFO", "info line before the reload");
      assertThat(lines[1]).startsWith("{").contains("debug line after the reload");
    } finally {
      for (Handler h : root.getHandlers()) {
        root.removeHandler(h);
      }
      for (Handler h : before) {
        root.addHandler(h);
      }
      root.setLevel(levelBefore);
    }
  }
}
