package dev.llmproxy.bench.floor;

import dev.llmproxy.bench.Options;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

/** The two flags every floor instrument takes: {@code --port N --upstreams host:port[,host:port...]}. */
record RelayFlags(int port, List<InetSocketAddress> upstreams) {

  /** Parses {@code args}; an {@link IllegalArgumentException} names the flag at fault. */
  static RelayFlags parse(String[] args) {
    Options options = new Options(args);
    int port = options.integer("port", -1);
    List<InetSocketAddress> upstreams = addresses(options.string("upstreams", ""));
    options.rejectUnknown();
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("--port: " + port + " (expected: 0 to 65535)");
    }
    if (upstreams.isEmpty()) {
      throw new IllegalArgumentException("--upstreams: missing (expected: host:port[,host:port...])");
    }
    return new RelayFlags(port, List.copyOf(upstreams));
  }

  private static List<InetSocketAddress> addresses(String list) {
    List<InetSocketAddress> out = new ArrayList<>();
    for (String hostPort : list.isEmpty() ? new String[0] : list.split(",")) {
      int colon = hostPort.lastIndexOf(':');
      int p = colon < 0 ? -1 : parsePort(hostPort.substring(colon + 1));
      if (p < 0) {
        throw new IllegalArgumentException("--upstreams: '" + hostPort + "' is not host:port");
      }
      out.add(new InetSocketAddress(hostPort.substring(0, colon), p));
    }
    return out;
  }

  private static int parsePort(String s) {
    try {
      int p = Integer.parseInt(s);
      return p >= 0 && p < 65536 ? p : -1;
    } catch (NumberFormatException e) {
      return -1;
    }
  }
}
