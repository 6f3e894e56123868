package dev.llmproxy.server.upstream.openai;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * An incremental parser of a {@code text/event-stream} body (the WHATWG server-sent events format),
 * fed the bytes as they arrive, in pieces of any size.
 *
 * <p>Lines end with LF, CRLF or CR, including a CR at the end of one piece whose LF starts the next.
 * {@code data:} lines accumulate (joined with LF) until an empty line dispatches the event;
 * {@code event:} sets its type; comment lines ({@code :keep-alive}) and {@code id:}/{@code retry:}
 * are skipped; one space after the colon is dropped. Lines are kept as bytes until complete, so a
 * UTF-8 character split between two pieces decodes whole. One event may hold at most
 * {@code maxEventBytes}; a larger one is reported through {@link Listener#onOversizedEvent()} and
 * the parser stops, which bounds what an upstream can make the proxy hold.
 *
 * <p>Written here rather than taken from a library: the JDK's HTTP client has no SSE support, and
 * the libraries that do (OkHttp's, Armeria's, Reactor Netty's) each bring their own HTTP stack.
 * Not thread-safe: feed it from one thread at a time.
 */
final class SseParser {
  /** Receives parsed events. */
  interface Listener {
    /**
     * A complete event; {@code type} is {@code "message"} unless an {@code event:} line said
     * otherwise. {@code data} holds the event's UTF-8 bytes in {@code [0, length)}, and is valid only
     * during this call (the parser reuses it): the JSON parser reads the bytes, no string is built.
     */
    void onEvent(String type, byte[] data, int length);

    /** An event grew past the limit; nothing more is parsed. */
    void onOversizedEvent();
  }

  private final Listener listener;
  private final int maxEventBytes;
  private byte[] line = new byte[256];
  private int lineLength;
  private byte[] data = new byte[256];
  private int dataLength;
  private boolean hasData;
  private String eventType;
  private boolean skipLf;
  private boolean failed;

  SseParser(Listener listener, int maxEventBytes) {
    this.listener = listener;
    this.maxEventBytes = maxEventBytes;
  }

  /** Parses {@code bytes} (from its position to its limit), dispatching every event it completes. */
  void feed(ByteBuffer bytes) {
    while (bytes.hasRemaining() && !failed) {
      byte b = bytes.get();
      if (skipLf) {
        skipLf = false;
        if (b == '\n') {
          continue;
        }
      }
      if (b == '\n' || b == '\r') {
        skipLf = b == '\r';
        endLine();
      } else {
        if (lineLength == line.length) {
          if (line.length >= maxEventBytes) {
            fail();
            return;
          }
          line = Arrays.copyOf(line, Math.min(maxEventBytes, line.length * 2));
        }
        line[lineLength++] = b;
      }
    }
  }

  /** Whether the stream ended in the middle of an event (bytes or data lines not yet dispatched). */
  boolean hasPartialEvent() {
    return lineLength > 0 || hasData;
  }

  private void endLine() {
    if (lineLength == 0) {
      dispatch();
      return;
    }
    int colon = indexOf(':');
    if (colon == 0) {
      lineLength = 0; // a comment
      return;
    }
    int nameEnd = colon < 0 ? lineLength : colon;
    int valueStart = colon < 0 ? lineLength : colon + 1;
    if (valueStart < lineLength && line[valueStart] == ' ') {
      valueStart++;
    }
    if (nameIs("data", nameEnd)) {
      appendData(valueStart);
    } else if (nameIs("event", nameEnd)) {
      eventType = new String(line, valueStart, lineLength - valueStart, StandardCharsets.UTF_8);
    }
    lineLength = 0;
  }

  private void appendData(int from) {
    int length = lineLength - from;
    int needed = dataLength + (hasData ? 1 : 0) + length;
    if (needed > maxEventBytes) {
      fail();
      return;
    }
    if (needed > data.length) {
      data = Arrays.copyOf(data, Math.min(maxEventBytes, Math.max(needed, data.length * 2)));
    }
    if (hasData) {
      data[dataLength++] = '\n';
    }
    System.arraycopy(line, from, data, dataLength, length);
    dataLength += length;
    hasData = true;
  }

  private void dispatch() {
    if (hasData) {
      String type = eventType == null || eventType.isEmpty() ? "message" : eventType;
      int length = dataLength;
      hasData = false;
      dataLength = 0;
      eventType = null;
      listener.onEvent(type, data, length);
    } else {
      eventType = null;
    }
  }

  private void fail() {
    failed = true;
    listener.onOversizedEvent();
  }

  private int indexOf(char c) {
    for (int i = 0; i < lineLength; i++) {
      if (line[i] == c) {
        return i;
      }
    }
    return -1;
  }

  private boolean nameIs(String name, int length) {
    if (length != name.length()) {
      return false;
    }
    for (int i = 0; i < length; i++) {
      if (line[i] != name.charAt(i)) {
        return false;
      }
    }
    return true;
  }
}
