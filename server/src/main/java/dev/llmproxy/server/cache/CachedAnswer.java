package dev.llmproxy.server.cache;

import dev.llmproxy.server.completion.CompletionAssembler;
import dev.llmproxy.v1.Completion;
import dev.llmproxy.v1.CompletionChunk;
import java.util.List;
import java.util.Objects;

/**
 * A finished answer as the cache holds it: the chunks of a stream in their original order and
 * boundaries, or the single chunk a {@code Complete} answer becomes. One entry serves both RPCs:
 * a stream replays the chunks, {@code Complete} gets their concatenation.
 *
 * @param model the model the answer names, for rebuilding a {@code Completion}
 * @param chunks at least one; the last carries the finish reason and usage
 */
public record CachedAnswer(String model, List<CompletionChunk> chunks) {
  /** Bytes counted for an entry besides its chunks: the key, the record and its list. */
  static final int ENTRY_OVERHEAD = 128;

  public CachedAnswer {
    Objects.requireNonNull(model, "model");
    chunks = List.copyOf(chunks);
    if (chunks.isEmpty()) {
      throw new IllegalArgumentException("chunks: empty (expected: at least the final chunk)");
    }
  }

  /** The chunk a whole {@code Completion} is stored as. */
  static CompletionChunk chunkOf(Completion completion) {
    return CompletionAssembler.chunkOf(completion);
  }

  /** What the entry weighs against {@code cache.max_bytes}: its serialized size plus overhead. */
  public int weight() {
    long bytes = 0;
    for (CompletionChunk c : chunks) {
      bytes += c.getSerializedSize();
    }
    return weight(model, bytes);
  }

  static int weight(String model, long chunkBytes) {
    return (int) Math.min(Integer.MAX_VALUE, ENTRY_OVERHEAD + model.length() + chunkBytes);
  }
}
