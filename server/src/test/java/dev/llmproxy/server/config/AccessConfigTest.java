package dev.llmproxy.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.llmproxy.server.auth.ApiKeyConfig;
import dev.llmproxy.server.quota.FailureMode;
import dev.llmproxy.server.quota.QuotaLimits;
import dev.llmproxy.server.quota.QuotaStoreType;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The {@code auth} and {@code quota} sections: parsed whole, refused precisely. */
class AccessConfigTest {
  private static final String ROUTES = "routes: [{name: r, default: true, models: [llama-3], upstreams: ['127.0.0.1:1']}]\n";
  private static final String HASH_A = ApiKeyConfig.sha256Hex("key-a");

  private final ConfigLoader loader = new ConfigLoader();

  private ProxyConfig parse(String yaml) {
    return loader.parse(ROUTES + yaml);
  }

  private void assertRefused(String yaml, String message) {
    assertThatThrownBy(() -> parse(yaml)).isInstanceOf(ConfigException.class).hasMessage(message);
  }

  @Test
  void parsesKeysTiersAndTheRedisStore() {
    ProxyConfig config = parse("""
        auth:
          header: x-team-key
          anonymous_tier: free
          keys:
            - {id: team-a, sha256: %s, tier: gold, models: [llama-3]}
            - {id: dev, plaintext_dev_only: let-me-in}
        quota:
          store: redis
          redis: {uri: "redis://:hunter2@10.0.0.9:6379/2", timeout: 20ms, on_failure: closed, slot_lease: 5m}
          tiers:
            - {name: gold, window: 1h, requests: 600, tokens: 100000, max_concurrent: 20}
            - {name: free, requests: 10}
        """.formatted(HASH_A.toUpperCase()));
    assertThat(config.auth().header()).isEqualTo("x-team-key");
    assertThat(config.auth().anonymousTier()).isEqualTo("free");
    ApiKeyConfig teamA = config.auth().keys().get(0);
    assertThat(teamA.sha256()).isEqualTo(HASH_A);
    assertThat(teamA.models()).containsExactly("llama-3");
    assertThat(teamA.plaintextDevOnly()).isFalse();
    ApiKeyConfig dev = config.auth().keys().get(1);
    assertThat(dev.sha256()).isEqualTo(ApiKeyConfig.sha256Hex("let-me-in"));
    assertThat(dev.plaintextDevOnly()).isTrue();
    assertThat(dev.toString()).doesNotContain("let-me-in").doesNotContain(dev.sha256());
    assertThat(config.quota().store()).isEqualTo(QuotaStoreType.REDIS);
    assertThat(config.quota().redis().timeout()).isEqualTo(Duration.ofMillis(20));
    assertThat(config.quota().redis().onFailure()).isEqualTo(FailureMode.CLOSED);
    assertThat(config.quota().redis().toString()).doesNotContain("hunter2");
    assertThat(config.quota().tier("gold").orElseThrow().limits())
        .isEqualTo(new QuotaLimits(Duration.ofHours(1), 600, 100_000, 20));
    assertThat(config.quota().tier("free").orElseThrow().limits())
        .isEqualTo(new QuotaLimits(Duration.ofMinutes(1), 10, 0, 0));
  }

  @Test
  void withoutAnAuthSectionNoKeyIsRequiredAndQuotasAreInMemory() {
    ProxyConfig config = parse("");
    assertThat(config.auth()).isNull();
    assertThat(config.quota().store()).isEqualTo(QuotaStoreType.MEMORY);
  }

  @Test
  void refusesNegativeAndZeroLimitsNamingTheSetting() {
    assertRefused("quota: {tiers: [{name: t, requests: -5}]}",
        "quota.tiers[0].requests: -5 (expected: an integer from 1 to 60000000000 for a window of 1m; "
            + "omit the setting for no limit)");
    assertRefused("quota: {tiers: [{name: t, max_concurrent: 0}]}",
        "quota.tiers[0].max_concurrent: 0 (expected: an integer from 1 to 1000000; omit the setting for no limit)");
    assertRefused("quota: {tiers: [{name: t, window: 0}]}",
        "quota.tiers[0].window: \"0\" (expected: a duration from 1ms to 24h)");
  }

  @Test
  void refusesALimitTooLargeForExactArithmetic() {
    assertRefused("quota: {tiers: [{name: t, window: 1s, requests: 2000000000}]}",
        "quota.tiers[0].requests: 2000000000 (expected: an integer from 1 to 1000000000 for a window of 1s; "
            + "omit the setting for no limit)");
    assertRefused("quota: {tiers: [{name: t, window: 24h, tokens: 1000000000000}]}",
        "quota.tiers[0].tokens: 1000000000000 (expected: an integer from 1 to 104249991 for a window of 24h; "
            + "omit the setting for no limit)");
  }

  @Test
  void refusesDuplicateKeyIdsNamingBothKeys() {
    assertRefused("""
        auth:
          keys:
            - {id: team-a, plaintext_dev_only: one}
            - {id: team-a, plaintext_dev_only: two}
        """, "auth.keys[1].id: \"team-a\" (expected: an id no other key uses; auth.keys[0] already uses it)");
  }

  @Test
  void refusesTwoKeysWithTheSameSecretWithoutShowingIt() {
    assertRefused("""
        auth:
          keys:
            - {id: team-a, sha256: %s}
            - {id: team-b, plaintext_dev_only: key-a}
        """.formatted(HASH_A),
        "auth.keys[1]: key 'team-b' has the same secret as key 'team-a' (expected: a distinct secret per key)");
  }

