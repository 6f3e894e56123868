package dev.llmproxy.orca;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.StringJoiner;

/**
 * The HTTP form of ORCA load reports, as vLLM's OpenAI-compatible server speaks it: a client asks
 * with the request header {@value #FORMAT_HEADER} ({@code TEXT} or {@code JSON}) and the server
 * answers with {@value #REPORT_HEADER}, e.g.
 * <pre>
 *   endpoint-load-metrics: TEXT named_metrics.kv_cache_usage_perc=0.4, named_metrics.num_requests_waiting=3
 *   endpoint-load-metrics: JSON {"named_metrics": {"kv_cache_usage_perc": 0.4}}
 *   endpoint-load-metrics: BIN CgQ...   (base64 of the serialized OrcaLoadReport)
 * </pre>
 * TEXT keys are the proto field names, map entries as {@code map.key}; JSON takes the proto field
 * names or their lowerCamel JSON names. Thread-safe.
 */
public final class LoadReportHeader {
  /** The request header that asks for a report, naming its format. */
  public static final String FORMAT_HEADER = "endpoint-load-metrics-format";
  /** The response header that carries the report. */
  public static final String REPORT_HEADER = "endpoint-load-metrics";

  /** The formats a report header comes in. */
  public enum Format { TEXT, JSON, BIN }

  private final ObjectMapper json;

  public LoadReportHeader(ObjectMapper json) {
    this.json = json;
  }

  /** The format a {@value #FORMAT_HEADER} value asks for, or null if none this class writes. */
  public static Format requested(String formatHeader) {
    if (formatHeader == null) {
      return null;
    }
    return switch (formatHeader.trim().toUpperCase(Locale.ROOT)) {
      case "TEXT" -> Format.TEXT;
      case "JSON" -> Format.JSON;
      case "BIN" -> Format.BIN;
      default -> null;
    };
  }

  /** The {@value #REPORT_HEADER} value for {@code report}, in {@code format}. */
  public String format(LoadReport report, Format format) {
    return switch (format) {
      case TEXT -> "TEXT " + text(report);
      case JSON -> "JSON " + jsonText(report);
      case BIN -> "BIN " + Base64.getEncoder().encodeToString(LoadReportProto.encode(report));
    };
  }

  /**
   * Parses a {@value #REPORT_HEADER} value.
   *
   * @throws IllegalArgumentException naming what was wrong, if it is not a report
   */
  public LoadReport parse(String value) {
    String trimmed = value.trim();
    int space = trimmed.indexOf(' ');
    String format = (space < 0 ? trimmed : trimmed.substring(0, space)).toUpperCase(Locale.ROOT);
    String body = space < 0 ? "" : trimmed.substring(space + 1).trim();
    return switch (format) {
      case "TEXT" -> parseText(body);
      case "JSON" -> parseJson(body);
      case "BIN" -> {
        try {
          yield LoadReportProto.decode(Base64.getDecoder().decode(body));
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException(REPORT_HEADER + ": BIN " + abbreviate(body)
              + " (expected: base64 of an OrcaLoadReport)");
        }
      }
      default -> throw new IllegalArgumentException(REPORT_HEADER + ": " + abbreviate(trimmed)
          + " (expected: TEXT, JSON or BIN followed by the report)");
    };
  }

  private static String text(LoadReport report) {
    StringJoiner out = new StringJoiner(", ");
    if (report.cpuUtilization() != 0) {
      out.add("cpu_utilization=" + report.cpuUtilization());
    }
    if (report.memUtilization() != 0) {
      out.add("mem_utilization=" + report.memUtilization());
    }
    if (report.applicationUtilization() != 0) {
      out.add("application_utilization=" + report.applicationUtilization());
    }
    report.utilization().forEach((k, v) -> out.add("utilization." + k + "=" + v));
    report.namedMetrics().forEach((k, v) -> out.add("named_metrics." + k + "=" + v));
    return out.toString();
  }

