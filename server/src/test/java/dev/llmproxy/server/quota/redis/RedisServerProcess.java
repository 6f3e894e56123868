package dev.llmproxy.server.quota.redis;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * A real {@code redis-server} child process on a free loopback port, without persistence, for the
 * tests of the Redis quota store. When {@code redis-server} is not on the PATH the calling test is
 * skipped with the reason, unless {@code LLMPROXY_REQUIRE_REDIS=1} (set by {@code .ci/run}) makes
 * that a failure. The process is stopped by its own handle, never by name.
 */
public final class RedisServerProcess implements AutoCloseable {
  static final String REQUIRE_ENV = "LLMPROXY_REQUIRE_REDIS";

  private final Path binary;
  private final int port;
  private Process process;
  private boolean paused;

  private RedisServerProcess(Path binary, int port) {
    this.binary = binary;
    this.port = port;
  }

  /**
   * Starts a server, or skips (or fails, when required) the test if none is installed. Call it from
   * {@code @BeforeEach} (not {@code @BeforeAll}), so every test reports itself skipped, with the reason.
   */
  public static RedisServerProcess start() throws IOException, InterruptedException {
    // -Dllmproxy.test.redis-server=<path> picks another binary ("none": behave as if none is installed).
    String override = System.getProperty("llmproxy.test.redis-server");
    Path binary = override == null ? findOnPath("redis-server")
        : override.equals("none") || !Files.isExecutable(Path.of(override)) ? null : Path.of(override);
    if (binary == null) {
      if ("1".equals(System.getenv(REQUIRE_ENV))) {
        fail("redis-server is not on the PATH, and " + REQUIRE_ENV + "=1 requires the Redis tests to run "
            + "(install the Debian package redis-server)");
      }
      Assumptions.abort("redis-server is not on the PATH: Redis quota tests skipped (install the redis-server "
          + "package; " + REQUIRE_ENV + "=1 turns this skip into a failure)");
    }
    RedisServerProcess redis = new RedisServerProcess(binary, freePort());
    redis.launch();
    return redis;
  }

  public String uri() {
    return "redis://127.0.0.1:" + port;
  }

  public int port() {
    return port;
  }

  /** Stops the server (SIGTERM, as an operator would); {@link #restart()} brings it back, empty. */
  public synchronized void stop() throws InterruptedException {
    resume();
    if (process != null && process.isAlive()) {
      process.destroy();
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    }
  }

  /** Starts the server again on the same port. */
  public synchronized void restart() throws IOException, InterruptedException {
    stop();
    launch();
  }

  /** Freezes the server (SIGSTOP): connections stay open but nothing is answered. */
  public synchronized void pause() throws IOException, InterruptedException {
    signal("-STOP");
    paused = true;
  }

  /** Thaws a {@link #pause() paused} server (SIGCONT). */
  public synchronized void resume() throws InterruptedException {
    if (paused) {
      try {
        signal("-CONT");
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
      paused = false;
    }
  }

  @Override
  public void close() {
    try {
      stop();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void launch() throws IOException, InterruptedException {
    process = new ProcessBuilder(List.of(binary.toString(), "--port", Integer.toString(port), "--bind", "127.0.0.1",
        "--save", "", "--appendonly", "no"))
        .redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .redirectError(ProcessBuilder.Redirect.DISCARD)
        .start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IOException("redis-server exited at start with code " + process.exitValue() + " (port " + port + ")");
      }
      if (answersPing()) {
        return;
      }
      Thread.sleep(20);
    }
    stop();
    throw new IOException("redis-server did not answer PING within 10s on port " + port);
  }

  private boolean answersPing() {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", port), 200);
      socket.setSoTimeout(500);
      OutputStream out = socket.getOutputStream();
      out.write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII));
      return "+PONG".equals(in.readLine());
    } catch (IOException e) {
      return false;
    }
  }

  private void signal(String signal) throws IOException, InterruptedException {
    if (process != null && process.isAlive()) {
      Process kill = new ProcessBuilder("kill", signal, Long.toString(process.pid())).start();
      kill.waitFor(5, TimeUnit.SECONDS);
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }

  private static Path findOnPath(String name) {
    String path = System.getenv("PATH");
    if (path == null) {
      return null;
    }
    for (String dir : path.split(File.pathSeparator)) {
      Path candidate = Path.of(dir, name);
      if (Files.isExecutable(candidate)) {
        return candidate;
      }
    }
    return null;
  }
}
