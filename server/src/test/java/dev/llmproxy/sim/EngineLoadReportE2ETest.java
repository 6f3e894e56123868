package dev.llmproxy.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmproxy.orca.LoadReport;
import dev.llmproxy.orca.LoadReportHeader;
import dev.llmproxy.orca.LoadReportProto;
import dev.llmproxy.orca.OpenRcaService;
import dev.llmproxy.sim.openai.OpenAiSimulatedBackend;
import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.LlmProxyGrpc;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Iterator;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** The simulated backend reports its engine's load as ORCA, in both protocols. */
class EngineLoadReportE2ETest {
  private static final SimulatedBackendConfig CONFIG = SimulatedBackendConfig.defaults("sim")
      .withInterTokenLatency(Duration.ofMillis(100)).withMaxConcurrency(4);

  @Test
  void grpcCallsCarryTheLoadInTheirTrailers() throws Exception {
    try (SimulatedBackend sim = SimulatedBackend.start(CONFIG)) {
      ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", sim.port()).usePlaintext().build();
      try {
        LlmProxyGrpc.newStub(channel).streamComplete(
            CompletionRequest.newBuilder().setPrompt("hold a slot").setMaxTokens(4000).build(), new Ignoring());
        await().atMost(Duration.ofSeconds(20)).until(() -> sim.running() == 1);

        AtomicReference<Metadata> headers = new AtomicReference<>();
        AtomicReference<Metadata> trailers = new AtomicReference<>();
        LlmProxyGrpc.newBlockingStub(channel)
            .withInterceptors(MetadataUtils.newCaptureMetadataInterceptor(headers, trailers))
            .withDeadlineAfter(20, TimeUnit.SECONDS)
            .complete(CompletionRequest.newBuilder().setPrompt("q").setMaxTokens(1).build());

        LoadReport report = LoadReportProto.decode(trailers.get().get(LoadReportProto.TRAILER));
        assertThat(report.named(LoadReport.RUNNING).orElseThrow()).isGreaterThanOrEqualTo(1);
        assertThat(report.named(LoadReport.WAITING)).hasValue(0.0);
        assertThat(report.named(LoadReport.KV_CACHE_USAGE)).isPresent();
        assertThat(report.applicationUtilization()).isGreaterThanOrEqualTo(0.25);
      } finally {
        channel.shutdownNow();
      }
    }
  }

  @Test
  void grpcEnginesMayStopPerCallReportsAndStreamTheirLoadOutOfBand() throws Exception {
    try (SimulatedBackend sim = SimulatedBackend.start(CONFIG)) {
      ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", sim.port()).usePlaintext().build();
      try {
        sim.setPerCallLoadReports(false);
        AtomicReference<Metadata> headers = new AtomicReference<>();
        AtomicReference<Metadata> trailers = new AtomicReference<>();
        LlmProxyGrpc.newBlockingStub(channel)
            .withInterceptors(MetadataUtils.newCaptureMetadataInterceptor(headers, trailers))
            .withDeadlineAfter(20, TimeUnit.SECONDS)
            .complete(CompletionRequest.newBuilder().setPrompt("q").setMaxTokens(1).build());
        assertThat(trailers.get().containsKey(LoadReportProto.TRAILER)).isFalse();

        Iterator<LoadReport> reports = ClientCalls.blockingServerStreamingCall(channel,
            OpenRcaService.STREAM_CORE_METRICS, CallOptions.DEFAULT.withDeadlineAfter(60, TimeUnit.SECONDS),
            Duration.ofMillis(100));
        assertThat(reports.next().named(LoadReport.WAITING)).hasValue(0.0);
        for (int i = 0; i < 6; i++) { // 4 slots: 2 wait
          LlmProxyGrpc.newStub(channel).streamComplete(
              CompletionRequest.newBuilder().setPrompt("hold " + i).setMaxTokens(4000).build(), new Ignoring());
        }
        LoadReport report = reports.next();
        while (report.named(LoadReport.WAITING).orElseThrow() < 2) {
          report = reports.next(); // one every 100 ms until the calls are in
        }
        assertThat(report.named(LoadReport.RUNNING)).hasValue(4.0);
        assertThat(report.applicationUtilization()).isEqualTo(1.0);
      } finally {
        channel.shutdownNow();
      }
    }
  }

  @Test
  void openAiAnswersCarryTheLoadHeaderOnlyWhenAsked() throws Exception {
    try (OpenAiSimulatedBackend sim = OpenAiSimulatedBackend.start(CONFIG)) {
      HttpClient http = HttpClient.newHttpClient();
      HttpResponse<java.io.InputStream> holding = http.send(completion(sim, null, 4000, true),
          HttpResponse.BodyHandlers.ofInputStream());
      try {
        await().atMost(Duration.ofSeconds(20)).until(() -> sim.requestsRunning() == 1);
        LoadReportHeader parser = new LoadReportHeader(new ObjectMapper());

        for (String format : new String[] {"TEXT", "JSON"}) {
          HttpResponse<String> answer = http.send(completion(sim, format, 1, false), HttpResponse.BodyHandlers.ofString());
          String header = answer.headers().firstValue(LoadReportHeader.REPORT_HEADER).orElseThrow();
          assertThat(header).startsWith(format + " ");
          LoadReport report = parser.parse(header);
          assertThat(report.named(LoadReport.RUNNING).orElseThrow()).isGreaterThanOrEqualTo(1);
          assertThat(report.named(LoadReport.WAITING)).hasValue(0.0);
        }
        HttpResponse<String> unasked = http.send(completion(sim, null, 1, false), HttpResponse.BodyHandlers.ofString());
        assertThat(unasked.headers().firstValue(LoadReportHeader.REPORT_HEADER)).isEmpty();
        sim.setPerCallLoadReports(false);
        HttpResponse<String> switchedOff = http.send(completion(sim, "TEXT", 1, true), HttpResponse.BodyHandlers.ofString());
        assertThat(switchedOff.headers().firstValue(LoadReportHeader.REPORT_HEADER)).isEmpty();
      } finally {
        holding.body().close();
      }
    }
  }

  private static HttpRequest completion(OpenAiSimulatedBackend sim, String format, int maxTokens, boolean stream) {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(sim.baseUrl() + "/v1/completions"))
        .header("content-type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"model\": \"m\", \"prompt\": \"q\", \"max_tokens\": "
            + maxTokens + ", \"stream\": " + stream + "}"));
    if (format != null) {
      request.header(LoadReportHeader.FORMAT_HEADER, format);
    }
    return request.build();
  }

  private static final class Ignoring implements StreamObserver<CompletionChunk> {
    @Override
    public void onNext(CompletionChunk value) {
    }

    @Override
    public void onError(Throwable t) {
    }

    @Override
    public void onCompleted() {
    }
  }
}
