package dev.llmproxy.server.cache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.FinishReason;
import dev.llmproxy.v1.Usage;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class CachedAnswerCodecTest {
  private static CachedAnswer answer(int chunks) {
    List<CompletionChunk> list = new ArrayList<>();
    for (int i = 0; i < chunks; i++) {
      CompletionChunk.Builder c = CompletionChunk.newBuilder().setId("cmpl-1").setIndex(i).setText(" token" + i);
      if (i == chunks - 1) {
        c.setFinishReason(FinishReason.FINISH_REASON_LENGTH)
            .setUsage(Usage.newBuilder().setPromptTokens(7).setCompletionTokens(chunks).setTotalTokens(7 + chunks));
      }
      list.add(c.build());
    }
    return new CachedAnswer("llama", list);
  }

  @Test
  void roundTripsEveryChunkWithItsBoundaries() {
    CachedAnswer original = answer(200);

    assertThat(CachedAnswerCodec.decode(CachedAnswerCodec.encode(original))).isEqualTo(original);
  }

  @Test
  void compressesRepetitiveText() {
    CachedAnswer original = answer(500);

    assertThat(CachedAnswerCodec.encode(original).length).isLessThan(original.weight() / 2);
  }

  @Test
  void bytesItDidNotWriteAreAMissNotAnError() {
    assertThat(CachedAnswerCodec.decode(new byte[] {1, 2, 3})).isNull();
    assertThat(CachedAnswerCodec.decode(new byte[0])).isNull();
    byte[] truncated = CachedAnswerCodec.encode(answer(50));
    assertThat(CachedAnswerCodec.decode(java.util.Arrays.copyOf(truncated, truncated.length / 2))).isNull();
  }
}
