package dev.llmproxy.server.reload;

import dev.llmproxy.server.config.ConfigException;
import dev.llmproxy.server.config.ProxyConfig;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Reloads the config: reads it from its {@link ConfigSource}, builds a new generation and makes it
 * current for new calls. A config that fails to read, parse, validate or build (a credential file
 * that is missing, a simulated upstream that cannot start) changes nothing: the running generation
 * stays, the error is logged and counted. Settings that only a restart can apply (the listener:
 * {@code server.*}; the metrics endpoint and channelz; the quota store's backend; the cache's shared
 * level) keep their running values, and the result names them. The access log, the operational log
 * and tracing (on/off, endpoint, service name, sample ratio) are reloaded.
 *
 * <p>Metrics: {@code llmproxy_config_reloads_total{result="success"|"error"}} and
 * {@code llmproxy_config_info{hash}} (1, labelled with the running config's hash). One reload runs
 * at a time (signal, file watch and admin endpoint may ask together).
 */
public final class ConfigReloader {
  private static final System.Logger LOG = System.getLogger(ConfigReloader.class.getName());

  private final ConfigSource source;
  private final RuntimeFactory factory;
  private final SwappableService service;
  private final MeterRegistry meters;
  private final Counter succeeded;
  private final Counter failed;
  private Gauge info; // guarded by this

  public ConfigReloader(ConfigSource source, RuntimeFactory factory, SwappableService service, MeterRegistry meters) {
    this.source = Objects.requireNonNull(source, "source");
    this.factory = Objects.requireNonNull(factory, "factory");
    this.service = Objects.requireNonNull(service, "service");
    this.meters = Objects.requireNonNull(meters, "meters");
    this.succeeded = reloads("success");
    this.failed = reloads("error");
    publishHash(service.current().hash());
  }

  private Counter reloads(String result) {
    return Counter.builder("llmproxy.config.reloads").tag("result", result)
        .description("Config reloads, by result (error: the running config was kept)").register(meters);
  }

  /** Reloads now; never throws for a bad config (the result says what went wrong). */
  public synchronized ReloadResult reload() {
    ProxyRuntime running = service.current();
    ProxyConfig was = running.config();
    LoadedConfig loaded;
    List<String> needsRestart = new ArrayList<>();
    ProxyRuntime next;
    try {
      loaded = source.load();
      ProxyConfig config = loaded.config();
      if (!config.server().equals(was.server())) {
        needsRestart.add("server (listen address, TLS, connection limits)");
        config = config.withServer(was.server());
      }
      needsRestart.addAll(was.observability().restartOnlyChanges(config.observability()));
      config = config.withObservability(was.observability().reloadedAs(config.observability()));
      if (!Objects.equals(config.cache().shared(), was.cache().shared())) {
        needsRestart.add("cache.shared (the rest of cache is reloaded)");
      }
      if (!config.quota().store().equals(was.quota().store())
          || !Objects.equals(config.quota().redis(), was.quota().redis())) {
        needsRestart.add("quota.store / quota.redis (tiers are reloaded)");
      }
      next = factory.build(new LoadedConfig(config, loaded.hash()), running);
    } catch (ConfigException e) {
      return refused(running, e.getMessage());
    } catch (Exception e) { // anything a build can throw: the running generation must stay
      return refused(running, e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName());
    }
    ProxyRuntime previous = service.swap(next);
    previous.retire(factory.retirement(previous, next));
    factory.reloaded(next);
    succeeded.increment();
    publishHash(next.hash());
    ReloadResult result = new ReloadResult(true, next.hash(), null, needsRestart);
    LOG.log(needsRestart.isEmpty() ? System.Logger.Level.INFO : System.Logger.Level.WARNING, result.describe());
    return result;
  }

  private ReloadResult refused(ProxyRuntime running, String error) {
    failed.increment();
    ReloadResult result = new ReloadResult(false, running.hash(), error, List.of());
    LOG.log(System.Logger.Level.ERROR, result.describe());
    return result;
  }

  /** The running generation. */
  public ProxyRuntime current() {
    return service.current();
  }

  private void publishHash(String hash) {
    if (info != null) {
      meters.remove(info);
    }
    info = Gauge.builder("llmproxy.config.info", () -> 1)
        .description("The running config (1), labelled with the hash of its source").tag("hash", hash)
        .register(meters);
  }
}
