package dev.llmproxy.server.completion;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.UnsafeByteOperations;
import com.google.protobuf.WireFormat;
import dev.llmproxy.v1.CompletionChunk;
import java.io.IOException;

/**
 * A stream chunk as a gRPC upstream sent it: the bytes of its {@code CompletionChunk}, relayed to
 * the client as they are, and parsed only where the proxy needs more than the bytes. A relayed
 * stream's chunks are neither parsed on the way in nor serialised on the way out; the proxy reads
 * the fields it needs (usage and finish reason) from the last chunk only, which {@link #endsStream}
 * finds by its field tags.
 *
 * <p>{@link #of} checks what relaying the bytes unparsed would otherwise skip: the structure (every
 * field's tag and length within the message) and that the string fields are UTF-8, as the client's
 * parser will require. A chunk with nested messages (usage, tool calls, log probabilities) is
 * parsed there and then, so a relayed chunk always parses.
 */
public final class RelayedChunk {
  private static final int ID = CompletionChunk.ID_FIELD_NUMBER;
  private static final int TEXT = CompletionChunk.TEXT_FIELD_NUMBER;
  private static final int REASONING = CompletionChunk.REASONING_FIELD_NUMBER;
  private static final int FINISH_REASON = CompletionChunk.FINISH_REASON_FIELD_NUMBER;
  private static final int USAGE = CompletionChunk.USAGE_FIELD_NUMBER;
  private static final int TOOL_CALLS = CompletionChunk.TOOL_CALLS_FIELD_NUMBER;
  private static final int LOGPROBS = CompletionChunk.LOGPROBS_FIELD_NUMBER;

  private final byte[] bytes;
  private final boolean endsStream;
  // Parsed on first need; parsing twice on a race is harmless (the result is immutable and equal).
  private volatile CompletionChunk parsed;

  private RelayedChunk(byte[] bytes, boolean endsStream, CompletionChunk parsed) {
    this.bytes = bytes;
    this.endsStream = endsStream;
    this.parsed = parsed;
  }

  /**
   * The chunk in {@code bytes} (kept, not copied).
   *
   * @throws InvalidProtocolBufferException if they are not a well-formed {@code CompletionChunk}
   */
  public static RelayedChunk of(byte[] bytes) throws InvalidProtocolBufferException {
    try {
      return scanned(bytes);
    } catch (InvalidProtocolBufferException e) {
      throw e;
    } catch (IOException e) { // reading an array throws only the above; the signatures say IOException
      throw new InvalidProtocolBufferException(e);
    }
  }

  private static RelayedChunk scanned(byte[] bytes) throws IOException {
    CodedInputStream in = CodedInputStream.newInstance(bytes);
    boolean ends = false;
    boolean nested = false;
    int tag;
    while ((tag = in.readTag()) != 0) {
      int field = WireFormat.getTagFieldNumber(tag);
      if ((field == ID || field == TEXT || field == REASONING)
          && WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
        int length = in.readRawVarint32();
        int start = in.getTotalBytesRead();
        in.skipRawBytes(length); // throws when the length runs past the end
        if (!isUtf8(bytes, start, length)) {
          throw new InvalidProtocolBufferException("CompletionChunk field " + field + ": not UTF-8");
        }
        continue;
      }
      if (field == FINISH_REASON || field == USAGE) {
        ends = true;
      }
      if (field == USAGE || field == TOOL_CALLS || field == LOGPROBS) {
        nested = true;
      }
      if (!in.skipField(tag)) {
        throw new InvalidProtocolBufferException("CompletionChunk: unexpected end-group tag");
      }
    }
    return new RelayedChunk(bytes, ends, nested ? CompletionChunk.parseFrom(bytes) : null);
  }

  /** Whether the chunk sets usage or a finish reason, as a stream's last chunk does. */
  public boolean endsStream() {
    return endsStream;
  }

  /** The bytes as they arrived; not to be modified. */
  public byte[] bytes() {
    return bytes;
  }

  /** The parsed chunk. */
  public CompletionChunk chunk() {
    CompletionChunk chunk = parsed;
    if (chunk == null) {
      try {
        chunk = CompletionChunk.parseFrom(bytes);
      } catch (InvalidProtocolBufferException e) {
        throw new IllegalStateException("of() checked every field this parse reads", e);
      }
      parsed = chunk;
    }
    return chunk;
  }

  /** {@code message} as a parsed chunk: itself, or a relayed chunk parsed; null for other messages. */
  public static CompletionChunk parsed(Object message) {
    if (message instanceof CompletionChunk chunk) {
      return chunk;
    }
    return message instanceof RelayedChunk relayed ? relayed.chunk() : null;
  }

  /**
   * {@code message} as a parsed chunk if it may carry usage or a finish reason; null for other
   * messages and for relayed chunks that carry neither (which are then not parsed).
   */
  public static CompletionChunk ending(Object message) {
    if (message instanceof CompletionChunk chunk) {
      return chunk;
    }
    return message instanceof RelayedChunk relayed && relayed.endsStream ? relayed.chunk() : null;
  }

  private static boolean isUtf8(byte[] bytes, int start, int length) {
    int end = start + length;
    for (int i = start; i < end; i++) {
      if (bytes[i] < 0) { // not ASCII: the full check (rare for most text, so not worth writing twice)
        return UnsafeByteOperations.unsafeWrap(bytes, i, end - i).isValidUtf8();
      }
    }
    return true;
  }
}
