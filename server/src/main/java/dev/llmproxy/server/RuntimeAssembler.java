package dev.llmproxy.server;

import dev.llmproxy.server.cache.CacheServerInterceptor;
import dev.llmproxy.server.cache.SharedResponseCache;
import dev.llmproxy.server.config.CacheConfig;
import dev.llmproxy.server.config.ProxyConfig;
import dev.llmproxy.server.config.RouteConfig;
import dev.llmproxy.server.config.UpstreamEndpoint;
import dev.llmproxy.server.config.UpstreamProtocol;
import dev.llmproxy.server.observability.Observability;
import dev.llmproxy.server.quota.AccessControl;
import dev.llmproxy.server.quota.QuotaStore;
import dev.llmproxy.server.reload.LoadedConfig;
import dev.llmproxy.server.reload.ProxyRuntime;
import dev.llmproxy.server.reload.RuntimeFactory;
import dev.llmproxy.server.shed.LoadShedder;
import dev.llmproxy.server.upstream.Route;
import dev.llmproxy.server.upstream.RouteTable;
import dev.llmproxy.server.upstream.UpstreamChannelFactory;
import io.grpc.ServerServiceDefinition;
import io.micrometer.core.instrument.MeterRegistry;
import dev.llmproxy.server.config.ConfigException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.Function;

/**
 * Builds one generation ({@link ProxyRuntime}) of the proxy from a config, at start and on every
 * reload, reusing what the config did not change: a route whose settings (and resolved upstream
 * credential) are equal keeps its channel, connections and ejection state; an unchanged cache keeps
 * its entries; an unchanged load-shedding cap keeps its limiter. Each generation has its own call
 * observers and tracing ({@link Observability#generation}), released once it is retired and idle.
 * What changed is built anew; if any of it fails, what was built is closed and the error
 * propagates, so the running generation stays.
 *
 * <p>Not thread-safe: the start and the reloader call it one at a time.
 */
final class RuntimeAssembler implements RuntimeFactory {
  /** How long a retired generation's channels get for calls still on them (none, normally). */
  private static final long RETIRE_TIMEOUT_MILLIS = 30_000;

  private final UpstreamChannelFactory channels;
  private final EmbeddedUpstreams embedded;
  private final Function<ProxyConfig, QuotaStore> quotaStore;
  private final SharedResponseCache sharedCache;
  private final MeterRegistry meters;
  private final ScheduledExecutorService timers;
  private final Observability observability;
  private final ListenerKeys listenerKeys;
  private final Map<Route, String> credentialDigests = new ConcurrentHashMap<>();
  private final Map<ProxyRuntime, Observability.Generation> observed = new ConcurrentHashMap<>();
  private final Set<String> watchedUpstreams = new HashSet<>();
  private CacheConfig cacheConfig;
  private CacheServerInterceptor cache;
  private LoadShedder shedder;
  private AccessControl access; // the last one built: its open-call counts carry over

  /**
   * @param quotaStore the store for a config with keys (opened on first use, then kept)
   * @param sharedCache the cache's shared level, opened at start and kept; null: none
   * @param listenerKeys the TLS listener's key pair, re-read on every reload; null: plaintext
   */
  RuntimeAssembler(UpstreamChannelFactory channels, EmbeddedUpstreams embedded,
      Function<ProxyConfig, QuotaStore> quotaStore, SharedResponseCache sharedCache, MeterRegistry meters,
      ScheduledExecutorService timers, Observability observability, ListenerKeys listenerKeys) {
    this.listenerKeys = listenerKeys;
    this.sharedCache = sharedCache;
    this.channels = Objects.requireNonNull(channels, "channels");
    this.embedded = Objects.requireNonNull(embedded, "embedded");
    this.quotaStore = Objects.requireNonNull(quotaStore, "quotaStore");
    this.meters = Objects.requireNonNull(meters, "meters");
    this.timers = Objects.requireNonNull(timers, "timers");
    this.observability = Objects.requireNonNull(observability, "observability");
  }

