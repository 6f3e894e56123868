package dev.llmproxy.server.completion;

import io.grpc.Drainable;
import io.grpc.KnownLength;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;

/**
 * A serialised message as grpc's framer writes it fastest: its length known and drained in one
 * write. A plain stream would be copied through an 8 KiB buffer allocated per message, which on
 * the relay path is per token.
 */
public final class MessageBytes extends ByteArrayInputStream implements KnownLength, Drainable {
  /** Over {@code bytes}, which are not copied: the caller must not change them. */
  public MessageBytes(byte[] bytes) {
    super(bytes);
  }

  @Override
  public int drainTo(OutputStream target) throws IOException {
    int n = count - pos;
    target.write(buf, pos, n);
    pos = count;
    return n;
  }
}
