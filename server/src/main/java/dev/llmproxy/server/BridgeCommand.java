package dev.llmproxy.server;

import dev.llmproxy.server.config.ConfigException;
import dev.llmproxy.server.config.LbPolicy;
import dev.llmproxy.server.config.OpenAiSettings;
import dev.llmproxy.server.config.RouteConfig;
import dev.llmproxy.server.config.SecretRef;
import dev.llmproxy.server.config.UpstreamEndpoint;
import dev.llmproxy.server.upstream.openai.OpenAiUpstreams;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import java.io.PrintStream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The {@code bridge} command: serves one OpenAI-compatible engine as an {@code llmproxy.v1} gRPC
 * upstream (with the gRPC health service fed by the engine's health URL), for a sidecar next to
 * each engine pod, so that proxies reach it over gRPC.
 *
 * <pre>
 * java -jar llmproxy-server.jar bridge --port 7001 --upstream http://127.0.0.1:8000
 * </pre>
 */
final class BridgeCommand {
  /** The bridge's flags as picocli fills them; {@link BridgeCommand#run} validates the values. */
  @Command(name = "llmproxy bridge", mixinStandardHelpOptions = true, versionProvider = Cli.Version.class,
      description = "Serves one OpenAI-compatible engine as an llmproxy.v1 gRPC upstream, with gRPC health.")
  static final class Flags {
    @Option(names = "--upstream", paramLabel = "URL", description = "the engine, like http://127.0.0.1:8000 (required)")
    String url;
    @Option(names = "--host", paramLabel = "HOST", description = "listen address (default 127.0.0.1)")
    String host = "127.0.0.1";
    @Option(names = "--port", paramLabel = "PORT", description = "listen port (default 7001; 0 picks a free port)")
    String port = "7001";
    @Option(names = "--upstream-model", paramLabel = "NAME",
        description = "the model name sent to the engine (default: the one asked for)")
    String model;
    @Option(names = "--api-key-env", paramLabel = "NAME",
        description = "send the key in this environment variable as Authorization: Bearer")
    String keyEnv;
    @Option(names = "--api-key-file", paramLabel = "PATH", description = "or the key in this file")
    String keyFile;
    @Option(names = "--health-path", paramLabel = "PATH",
        description = "polled for health (default /health; \"off\" for none)")
    String health = OpenAiSettings.DEFAULT_HEALTH_PATH;
  }

  private BridgeCommand() {}

  static int run(String[] args, PrintStream out, PrintStream err) {
    Flags flags = new Flags();
    CommandLine cli = new CommandLine(flags);
    String host;
    int port;
    String url;
    String model;
    SecretRef key = null;
    String health;
    try {
      try {
        cli.parseArgs(args);
      } catch (CommandLine.ParameterException e) {
        throw new ConfigException(Cli.describe(e));
      }
      if (cli.isUsageHelpRequested()) {
        cli.usage(out);
        return 0;
      }
      if (cli.isVersionHelpRequested()) {
        cli.printVersionHelp(out);
        return 0;
      }
      if (flags.url == null) {
        throw new ConfigException("--upstream: missing (expected: the engine's URL, like http://127.0.0.1:8000)");
      }
      url = OpenAiSettings.checkedUrl("--upstream", flags.url);
      host = ProxyOptions.nonEmpty("--host", flags.host);
      port = ProxyOptions.port(flags.port);
      model = flags.model;
      if (flags.keyEnv != null) {
        key = new SecretRef("--api-key-env", flags.keyEnv, null);
      }
      if (flags.keyFile != null) {
        key = new SecretRef("--api-key-file", null, Path.of(flags.keyFile));
      }
      health = flags.health;
      if (!health.equals("off") && !health.startsWith("/")) {
        throw ConfigException.invalid("--health-path", health, "a path like /health, or off");
      }
    } catch (ConfigException e) {
      err.println("llmproxy: " + e.getMessage());
      return 2;
    }
    RouteConfig route = route(url, model, key, health);
    String apiKey;
    try {
      apiKey = key == null ? null : key.resolve();
    } catch (ConfigException e) {
      err.println("llmproxy: " + e.getMessage());
      return 2;
    }
    Bridge bridge;
    try {
      bridge = Bridge.start(route, apiKey, host, port);
    } catch (RuntimeException e) {
      err.println("llmproxy bridge: could not start on " + host + ":" + port + ": " + e.getMessage());
      return 1;
    }
    Runtime.getRuntime().addShutdownHook(new Thread(bridge::close, "llmproxy-bridge-shutdown"));
    out.println("llmproxy bridge listening on " + host + ":" + bridge.port() + " for " + url);
    out.flush();
    try {
      bridge.server.awaitTermination();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return 0;
  }

  /** A running bridge: the gRPC server and the upstream it translates for. */
  record Bridge(Server server, OpenAiUpstreams upstreams) implements AutoCloseable {
    static Bridge start(RouteConfig route, String apiKey, String host, int port) {
      OpenAiUpstreams upstreams = new OpenAiUpstreams(route, apiKey, 64 << 20, OpenAiUpstreams.HealthListener.NONE);
      try {
        Server server = upstreams.serve(NettyServerBuilder.forAddress(new InetSocketAddress(host, port))
            .addService(ProtoReflectionServiceV1.newInstance())
            .permitKeepAliveTime(10, TimeUnit.SECONDS)
            .permitKeepAliveWithoutCalls(true));
        return new Bridge(server, upstreams);
      } catch (RuntimeException e) {
        upstreams.close();
        throw e;
      }
    }

    int port() {
      return ((InetSocketAddress) server.getListenSockets().get(0)).getPort();
    }

    @Override
    public void close() {
      server.shutdownNow();
      upstreams.close();
    }
  }

  /** The one-upstream route a bridge serves. */
  static RouteConfig route(String url, String model, SecretRef key, String healthPath) {
    boolean healthCheck = !healthPath.equals("off");
    OpenAiSettings defaults = OpenAiSettings.defaults();
    OpenAiSettings settings = new OpenAiSettings(model, key, "http", "", healthCheck ? healthPath : defaults.healthPath(),
        defaults.healthInterval(), defaults.healthTimeout(), defaults.unhealthyThreshold(), defaults.maxConnections(),
        defaults.httpVersion());
    return RouteConfig.forUpstreams(List.of(new UpstreamEndpoint(url, url)), LbPolicy.PICK_FIRST)
        .withOpenAi(settings).withHealthCheck(healthCheck);
  }
}
