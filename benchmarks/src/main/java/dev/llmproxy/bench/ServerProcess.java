package dev.llmproxy.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A server jar run as a process of its own, so its CPU can be read from /proc apart from the load
 * generator's: {@code java <jvmArgs> -jar <jar> <args>}. Output goes to a temporary log file.
 * Started on loopback, stopped by its PID (SIGTERM, then SIGKILL after 10 s).
 */
final class ServerProcess implements AutoCloseable {
  private final String name;
  private final Process process;
  private final Path log;

  private ServerProcess(String name, Process process, Path log) {
    this.name = name;
    this.process = process;
    this.log = log;
  }

  /** Starts the process and waits until its output contains {@code readyLine}. */
  static ServerProcess start(String name, Path jar, List<String> jvmArgs, List<String> args, String readyLine,
      Duration timeout) throws IOException, InterruptedException {
    Path log = Files.createTempFile("llmproxy-bench-" + name + "-", ".log");
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(jvmArgs);
    command.add("-jar");
    command.add(jar.toString());
    command.addAll(args);
    Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    ServerProcess server = new ServerProcess(name, process, log);
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      String out = Files.readString(log);
      if (out.contains(readyLine)) {
        return server;
      }
      if (!process.isAlive()) {
        throw new IOException(name + " exited with code " + process.exitValue() + " before it was ready:\n" + out);
      }
      Thread.sleep(50);
    }
    server.close();
    throw new IOException(name + " was not ready after " + timeout + " (log: " + log + ")");
  }

  String name() {
    return name;
  }

  long pid() {
    return process.pid();
  }

  /** CPU seconds the process has used so far. */
  double cpuSeconds() {
    return ProcessCpu.seconds(process.pid());
  }

  Path log() {
    return log;
  }

  /** The {@code host:port} from the "listening on host:port" line the server printed. */
  String listenAddress() throws IOException {
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("listening on (\\S+)").matcher(Files.readString(log));
    if (!m.find()) {
      throw new IOException(name + " printed no 'listening on' line (log: " + log + ")");
    }
    return m.group(1);
  }

  @Override
  public void close() throws InterruptedException {
    if (process.isAlive()) {
      process.destroy();
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor(5, TimeUnit.SECONDS);
      }
    }
    try {
      Files.deleteIfExists(log);
    } catch (IOException e) {
      // A temporary file; the OS cleans up.
    }
  }
}
