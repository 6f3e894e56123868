package dev.llmproxy.server.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class HashedApiKeysTest {
  private final HashedApiKeys keys = new HashedApiKeys(List.of(
      ApiKeyConfig.hashed("team-a", ApiKeyConfig.sha256Hex("key-a"), null, List.of()),
      ApiKeyConfig.plaintextDevOnly("team-b", "key-b", null, List.of())));

  @Test
  void namesTheKeyWhoseHashMatches() {
    assertThat(keys.idOf("key-a")).isEqualTo("team-a");
    assertThat(keys.idOf("key-b")).isEqualTo("team-b");
  }

  @Test
  void matchesNothingThatIsNotExactlyAKey() {
    assertThat(keys.idOf("key-")).isNull();
    assertThat(keys.idOf("key-a ")).isNull();
    assertThat(keys.idOf("KEY-A")).isNull();
    assertThat(keys.idOf(ApiKeyConfig.sha256Hex("key-a"))).as("the hash itself is not a key").isNull();
  }

  @Test
  void hashesKeysWithSha256OfTheirUtf8Bytes() {
    assertThat(ApiKeyConfig.sha256Hex("abc"))
        .isEqualTo("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  }

  @Test
  void keepsOnlyTheHashOfAKeyGivenInPlaintext() throws Exception {
    ApiKeyConfig key = ApiKeyConfig.plaintextDevOnly("team-b", "key-b", null, List.of());
    assertThat(key.sha256()).isEqualTo(ApiKeyConfig.sha256Hex("key-b"));
    for (var component : ApiKeyConfig.class.getRecordComponents()) {
      assertThat(String.valueOf(component.getAccessor().invoke(key))).doesNotContain("key-b");
    }
    assertThat(key.toString()).doesNotContain("key-b").doesNotContain(key.sha256());
  }
}
