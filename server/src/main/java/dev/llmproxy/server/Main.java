package dev.llmproxy.server;

import dev.llmproxy.server.config.ConfigException;
import dev.llmproxy.server.config.ConfigLoader;
import dev.llmproxy.server.config.LbPolicy;
import dev.llmproxy.server.config.ProxyConfig;
import dev.llmproxy.server.config.RouteConfig;
import dev.llmproxy.server.config.ServerConfig;
import dev.llmproxy.server.observability.MetricsPortException;
import dev.llmproxy.server.observability.OperationalLog;
import dev.llmproxy.sim.SimCommand;
import java.io.IOException;
import java.io.PrintStream;
import java.util.Arrays;
import java.util.List;

/** Command-line entry point: the proxy, or {@code sim ...} for a standalone simulated backend. */
public final class Main {
  private Main() {}

  public static void main(String[] args) {
    if (args.length > 0 && args[0].equals("sim")) {
      System.exit(SimCommand.run(Arrays.copyOfRange(args, 1, args.length), System.out, System.err));
    }
    if (args.length > 0 && args[0].equals("bridge")) {
      System.exit(BridgeCommand.run(Arrays.copyOfRange(args, 1, args.length), System.out, System.err));
    }
    System.exit(runProxy(args, System.out, System.err));
  }

  static int runProxy(String[] args, PrintStream out, PrintStream err) {
    ProxyConfig config;
    boolean demo;
    try {
      ProxyOptions options = ProxyOptions.parse(args);
      if (options.help()) {
        out.print(ProxyOptions.USAGE);
        return 0;
      }
      if (options.printVersion()) {
        out.println("llmproxy " + ProxyOptions.buildVersion());
        return 0;
      }
      demo = options.config() == null && options.upstreams() == null;
      config = configure(options);
    } catch (ConfigException e) {
      err.println("llmproxy: " + e.getMessage());
      err.println("llmproxy: not started (--help shows usage)");
      return 2;
    }
    OperationalLog.install(config.observability().log(), err);
    ProxyServer proxy;
    try {
      proxy = ProxyServer.start(config);
    } catch (ConfigException e) { // a credential that cannot be read, found while starting
      err.println("llmproxy: " + e.getMessage());
      err.println("llmproxy: not started");
      return 2;
    } catch (MetricsPortException e) {
      err.println("llmproxy: could not start: " + e.getMessage());
      return 1;
    } catch (IOException | RuntimeException e) {
      err.println("llmproxy: could not start on " + config.server().host() + ":" + config.server().port()
          + ": " + describe(e));
      return 1;
    }
    Runtime.getRuntime().addShutdownHook(new Thread(proxy::close, "llmproxy-shutdown"));
    DrainOnSignal signals = DrainOnSignal.install(proxy, config.server().resilience().shutdownGrace(), err);
    printBanner(out, proxy, demo);
    try {
      proxy.awaitTermination();
      signals.awaitDone();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return 0;
  }

  static ProxyConfig configure(ProxyOptions options) {
    ProxyConfig config = options.config() != null ? new ConfigLoader().load(options.config())
        : options.upstreams() == null ? ProxyConfig.demo() : null;
    if (options.upstreams() != null) {
      LbPolicy lb = options.lb() != null ? options.lb() : LbPolicy.LEAST_OUTSTANDING;
      List<RouteConfig> routes = List.of(RouteConfig.forUpstreams(options.upstreams(), lb));
      config = config == null ? new ProxyConfig(ServerConfig.defaults(), routes) : config.withRoutes(routes);
    }
    ServerConfig server = config.server();
    if (options.host() != null || options.port() != null) {
      config = config.withServer(server.withAddress(
          options.host() != null ? options.host() : server.host(),
          options.port() != null ? options.port() : server.port()));
    }
    return config;
  }

  private static void printBanner(PrintStream out, ProxyServer proxy, boolean demo) {
    String address = proxy.config().server().host() + ":" + proxy.port();
    String tls = proxy.config().server().tls() == null ? "-plaintext " : "";
    out.println("llmproxy listening on " + address + (demo ? " (demo: three simulated upstreams)" : ""));
    for (var route : proxy.config().routes()) {
      out.println("  route " + route.name() + ": models " + route.models() + ", lb " + route.lb().policyName());
    }
    if (proxy.metricsPort() > 0) {
      out.println("  metrics: http://" + proxy.config().observability().metrics().host() + ":"
          + proxy.metricsPort() + "/metrics");
    }
    out.println("Try it:");
    out.println("  grpcurl " + tls + address + " list");
    out.println("  grpcurl " + tls + "-d '{\"prompt\": \"Hello, proxy\", \"max_tokens\": 24}' "
        + address + " llmproxy.v1.LlmProxy/StreamComplete");
    var auth = proxy.config().auth();
    if (auth != null && !auth.allowsAnonymous()) {
      out.println("  (this config requires an API key: add -H '" + auth.header() + ": <key>')");
    }
    if (demo) {
      out.println("With the demo key (" + ProxyConfig.DEMO_KEY_REQUESTS_PER_MINUTE + " requests per minute; -v shows "
          + "llmproxy-ratelimit-remaining-requests counting down, then RESOURCE_EXHAUSTED):");
      out.println("  grpcurl " + tls + "-v -H 'x-api-key: " + ProxyConfig.DEMO_KEY + "' -d '{\"prompt\": \"Hi\", "
          + "\"max_tokens\": 8}' " + address + " llmproxy.v1.LlmProxy/Complete");
    }
    out.flush();
  }

  private static String describe(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    return root.getMessage() != null ? root.getMessage() : root.getClass().getSimpleName();
  }
}
