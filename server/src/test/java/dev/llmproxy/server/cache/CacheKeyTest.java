package dev.llmproxy.server.cache;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.CodedOutputStream;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.Message;
import java.io.ByteArrayOutputStream;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

class CacheKeyTest {
  private static final CompletionRequest BASE = CompletionRequest.newBuilder()
      .setModel("m").setPrompt("hello").setMaxTokens(16).setTemperature(0).setTopP(1).addStop("\n").setSeed(3)
      .build();

  private static CacheKey key(CompletionRequest request) {
    return CacheKey.of("shared", "chat", request);
  }

  @Test
  void fieldOrderOnTheWireDoesNotChangeTheKey() throws Exception {
    // Another client writes the same request with its fields in reverse order.
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    CodedOutputStream out = CodedOutputStream.newInstance(bytes);
    out.writeInt64(8, 3);
    out.writeString(7, "\n");
    out.writeFloat(6, 1);
    out.writeFloat(5, 0);
    out.writeInt32(3, 16);
    out.writeString(2, "hello");
    out.writeString(1, "m");
    out.flush();
    CompletionRequest reordered = CompletionRequest.parseFrom(bytes.toByteArray());

    assertThat(reordered.toByteArray()).isNotEqualTo(bytes.toByteArray());
    assertThat(key(reordered)).isEqualTo(key(BASE)).hasSameHashCodeAs(key(BASE));
  }

  @Test
  void stopSequencesAreASet() {
    CompletionRequest a = BASE.toBuilder().clearStop().addStop("x").addStop("y").build();
    CompletionRequest b = BASE.toBuilder().clearStop().addStop("y").addStop("x").addStop("y").build();
    assertThat(key(a)).isEqualTo(key(b));
  }

  @Test
  void negativeZeroTemperatureMeansZero() {
    assertThat(key(BASE.toBuilder().setTemperature(-0.0f).build())).isEqualTo(key(BASE));
  }

  @Test
  void everyFieldThatChangesTheAnswerChangesTheKey() {
    List<UnaryOperator<CompletionRequest.Builder>> changes = List.of(
        b -> b.setModel("other"),
        b -> b.setPrompt("hello!"),
        b -> b.setMaxTokens(17),
        b -> b.setTemperature(0.5f),
        b -> b.clearTemperature(),
        b -> b.setTopP(0.9f),
        b -> b.clearTopP(),
        b -> b.addStop("."),
        b -> b.clearStop(),
        b -> b.setSeed(4),
        b -> b.clearSeed(),
        b -> b.clearPrompt().addMessages(Message.newBuilder().setRole("user").setContent("hello")));
    for (UnaryOperator<CompletionRequest.Builder> change : changes) {
      assertThat(key(change.apply(BASE.toBuilder()).build())).isNotEqualTo(key(BASE));
    }
  }

  @Test
  void routeAndNamespaceArePartOfTheKey() {
    assertThat(CacheKey.of("shared", "code", BASE)).isNotEqualTo(key(BASE));
    assertThat(CacheKey.of("key:a", "chat", BASE)).isNotEqualTo(CacheKey.of("key:b", "chat", BASE));
    assertThat(CacheKey.of("key:a", "chat", BASE)).isEqualTo(CacheKey.of("key:a", "chat", BASE));
  }

  @Test
  void lengthPrefixesKeepAdjacentFieldsFromRunningTogether() {
    CompletionRequest a = chat(Message.newBuilder().setRole("user").setContent("ab").build());
    CompletionRequest b = chat(Message.newBuilder().setRole("usera").setContent("b").build());
    CompletionRequest c = chat(Message.newBuilder().setRole("user").setContent("a").build(),
        Message.newBuilder().setRole("b").build());
    assertThat(key(a)).isNotEqualTo(key(b));
    assertThat(key(a)).isNotEqualTo(key(c));
    assertThat(CacheKey.of("ab", "c", BASE)).isNotEqualTo(CacheKey.of("a", "bc", BASE));
  }

  @Test
  void theKeyPrintsAsASha256InHex() {
    assertThat(key(BASE).toString()).hasSize(64).matches("[0-9a-f]+");
  }

  private static CompletionRequest chat(Message... messages) {
    return CompletionRequest.newBuilder().addAllMessages(List.of(messages)).setSeed(1).build();
  }
}
