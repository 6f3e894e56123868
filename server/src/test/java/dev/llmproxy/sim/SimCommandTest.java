package dev.llmproxy.sim;

import static org.assertj.core.api.Assertions.assertThat;

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
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class SimCommandTest {
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
    assertThat(err()).startsWith("sim: " + expectedMessage + "\n")
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
  }

  @Test
  void unknownFlagsMissingValuesAndStrayArgumentsAreUsageErrors() {
    assertUsageError("unknown flag --colour (expected one of: --host, --port, --name, --ttft, --itl,"
        + " --jitter, --max-concurrency, --max-queue, --fail-rate, --fail-code, --fail-after-tokens,"
        + " --fail-after-code, --stall-after-tokens, --help)", "--colour", "blue");
    errBytes.reset();
    assertUsageError("unknown flag --verbose (expected one of: --host, --port, --name, --ttft, --itl,"
        + " --jitter, --max-concurrency, --max-queue, --fail-rate, --fail-code, --fail-after-tokens,"
        + " --fail-after-code, --stall-after-tokens, --help)", "--verbose");
    errBytes.reset();
    assertUsageError("--port: missing value", "--port");
    errBytes.reset();
    assertUsageError("unexpected argument '7001' (expected: flags like --port 7001)", "7001");
  }

  @Test
  void helpPrintsUsageAndExitsZero() {
    assertThat(run("--help")).isZero();
    assertThat(outBytes.toString(StandardCharsets.UTF_8))
        .startsWith("Usage: llmproxy sim")
        .contains("--ttft DURATION", "--stall-after-tokens N");
    assertThat(err()).isEmpty();
  }

  @Test
  void parsesEveryFlagIntoTheConfig() throws Exception {
    SimCommand.Options options = SimCommand.parse(new String[] {
        "--port", "7001", "--host", "0.0.0.0", "--name", "sim-a", "--ttft", "200ms", "--itl=20ms",
        "--jitter", "5ms", "--max-concurrency", "8", "--max-queue", "100", "--fail-rate", "0.1",
        "--fail-code", "unavailable", "--fail-after-tokens", "5", "--fail-after-code", "DATA_LOSS",
        "--stall-after-tokens", "7"});

    assertThat(options.help()).isFalse();
    assertThat(options.host()).isEqualTo("0.0.0.0");
    assertThat(options.port()).isEqualTo(7001);
    assertThat(options.config()).isEqualTo(SimulatedBackendConfig.defaults("sim-a")
        .withTimeToFirstToken(Duration.ofMillis(200))
        .withInterTokenLatency(Duration.ofMillis(20))
        .withJitter(Duration.ofMillis(5))
        .withMaxConcurrency(8)
        .withMaxQueue(100)
        .withFaults(new Faults(0.1, Status.Code.UNAVAILABLE, 5, Status.Code.DATA_LOSS, 7)));
  }

  @Test
  void portInUseFailsWithExitCodeOneAndNoStackTrace() throws Exception {
    try (SimulatedBackend taken = SimulatedBackend.start(SimulatedBackendConfig.defaults("taken"))) {
      assertThat(run("--port", Integer.toString(taken.port()))).isEqualTo(1);
      assertThat(err()).startsWith("sim: cannot listen on 127.0.0.1:" + taken.port() + ": ")
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
