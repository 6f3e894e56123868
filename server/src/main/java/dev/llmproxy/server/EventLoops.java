package dev.llmproxy.server;

import io.grpc.netty.shaded.io.netty.channel.Channel;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.IoHandlerFactory;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.ServerChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.Epoll;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.nio.NioIoHandler;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioServerSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioSocketChannel;
import io.grpc.netty.shaded.io.netty.util.concurrent.DefaultThreadFactory;
import java.util.concurrent.TimeUnit;

/**
 * The proxy's own Netty event loops, shared by its server (client connections) and its upstream
 * channels (upstream connections), so that a call can be relayed on one loop from end to end: one
 * loop per core (every chunk's work stays on its loop, so more would only add switching), epoll
 * where the platform has it. The acceptor has a loop of its own.
 */
final class EventLoops implements AutoCloseable {
  final EventLoopGroup boss;
  final EventLoopGroup workers;
  final Class<? extends ServerChannel> serverChannelType;
  final Class<? extends Channel> channelType;

  private EventLoops(EventLoopGroup boss, EventLoopGroup workers, Class<? extends ServerChannel> serverChannelType,
      Class<? extends Channel> channelType) {
    this.boss = boss;
    this.workers = workers;
    this.serverChannelType = serverChannelType;
    this.channelType = channelType;
  }

  static EventLoops create(int threads) {
    boolean epoll = Epoll.isAvailable();
    IoHandlerFactory io = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
    EventLoopGroup boss = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("llmproxy-accept", true), io);
    EventLoopGroup workers = new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory("llmproxy-loop", true), io);
    return epoll
        ? new EventLoops(boss, workers, EpollServerSocketChannel.class, EpollSocketChannel.class)
        : new EventLoops(boss, workers, NioServerSocketChannel.class, NioSocketChannel.class);
  }

  /** Stops the loops; call after the server and the channels that use them have shut down. */
  @Override
  public void close() {
    boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    workers.shutdownGracefully(0, 1, TimeUnit.SECONDS);
  }
}
