package dev.llmproxy.sim;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.Message;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class PrefixKvCacheTest {
  private final PrefixKvCache cache = new PrefixKvCache();

  @Test
  void aRepeatedPromptPrefixIsCachedInWholeBlocks() {
    String system = words("sys", 40); // 2 full blocks of 16 and 8 words left over
    assertThat(cache.lookUpAndStore(chat(system, "first question"), 100, 16)).isZero();

    // The same system prompt, another user turn: its two full blocks are cached.
    assertThat(cache.lookUpAndStore(chat(system, "second question"), 100, 16)).isEqualTo(32);
    assertThat(cache.promptTokens()).isEqualTo(84);
    assertThat(cache.cachedTokens()).isEqualTo(32);
  }

  @Test
  void aBlockMatchesOnlyAfterTheSamePrefix() {
    String shared = words("x", 16);
    cache.lookUpAndStore(prompt(words("a", 16) + " " + shared), 100, 16);

    // The same second block after a different first block is not a hit.
    assertThat(cache.lookUpAndStore(prompt(words("b", 16) + " " + shared), 100, 16)).isZero();
  }

  @Test
  void evictsTheLeastRecentlyUsedBlocksWhenFull() {
    String a = words("a", 32);
    String b = words("b", 32);
    String c = words("c", 32);
    cache.lookUpAndStore(prompt(a), 4, 16);
    cache.lookUpAndStore(prompt(b), 4, 16);
    cache.lookUpAndStore(prompt(a), 4, 16); // a is now the most recently used
    cache.lookUpAndStore(prompt(c), 4, 16); // evicts b

    assertThat(cache.size()).isEqualTo(4);
    assertThat(cache.lookUpAndStore(prompt(a), 4, 16)).isEqualTo(32);
    assertThat(cache.lookUpAndStore(prompt(b), 4, 16)).isZero();
  }

  @Test
  void cachesNothingWithoutCapacity() {
    cache.lookUpAndStore(prompt(words("a", 32)), 0, 16);

    assertThat(cache.lookUpAndStore(prompt(words("a", 32)), 0, 16)).isZero();
    assertThat(cache.size()).isZero();
  }

  static String words(String stem, int count) {
    return IntStream.range(0, count).mapToObj(i -> stem + i).collect(Collectors.joining(" "));
  }

  private static CompletionRequest prompt(String text) {
    return CompletionRequest.newBuilder().setPrompt(text).build();
  }

  private static CompletionRequest chat(String system, String user) {
    return CompletionRequest.newBuilder()
        .addMessages(Message.newBuilder().setRole("system").setContent(system))
        .addMessages(Message.newBuilder().setRole("user").setContent(user))
        .build();
  }
}
