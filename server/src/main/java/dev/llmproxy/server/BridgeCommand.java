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
  static final String USAGE = """
      usage: java -jar llmproxy-server.jar bridge --upstream URL [flags]

      Serves one OpenAI-compatible engine as an llmproxy.v1 gRPC upstream, with gRPC health.

        --upstream URL          the engine, like http://127.0.0.1:8000 (required)
        --host HOST             listen address (default 127.0.0.1)
        --port PORT             listen port (default 7001; 0 picks a free port)
        --upstream-model NAME   the model name sent to the engine (default: the one asked for)
        --api-key-env NAME      send the key in this environment variable as Authorization: Bearer
        --api-key-file PATH     or the key in this file
        --health-path PATH      polled for health (default /health; "off" for none)
      """;

  private BridgeCommand() {}

  static int run(String[] args, PrintStream out, PrintStream err) {
    String host = "127.0.0.1";
    int port = 7001;
    String url = null;
    String model = null;
    SecretRef key = null;
    String health = OpenAiSettings.DEFAULT_HEALTH_PATH;
    try {
      for (int i = 0; i < args.length; i++) {
        String flag = args[i];
        if (flag.equals("--help") || flag.equals("-h")) {
          out.print(USAGE);
          return 0;
        }
        if (!flag.startsWith("--")) {
          throw new ConfigException(flag + ": unknown argument (expected: a flag; --help lists them)");
        }
        if (i + 1 >= args.length) {
          throw new ConfigException(flag + ": missing value");
        }
        String value = args[++i];
        switch (flag) {
          case "--upstream" -> url = OpenAiSettings.checkedUrl("--upstream", value);
          case "--host" -> host = value;
          case "--port" -> port = ProxyOptions.port(value);
          case "--upstream-model" -> model = value;
          case "--api-key-env" -> key = new SecretRef("--api-key-env", value, null);
          case "--api-key-file" -> key = new SecretRef("--api-key-file", null, Path.of(value));
          case "--health-path" -> health = value;
          default -> throw new ConfigException(flag + ": unknown flag (expected one of --upstream, --host, --port, "
              + "--upstream-model, --api-key-env, --api-key-file, --health-path)");
        }
      }
      if (url == null) {
        throw new ConfigException("--upstream: missing (expected: the engine's URL, like http://127.0.0.1:8000)");
      }
      if (!health.equals("off") && !health.startsWith("/")) {
        throw ConfigException.invalid("--health-path", health, "a path like /health, or off");
      }
    } catch (ConfigException e) {
      err.println("llmproxy bridge: " + e.getMessage());
      return 2;
    }
    RouteConfig route = route(url, model, key, health);
    String apiKey;
    try {
      apiKey = key == null ? null : key.resolve();
    } catch (ConfigException e) {
      err.println("llmproxy bridge: " + e.getMessage());
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
