package dev.llmproxy.server;

import dev.llmproxy.server.config.ConfigException;
import dev.llmproxy.server.config.ConfigLoader;
import dev.llmproxy.server.config.LbPolicy;
import dev.llmproxy.server.config.ProxyConfig;
import dev.llmproxy.server.config.RouteConfig;
import dev.llmproxy.server.config.ServerConfig;
import dev.llmproxy.server.observability.MetricsPortException;
import dev.llmproxy.server.observability.Observability;
import dev.llmproxy.server.reload.ConfigSource;
import dev.llmproxy.server.reload.FileConfigSource;
import dev.llmproxy.server.reload.LoadedConfig;
import dev.llmproxy.server.observability.OperationalLog;
import dev.llmproxy.server.observability.tracing.TracingEnvironment;
import java.io.IOException;
import java.io.PrintStream;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * Entry point: the command line ({@link Cli}) and the {@code serve} command's run: start the proxy,
 * reload it on SIGHUP and when its config file changes, drain it on SIGTERM.
 */
public final class Main {
  private Main() {}

  public static void main(String[] args) {
    NettyProcessDefaults.apply(System.getProperties());
    System.exit(Cli.run(args, System.out, System.err));
  }

  /** Runs the command line as {@code main} would, without exiting; returns the exit code. */
  static int run(String[] args, PrintStream out, PrintStream err) {
    return Cli.run(args, out, err);
  }

  /** Starts the proxy with validated {@code options} and blocks until it has stopped. */
  static int serve(ProxyOptions options, PrintStream out, PrintStream err) {
    boolean demo = options.config() == null && options.upstreams() == null;
    // OTEL_* turn tracing on or off without a config section; read once, here.
    UnaryOperator<ProxyConfig> overrides = overrides(options,
        TracingEnvironment.of(System.getenv(), System.getProperties()));
    ConfigSource source;
    LoadedConfig initial;
    try {
      if (options.config() != null) {
        source = new FileConfigSource(options.config(), overrides);
        initial = source.load();
      } else {
        ProxyConfig config = overrides.apply(base(options));
        LoadedConfig fixed = new LoadedConfig(config, LoadedConfig.hashOf(config.toString()));
        source = () -> fixed;
        initial = fixed;
      }
    } catch (ConfigException e) {
      err.println("llmproxy: " + e.getMessage());
      err.println("llmproxy: not started (--help shows usage)");
      return 2;
    }
    ProxyConfig config = initial.config();
    OperationalLog.install(config.observability().log(), err);
    ProxyServer proxy;
    try {
      proxy = ProxyServer.start(initial, source, Observability.registryFor(config.observability()));
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
    ReloadOnSignal.install(proxy::reload, err);
    ConfigFileWatcher watcher = null;
    if (options.config() != null && options.watch()) {
      watcher = ConfigFileWatcher.start(ConfigFileWatcher.withCredentialFiles(options.config(), config), proxy::reload,
          err);
    }
    printBanner(out, proxy, demo);
    try {
      proxy.awaitTermination();
      signals.awaitDone();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      if (watcher != null) {
        watcher.close();
      }
    }
    return 0;
  }

  /** The demo, or one route over {@code --upstreams}, with the flags applied; for a run without a file. */
  static ProxyConfig configure(ProxyOptions options) {
    return overrides(options, TracingEnvironment.none()).apply(base(options));
  }

  private static ProxyConfig base(ProxyOptions options) {
    return options.config() != null ? new ConfigLoader().load(options.config())
        : options.upstreams() == null ? ProxyConfig.demo() : new ProxyConfig(ServerConfig.defaults(), List.of());
  }

  /**
   * The command line's and the environment's overrides of a config: applied at start and again on
   * every reload.
   */
  static UnaryOperator<ProxyConfig> overrides(ProxyOptions options, TracingEnvironment tracing) {
    return config -> {
      config = config.withObservability(tracing.apply(config.observability()));
      if (options.upstreams() != null) {
        LbPolicy lb = options.lb() != null ? options.lb() : LbPolicy.LEAST_OUTSTANDING;
        // The file's splits name the file's routes, which the one route replaces.
        config = config.withRoutes(List.of(RouteConfig.forUpstreams(options.upstreams(), lb)), List.of());
      }
      ServerConfig server = config.server();
      if (options.host() != null || options.port() != null) {
        config = config.withServer(server.withAddress(
            options.host() != null ? options.host() : server.host(),
            options.port() != null ? options.port() : server.port()));
      }
      return config;
    };
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
