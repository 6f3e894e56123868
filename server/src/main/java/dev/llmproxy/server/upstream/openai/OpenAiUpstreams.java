package dev.llmproxy.server.upstream.openai;

import dev.llmproxy.server.config.LbPolicy;
import dev.llmproxy.server.config.OpenAiSettings;
import dev.llmproxy.server.config.RouteConfig;
import dev.llmproxy.server.config.UpstreamEndpoint;
import io.grpc.NameResolver;
import io.grpc.ServerBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.inprocess.InProcessSocketAddress;
import java.net.SocketAddress;
import java.net.http.HttpClient;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The OpenAI-compatible upstreams of one route: one {@link OpenAiUpstream} (an in-process gRPC
 * server) per HTTP upstream, created when the upstream is first configured or resolved, shut down
 * when a re-resolution drops it. The route's channel reaches them through {@link
 * OpenAiNameResolverProvider}, which finds this object among the channel's name-resolver
 * arguments under {@link #KEY}.
 *
 * <p>HTTP: one JDK {@link HttpClient} per route, which keeps connections to each upstream alive and
 * reuses them (HTTP/1.1, or HTTP/2 where TLS offers it), with a small executor of its own. The JDK
 * client was chosen over a library: it streams a body with demand-driven flow control (the {@code
 * Flow} API), aborts an exchange on cancel, speaks TLS with ALPN and HTTP/2, and adds no dependency
 * and no second copy of Netty next to grpc's shaded one.
 */
public final class OpenAiUpstreams implements AutoCloseable {
  /** The name-resolver argument under which a route's channel carries its upstreams. */
  public static final NameResolver.Args.Key<OpenAiUpstreams> KEY = NameResolver.Args.Key.create("llmproxy-openai");

  /** Publishes each upstream's health as polled, for metrics. */
  @FunctionalInterface
  public interface HealthListener {
    HealthListener NONE = (upstream, healthy) -> { };

    void healthChanged(String upstream, boolean healthy);
  }

  private final RouteConfig route;
  private final OpenAiSettings settings;
  private final String authorization;
  private final int maxMessageBytes;
  private final HealthListener healthListener;
  private final ExecutorService httpExecutor;
  private final ScheduledExecutorService scheduler;
  private final HttpClient client;
  private final String id = UUID.randomUUID().toString();
  private final Map<String, OpenAiUpstream> byUrl = new LinkedHashMap<>();
  private final Map<String, String> namesByAddress = new ConcurrentHashMap<>();
  private boolean closed;

  /**
   * @param apiKey the route's resolved upstream credential, or {@code null}
   * @param maxMessageBytes the largest answer or event accepted from an upstream
   */
  public OpenAiUpstreams(RouteConfig route, String apiKey, int maxMessageBytes, HealthListener healthListener) {
    this.route = route;
    this.settings = route.openai();
    this.authorization = apiKey == null ? null : "Bearer " + apiKey;
    this.maxMessageBytes = maxMessageBytes;
    this.healthListener = healthListener;
    AtomicInteger threads = new AtomicInteger();
    this.httpExecutor = Executors.newFixedThreadPool(2, task -> {
      Thread thread = new Thread(task, "llmproxy-http-" + route.name() + "-" + threads.incrementAndGet());
      thread.setDaemon(true);
      return thread;
    });
    ScheduledThreadPoolExecutor timer = new ScheduledThreadPoolExecutor(1, task -> {
      Thread thread = new Thread(task, "llmproxy-http-health-" + route.name());
      thread.setDaemon(true);
      return thread;
    });
    timer.setRemoveOnCancelPolicy(true);
    this.scheduler = timer;
    HttpClient.Version version = httpVersion(route);
    this.client = HttpClient.newBuilder()
        .version(version)
        .connectTimeout(route.resilience().connectTimeout())
        .followRedirects(HttpClient.Redirect.NEVER)
        // HTTP/1.1 bodies are handed to calls on the client's selector thread: nothing on that path
        // blocks, and a hop to another thread per token showed in the profile (JFR). HTTP/2
        // keeps an executor of its own.
        .executor(version == HttpClient.Version.HTTP_1_1 ? Runnable::run : httpExecutor)
        .build();
  }

  public RouteConfig route() {
    return route;
  }

  /** The channel target; the resolver finds this object through {@link #KEY}, not through the target. */
  public String target() {
    return OpenAiNameResolverProvider.SCHEME + ":///" + route.name();
  }

  /** The configured upstreams, started now (their health polls begin at once). */
  public synchronized List<SocketAddress> staticAddresses() {
    return route.upstreams().stream().map(u -> (SocketAddress) upstream(u.name(), u.address()).address()).toList();
  }

  /**
   * The upstream at {@code baseUrl}, started on first use.
   *
   * @param name the name reported in {@code llmproxy-upstream}
   */
  synchronized OpenAiUpstream upstream(String name, String baseUrl) {
    OpenAiUpstream existing = byUrl.get(baseUrl);
    if (existing != null) {
      return existing;
    }
    String serverName = "llmproxy-openai/" + id + "/" + route.name() + "/" + baseUrl;
    OpenAiUpstream upstream = start(name, baseUrl, InProcessServerBuilder.forName(serverName),
        new InProcessSocketAddress(serverName));
    namesByAddress.put(serverName, name);
    return upstream;
  }

  /**
   * Serves the route's one configured upstream as {@code llmproxy.v1.LlmProxy} (and health) on
   * {@code builder}'s server: the {@code bridge} command.
   */
  public synchronized io.grpc.Server serve(ServerBuilder<?> builder) {
    if (route.upstreams().size() != 1) {
      throw new IllegalArgumentException("a bridge serves one upstream, not " + route.upstreams().size());
    }
    UpstreamEndpoint only = route.upstreams().get(0);
    return start(only.name(), only.address(), builder, null).server();
  }

  private OpenAiUpstream start(String name, String baseUrl, ServerBuilder<?> builder, InProcessSocketAddress address) {
    if (closed) {
      throw new IllegalStateException("route " + route.name() + " is closed");
    }
    // A bridge (no in-process address) cannot know whether the proxy in front of it uses engine load.
    boolean asksLoad = address == null || route.lb().usesEngineLoad();
    OpenAiEndpoint endpoint = new OpenAiEndpoint(name, EndpointUrls.of(baseUrl, settings.healthPath()), client,
        authorization, settings.upstreamModel(), settings.maxConnections(), maxMessageBytes, asksLoad);
    EndpointHealthService health = new EndpointHealthService();
    HttpHealthPoller poller = route.healthCheck()
        ? new HttpHealthPoller(client, endpoint.urls().health(), authorization, settings.healthInterval(),
            settings.healthTimeout(), settings.unhealthyThreshold(), scheduler, status -> {
              health.set(status);
              healthListener.healthChanged(name, status == ServingStatus.SERVING);
            })
        : null;
    Duration outOfBand = route.lb() == LbPolicy.LEAST_LOADED ? route.balancing().outOfBand() : null;
    MetricsScraper scraper = outOfBand == null ? null : new MetricsScraper(client, endpoint.urls().metrics(),
        authorization, outOfBand, settings.healthTimeout(), scheduler, name);
    OpenAiUpstream upstream = new OpenAiUpstream(endpoint, builder, address, health, poller, scraper, scheduler);
    byUrl.put(baseUrl, upstream);
    return upstream;
  }

  /** Shuts down the upstreams a re-resolution no longer lists. */
  synchronized void retainOnly(Set<String> baseUrls) {
    byUrl.entrySet().removeIf(entry -> {
      if (baseUrls.contains(entry.getKey())) {
        return false;
      }
      if (entry.getValue().address() != null) {
        namesByAddress.remove(entry.getValue().address().getName());
      }
      entry.getValue().shutdown();
      return true;
    });
  }

  /** The name reported for the upstream at {@code address} (an address of this route's channel). */
  public String nameOf(SocketAddress address) {
    if (address instanceof InProcessSocketAddress inProcess) {
      String name = namesByAddress.get(inProcess.getName());
      if (name != null) {
        return name;
      }
    }
    return String.valueOf(address);
  }

  /** For name resolution: how a DNS target's addresses are reached. */
  OpenAiSettings settings() {
    return settings;
  }

  /** Scheduled work of this route (re-resolution, health polls, metrics scrapes, load reports). */
  ScheduledExecutorService scheduler() {
    return scheduler;
  }

  @Override
  public synchronized void close() {
    closed = true;
    for (OpenAiUpstream upstream : byUrl.values()) {
      upstream.close();
    }
    byUrl.clear();
    scheduler.shutdownNow();
    httpExecutor.shutdownNow();
  }

  private static HttpClient.Version httpVersion(RouteConfig route) {
    return switch (route.openai().httpVersion()) {
      case HTTP1 -> HttpClient.Version.HTTP_1_1;
      case HTTP2 -> HttpClient.Version.HTTP_2;
      // HTTP/2 only where TLS negotiates it: on plain http the JDK would try an h2c upgrade,
      // which engines' HTTP servers do not offer.
      case AUTO -> {
        boolean allTls = route.target() != null ? route.openai().scheme().equals("https")
            : route.upstreams().stream().map(UpstreamEndpoint::address).allMatch(a -> a.startsWith("https:"));
        yield allTls ? HttpClient.Version.HTTP_2 : HttpClient.Version.HTTP_1_1;
      }
    };
  }
}
