package dev.llmproxy.bench;

/** Reads samples out of the Prometheus text format. */
final class PrometheusText {
  private PrometheusText() {}

  /** The sum of every sample of {@code metric} whose label set contains all of {@code labels}. */
  static double sum(String exposition, String metric, String... labels) {
    double total = 0;
    for (String line : exposition.split("\n")) {
      if (line.startsWith("#") || !(line.startsWith(metric + "{") || line.startsWith(metric + " "))) {
        continue;
      }
      int space = line.lastIndexOf(' ');
      String series = line.substring(0, space);
      boolean match = true;
      for (String label : labels) {
        match &= series.contains(label);
      }
      if (match) {
        total += Double.parseDouble(line.substring(space + 1));
      }
    }
    return total;
  }
}
