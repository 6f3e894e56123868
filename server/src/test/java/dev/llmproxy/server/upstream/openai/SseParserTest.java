package dev.llmproxy.server.upstream.openai;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class SseParserTest {
  private final List<String> events = new ArrayList<>();
  private boolean oversized;
  private final SseParser parser = new SseParser(new SseParser.Listener() {
    @Override
    public void onEvent(String type, byte[] data, int length) {
      events.add(type + "|" + new String(data, 0, length, StandardCharsets.UTF_8));
    }

    @Override
    public void onOversizedEvent() {
      oversized = true;
    }
  }, 64);

  private void feed(String text) {
    parser.feed(ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)));
  }

  @Test
  void dispatchesEachEventOnItsBlankLine() {
    feed("data: {\"a\":1}\n\ndata: [DONE]\n\n");
    assertThat(events).containsExactly("message|{\"a\":1}", "message|[DONE]");
  }

  @Test
  void eventsSplitAcrossPiecesAtEveryByteParseTheSame() {
    byte[] whole = "data: héllo\r\n\r\ndata: wörld\n\n".getBytes(StandardCharsets.UTF_8);
    for (byte b : whole) {
      parser.feed(ByteBuffer.wrap(new byte[] {b}));
    }
    assertThat(events).containsExactly("message|héllo", "message|wörld");
  }

  @Test
  void crlfAndLoneCrEndLines() {
    feed("data: one\r\n\r\n");
    feed("data: two\r\r");
    feed("data: three\r");
    feed("\n\r\n");
    assertThat(events).containsExactly("message|one", "message|two", "message|three");
  }

  @Test
  void commentsAndOtherFieldsAreSkipped() {
    feed(": keep-alive\n\nid: 7\nretry: 1000\ndata: x\n\n");
    assertThat(events).containsExactly("message|x");
  }

  @Test
  void multiLineDataIsJoinedWithNewlines() {
    feed("data: first\ndata:second\ndata:  third\n\n");
    assertThat(events).containsExactly("message|first\nsecond\n third");
  }

  @Test
  void eventTypeAppliesToItsEventOnly() {
    feed("event: error\ndata: {\"error\":{}}\n\ndata: after\n\n");
    assertThat(events).containsExactly("error|{\"error\":{}}", "message|after");
  }

  @Test
  void blankLinesWithoutDataDispatchNothing() {
    feed("\n\n\nevent: ping\n\n");
    assertThat(events).isEmpty();
  }

  @Test
  void reportsAPartialEventAtTheEnd() {
    feed("data: unfinished");
    assertThat(parser.hasPartialEvent()).isTrue();
    feed("\n\n");
    assertThat(parser.hasPartialEvent()).isFalse();
    feed("data: x\n");
    assertThat(parser.hasPartialEvent()).isTrue();
  }

  @Test
  void anEventOverTheLimitStopsTheParser() {
    feed("data: " + "x".repeat(100) + "\n\ndata: later\n\n");
    assertThat(oversized).isTrue();
    assertThat(events).isEmpty();
  }

  @Test
  void manyDataLinesOverTheLimitStopTheParser() {
    feed("data: 0123456789012345678901234567890\ndata: 0123456789012345678901234567890\ndata: x\n\n");
    assertThat(oversized).isTrue();
    assertThat(events).isEmpty();
  }
}
