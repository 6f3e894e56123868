package dev.llmproxy.sim;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.sim.openai.OpenAiSimSettings;
import dev.llmproxy.v1.LlmProxyGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.InputStreamReader;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class SimCommandTest {
  // Every flag in declaration order, then picocli's generated --help and --version.
  private static final String ALL_FLAGS = "--protocol, --host, --port, --name, --ttft, --itl,"
      + " --jitter, --seed, --max-concurrency, --max-queue, --fail-rate, --fail-code, --fail-after-tokens,"
      + " --fail-after-code, --stall-after-tokens, --prefill-per-token, --kv-cache-blocks, --kv-block-tokens,"
      + " --itl-growth, --http-error-rate, --http-error-status, --retry-after, --malformed-after-tokens,"
      + " --close-after-tokens, --no-usage, --served-models, --api-key, --loading, --help, --version";

  private final ByteArrayOutputStream outBytes = new ByteArrayOutputStream();
  private final ByteArrayOutputStream errBytes = new ByteArrayOutputStream();

  private int run(String... args) {
    return SimCommand.run(args, new PrintStream(outBytes, true, StandardCharsets.UTF_8),
        new PrintStream(errBytes, true, StandardCharsets.UTF_8));
  }

  private String err() {
    return errBytes.toString(StandardCharsets.UTF_8);
  }

  private void assertUsageError(String expectedMessage, String... args) {
    assertThat(run(args)).isEqualTo(2);
    assertThat(err()).startsWith("llmproxy: " + expectedMessage + "\n")
        .doesNotContain("Exception")
        .doesNotContain("\tat ");
    assertThat(outBytes.size()).isZero();
  }

  @Test
  void negativeInterTokenLatencyIsAUsageErrorNamingFlagValueAndExpectation() {
    assertUsageError("--itl: '-5ms' (expected: a duration >= 0, like 20ms)", "--itl", "-5ms");
  }

  @Test
  void malformedDurationIsAUsageError() {
    assertUsageError("--ttft: 'fast' (expected: a duration like 200ms, 1.5s or 0)", "--ttft=fast");
  }

  @Test
  void badNumbersAndCodesAreUsageErrors() {
    assertUsageError("--port: '70000' (expected: an integer from 0 to 65535)", "--port", "70000");
    errBytes.reset();
    assertUsageError("--max-concurrency: 'many' (expected: an integer >= 0)", "--max-concurrency", "many");
    errBytes.reset();
    assertUsageError("--fail-rate: '1.5' (expected: a number from 0 to 1, like 0.1)", "--fail-rate", "1.5");
    errBytes.reset();
    assertUsageError("--fail-code: 'BOGUS' (expected: a gRPC error code like UNAVAILABLE, INTERNAL or"
        + " RESOURCE_EXHAUSTED)", "--fail-code", "BOGUS");
    errBytes.reset();
    assertUsageError("--fail-code: 'ok' (expected: a gRPC error code like UNAVAILABLE, INTERNAL or"
        + " RESOURCE_EXHAUSTED)", "--fail-code", "ok");
    errBytes.reset();
    assertUsageError("--name: 'sim a' (expected: printable ASCII without spaces, like sim-a)",
        "--name", "sim a");
    errBytes.reset();
    assertUsageError("--seed: '0.5' (expected: a whole number, like 42)", "--seed", "0.5");
  }

  @Test
  void unknownFlagsMissingValuesAndStrayArgumentsAreUsageErrors() {
    assertUsageError("--colour: unknown flag (expected one of: " + ALL_FLAGS + ")", "--colour", "blue");
    errBytes.reset();
    assertUsageError("--verbose: unknown flag (expected one of: " + ALL_FLAGS + ")", "--verbose");
    errBytes.reset();
    assertUsageError("--port: missing value (expected: a value; --help lists them)", "--port");
    errBytes.reset();
    assertUsageError("'7001': unexpected argument (expected: flags like --port 7001)", "7001");
  }

  @Test
  void helpPrintsUsageAndExitsZero() {
    assertThat(run("--help")).isZero();
    assertThat(outBytes.toString(StandardCharsets.UTF_8))
        .startsWith("Usage: llmproxy sim")
        .contains("--ttft=DURATION", "--stall-after-tokens=N", "--prefill-per-token=DURATION",
            "--kv-cache-blocks=N", "--kv-block-tokens=N", "--itl-growth=X", "--protocol=grpc|openai",
            "--loading=DURATION", "--seed=N", "Engine model");
    assertThat(err()).isEmpty();
  }

  @Test
  void parsesEveryFlagIntoTheConfig() throws Exception {
    SimCommand.Options options = SimCommand.parse(new String[] {
        "--port", "7001", "--host", "0.0.0.0", "--name", "sim-a", "--ttft", "200ms", "--itl=20ms",
        "--jitter", "5ms", "--seed", "-42", "--max-concurrency", "8", "--max-queue", "100", "--fail-rate", "0.1",
        "--fail-code", "unavailable", "--fail-after-tokens", "5", "--fail-after-code", "DATA_LOSS",
        "--stall-after-tokens", "7"});

    assertThat(options.help()).isFalse();
    assertThat(options.host()).isEqualTo("0.0.0.0");
    assertThat(options.port()).isEqualTo(7001);
    assertThat(options.config()).isEqualTo(SimulatedBackendConfig.defaults("sim-a")
        .withTimeToFirstToken(Duration.ofMillis(200))
        .withInterTokenLatency(Duration.ofMillis(20))
        .withJitter(Duration.ofMillis(5))
        .withSeed(-42)
        .withMaxConcurrency(8)
        .withMaxQueue(100)
        .withFaults(new Faults(0.1, Status.Code.UNAVAILABLE, 5, Status.Code.DATA_LOSS, 7)));
  }

  @Test
  void parsesTheOpenAiProtocolAndItsFlags() throws Exception {
    SimCommand.Options options = SimCommand.parse(new String[] {
        "--protocol", "openai", "--port", "8000", "--ttft", "50ms", "--itl", "20ms",
        "--http-error-rate", "0.25", "--http-error-status", "429", "--retry-after", "2",
        "--malformed-after-tokens", "3", "--close-after-tokens=9", "--no-usage",
        "--served-models", "llama-3, qwen", "--api-key", "k-1", "--loading", "2s",
        "--fail-code", "RESOURCE_EXHAUSTED"});

    assertThat(options.protocol()).isEqualTo(SimCommand.Protocol.OPENAI);
    assertThat(options.port()).isEqualTo(8000);
    assertThat(options.config().faults()).isEqualTo(new Faults(0, Status.Code.RESOURCE_EXHAUSTED, -1,
        Status.Code.INTERNAL, -1, 0.25, 429, 2, 3, 9));
    assertThat(options.openAi()).isEqualTo(OpenAiSimSettings.defaults()
        .withUsageChunk(false)
        .withServedModels(List.of("llama-3", "qwen"))
        .withApiKey("k-1"));
    assertThat(options.loading()).isEqualTo(Duration.ofSeconds(2));
    assertThat(SimCommand.parse(new String[0]).protocol()).isEqualTo(SimCommand.Protocol.GRPC);
  }

  @Test
  void badOpenAiFlagsAreUsageErrors() {
    assertUsageError("--protocol: 'http' (expected: grpc or openai)", "--protocol", "http");
    errBytes.reset();
    assertUsageError("--http-error-status: '200' (expected: an integer from 400 to 599)",
        "--protocol", "openai", "--http-error-status", "200");
    errBytes.reset();
    assertUsageError("--http-error-rate: '2' (expected: a number from 0 to 1, like 0.1)",
        "--protocol", "openai", "--http-error-rate", "2");
    errBytes.reset();
    assertUsageError("--retry-after: '-1' (expected: an integer >= 0)",
        "--protocol", "openai", "--retry-after", "-1");
    errBytes.reset();
    assertUsageError("--close-after-tokens: 'x' (expected: an integer >= -1)",
        "--protocol", "openai", "--close-after-tokens", "x");
    errBytes.reset();
    assertUsageError("--no-usage: takes no value", "--protocol", "openai", "--no-usage=true");
    errBytes.reset();
    assertUsageError("--served-models: 'a,,b' (expected: model names separated by commas)",
        "--protocol", "openai", "--served-models", "a,,b");
    errBytes.reset();
    assertUsageError("--api-key: (expected: printable ASCII without spaces)",
        "--protocol", "openai", "--api-key", "secret with spaces");
    assertThat(err()).doesNotContain("secret");
    errBytes.reset();
    assertUsageError("--no-usage: only with --protocol openai", "--no-usage");
  }

  @Test
  void runServesTheOpenAiApiAndPrintsItsUrl() throws Exception {
    PipedInputStream pipe = new PipedInputStream();
    PrintStream out = new PrintStream(new PipedOutputStream(pipe), true, StandardCharsets.UTF_8);
    CompletableFuture<Integer> exit = new CompletableFuture<>();
    Thread command = new Thread(() -> exit.complete(SimCommand.run(
        new String[] {"--protocol", "openai", "--port", "0", "--name", "sim-http", "--itl", "1ms"},
        out, System.err)));
    command.start();
    String line = new BufferedReader(new InputStreamReader(pipe, StandardCharsets.UTF_8)).readLine();

    Matcher m = Pattern.compile("simulated backend sim-http listening on (http://127\\.0\\.0\\.1:\\d+)"
        + " \\(openai\\)").matcher(line);
    assertThat(m.matches()).as(line).isTrue();
    HttpResponse<String> response = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()
        .send(HttpRequest.newBuilder(URI.create(m.group(1) + "/v1/completions"))
            .timeout(Duration.ofSeconds(10))
            .POST(HttpRequest.BodyPublishers.ofString(
                "{\"model\":\"m\",\"prompt\":\"hi\",\"max_tokens\":3}"))
            .build(), HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.headers().firstValue("llmproxy-upstream")).hasValue("sim-http");

    command.interrupt();
    assertThat(exit.get(10, TimeUnit.SECONDS)).isZero();
  }

  @Test
  void portInUseFailsWithExitCodeOneAndNoStackTrace() throws Exception {
    try (SimulatedBackend taken = SimulatedBackend.start(SimulatedBackendConfig.defaults("taken"))) {
      assertThat(run("--port", Integer.toString(taken.port()))).isEqualTo(1);
      assertThat(err()).startsWith("llmproxy: sim: cannot listen on 127.0.0.1:" + taken.port() + ": ")
          .doesNotContain("\tat ");
    }
  }

  @Test
  void runServesAndPrintsWhereUntilInterrupted() throws Exception {
    PipedInputStream pipe = new PipedInputStream();
    PrintStream out = new PrintStream(new PipedOutputStream(pipe), true, StandardCharsets.UTF_8);
    CompletableFuture<Integer> exit = new CompletableFuture<>();
    Thread command = new Thread(() -> exit.complete(SimCommand.run(
        new String[] {"--port", "0", "--name", "sim-cli", "--itl", "1ms"}, out, System.err)));
    command.start();
    String line = new BufferedReader(new InputStreamReader(pipe, StandardCharsets.UTF_8)).readLine();

    Matcher m = Pattern.compile("simulated backend sim-cli listening on 127\\.0\\.0\\.1:(\\d+)").matcher(line);
    assertThat(m.matches()).as(line).isTrue();
    ManagedChannel channel = NettyChannelBuilder.forTarget("127.0.0.1:" + m.group(1)).usePlaintext().build();
    try {
      String text = LlmProxyGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
          .complete(BackendFixture.prompt("hi", 3)).getText();
      assertThat(text.split(" ")).hasSize(3);
    } finally {
      channel.shutdownNow();
    }

    command.interrupt();
    assertThat(exit.get(10, TimeUnit.SECONDS)).isZero();
  }
}
