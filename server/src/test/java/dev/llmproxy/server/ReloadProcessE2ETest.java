package dev.llmproxy.server;

import static dev.llmproxy.server.ProxyFixture.prompt;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.llmproxy.sim.SimulatedBackend;
import dev.llmproxy.sim.SimulatedBackendConfig;
import dev.llmproxy.v1.LlmProxyGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.DisabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

/** The proxy as a process: SIGHUP and an edit of the config file reload it; neither stops it. */
@Timeout(120)
@DisabledOnOs(OS.WINDOWS)
class ReloadProcessE2ETest {
  private static final Metadata.Key<String> UPSTREAM = Metadata.Key.of("llmproxy-upstream",
      Metadata.ASCII_STRING_MARSHALLER);

  @TempDir Path dir;
  private final List<SimulatedBackend> sims = new ArrayList<>();
  private Path config;
  private Path errors;
  private Process process;
  private ManagedChannel channel;

  @BeforeEach
  void startUpstreams() throws Exception {
    for (String name : List.of("gpu-a", "gpu-b")) {
      sims.add(SimulatedBackend.start("127.0.0.1", 0, SimulatedBackendConfig.defaults(name)
          .withInterTokenLatency(Duration.ofMillis(20)).withMaxConcurrency(0)));
    }
    config = dir.resolve("llmproxy.yaml");
    errors = dir.resolve("proxy.err");
  }

  @AfterEach
  void stop() throws Exception {
    if (channel != null) {
      channel.shutdownNow();
    }
    if (process != null && process.isAlive()) {
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
    sims.forEach(SimulatedBackend::close);
  }

  private void writeConfig(String... upstreams) throws Exception {
    StringBuilder list = new StringBuilder();
    for (String name : upstreams) {
      SimulatedBackend sim = sims.stream().filter(s -> s.name().equals(name)).findFirst().orElseThrow();
      list.append(list.length() == 0 ? "" : ", ").append("{name: ").append(name).append(", address: \"")
          .append(sim.address()).append("\"}");
    }
    // Written beside and moved into place, as an editor or a Kubernetes volume does.
    Path next = dir.resolve("llmproxy.yaml.next");
    Files.writeString(next, "server: {host: 127.0.0.1, port: 0}\n"
        + "routes: [{name: chat, default: true, models: [\"*\"], lb: round_robin, upstreams: [" + list + "]}]\n");
    Files.move(next, config, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
        java.nio.file.StandardCopyOption.ATOMIC_MOVE);
  }

  private void startProxy(String... flags) throws Exception {
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), "dev.llmproxy.server.Main", "--config", config.toString()));
    command.addAll(List.of(flags));
    process = new ProcessBuilder(command).redirectError(errors.toFile()).start();
    BufferedReader output = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    CompletableFuture<Integer> listening = new CompletableFuture<>();
    Thread reader = new Thread(() -> {
      Pattern banner = Pattern.compile("llmproxy listening on 127\\.0\\.0\\.1:(\\d+)");
      try {
        for (String line = output.readLine(); line != null; line = output.readLine()) {
          Matcher m = banner.matcher(line);
          if (m.find()) {
            listening.complete(Integer.parseInt(m.group(1)));
          }
        }
      } catch (java.io.IOException e) {
        // the process ended
      }
      listening.completeExceptionally(new AssertionError("no banner"));
    }, "proxy-output");
    reader.setDaemon(true);
    reader.start();
    int port = listening.get(30, TimeUnit.SECONDS);
    channel = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
  }

  private String upstreamOfACall() {
    AtomicReference<Metadata> headers = new AtomicReference<>();
    LlmProxyGrpc.newBlockingStub(channel)
        .withInterceptors(MetadataUtils.newCaptureMetadataInterceptor(headers, new AtomicReference<>()))
        .withDeadlineAfter(20, TimeUnit.SECONDS).complete(prompt("hi", 2));
    return headers.get().get(UPSTREAM);
  }

  private String errorOutput() throws Exception {
    return Files.readString(errors);
  }

  @Test
  void sighupReloadsTheConfigWithoutCuttingStreamsOrStopping() throws Exception {
    writeConfig("gpu-a");
    startProxy("--no-watch");
    List<StreamProbe> streams = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      streams.add(StreamProbe.start(channel, prompt("stream " + i, 100), Duration.ofSeconds(60)));
    }
    await().atMost(Duration.ofSeconds(60)).until(() -> streams.stream().allMatch(s -> s.chunks() > 0));
    writeConfig("gpu-a", "gpu-b");

    new ProcessBuilder("kill", "-HUP", Long.toString(process.pid())).start().waitFor(10, TimeUnit.SECONDS);

    await().atMost(Duration.ofSeconds(60)).until(() -> errorOutput().contains("SIGHUP: config reloaded"));
    await().atMost(Duration.ofSeconds(60)).until(() -> "gpu-b".equals(upstreamOfACall()));
    for (StreamProbe stream : streams) {
      StreamProbe.Result result = stream.await(Duration.ofSeconds(60));
      assertThat(result.status().getCode()).isEqualTo(Status.Code.OK);
      assertThat(result.chunks()).isEqualTo(100);
    }
    assertThat(process.isAlive()).isTrue();
  }

  @Test
  void anEditedConfigFileIsReloadedAndABrokenOneIsReportedAndKept() throws Exception {
    writeConfig("gpu-a");
    startProxy();

    writeConfig("gpu-b");
    await().atMost(Duration.ofSeconds(60)).until(() -> "gpu-b".equals(upstreamOfACall()));

    Files.writeString(config, "routes: [{name: chat, lb: rr}]\n");
    await().atMost(Duration.ofSeconds(60)).until(() -> errorOutput().contains("config reload failed"));
    assertThat(errorOutput()).contains("routes[0]");
    assertThat(upstreamOfACall()).isEqualTo("gpu-b");
    assertThat(process.isAlive()).isTrue();
  }
}
