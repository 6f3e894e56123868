package dev.llmproxy.server.upstream;

import io.grpc.inprocess.InProcessSocketAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.List;

/**
 * The name an endpoint has on every replica of the proxy, for placing it on a hash ring:
 * {@code host:port} for a network address (as configured, or as DNS resolved it), and for an
 * OpenAI-compatible upstream its base URL (its in-process server name carries an id unique to this
 * proxy, which is dropped).
 */
final class EndpointIdentity {
  private static final String OPENAI_PREFIX = "llmproxy-openai/";

  private EndpointIdentity() {
  }

  static String of(List<SocketAddress> addresses) {
    StringBuilder identity = new StringBuilder();
    for (SocketAddress address : addresses) {
      if (identity.length() > 0) {
        identity.append(',');
      }
      identity.append(of(address));
    }
    return identity.toString();
  }

  static String of(SocketAddress address) {
    if (address instanceof InetSocketAddress inet) {
      return inet.getHostString() + ":" + inet.getPort();
    }
    if (address instanceof InProcessSocketAddress inProcess) {
      String name = inProcess.getName();
      if (name.startsWith(OPENAI_PREFIX)) {
        int afterId = name.indexOf('/', OPENAI_PREFIX.length());
        return afterId < 0 ? name : name.substring(afterId + 1);
      }
      return name;
    }
    return address.toString();
  }
}
