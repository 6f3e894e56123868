package dev.llmproxy.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command line: subcommands, generated help, and one error format with exit code 2. */
class CliTest {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();
  @TempDir Path dir;

  private int run(String... args) {
    return Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
  }

  private String out() {
    return out.toString(StandardCharsets.UTF_8);
  }

  private String err() {
    return err.toString(StandardCharsets.UTF_8);
  }

  @Test
  void helpListsTheCommandsAndTheServeFlags() {
    assertThat(run("--help")).isZero();
    assertThat(out()).contains("serve", "sim", "bridge", "check-config", "health", "--config", "--upstreams",
        "--no-watch", "SIGHUP");
  }

  @Test
  void eachCommandHasItsOwnHelp() {
    assertThat(run("check-config", "--help")).isZero();
    assertThat(out()).contains("FILE", "without starting");
    assertThat(run("serve", "--help")).isZero();
    assertThat(run("sim", "--help")).isZero();
    assertThat(out()).contains("--ttft");
    assertThat(run("bridge", "--help")).isZero();
    assertThat(out()).contains("--upstream=URL", "--health-path");
  }

  @Test
  void checkConfigAcceptsAValidFileWithoutStartingAnything() throws Exception {
    Path file = dir.resolve("ok.yaml");
    Files.writeString(file, "server: {port: 1}\nroutes: [{name: chat, default: true, upstreams: [\"127.0.0.1:1\"]}]\n");
    assertThat(run("check-config", file.toString())).isZero();
    assertThat(out()).contains(file + ": valid", "routes: chat");
  }

  @Test
  void checkConfigRefusesABadFileNamingTheSettingWithExitCode2() throws Exception {
    Path file = dir.resolve("bad.yaml");
    Files.writeString(file, "routes: [{name: chat, default: true, lb: rr, upstreams: [\"127.0.0.1:1\"]}]\n");
    assertThat(run("check-config", file.toString())).isEqualTo(2);
    assertThat(err()).contains("llmproxy: routes[0].lb: \"rr\" (expected: one of").doesNotContain("Exception");
  }

  @Test
  void checkConfigRefusesACredentialFileThatCannotBeRead() throws Exception {
    Path file = dir.resolve("creds.yaml");
    Files.writeString(file, "routes: [{name: vllm, default: true, protocol: openai, upstreams: [\"http://127.0.0.1:1\"], "
        + "api_key: {file: " + dir.resolve("absent-key") + "}}]\n");
    assertThat(run("check-config", file.toString())).isEqualTo(2);
    assertThat(err()).contains("routes[0].api_key").contains("absent-key");
  }

  @Test
  void unknownCommandsAndFlagsAreRefusedTheSameWay() {
    assertThat(run("frobnicate")).isEqualTo(2);
    assertThat(err()).contains("llmproxy: frobnicate: unknown command (expected one of: serve, sim, bridge, "
        + "check-config, health)");
    assertThat(run("serve", "--colour", "red")).isEqualTo(2);
    assertThat(err()).contains("llmproxy: --colour: unknown flag");
    assertThat(run("check-config")).isEqualTo(2);
    assertThat(err()).contains("FILE");
  }

  @Test
  void versionIsPrinted() {
    assertThat(run("--version")).isZero();
    assertThat(out()).startsWith("llmproxy ");
  }

  @Test
  void healthRefusesABadAddressWithExitCode2() {
    assertThat(run("health", "no-port")).isEqualTo(2);
    assertThat(err()).contains("no-port");
  }
}
