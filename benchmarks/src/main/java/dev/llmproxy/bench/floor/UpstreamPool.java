package dev.llmproxy.bench.floor;

import io.grpc.netty.shaded.io.netty.bootstrap.Bootstrap;
import io.grpc.netty.shaded.io.netty.channel.ChannelOption;
import io.grpc.netty.shaded.io.netty.channel.EventLoop;
import io.grpc.netty.shaded.io.netty.channel.socket.SocketChannel;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * One event loop's connections to the upstreams, one per upstream, shared by the client
 * connections on that loop as HAProxy's and llmproxy's are; streams go to them in turn. Touched
 * only on its loop.
 */
final class UpstreamPool {
  private final UpstreamSide[] upstreams;
  private final List<Runnable> waiting = new ArrayList<>();
  private int connecting;
  private boolean failed;
  private int next;

  UpstreamPool(EventLoop loop, List<InetSocketAddress> addresses, Class<? extends SocketChannel> channelType) {
    upstreams = new UpstreamSide[addresses.size()];
    connecting = upstreams.length;
    for (int i = 0; i < upstreams.length; i++) {
      UpstreamSide side = new UpstreamSide.Builder().build();
      upstreams[i] = side;
      InetSocketAddress address = addresses.get(i);
      new Bootstrap().group(loop).channel(channelType).option(ChannelOption.TCP_NODELAY, true).handler(side)
          .connect(address).addListener(f -> {
            if (!f.isSuccess()) {
              failed = true;
              System.err.println("byte-relay: cannot connect to " + address + ": " + f.cause());
            }
            if (--connecting == 0) {
              waiting.forEach(Runnable::run);
              waiting.clear();
            }
          });
    }
  }

  /** Runs {@code ready} once every connection is up (at once if they are); false if one failed. */
  boolean whenReady(Runnable ready) {
    if (failed) {
      return false;
    }
    if (connecting == 0) {
      ready.run();
    } else {
      waiting.add(ready);
    }
    return true;
  }

  boolean failed() {
    return failed;
  }

  /** The next upstream in turn, or null if one of them is down (the instrument does not fail over). */
  UpstreamSide next() {
    UpstreamSide side = upstreams[next];
    next = (next + 1) % upstreams.length;
    return side.ctx != null && side.ctx.channel().isActive() ? side : null;
  }
}
