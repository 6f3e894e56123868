package dev.llmproxy.bench.floor;

import io.grpc.netty.shaded.io.netty.bootstrap.ServerBootstrap;
import io.grpc.netty.shaded.io.netty.channel.Channel;
import io.grpc.netty.shaded.io.netty.channel.ChannelInitializer;
import io.grpc.netty.shaded.io.netty.channel.EventLoop;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.ServerChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.Epoll;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.nio.NioIoHandler;
import io.grpc.netty.shaded.io.netty.channel.socket.SocketChannel;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioServerSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioSocketChannel;
import io.grpc.netty.shaded.io.netty.util.concurrent.DefaultThreadFactory;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * The floor under issue 11's relay goals: the least a JVM proxy on the same Netty as llmproxy (the
 * copy inside grpc-netty-shaded, with its native epoll) spends to relay gRPC over HTTP/2. It is a
 * benchmark instrument, not a proxy: it forwards each stream's HEADERS, DATA and trailers frame by
 * frame to one of the upstreams (round robin per stream), as the bytes they arrived in, and does
 * nothing else: no gRPC framing, no parsing, no routing, quota, cache, metrics, deadlines or
 * failover. Each event loop has one connection to every upstream, shared by the client connections
 * on that loop (as HAProxy's and llmproxy's upstream connections are shared), so no frame ever
 * changes threads, the best case for CPU. Received bytes are handed back to the sender's
 * flow-control window at once, as a byte proxy with a window-sized buffer does.
 *
 * <pre>java -jar benchmarks/target/llmproxy-bench.jar byte-relay --port 19120 --upstreams 127.0.0.1:19051,127.0.0.1:19052</pre>
 *
 * <p>{@code benchmarks/peers.sh} runs it beside llmproxy, nginx and HAProxy with {@code FLOOR=1}.
 */
public final class ByteRelay implements AutoCloseable {
  private final EventLoopGroup group;
  private final Channel server;

  private ByteRelay(EventLoopGroup group, Channel server) {
    this.group = group;
    this.server = server;
  }

  private static final String USAGE = "usage: byte-relay --port N --upstreams host:port[,host:port...]";

  /** {@code byte-relay --port N --upstreams host:port,...}: runs until the process is stopped; 2 on bad flags. */
  public static int run(String[] args, PrintStream err) throws InterruptedException {
    RelayFlags flags;
    try {
      flags = RelayFlags.parse(args);
    } catch (IllegalArgumentException e) {
      err.println("byte-relay: " + e.getMessage());
      err.println(USAGE);
      return 2;
    }
    try (ByteRelay relay = start(flags.port(), flags.upstreams())) {
      err.println("byte-relay: listening on " + relay.port() + ", upstreams " + flags.upstreams());
      relay.server.closeFuture().sync();
    }
    return 0;
  }

  /** Listens on {@code port} (0: any free one) of every address and relays to {@code upstreams}. */
  public static ByteRelay start(int port, List<InetSocketAddress> upstreams) throws InterruptedException {
    boolean epoll = Epoll.isAvailable();
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(0, new DefaultThreadFactory("byte-relay", true),
        epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
    Class<? extends ServerChannel> serverType = epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    Class<? extends SocketChannel> clientType = epoll ? EpollSocketChannel.class : NioSocketChannel.class;
    List<InetSocketAddress> targets = List.copyOf(upstreams);
    Map<EventLoop, UpstreamPool> pools = new ConcurrentHashMap<>();
    Function<EventLoop, UpstreamPool> poolOf =
        loop -> pools.computeIfAbsent(loop, l -> new UpstreamPool(l, targets, clientType));
    try {
      Channel server = new ServerBootstrap().group(group).channel(serverType)
          .childHandler(new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel ch) {
              ch.pipeline().addLast(new ClientSide.Builder(poolOf).build());
            }
          })
          .bind(port).sync().channel();
      return new ByteRelay(group, server);
    } catch (Exception e) { // bind failures too, which Netty rethrows unchecked
      group.shutdownGracefully();
      throw e;
    }
  }

  public int port() {
    return ((InetSocketAddress) server.localAddress()).getPort();
  }

  /** Closes the listener and every connection. */
  @Override
  public void close() throws InterruptedException {
    server.close().sync();
    group.shutdownGracefully(0, 5, TimeUnit.SECONDS).sync();
  }
}
