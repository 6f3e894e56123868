package dev.llmproxy.server.upstream;

import io.grpc.ChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
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
}
