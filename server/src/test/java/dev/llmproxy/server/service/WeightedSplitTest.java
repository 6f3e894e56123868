package dev.llmproxy.server.service;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.server.config.ModelSplit;
import dev.llmproxy.server.config.ModelSplit.Share;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.LongUnaryOperator;
import org.junit.jupiter.api.Test;

class WeightedSplitTest {
  private static final LongUnaryOperator NO_RANDOM = bound -> {
    throw new AssertionError("a sticky pick drew a random number");
  };

  private static ModelSplit split(ModelSplit.Sticky sticky, int v1, int v2) {
    return new ModelSplit("llama", sticky, List.of(new Share("llama-v1", v1), new Share("llama-v2", v2)));
  }

  private static Map<String, Integer> count(int picks, java.util.function.IntFunction<String> pick) {
    Map<String, Integer> counts = new HashMap<>();
    for (int i = 0; i < picks; i++) {
      counts.merge(pick.apply(i), 1, Integer::sum);
    }
    return counts;
  }

  @Test
  void randomPicksFollowTheWeights() {
    Random random = new Random(42);
    WeightedSplit split = new WeightedSplit(split(ModelSplit.Sticky.NONE, 95, 5), random::nextLong);

    Map<String, Integer> counts = count(2000, i -> split.pick("same-key"));

    // Expected 100 of 2000 (standard deviation about 10); seeded, so the bounds are for a reader.
    assertThat(counts.get("llama-v2")).isBetween(70, 130);
    assertThat(counts.get("llama-v1")).isEqualTo(2000 - counts.get("llama-v2"));
  }

  @Test
  void everyPointOfTheRangeMapsToItsShare() {
    long[] next = {0};
    WeightedSplit split = new WeightedSplit(split(ModelSplit.Sticky.NONE, 3, 1), bound -> next[0]++ % bound);

    assertThat(count(4, i -> split.pick(null))).isEqualTo(Map.of("llama-v1", 3, "llama-v2", 1));
  }

  @Test
  void aStickySplitSendsOneKeyToOneRouteAlways() {
    WeightedSplit split = new WeightedSplit(split(ModelSplit.Sticky.API_KEY, 50, 50), NO_RANDOM);
    WeightedSplit sameConfigElsewhere = new WeightedSplit(split(ModelSplit.Sticky.API_KEY, 50, 50), NO_RANDOM);

    for (String key : List.of("team-a", "team-b", "team-c", "laptop")) {
      String first = split.pick(key);
      assertThat(count(200, i -> split.pick(key))).isEqualTo(Map.of(first, 200));
      assertThat(sameConfigElsewhere.pick(key)).as("another replica, or after a restart").isEqualTo(first);
    }
  }

  @Test
  void aStickySplitSpreadsKeysByWeight() {
    WeightedSplit even = new WeightedSplit(split(ModelSplit.Sticky.API_KEY, 50, 50), NO_RANDOM);
    WeightedSplit canary = new WeightedSplit(split(ModelSplit.Sticky.API_KEY, 95, 5), NO_RANDOM);

    Map<String, Integer> evenCounts = count(2000, i -> even.pick("key-" + i));
    Map<String, Integer> canaryCounts = count(2000, i -> canary.pick("key-" + i));

    assertThat(evenCounts.get("llama-v1")).isBetween(880, 1120);
    assertThat(canaryCounts.get("llama-v2")).isBetween(60, 140);
  }

  @Test
  void anAnonymousCallerOfAStickySplitIsPickedAtRandom() {
    WeightedSplit split = new WeightedSplit(split(ModelSplit.Sticky.API_KEY, 1, 1), bound -> 1);

    assertThat(split.pick(null)).isEqualTo("llama-v2");
  }
}
