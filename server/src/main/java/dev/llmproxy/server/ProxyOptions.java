package dev.llmproxy.server;

import dev.llmproxy.server.config.ConfigException;
import dev.llmproxy.server.config.LbPolicy;
import dev.llmproxy.server.config.UpstreamEndpoint;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The proxy's command line: {@code [--config PATH] [--host H] [--port N] [--upstreams a:1,b:2]
 * [--lb POLICY]}. Flags override the config file; {@code --upstreams} replaces its routes with one
 * default route. Nothing at all starts the demo.
 */
record ProxyOptions(Path config, String host, Integer port, List<UpstreamEndpoint> upstreams, LbPolicy lb,
    boolean help, boolean printVersion) {
  private static final List<String> FLAGS = List.of("--config", "--host", "--port", "--upstreams", "--lb");

  static final String USAGE = """
      usage: java -jar llmproxy-server.jar [--config PATH] [--host HOST] [--port PORT]
                                           [--upstreams HOST:PORT,HOST:PORT --lb POLICY]
             java -jar llmproxy-server.jar --version
             java -jar llmproxy-server.jar sim --help     (the simulated backend)
             java -jar llmproxy-server.jar bridge --help  (one OpenAI-compatible engine as a gRPC upstream)

        --config PATH       YAML config file (see README); validated before anything starts
        --host HOST         listen address (default 127.0.0.1)
        --port PORT         listen port (default 50051; 0 picks a free port)
        --upstreams LIST    one default route over these upstreams, instead of the config's routes
        --lb POLICY         least_outstanding (default), round_robin or pick_first; with --upstreams
      With no --config and no --upstreams, the demo starts: three simulated upstreams in-process.
      """;

  static ProxyOptions parse(String[] args) {
    Path config = null;
    String host = null;
    Integer port = null;
    List<UpstreamEndpoint> upstreams = null;
    LbPolicy lb = null;
    for (int i = 0; i < args.length; i++) {
      String flag = args[i];
      if (flag.equals("--help") || flag.equals("-h")) {
        return new ProxyOptions(null, null, null, null, null, true, false);
      }
      if (flag.equals("--version")) {
        return new ProxyOptions(null, null, null, null, null, false, true);
      }
      String name = flag;
      String value;
      int eq = flag.indexOf('=');
      if (flag.startsWith("--") && eq > 0) {
        name = flag.substring(0, eq);
      }
      if (!FLAGS.contains(name)) {
        throw new ConfigException(name + ": unknown flag (expected one of: --config, --host, "
            + "--port, --upstreams, --lb, --help, --version)");
      }
      if (flag.startsWith("--") && eq > 0) {
        value = flag.substring(eq + 1);
      } else {
        if (i + 1 >= args.length) {
          throw new ConfigException(flag + ": missing value (expected: " + expected(flag) + ")");
        }
        value = args[++i];
      }
      switch (name) {
        case "--config" -> config = Path.of(value);
        case "--host" -> host = nonEmpty(name, value);
        case "--port" -> port = port(value);
        case "--upstreams" -> upstreams = upstreams(value);
        case "--lb" -> lb = lb(value);
        default -> throw new IllegalStateException(name); // FLAGS lists every flag above
      }
    }
    if (lb != null && upstreams == null) {
      throw new ConfigException("--lb: only applies with --upstreams (set lb per route in the config file)");
    }
    return new ProxyOptions(config, host, port, upstreams, lb, false, false);
  }

  /** The version in the jar's manifest; "development build" when run from classes (tests, IDE). */
  static String buildVersion() {
    String v = ProxyOptions.class.getPackage().getImplementationVersion();
    return v != null ? v : "development build";
  }

  private static String expected(String flag) {
    return switch (flag) {
      case "--port" -> "a port from 0 to 65535";
      case "--upstreams" -> "host:port,host:port";
      case "--lb" -> "a load-balancing policy";
      case "--config" -> "a path to a YAML file";
      default -> "a value";
    };
  }

  private static String nonEmpty(String flag, String value) {
    if (value.isBlank()) {
      throw ConfigException.invalid(flag, value, "a non-empty value");
    }
    return value;
  }

  /** A {@code --port} value: 0 to 65535. */
  static int port(String value) {
    try {
      int port = Integer.parseInt(value);
      if (port >= 0 && port <= 65535) {
        return port;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw ConfigException.invalid("--port", value, "a port from 0 to 65535");
  }

  private static List<UpstreamEndpoint> upstreams(String value) {
    List<UpstreamEndpoint> out = new ArrayList<>();
    for (String address : value.split(",", -1)) {
      out.add(UpstreamEndpoint.parse("--upstreams", address.trim()));
    }
    return out;
  }

  private static LbPolicy lb(String value) {
    for (LbPolicy p : LbPolicy.values()) {
      if (p.policyName().equals(value.toLowerCase(Locale.ROOT))) {
        return p;
      }
    }
    throw ConfigException.invalid("--lb", value, "one of " + String.join(", ",
        java.util.Arrays.stream(LbPolicy.values()).map(LbPolicy::policyName).toList()));
  }
}
