package dev.llmproxy.server.completion;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.llmproxy.v1.Completion;
import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.FinishReason;
import dev.llmproxy.v1.ToolCallDelta;
import dev.llmproxy.v1.Usage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class RelayedChunkTest {
  private static final CompletionChunk MIDDLE = CompletionChunk.newBuilder().setId("cmpl-1").setIndex(3)
      .setText(" world").build();
  private static final CompletionChunk LAST = CompletionChunk.newBuilder().setId("cmpl-1").setIndex(4)
      .setFinishReason(FinishReason.FINISH_REASON_STOP)
      .setUsage(Usage.newBuilder().setPromptTokens(17).setCompletionTokens(5)).build();

  @Test
  void aChunkInTheMiddleKeepsItsBytesAndEndsNothing() throws Exception {
    byte[] bytes = MIDDLE.toByteArray();
    RelayedChunk relayed = RelayedChunk.of(bytes);
    assertThat(relayed.bytes()).isSameAs(bytes);
    assertThat(relayed.endsStream()).isFalse();
    assertThat(RelayedChunk.ending(relayed)).as("not parsed for usage it does not carry").isNull();
    assertThat(relayed.chunk()).isEqualTo(MIDDLE);
    assertThat(RelayedChunk.parsed(relayed)).isEqualTo(MIDDLE);
  }

  @Test
  void theLastChunkIsFoundByItsFinishReasonOrUsage() throws Exception {
    assertThat(RelayedChunk.of(LAST.toByteArray()).endsStream()).isTrue();
    assertThat(RelayedChunk.ending(RelayedChunk.of(LAST.toByteArray()))).isEqualTo(LAST);
    CompletionChunk finishOnly = CompletionChunk.newBuilder().setFinishReason(FinishReason.FINISH_REASON_LENGTH).build();
    assertThat(RelayedChunk.of(finishOnly.toByteArray()).endsStream()).isTrue();
    CompletionChunk usageOnly = CompletionChunk.newBuilder().setUsage(Usage.newBuilder().setPromptTokens(1)).build();
    assertThat(RelayedChunk.ending(RelayedChunk.of(usageOnly.toByteArray()))).isEqualTo(usageOnly);
  }

  @Test
  void parsedChunksAndOtherMessagesAreReadAsTheyAre() {
    assertThat(RelayedChunk.ending(MIDDLE)).isSameAs(MIDDLE);
    assertThat(RelayedChunk.parsed(LAST)).isSameAs(LAST);
    assertThat(RelayedChunk.ending(Completion.getDefaultInstance())).isNull();
    assertThat(RelayedChunk.parsed("text")).isNull();
  }

  @Test
  void fieldsInAnyOrderAndUnknownFieldsAreKeptAsTheyCame() throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    CodedOutputStream coded = CodedOutputStream.newInstance(out);
    coded.writeString(CompletionChunk.TEXT_FIELD_NUMBER, "héllo 世界");
    coded.writeUInt64(15, 7); // a field this proxy's schema does not know
    coded.writeString(CompletionChunk.ID_FIELD_NUMBER, "cmpl-9");
    coded.writeInt32(CompletionChunk.INDEX_FIELD_NUMBER, 2);
    coded.flush();
    byte[] bytes = out.toByteArray();

    RelayedChunk relayed = RelayedChunk.of(bytes);

    assertThat(relayed.bytes()).isEqualTo(bytes);
    assertThat(relayed.chunk().getText()).isEqualTo("héllo 世界");
    assertThat(relayed.chunk().getId()).isEqualTo("cmpl-9");
    assertThat(relayed.chunk().toByteArray()).as("what re-serialising would have sent instead").isNotEqualTo(bytes);
  }

  @Test
  void bytesCutShortAreRefused() {
    byte[] bytes = MIDDLE.toByteArray();
    assertThatThrownBy(() -> RelayedChunk.of(Arrays.copyOf(bytes, bytes.length - 2)))
        .isInstanceOf(InvalidProtocolBufferException.class);
  }

  @Test
  void textThatIsNotUtf8IsRefused() throws IOException {
    byte[] invalid = {'a', (byte) 0xC3, 'b'}; // a lead byte followed by ASCII
    assertThatThrownBy(() -> RelayedChunk.of(withText(invalid)))
        .isInstanceOf(InvalidProtocolBufferException.class).hasMessageContaining("not UTF-8");
    byte[] surrogate = {(byte) 0xED, (byte) 0xA0, (byte) 0x80}; // U+D800 encoded: not UTF-8
    assertThatThrownBy(() -> RelayedChunk.of(withText(surrogate))).isInstanceOf(InvalidProtocolBufferException.class);
    assertThat(RelayedChunk.of(withText("ok ✓".getBytes(StandardCharsets.UTF_8))).chunk().getText()).isEqualTo("ok ✓");
  }

  @Test
  void nestedMessagesAreCheckedWhenTheChunkArrives() throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    CodedOutputStream coded = CodedOutputStream.newInstance(out);
    // usage, length-delimited, holding a varint field cut short
    coded.writeBytes(CompletionChunk.USAGE_FIELD_NUMBER, ByteString.copyFrom(new byte[] {0x08, (byte) 0x80}));
    coded.flush();
    assertThatThrownBy(() -> RelayedChunk.of(out.toByteArray())).isInstanceOf(InvalidProtocolBufferException.class);

    CompletionChunk tools = CompletionChunk.newBuilder()
        .addToolCalls(ToolCallDelta.newBuilder().setIndex(0).setId("call-1")).build();
    RelayedChunk relayed = RelayedChunk.of(tools.toByteArray());
    assertThat(relayed.endsStream()).isFalse();
    assertThat(relayed.chunk()).isEqualTo(tools);
  }

  private static byte[] withText(byte[] text) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    CodedOutputStream coded = CodedOutputStream.newInstance(out);
    coded.writeBytes(CompletionChunk.TEXT_FIELD_NUMBER, ByteString.copyFrom(text));
    coded.flush();
    return out.toByteArray();
  }
}
