package dev.llmproxy.server;

import io.grpc.netty.shaded.io.netty.buffer.ByteBuf;
import io.grpc.netty.shaded.io.netty.buffer.Unpooled;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.DefaultHttp2HeadersDecoder;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.DefaultHttp2HeadersEncoder;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.Http2Exception;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.Http2Headers;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * A client connection that writes HTTP/2 frames by hand, for behaviour a well-behaved grpc client
 * never shows: streams reset as fast as they are opened, request messages that never finish. It
 * keeps to flow control (it waits for the server's window before sending DATA), answers SETTINGS
 * and PING, and records what the server sends back: GOAWAY, resets, trailers' grpc-status.
 */
final class RawHttp2Connection implements AutoCloseable {
  private static final byte[] PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
  static final int DATA = 0;
  static final int HEADERS = 1;
  static final int RST_STREAM = 3;
  static final int SETTINGS = 4;
  static final int PING = 6;
  static final int GOAWAY = 7;
  static final int WINDOW_UPDATE = 8;
  private static final int END_STREAM = 0x1;
  private static final int END_HEADERS = 0x4;
  private static final int ACK = 0x1;
  private static final int MAX_DATA = 16_384;

  private final Socket socket;
  private final OutputStream out;
  private final DefaultHttp2HeadersEncoder encoder = new DefaultHttp2HeadersEncoder();
  private final DefaultHttp2HeadersDecoder decoder = new DefaultHttp2HeadersDecoder(false);
  private final Thread reader;
  private final Map<Integer, Long> streamWindows = new ConcurrentHashMap<>();
  private final Map<Integer, String> grpcStatus = new ConcurrentHashMap<>();
  private final Map<Integer, Integer> resets = new ConcurrentHashMap<>();
  private int nextStreamId = 1;
  // Guarded by this.
  private long connectionWindow = 65_535;
  private long initialStreamWindow = 65_535;
  private volatile long goAwayNanos;
  private volatile long goAwayError = -1;
  private volatile int goAwayLastStream = -1;
  private volatile boolean ended;
  private final java.util.concurrent.CountDownLatch settingsAcked = new java.util.concurrent.CountDownLatch(1);

  private RawHttp2Connection(Socket socket) throws IOException {
    this.socket = socket;
    this.out = socket.getOutputStream();
    this.reader = new Thread(this::read, "raw-http2-reader");
    reader.setDaemon(true);
  }

  static RawHttp2Connection open(String host, int port) throws IOException {
    Socket socket = new Socket(host, port);
    socket.setTcpNoDelay(true);
    RawHttp2Connection c = new RawHttp2Connection(socket);
    synchronized (c.out) {
      c.out.write(PREFACE);
      c.frame(SETTINGS, 0, 0, new byte[0]);
      c.out.flush();
    }
    c.reader.start();
    return c;
  }

  /**
   * Waits for the server's SETTINGS to be acknowledged: from then on the server holds this
   * connection to them (e.g. its limit on concurrent streams).
   */
  boolean awaitSettings(Duration wait) throws InterruptedException {
    return settingsAcked.await(wait.toNanos(), TimeUnit.NANOSECONDS);
  }

  /** Opens a stream for a grpc call of {@code path} (HEADERS, not ended); returns its id. */
  synchronized int openCall(String path) throws IOException {
    int id = nextStreamId;
    nextStreamId += 2;
    Http2Headers h = new DefaultHttp2Headers().method("POST").scheme("http").authority("localhost").path(path);
    h.add("content-type", "application/grpc").add("te", "trailers");
    ByteBuf block = Unpooled.buffer();
    try {
      encoder.encodeHeaders(id, h, block);
    } catch (Http2Exception e) {
      throw new IOException(e);
    }
    byte[] bytes = new byte[block.readableBytes()];
    block.readBytes(bytes);
    block.release();
    streamWindows.put(id, initialStreamWindow);
    synchronized (out) {
      frame(HEADERS, END_HEADERS, id, bytes);
    }
    return id;
  }

  /** The 5-byte grpc message prefix announcing a message of {@code length} bytes. */
  static byte[] messagePrefix(int length) {
    return new byte[] {0, (byte) (length >>> 24), (byte) (length >>> 16), (byte) (length >>> 8), (byte) length};
  }

  /**
   * Sends {@code bytes} on stream {@code id} as DATA frames, waiting for flow-control window;
   * returns false if the connection ended or the window did not open within {@code wait}.
   */
  boolean send(int id, byte[] bytes, boolean endStream, Duration wait) throws IOException, InterruptedException {
    int offset = 0;
    long deadline = System.nanoTime() + wait.toNanos();
    do {
      int n;
      synchronized (this) {
        while (!ended && window(id) <= 0 && bytes.length > 0 && !answered(id)) {
          long left = deadline - System.nanoTime();
          if (left <= 0) {
            return false;
          }
          TimeUnit.NANOSECONDS.timedWait(this, left);
        }
        if (ended || answered(id)) {
          return false;
        }
        n = (int) Math.min(Math.min(bytes.length - offset, MAX_DATA), window(id));
        connectionWindow -= n;
        streamWindows.merge(id, (long) -n, Long::sum);
      }
      byte[] chunk = java.util.Arrays.copyOfRange(bytes, offset, offset + n);
      offset += n;
      synchronized (out) {
        frame(DATA, endStream && offset == bytes.length ? END_STREAM : 0, id, chunk);
      }
    } while (offset < bytes.length);
    return true;
  }

  /** Whether the server already ended stream {@code id} (trailers or a reset). */
  boolean answered(int id) {
    return grpcStatus.containsKey(id) || resets.containsKey(id);
  }

  private long window(int id) {
    return Math.min(connectionWindow, streamWindows.getOrDefault(id, 0L));
  }

  /** Resets stream {@code id} (CANCEL). */
  void reset(int id) throws IOException {
    synchronized (out) {
      frame(RST_STREAM, 0, id, new byte[] {0, 0, 0, 8});
    }
  }

  void flush() throws IOException {
    synchronized (out) {
      out.flush();
    }
  }

  /** When the server's GOAWAY arrived (System.nanoTime), or 0. */
  long goAwayNanos() {
    return goAwayNanos;
  }

  /** The last stream the server's GOAWAY says it processed, or -1. */
  int goAwayLastStream() {
    return goAwayLastStream;
  }

  long goAwayError() {
    return goAwayError;
  }

  /** Whether the server sent GOAWAY or closed the connection. */
  boolean ended() {
    return ended || goAwayNanos != 0;
  }

  /** The grpc-status the server's trailers gave stream {@code id}, or null. */
  String grpcStatus(int id) {
    return grpcStatus.get(id);
  }

  /** The HTTP/2 error code of the server's RST_STREAM on {@code id}, or null. */
  Integer resetCode(int id) {
    return resets.get(id);
  }

  private void frame(int type, int flags, int stream, byte[] payload) throws IOException {
    int len = payload.length;
    out.write(new byte[] {(byte) (len >>> 16), (byte) (len >>> 8), (byte) len, (byte) type, (byte) flags,
        (byte) (stream >>> 24), (byte) (stream >>> 16), (byte) (stream >>> 8), (byte) stream});
    out.write(payload);
  }

  private void read() {
    try (DataInputStream in = new DataInputStream(socket.getInputStream())) {
      while (true) {
        int len = (in.readUnsignedByte() << 16) | (in.readUnsignedByte() << 8) | in.readUnsignedByte();
        int type = in.readUnsignedByte();
        int flags = in.readUnsignedByte();
        int stream = in.readInt() & 0x7fffffff;
        byte[] payload = new byte[len];
        in.readFully(payload);
        onFrame(type, flags, stream, payload);
      }
    } catch (EOFException e) {
      // The server closed the connection.
    } catch (IOException | Http2Exception e) {
      // Reset, or closed by close().
    } finally {
      synchronized (this) {
        ended = true;
        notifyAll();
      }
    }
  }

  private void onFrame(int type, int flags, int stream, byte[] p) throws IOException, Http2Exception {
    switch (type) {
      case SETTINGS -> {
        if ((flags & ACK) == 0) {
          for (int i = 0; i + 6 <= p.length; i += 6) {
            int id = ((p[i] & 0xff) << 8) | (p[i + 1] & 0xff);
            long value = int32(p, i + 2) & 0xffffffffL;
            if (id == 4) {
              synchronized (this) {
                long delta = value - initialStreamWindow;
                initialStreamWindow = value;
                streamWindows.replaceAll((k, v) -> v + delta);
                notifyAll();
              }
            }
          }
          synchronized (out) {
            frame(SETTINGS, ACK, 0, new byte[0]);
            out.flush();
          }
          settingsAcked.countDown();
        }
      }
      case PING -> {
        if ((flags & ACK) == 0) {
          synchronized (out) {
            frame(PING, ACK, 0, p);
            out.flush();
          }
        }
      }
      case WINDOW_UPDATE -> {
        long increment = int32(p, 0) & 0x7fffffffL;
        synchronized (this) {
          if (stream == 0) {
            connectionWindow += increment;
          } else {
            streamWindows.merge(stream, increment, Long::sum);
          }
          notifyAll();
        }
      }
      case GOAWAY -> {
        // A server may send more than one GOAWAY; each may only lower the last stream id.
        int last = int32(p, 0) & 0x7fffffff;
        goAwayLastStream = goAwayLastStream < 0 ? last : Math.min(goAwayLastStream, last);
        long error = int32(p, 4) & 0xffffffffL;
        if (goAwayError <= 0) {
          goAwayError = error;
        }
        if (goAwayNanos == 0) {
          goAwayNanos = System.nanoTime();
        }
        synchronized (this) {
          notifyAll();
        }
      }
      case RST_STREAM -> {
        resets.put(stream, int32(p, 0));
        synchronized (this) {
          notifyAll();
        }
      }
      case HEADERS -> {
        int start = 0;
        int end = p.length;
        if ((flags & 0x8) != 0) { // PADDED
          start = 1;
          end -= p[0] & 0xff;
        }
        if ((flags & 0x20) != 0) { // PRIORITY
          start += 5;
        }
        ByteBuf block = Unpooled.wrappedBuffer(p, start, end - start);
        Http2Headers headers = decoder.decodeHeaders(stream, block);
        CharSequence status = headers.get("grpc-status");
        if (status != null) {
          grpcStatus.put(stream, status.toString());
          synchronized (this) {
            notifyAll();
          }
        }
      }
      default -> { } // DATA and the rest: ignored (our calls are never meant to be answered)
    }
  }

  private static int int32(byte[] p, int i) {
    return ((p[i] & 0xff) << 24) | ((p[i + 1] & 0xff) << 16) | ((p[i + 2] & 0xff) << 8) | (p[i + 3] & 0xff);
  }

  @Override
  public void close() {
    try {
      socket.close();
    } catch (IOException e) {
      // Closing anyway.
    }
  }
}
