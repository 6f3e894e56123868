package dev.llmproxy.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A few seconds of the overhead scenario as a user runs it: two simulated upstreams and a proxy as
 * processes of the server jar the reactor just built, load direct and through the proxy, CPU from
 * /proc, the JSON and the PNG written, every process stopped.
 */
@Timeout(180)
class ScenarioSmokeE2ETest {
  private static final Path SERVER_JAR = Path.of("..", "server", "target", "llmproxy-server.jar");

  @Test
  void overheadScenarioMeasuresDirectAndThroughTheProxyAndWritesJsonAndChart(@TempDir Path results) throws Exception {
    assertThat(SERVER_JAR).as("the server jar (built by the reactor before this module)").exists();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();

    int code = BenchMain.run(new String[] {"overhead", "--server-jar", SERVER_JAR.toString(), "--results",
        results.toString(), "--steps", "2", "--warmup", "1s", "--duration", "2s", "--progress", "off"},
        new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));

    assertThat(code).as(err.toString(StandardCharsets.UTF_8)).isZero();
    List<Path> files;
    try (Stream<Path> list = Files.list(results)) {
      files = list.toList();
    }
    assertThat(files).anySatisfy(f -> assertThat(f.toString()).endsWith(".png"));
    Path json = files.stream().filter(f -> f.toString().endsWith(".json")).findFirst().orElseThrow();
    String text = Files.readString(json);
    assertThat(text).contains("\"scenario\": \"overhead\"", "\"throughput_ratio\"", "\"added_p99_ms\"",
        "\"proxy_us_per_call\"", "\"sims_cores_direct\"", "\"target\": \"direct\"", "\"target\": \"llmproxy\"",
        "\"errors_by_status\": {}");
    assertThat(text).doesNotContain("\"ok\": 0,");
  }

  @Test
  void unknownScenarioOrFlagIsAUsageErrorNamingTheChoices(@TempDir Path results) throws Exception {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    PrintStream print = new PrintStream(err, true, StandardCharsets.UTF_8);

    assertThat(BenchMain.run(new String[] {"overhed"}, print, print)).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8)).contains("unknown scenario", "overhead", "relay", "scale");
    assertThat(BenchMain.run(new String[] {"load", "--target", "127.0.0.1:1", "--rpc", "bidi",
        "--results", results.toString()}, print, print))
        .isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8)).contains("--rpc: expected unary or stream");
  }
}