  @Test
  void refusesMalformedHashesWithoutEchoingThem() {
    assertRefused("auth: {keys: [{id: team-a, sha256: sk-live-123456}]}",
        "auth.keys[0].sha256: \"a value of 14 characters\" (expected: 64 hexadecimal digits, e.g. the output of: "
            + "printf %s \"$KEY\" | sha256sum)");
    assertRefused("auth: {keys: [{id: team-a, sha256: %s}]}".formatted(HASH_A.replace('a', 'g')),
        "auth.keys[0].sha256: \"a value of 64 characters\" (expected: 64 hexadecimal digits, e.g. the output of: "
            + "printf %s \"$KEY\" | sha256sum)");
  }

  @Test
  void refusesAKeyWithBothOrNeitherFormOfTheSecret() {
    String expected = "exactly one of sha256 (hex SHA-256 of the key) or plaintext_dev_only (development only)";
    assertRefused("auth: {keys: [{id: team-a}]}", "auth.keys[0].sha256: missing (expected: " + expected + ")");
    assertRefused("auth: {keys: [{id: team-a, sha256: %s, plaintext_dev_only: x}]}".formatted(HASH_A),
        "auth.keys[0].sha256: \"set together with plaintext_dev_only\" (expected: " + expected + ")");
  }

  @Test
  void refusesKeyIdsThatCannotBeNamedSafelyOrClashWithAnonymous() {
    assertRefused("auth: {keys: [{id: 'team a', plaintext_dev_only: x}]}",
        "auth.keys[0].id: \"team a\" (expected: 1 to 64 letters, digits, '.', '_' or '-', starting with a letter "
            + "or digit)");
    assertRefused("auth: {keys: [{id: anonymous, plaintext_dev_only: x}]}",
        "auth.keys[0].id: \"anonymous\" (expected: an id other than 'anonymous', which names callers without a key)");
  }

  @Test
  void refusesAKeyLimitedToAModelNoRouteServes() {
    String yaml = "routes: [{name: chat, default: true, models: [llama-3, mistral], upstreams: ['127.0.0.1:1']}]\n"
        + "auth: {keys: [{id: team-a, sha256: " + HASH_A + ", models: [mistral, lama-3]}]}\n";
    assertThatThrownBy(() -> loader.parse(yaml)).isInstanceOf(ConfigException.class)
        .hasMessage("auth.keys[0].models[1]: \"lama-3\" (expected: a model that a route serves: one of [llama-3, mistral])");
    // A route that serves every model serves the key's too.
    assertThat(loader.parse(yaml.replace("models: [llama-3, mistral]", "models: ['*']")).auth().keys()).hasSize(1);
  }

  @Test
  void refusesTiersThatDoNotExist() {
    assertRefused("auth: {keys: [{id: team-a, plaintext_dev_only: x, tier: gold}]}\nquota: {tiers: [{name: free}]}",
        "auth.keys[0].tier: \"gold\" (expected: a tier defined under quota.tiers [free])");
    assertRefused("auth: {anonymous_tier: free}",
        "auth.anonymous_tier: \"free\" (expected: a tier defined under quota.tiers [])");
    assertRefused("quota: {tiers: [{name: t}, {name: t}]}",
        "quota.tiers[1].name: \"t\" (expected: a name no other tier uses)");
    assertRefused("quota: {tiers: [{name: gold, requests: 5}]}",
        "quota.tiers: \"[gold]\" (expected: an auth section whose keys or anonymous_tier use them; without auth "
            + "nobody is limited)");
  }

  @Test
  void refusesBadStoreSettings() {
    assertRefused("quota: {store: etcd}", "quota.store: \"etcd\" (expected: one of memory, redis)");
    assertRefused("quota: {redis: {uri: 'http://u:secret@host:6379'}}",
        "quota.redis.uri: \"http://***@host:6379\" (expected: redis://host:port or rediss://host:port)");
    assertRefused("quota: {redis: {on_failure: maybe}}", "quota.redis.on_failure: \"maybe\" (expected: one of open, closed)");
    assertRefused("quota: {redis: {timeout: 0}}", "quota.redis.timeout: \"0ms\" (expected: a duration from 1ms to 10s)");
    assertRefused("auth: {header: authorization}",
        "auth.header: \"authorization\" (expected: a lower-case ASCII header name, not grpc-*, binary (-bin) or "
            + "authorization)");
    assertRefused("auth: {keyz: []}", "auth.keyz: unknown setting (expected one of: anonymous_tier, header, keys)");
  }

  @Test
  void theDemoServesAnonymousCallersAndLimitsTheDemoKeyToTenRequestsAMinute() {
    ProxyConfig demo = ProxyConfig.demo();
    assertThat(demo.auth().allowsAnonymous()).isTrue();
    ApiKeyConfig key = demo.auth().keys().get(0);
    assertThat(key.sha256()).isEqualTo(ApiKeyConfig.sha256Hex(ProxyConfig.DEMO_KEY));
    assertThat(key.plaintextDevOnly()).isTrue();
    QuotaLimits limits = demo.quota().tier(key.tier()).orElseThrow().limits();
    assertThat(limits.requests()).isEqualTo(10);
    assertThat(limits.window()).isEqualTo(Duration.ofMinutes(1));
  }
}
