package dev.llmproxy.server.quota;

import dev.llmproxy.server.config.ConfigException;
import dev.llmproxy.server.config.ConfigNode;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * Where quotas are counted and the tiers of limits that API keys refer to.
 *
 * @param redis settings of the Redis store; used when {@code store} is {@link QuotaStoreType#REDIS}
 */
public record QuotaConfig(QuotaStoreType store, RedisStoreConfig redis, List<TierConfig> tiers) {

  public QuotaConfig {
    Objects.requireNonNull(store, "store");
    Objects.requireNonNull(redis, "redis");
    tiers = List.copyOf(tiers);
    Set<String> names = new HashSet<>();
    for (int i = 0; i < tiers.size(); i++) {
      if (!names.add(tiers.get(i).name())) {
        throw ConfigException.invalid("quota.tiers[" + i + "].name", tiers.get(i).name(),
            "a name no other tier uses");
      }
    }
  }

  /** In-memory counting and no tiers. */
  public static QuotaConfig defaults() {
    return new QuotaConfig(QuotaStoreType.MEMORY, RedisStoreConfig.defaults(), List.of());
  }

  public QuotaConfig withStore(QuotaStoreType type, RedisStoreConfig redisConfig) {
    return new QuotaConfig(type, redisConfig, tiers);
  }

  public Optional<TierConfig> tier(String name) {
    return tiers.stream().filter(t -> t.name().equals(name)).findFirst();
  }

  public static QuotaConfig from(ConfigNode node) {
    QuotaStoreType store = node.enumValue("store", QuotaStoreType.MEMORY, QuotaStoreType.class);
    RedisStoreConfig redis = RedisStoreConfig.from(node.child("redis"));
    List<TierConfig> tiers = node.nodes("tiers").stream().map(TierConfig::from).toList();
    node.rejectUnknownKeys();
    return new QuotaConfig(store, redis, tiers);
  }
}
