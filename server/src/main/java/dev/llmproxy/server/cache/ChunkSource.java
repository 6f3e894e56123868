package dev.llmproxy.server.cache;

import dev.llmproxy.v1.CompletionChunk;
import io.grpc.Metadata;
import io.grpc.Status;
import java.util.List;

/**
 * An answer as a {@link Replay} reads it, chunk by chunk at its own pace: a stored answer (all there)
 * or a {@link Flight} (growing while the upstream produces it). Readers address chunks by position
 * from 0 and learn how the answer ended once they have read past its last chunk.
 */
interface ChunkSource {
  /** The chunk at {@code position}, or null if it has not been produced (yet). */
  CompletionChunk chunkAt(int position);

  /**
   * How the answer ended, once {@code position} is past its last chunk; null while more chunks may
   * come (the reader is woken when they do).
   */
  Status endAfter(int position);

  /** Trailers to close a failed call with (a fresh copy). */
  Metadata trailers();

  /** Response headers from the upstream to pass on, such as {@code llmproxy-upstream} (a fresh copy). */
  Metadata upstreamHeaders();

  /** The model the answer names. */
  String model();

  /** The reader moved past a chunk: chunks before its position are no longer needed by it. */
  default void progressed(Reader reader) {}

  /** The reader is done (finished, failed or its client went away). */
  default void leave(Reader reader) {}

  /** A client's replay of a source, as the source sees it. */
  interface Reader {
    /** The position of the next chunk this reader will read. */
    int position();

    /** New chunks or the end are available: read on, on the caller's thread if no read is running. */
    void wake();
  }

  /** A stored answer as a source: every chunk is there, and it ended OK. */
  static ChunkSource of(CachedAnswer answer) {
    List<CompletionChunk> chunks = answer.chunks();
    return new ChunkSource() {
      @Override
      public CompletionChunk chunkAt(int position) {
        return position < chunks.size() ? chunks.get(position) : null;
      }

      @Override
      public Status endAfter(int position) {
        return position >= chunks.size() ? Status.OK : null;
      }

      @Override
      public Metadata trailers() {
        return new Metadata();
      }

      @Override
      public Metadata upstreamHeaders() {
        return new Metadata();
      }

      @Override
      public String model() {
        return answer.model();
      }
    };
  }
}
