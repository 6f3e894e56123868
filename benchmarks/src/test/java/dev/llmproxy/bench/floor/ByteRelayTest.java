package dev.llmproxy.bench.floor;

import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.util.List;

/** {@link ByteRelay}, the floor on bare Netty: the contract every floor instrument keeps. */
class ByteRelayTest extends FloorRelayContract {
  @Override
  String name() {
    return "byte-relay";
  }

  @Override
  Started start(List<InetSocketAddress> addresses) throws Exception {
    ByteRelay relay = ByteRelay.start(0, addresses);
    return new Started(relay, relay.port());
  }

  @Override
  int run(String[] args, PrintStream err) throws Exception {
    return ByteRelay.run(args, err);
  }
}
