package dev.llmproxy.server;

import dev.llmproxy.server.config.ConfigException;
import dev.llmproxy.server.config.LbPolicy;
import dev.llmproxy.server.config.UpstreamEndpoint;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine;

/**
 * The proxy's command line, validated: {@code [--config PATH] [--host H] [--port N]
 * [--upstreams a:1,b:2] [--lb POLICY] [--no-watch]}. Flags override the config file;
 * {@code --upstreams} replaces its routes with one default route. Nothing at all starts the demo.
 *
 * @param watch reload when the config file changes (SIGHUP reloads either way)
 */
record ProxyOptions(Path config, String host, Integer port, List<UpstreamEndpoint> upstreams, LbPolicy lb,
    boolean watch) {

  /** Parses and validates the serve flags alone, as {@code llmproxy [serve] ARGS} would. */
  static ProxyOptions parse(String[] args) {
    ServeFlags flags = new ServeFlags();
    CommandLine cli = new CommandLine(flags);
    try {
      cli.parseArgs(args);
    } catch (CommandLine.ParameterException e) {
      throw new ConfigException(Cli.describe(e));
    }
    return flags.options();
  }

  /** The version in the jar's manifest; "development build" when run from classes (tests, IDE). */
  static String buildVersion() {
    String v = ProxyOptions.class.getPackage().getImplementationVersion();
    return v != null ? v : "development build";
  }

  /** What a flag's value must be, for "missing value" messages. */
  static String expected(String flag) {
    return switch (flag) {
      case "--port" -> "a port from 0 to 65535";
      case "--upstreams" -> "host:port,host:port";
      case "--lb" -> "a load-balancing policy";
      case "--config" -> "a path to a YAML file";
      default -> "a value";
    };
  }

  static String nonEmpty(String flag, String value) {
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

  static List<UpstreamEndpoint> upstreams(String value) {
    List<UpstreamEndpoint> out = new ArrayList<>();
    for (String address : value.split(",", -1)) {
      out.add(UpstreamEndpoint.parse("--upstreams", address.trim()));
    }
    return out;
  }

  static LbPolicy lb(String value) {
    for (LbPolicy p : LbPolicy.values()) {
      if (p.policyName().equals(value.toLowerCase(Locale.ROOT))) {
        return p;
      }
    }
    throw ConfigException.invalid("--lb", value, "one of " + String.join(", ",
        java.util.Arrays.stream(LbPolicy.values()).map(LbPolicy::policyName).toList()));
  }
}
