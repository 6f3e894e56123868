package dev.llmproxy.server;

import dev.llmproxy.server.config.ConfigException;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * The proxy's flags as picocli fills them (strings, so that {@link #options()} reports a bad value
 * in the proxy's own words: the flag, the value, what was expected).
 */
final class ServeFlags {
  @Option(names = "--config", paramLabel = "PATH",
      description = "YAML config file (see README); validated before anything starts, reloaded on SIGHUP and when it changes")
  String config;

  @Option(names = "--host", paramLabel = "HOST", description = "listen address (default 127.0.0.1)")
  String host;

  @Option(names = "--port", paramLabel = "PORT", description = "listen port (default 50051; 0 picks a free port)")
  String port;

  @Option(names = "--upstreams", paramLabel = "LIST",
      description = "one default route over these upstreams (host:port,host:port), instead of the config's routes")
  String upstreams;

  @Option(names = "--lb", paramLabel = "POLICY",
      description = "least_outstanding (default), round_robin or pick_first; with --upstreams")
  String lb;

  @Option(names = "--no-watch", description = "do not reload when the config file changes (SIGHUP still reloads)")
  boolean noWatch;

  ProxyOptions options() {
    if (lb != null && upstreams == null) {
      throw new ConfigException("--lb: only applies with --upstreams (set lb per route in the config file)");
    }
    return new ProxyOptions(config == null ? null : Path.of(config),
        host == null ? null : ProxyOptions.nonEmpty("--host", host),
        port == null ? null : ProxyOptions.port(port),
        upstreams == null ? null : ProxyOptions.upstreams(upstreams),
        lb == null ? null : ProxyOptions.lb(lb),
        !noWatch);
  }
}
