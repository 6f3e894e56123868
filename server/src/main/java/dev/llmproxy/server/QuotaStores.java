package dev.llmproxy.server;

import dev.llmproxy.server.config.ProxyConfig;
import dev.llmproxy.server.quota.QuotaStore;
import dev.llmproxy.server.quota.QuotaStoreType;
import dev.llmproxy.server.quota.memory.InMemoryQuotaStore;
import dev.llmproxy.server.quota.redis.RedisQuotaStore;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.InstantSource;

/**
 * Opens the quota store the first time a config with keys needs one and keeps it for the life of
 * the process, so that every reload counts against the same accounts (quota state survives
 * reloads). Changing the store's backend takes a restart.
 */
final class QuotaStores implements AutoCloseable {
  private final MeterRegistry meters;
  private QuotaStore store; // guarded by this

  QuotaStores(MeterRegistry meters) {
    this.meters = meters;
  }

  synchronized QuotaStore open(ProxyConfig config) {
    if (store == null) {
      store = config.quota().store() == QuotaStoreType.REDIS
          ? new RedisQuotaStore(config.quota().redis(), InstantSource.system(), meters)
          : new InMemoryQuotaStore(InstantSource.system());
    }
    return store;
  }

  /** The store, or null if no config needed one yet. */
  synchronized QuotaStore opened() {
    return store;
  }

  @Override
  public synchronized void close() {
    if (store != null) {
      store.close();
    }
  }
}
