package dev.llmproxy.server.observability;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

/** The Prometheus text a proxy serves, read as a scraper reads it. For tests. */
public final class Exposition {
  private Exposition() {}

  /** GETs {@code /metrics} on the loopback {@code port}; fails unless it answers 200 with text. */
  public static String scrape(int port) throws Exception {
    HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + port + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
    if (response.statusCode() != 200
        || !response.headers().firstValue("Content-Type").orElse("").startsWith("text/plain")) {
      throw new AssertionError("/metrics answered " + response.statusCode() + " " + response.headers());
    }
    return response.body();
  }

  /** The sum of every sample of {@code metric} whose labels include all of {@code labels}; 0 if none. */
  public static double sum(String exposition, String metric, String... labels) {
    double total = 0;
    for (String line : exposition.split("\n")) {
      if (line.startsWith("#") || !(line.startsWith(metric + "{") || line.startsWith(metric + " "))) {
        continue;
      }
      String series = line.substring(0, line.lastIndexOf(' '));
      boolean match = true;
      for (String label : labels) {
        match &= series.contains(label);
      }
      if (match) {
        total += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    return total;
  }
}