  /**
   * The generation for {@code config}, sharing unchanged routes with {@code previous} (null at start).
   *
   * @throws IOException if a simulated upstream cannot start
   */
  ProxyRuntime assemble(ProxyConfig config, String hash, ProxyRuntime previous) throws IOException {
    Map<String, Route> reusable = new HashMap<>();
    if (previous != null) {
      for (Route route : previous.routes().routes()) {
        reusable.put(route.name(), route);
      }
    }
    List<Route> built = new ArrayList<>();
    List<Route> fresh = new ArrayList<>();
    Observability.Generation observing = null;
    try {
      // First: tracing settings the SDK refuses fail the reload before anything else is built.
      observing = observability.generation(config.observability());
      for (RouteConfig rc : config.routes()) {
        Route old = reusable.get(rc.name());
        String digest = credentialDigest(rc);
        if (old != null && old.config().equals(rc) && digest.equals(credentialDigests.get(old))) {
          built.add(old);
          continue;
        }
        List<UpstreamEndpoint> upstreams = rc.simulated() != null
            ? embedded.start(rc.name(), rc.simulated(), rc.protocol()) : rc.upstreams();
        Route route = channels.create(rc, upstreams);
        fresh.add(route);
        built.add(route);
        credentialDigests.put(route, digest);
        watchHealth(rc, upstreams);
      }
      RouteTable routes = new RouteTable(built, config.splits());
      AccessControl access = config.auth() == null ? null
          : AccessControl.of(config.auth(), config.quota(), quotaStore.apply(config), meters, this.access);
      if (!config.cache().equals(cacheConfig)) {
        cache = config.cache().enabled() ? CacheServerInterceptor.create(config.cache(), sharedCache, meters) : null;
        cacheConfig = config.cache();
      }
      shedder = new LoadShedder(config.routes(), timers, meters, shedder);
      if (access != null) {
        this.access = access;
      }
      ServerServiceDefinition service = ProxyServer.proxyService(routes, config.server(), cache, access, shedder,
          meters, timers, null, observing.serverInterceptor(), observing.upstreamInterceptor());
      ProxyRuntime runtime = new ProxyRuntime(config, hash, routes, service);
      observed.put(runtime, observing);
      return runtime;
    } catch (IOException | RuntimeException e) {
      if (observing != null) {
        observing.close();
      }
      new RouteTable(fresh).close();
      fresh.forEach(credentialDigests::remove);
      throw e;
    }
  }

  @Override
  public ProxyRuntime build(LoadedConfig loaded, ProxyRuntime previous) throws IOException {
    if (listenerKeys != null) {
      listenerKeys.reread(); // first: unreadable keys refuse the reload before anything is built
    }
    return assemble(loaded.config(), loaded.hash(), previous);
  }

  /**
   * A reload re-resolves every route's names at once (a changed DNS answer need not wait a tick) and
   * applies the reloaded log level/format and trace sample ratio (to an SDK kept from the previous
   * generation; a new one starts with it).
   */
  @Override
  public void reloaded(ProxyRuntime current) {
    current.routes().routes().forEach(Route::refreshNames);
    observability.reconfigure(current.config().observability());
  }

  @Override
  public Runnable retirement(ProxyRuntime retired, ProxyRuntime replacement) {
    Set<Route> kept = Set.copyOf(replacement.routes().routes());
    return () -> {
      Observability.Generation observing = observed.remove(retired);
      if (observing != null) {
        observing.close(); // does not block: an SDK no generation uses is shut down later
      }
      // Off the transport thread that ended the last call: closing waits for channels to terminate.
      Thread closer = new Thread(() -> {
        try {
          retired.routes().closeExcept(kept, RETIRE_TIMEOUT_MILLIS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        retired.routes().routes().stream().filter(route -> !kept.contains(route)).forEach(credentialDigests::remove);
      }, "llmproxy-retire-routes");
      closer.setDaemon(true);
      closer.start();
    };
  }

  private void watchHealth(RouteConfig rc, List<UpstreamEndpoint> upstreams) {
    if (rc.protocol() != UpstreamProtocol.GRPC) {
      return; // OpenAI upstreams report their own polls
    }
    List<UpstreamEndpoint> unwatched = upstreams.stream()
        .filter(u -> watchedUpstreams.add(rc.name() + "/" + u.name() + "/" + u.address())).toList();
    observability.watchUpstreamHealth(rc, unwatched);
  }

  /**
   * A digest of the route's resolved upstream API key and TLS files, so that a rotated credential
   * file rebuilds the route although its config (which names the file) is unchanged. Throws the config error of
   * a credential that cannot be read, which fails the reload.
   */
  private static String credentialDigest(RouteConfig rc) {
    boolean key = rc.openai() != null && rc.openai().apiKey() != null;
    if (!key && rc.tls() == null) {
      return "";
    }
    MessageDigest digest;
    try {
      digest = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    if (key) {
      digest.update(rc.openai().apiKey().resolve().getBytes(StandardCharsets.UTF_8));
    }
    if (rc.tls() != null) { // rotated client certificates, keys or CA rebuild the channel too
      for (Path file : Arrays.asList(rc.tls().ca(), rc.tls().certChain(), rc.tls().privateKey())) {
        if (file != null) {
          try {
            digest.update(Files.readAllBytes(file));
          } catch (IOException e) {
            throw ConfigException.invalid("routes[" + rc.name() + "].tls", file.toString(), "a readable file");
          }
        }
      }
    }
    return HexFormat.of().formatHex(digest.digest());
  }
}
