package dev.llmproxy.server.upstream;

import io.grpc.ChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.Channel;
import io.grpc.netty.shaded.io.netty.channel.EventLoop;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.util.concurrent.EventExecutor;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * How {@link UpstreamChannelFactory} makes a route's channel: the transport seam. The proxy uses
 * Netty over TCP; tests can hand in the in-process transport, so that a proxy and its upstreams run
 * in one JVM without sockets. The factory adds the route's settings (service config, executor,
 * message size, interceptors, keepalive) to each builder this makes.
 */
@FunctionalInterface
public interface UpstreamTransport {
  /** A builder for a channel to {@code target}, a {@code static:///} or {@code dns:///} name. */
  ManagedChannelBuilder<?> builder(String target, ChannelCredentials credentials);

  /** The route's channel: one builder, given the route's settings by {@code configure}, built. */
  default ManagedChannel channel(String target, ChannelCredentials credentials,
      Consumer<ManagedChannelBuilder<?>> configure) {
    ManagedChannelBuilder<?> builder = builder(target, credentials);
    configure.accept(builder);
    return builder.build();
  }

  /** Netty over TCP on grpc's shared event loops. */
  static UpstreamTransport netty() {
    return NettyChannelBuilder::forTarget;
  }

  /**
   * Netty over TCP on {@code loops}, the event loops the proxy's server runs on: a route gets one
   * channel per loop, joined in a {@link LoopAffineChannel}, so that a call relays on the loop of
   * its client's connection.
   */
  static UpstreamTransport loopAffine(EventLoopGroup loops, Class<? extends Channel> channelType) {
    Objects.requireNonNull(loops, "loops");
    Objects.requireNonNull(channelType, "channelType");
    return new UpstreamTransport() {
      @Override
      public ManagedChannelBuilder<?> builder(String target, ChannelCredentials credentials) {
        return NettyChannelBuilder.forTarget(target, credentials).eventLoopGroup(loops).channelType(channelType);
      }

      @Override
      public ManagedChannel channel(String target, ChannelCredentials credentials,
          Consumer<ManagedChannelBuilder<?>> configure) {
        List<EventLoop> each = new ArrayList<>();
        List<ManagedChannel> lanes = new ArrayList<>();
        for (EventExecutor executor : loops) {
          EventLoop loop = (EventLoop) executor;
          NettyChannelBuilder builder = NettyChannelBuilder.forTarget(target, credentials)
              .eventLoopGroup(loop).channelType(channelType);
          configure.accept(builder);
          each.add(loop);
          lanes.add(builder.build());
        }
        return new LoopAffineChannel(each, lanes);
      }
    };
  }
}
