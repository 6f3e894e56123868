package dev.llmproxy.bench;

import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * What a scenario runs with: the server jar it starts as processes, its flags, where results go
 * ({@code resultsDir/<name>.json|.png}), the generator and the log. JVM flags for the processes
 * are fixed here so every scenario measures the same setup.
 */
record ScenarioContext(Path serverJar, Options options, Path resultsDir, String resultName,
    LoadGenerator generator, PrintStream log) {

  static final List<String> SIM_JVM = List.of("-Xms256m", "-Xmx512m", "-XX:+UseParallelGC");
  static final List<String> PROXY_JVM = List.of("-Xms1g", "-Xmx1g");
  static final Duration CALL_TIMEOUT = Duration.ofSeconds(120);

  Path file(String extension) {
    return resultsDir.resolve(resultName + "." + extension);
  }
}
