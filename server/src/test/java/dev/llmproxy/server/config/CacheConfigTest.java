package dev.llmproxy.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CacheConfigTest {
  private static final String ROUTES = """
      routes:
        - {name: chat, default: true, upstreams: ['127.0.0.1:1']}
        - {name: code, models: [coder], upstreams: ['127.0.0.1:2']}
      """;

  private static ProxyConfig parse(String cache) {
    return new ConfigLoader().parse(ROUTES + cache);
  }

  @Test
  void parsesTheWholeSection() {
    CacheConfig cache = parse("""
        cache:
          enabled: true
          max_bytes: 1048576
          max_entry_bytes: 65536
          ttl: 30s
          namespace: per_key
          coalesce: false
          mode: always
          routes:
            code: {mode: off}
            chat: {mode: deterministic}
        """).cache();
    assertThat(cache).isEqualTo(new CacheConfig(true, 1 << 20, 1 << 16, Duration.ofSeconds(30),
        CacheNamespace.PER_KEY, false, CacheMode.ALWAYS,
        Map.of("code", CacheMode.OFF, "chat", CacheMode.DETERMINISTIC)));
    assertThat(cache.modeOf("code")).isEqualTo(CacheMode.OFF);
    assertThat(cache.modeOf("elsewhere")).isEqualTo(CacheMode.ALWAYS);
  }

  @Test
  void withoutASectionTheCacheIsOnForDeterministicRequests() {
    CacheConfig cache = parse("").cache();
    assertThat(cache).isEqualTo(CacheConfig.defaults());
    assertThat(cache.enabled()).isTrue();
    assertThat(cache.maxBytes()).isEqualTo(256L << 20);
    assertThat(cache.maxEntryBytes()).isEqualTo(1 << 20);
    assertThat(cache.ttl()).isEqualTo(Duration.ofMinutes(10));
    assertThat(cache.namespace()).isEqualTo(CacheNamespace.SHARED);
    assertThat(cache.coalesce()).isTrue();
    assertThat(cache.modeOf("chat")).isEqualTo(CacheMode.DETERMINISTIC);
    assertThat(ProxyConfig.demo().cache().enabled()).isTrue();
  }

  @Test
  void badSettingsAreRefusedNamingTheSettingAndWhatWasExpected() {
    assertThatThrownBy(() -> parse("cache: {max_bytes: 1000, max_entry_bytes: 2000}"))
        .hasMessage("cache.max_entry_bytes: 2000 (expected: at most max_bytes (1000))");
    assertThatThrownBy(() -> parse("cache: {ttl: 0}"))
        .hasMessage("cache.ttl: \"0\" (expected: a duration > 0, such as 30s or 10m)");
    assertThatThrownBy(() -> parse("cache: {namespace: tenant}"))
        .hasMessage("cache.namespace: \"tenant\" (expected: one of shared, per_key)");
    assertThatThrownBy(() -> parse("cache: {routes: {chat: {mode: true}}}"))
        .hasMessage("cache.routes.chat.mode: \"true\" (expected: one of deterministic, always, off)");
    assertThatThrownBy(() -> parse("cache: {routes: {chat: {mode: sometimes}}}"))
        .hasMessage("cache.routes.chat.mode: \"sometimes\" (expected: one of deterministic, always, off)");
    assertThatThrownBy(() -> parse("cache: {routes: {chta: {mode: off}}}"))
        .hasMessage("cache.routes.chta: \"chta\" (expected: the name of a route in routes)");
    assertThatThrownBy(() -> parse("cache: {routes: {chat: {mode: off, ttl: 5s}}}"))
        .hasMessageStartingWith("cache.routes.chat.ttl: unknown setting");
    assertThatThrownBy(() -> parse("cache: {max_size: 5}"))
        .hasMessageStartingWith("cache.max_size: unknown setting");
    assertThatThrownBy(() -> parse("cache: {max_bytes: 0}"))
        .hasMessageStartingWith("cache.max_bytes: 0 (expected: an integer from 1 to");
  }

  @Test
  void theRecordRefusesInconsistentBoundsToo() {
    assertThatThrownBy(() -> CacheConfig.defaults().withBounds(100, 200, Duration.ofSeconds(1)))
        .isInstanceOf(ConfigException.class)
        .hasMessage("cache.max_entry_bytes: 200 (expected: from 1 to cache.max_bytes (100))");
  }

  @Test
  void readsTheSharedLevelWithItsPasswordFromTheEnvironmentAndDefaultsFromTheLocalCache() {
    CacheConfig cache = parse("""
        cache:
          ttl: 5m
          max_entry_bytes: 65536
          shared: {uri: "redis://redis:6379/2", password: {env: REDIS_PASSWORD}}
        """).cache();

    SharedCacheConfig shared = cache.shared();
    assertThat(shared.uri()).isEqualTo("redis://redis:6379/2");
    assertThat(shared.ttl()).isEqualTo(java.time.Duration.ofMinutes(5));
    assertThat(shared.maxEntryBytes()).isEqualTo(65536);
    assertThat(shared.timeout()).isEqualTo(SharedCacheConfig.DEFAULT_TIMEOUT);
    assertThat(shared.password().resolve(java.util.Map.of("REDIS_PASSWORD", "s3cret"))).isEqualTo("s3cret");
    assertThat(parse("").cache().shared()).isNull();
  }

  @Test
  void refusesAPasswordWrittenIntoTheSharedUriOrInline() {
    assertThatThrownBy(() -> parse("cache: {shared: {uri: \"redis://:hunter2@redis:6379\"}}"))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("cache.shared.uri: \"(a URI with credentials, not shown)\"")
        .hasMessageNotContaining("hunter2");
    assertThatThrownBy(() -> parse("cache: {shared: {uri: \"redis://redis:6379\", password: hunter2}}"))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("cache.shared.password: \"(a literal secret, not shown)\"")
        .hasMessageNotContaining("hunter2");
  }
}
