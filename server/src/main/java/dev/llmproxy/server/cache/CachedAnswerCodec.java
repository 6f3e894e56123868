package dev.llmproxy.server.cache;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import dev.llmproxy.v1.CompletionChunk;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.Deflater;
import java.util.zip.DeflaterOutputStream;
import java.util.zip.InflaterInputStream;

/**
 * A {@link CachedAnswer} as bytes for a shared store: a format version, the model, then each chunk
 * as a length-delimited protobuf message, so a replay keeps the chunk boundaries; all of it
 * deflated (LLM text compresses to about a third). Decoding anything else yields null: a store
 * written by another version is a miss, never an error.
 */
public final class CachedAnswerCodec {
  private static final int VERSION = 1;
  private static final int MAX_CHUNKS = 1 << 20;

  private CachedAnswerCodec() {}

  public static byte[] encode(CachedAnswer answer) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(256);
    try (DeflaterOutputStream deflated = new DeflaterOutputStream(bytes, new Deflater(Deflater.BEST_SPEED))) {
      CodedOutputStream out = CodedOutputStream.newInstance(deflated);
      out.writeUInt32NoTag(VERSION);
      out.writeStringNoTag(answer.model());
      out.writeUInt32NoTag(answer.chunks().size());
      for (CompletionChunk chunk : answer.chunks()) {
        out.writeUInt32NoTag(chunk.getSerializedSize());
        chunk.writeTo(out);
      }
      out.flush();
    } catch (IOException e) {
      throw new IllegalStateException("in-memory compression failed", e); // a ByteArrayOutputStream does not fail
    }
    return bytes.toByteArray();
  }

  /** The answer in {@code bytes}, or null if they are not an answer this version wrote. */
  public static CachedAnswer decode(byte[] bytes) {
    try (InputStream inflated = new InflaterInputStream(new java.io.ByteArrayInputStream(bytes))) {
      CodedInputStream in = CodedInputStream.newInstance(inflated);
      if (in.readUInt32() != VERSION) {
        return null;
      }
      String model = in.readString();
      int count = in.readUInt32();
      if (count < 1 || count > MAX_CHUNKS) {
        return null;
      }
      List<CompletionChunk> chunks = new ArrayList<>(Math.min(count, 1024));
      for (int i = 0; i < count; i++) {
        int size = in.readUInt32();
        int limit = in.pushLimit(size);
        chunks.add(CompletionChunk.parseFrom(in));
        in.popLimit(limit);
      }
      return new CachedAnswer(model, chunks);
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }
}
