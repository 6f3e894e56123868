package dev.llmproxy.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** A temporary llmproxy YAML config for a scenario's proxy process: one route over the sims. */
final class ProxyConfigFile {
  private ProxyConfigFile() {}

  /**
   * @param observability {@code off}, {@code metrics} (Prometheus endpoint on a free port) or
   *     {@code full} (metrics and the access log)
   */
  static Path write(List<String> upstreams, String lb, String observability) throws IOException {
    StringBuilder yaml = new StringBuilder("server: {host: 127.0.0.1, port: 0}\n");
    switch (observability) {
      case "off" -> { }
      case "metrics" -> yaml.append("observability:\n  metrics: {host: 127.0.0.1, port: 0}\n");
      case "full" -> yaml.append("observability:\n  metrics: {host: 127.0.0.1, port: 0}\n  access_log: true\n");
      default -> throw new IllegalArgumentException("--observability: " + observability
          + " (expected: off, metrics or full)");
    }
    yaml.append("routes:\n  - name: bench\n    models: [\"*\"]\n    default: true\n    lb: ").append(lb)
        .append("\n    upstreams:\n");
    for (String u : upstreams) {
      yaml.append("      - \"").append(u).append("\"\n");
    }
    Path file = Files.createTempFile("llmproxy-bench-", ".yaml");
    Files.writeString(file, yaml.toString());
    return file;
  }
}