  private String jsonText(LoadReport report) {
    ObjectNode root = json.createObjectNode();
    if (report.cpuUtilization() != 0) {
      root.put("cpu_utilization", report.cpuUtilization());
    }
    if (report.memUtilization() != 0) {
      root.put("mem_utilization", report.memUtilization());
    }
    if (report.applicationUtilization() != 0) {
      root.put("application_utilization", report.applicationUtilization());
    }
    if (!report.utilization().isEmpty()) {
      ObjectNode map = root.putObject("utilization");
      report.utilization().forEach(map::put);
    }
    ObjectNode named = root.putObject("named_metrics");
    report.namedMetrics().forEach(named::put);
    return root.toString();
  }

  private static LoadReport parseText(String body) {
    double cpu = 0;
    double mem = 0;
    double application = 0;
    Map<String, Double> utilization = new LinkedHashMap<>();
    Map<String, Double> named = new LinkedHashMap<>();
    for (String pair : body.split(",")) {
      if (pair.isBlank()) {
        continue;
      }
      int eq = pair.indexOf('=');
      if (eq < 0) {
        throw new IllegalArgumentException(REPORT_HEADER + ": TEXT " + abbreviate(pair.trim())
            + " (expected: name=number pairs separated by commas)");
      }
      String key = pair.substring(0, eq).trim();
      double value = number(key, pair.substring(eq + 1).trim());
      if (key.startsWith("named_metrics.")) {
        named.put(key.substring("named_metrics.".length()), value);
      } else if (key.startsWith("utilization.")) {
        utilization.put(key.substring("utilization.".length()), value);
      } else if (key.equals("cpu_utilization")) {
        cpu = value;
      } else if (key.equals("mem_utilization")) {
        mem = value;
      } else if (key.equals("application_utilization")) {
        application = value;
      }
      // Other fields (rps_fractional, eps, request_cost.*) say nothing about load; skipped.
    }
    return new LoadReport(cpu, mem, application, utilization, named);
  }

  private LoadReport parseJson(String body) {
    JsonNode root;
    try {
      root = json.readTree(body);
    } catch (JsonProcessingException e) {
      root = null;
    }
    if (root == null || !root.isObject()) {
      throw new IllegalArgumentException(REPORT_HEADER + ": JSON " + abbreviate(body) + " (expected: a JSON object)");
    }
    return new LoadReport(jsonNumber(root, "cpu_utilization", "cpuUtilization"),
        jsonNumber(root, "mem_utilization", "memUtilization"),
        jsonNumber(root, "application_utilization", "applicationUtilization"),
        jsonMap(root, "utilization", "utilization"), jsonMap(root, "named_metrics", "namedMetrics"));
  }

  private static double jsonNumber(JsonNode root, String name, String jsonName) {
    JsonNode node = root.has(name) ? root.get(name) : root.get(jsonName);
    if (node == null || node.isNull()) {
      return 0;
    }
    if (!node.isNumber()) {
      throw new IllegalArgumentException(REPORT_HEADER + ": JSON " + name + ": " + abbreviate(node.toString())
          + " (expected: a number)");
    }
    return node.doubleValue();
  }

  private static Map<String, Double> jsonMap(JsonNode root, String name, String jsonName) {
    JsonNode node = root.has(name) ? root.get(name) : root.get(jsonName);
    Map<String, Double> map = new LinkedHashMap<>();
    if (node == null || node.isNull()) {
      return map;
    }
    if (!node.isObject()) {
      throw new IllegalArgumentException(REPORT_HEADER + ": JSON " + name + ": " + abbreviate(node.toString())
          + " (expected: an object of numbers)");
    }
    node.fields().forEachRemaining(e -> map.put(e.getKey(), jsonNumber(node, e.getKey(), e.getKey())));
    return map;
  }

  private static double number(String key, String text) {
    try {
      return Double.parseDouble(text);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(REPORT_HEADER + ": TEXT " + key + "=" + abbreviate(text)
          + " (expected: a number)");
    }
  }

  private static String abbreviate(String text) {
    return text.length() <= 64 ? text : text.substring(0, 61) + "...";
  }
}
