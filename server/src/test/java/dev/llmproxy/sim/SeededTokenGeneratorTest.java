package dev.llmproxy.sim;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.FinishReason;
import dev.llmproxy.v1.Message;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class SeededTokenGeneratorTest {
  private static CompletionRequest.Builder request() {
    return CompletionRequest.newBuilder().setModel("m").setPrompt("tell me a story").setMaxTokens(40);
  }

  private static List<String> tokens(CompletionRequest request) {
    SeededTokenGenerator generator = new SeededTokenGenerator(request);
    List<String> tokens = new ArrayList<>();
    while (generator.hasNext()) {
      tokens.add(generator.next());
    }
    return tokens;
  }

  private static String text(CompletionRequest request) {
    return new SeededTokenGenerator(request).drain();
  }

  @Test
  void sameRequestProducesSameText() {
    assertThat(text(request().build())).isEqualTo(text(request().build())).isNotBlank();
  }

  @Test
  void seedModelPromptAndMessagesEachChangeTheText() {
    String base = text(request().build());
    assertThat(text(request().setSeed(7).build())).isNotEqualTo(base);
    assertThat(text(request().setSeed(7).build())).isNotEqualTo(text(request().setSeed(8).build()));
    assertThat(text(request().setModel("other").build())).isNotEqualTo(base);
    assertThat(text(request().setPrompt("tell me another story").build())).isNotEqualTo(base);
    CompletionRequest chat = request().clearPrompt()
        .addMessages(Message.newBuilder().setRole("user").setContent("tell me a story"))
        .build();
    CompletionRequest chatAsSystem = request().clearPrompt()
        .addMessages(Message.newBuilder().setRole("system").setContent("tell me a story"))
        .build();
    assertThat(text(chat)).isNotEqualTo(base).isNotEqualTo(text(chatAsSystem));
  }

  @Test
  void producesExactlyMaxTokensAndFinishesWithLength() {
    SeededTokenGenerator generator = new SeededTokenGenerator(request().setMaxTokens(17).build());
    String text = generator.drain();
    assertThat(generator.produced()).isEqualTo(17);
    assertThat(text.split(" ")).hasSize(17);
    assertThat(generator.finishReason()).isEqualTo(FinishReason.FINISH_REASON_LENGTH);
  }

  @Test
  void firstTokenIsABareWordAndLaterTokensStartWithASpace() {
    List<String> tokens = tokens(request().build());
    assertThat(tokens.get(0)).doesNotStartWith(" ").isNotEmpty();
    assertThat(tokens.subList(1, tokens.size())).allSatisfy(t -> assertThat(t).matches(" \\S+"));
  }

  @Test
  void zeroMaxTokensProducesTheDefault64() {
    SeededTokenGenerator generator = new SeededTokenGenerator(request().setMaxTokens(0).build());
    generator.drain();
    assertThat(generator.produced()).isEqualTo(SeededTokenGenerator.DEFAULT_MAX_TOKENS).isEqualTo(64);
  }

  @Test
  void largerMaxTokensExtendsTheSameText() {
    assertThat(text(request().setMaxTokens(30).build())).startsWith(text(request().setMaxTokens(10).build()));
  }

  @Test
  void stopStringEndsGenerationJustBeforeTheTokenThatWouldCompleteIt() {
    List<String> full = tokens(request().setMaxTokens(40).build());
    String stop = full.get(20) + full.get(21); // spans two tokens
    SeededTokenGenerator generator =
        new SeededTokenGenerator(request().setMaxTokens(40).addStop(stop).build());
    String text = generator.drain();

    assertThat(generator.finishReason()).isEqualTo(FinishReason.FINISH_REASON_STOP);
    assertThat(text).doesNotContain(stop);
    assertThat(String.join("", full)).startsWith(text);
    int produced = generator.produced();
    assertThat(produced).isLessThanOrEqualTo(21);
    assertThat(text + full.get(produced)).contains(stop);
  }

  @Test
  void stopStringInTheFirstTokenProducesNothing() {
    String first = tokens(request().build()).get(0);
    SeededTokenGenerator generator = new SeededTokenGenerator(request().addStop(first).build());
    assertThat(generator.hasNext()).isFalse();
    assertThat(generator.produced()).isZero();
    assertThat(generator.finishReason()).isEqualTo(FinishReason.FINISH_REASON_STOP);
  }

  @Test
  void emptyOrAbsentStopStringsAreIgnored() {
    SeededTokenGenerator generator =
        new SeededTokenGenerator(request().addStop("").addStop("zzz-never").build());
    generator.drain();
    assertThat(generator.produced()).isEqualTo(40);
    assertThat(generator.finishReason()).isEqualTo(FinishReason.FINISH_REASON_LENGTH);
  }

  @Test
  void promptTokensCountWhitespaceSeparatedWordsAndAtLeastOne() {
    assertThat(SeededTokenGenerator.promptTokens(request().setPrompt("  one two\tthree\nfour ").build()))
        .isEqualTo(4);
    CompletionRequest chat = CompletionRequest.newBuilder()
        .addMessages(Message.newBuilder().setRole("system").setContent("be brief"))
        .addMessages(Message.newBuilder().setRole("user").setContent("hello there you"))
        .build();
    assertThat(SeededTokenGenerator.promptTokens(chat)).isEqualTo(5);
    assertThat(SeededTokenGenerator.promptTokens(request().setPrompt("   ").build())).isEqualTo(1);
  }

  @Test
  void textIsStableAcrossJvmsAndReleases() {
    // Pinned so that a change of the hash or vocabulary, which changes every simulated text, is deliberate.
    assertThat(text(CompletionRequest.newBuilder().setPrompt("hi").setMaxTokens(3).build()))
        .isEqualTo("answer error meadow");
  }
}
