package dev.llmproxy.bench.floor;

import io.grpc.netty.shaded.io.netty.channel.ChannelHandlerContext;
import io.grpc.netty.shaded.io.netty.channel.EventLoop;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.AbstractHttp2ConnectionHandlerBuilder;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.Http2ConnectionDecoder;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.Http2ConnectionEncoder;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.Http2Settings;
import java.util.function.Function;

/**
 * A client's connection to the {@link ByteRelay} (the HTTP/2 server side). It reads nothing until
 * its event loop's {@link UpstreamPool} is connected; each new stream goes to the pool's next upstream.
 */
final class ClientSide extends FrameRelayHandler {
  private final Function<EventLoop, UpstreamPool> pools;
  private UpstreamPool pool;

  private ClientSide(Http2ConnectionDecoder decoder, Http2ConnectionEncoder encoder, Http2Settings settings,
      Function<EventLoop, UpstreamPool> pools) {
    super(decoder, encoder, settings);
    this.pools = pools;
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) throws Exception {
    super.channelActive(ctx);
    ctx.channel().config().setAutoRead(false);
    pool = pools.apply(ctx.channel().eventLoop());
    boolean connecting = pool.whenReady(() -> {
      if (pool.failed()) {
        ctx.close();
      } else {
        ctx.channel().config().setAutoRead(true);
        ctx.read();
      }
    });
    if (!connecting) {
      ctx.close();
    }
  }

  @Override
  Peer peerOf(int streamId, boolean starting) {
    Peer peer = linked(streamId);
    if (peer == null && starting) {
      UpstreamSide to = pool.next();
      if (to == null) {
        return null;
      }
      int upstreamStream = to.connection().local().incrementAndGetNextStreamId();
      peer = new Peer(to, upstreamStream);
      link(streamId, peer);
      to.link(upstreamStream, new Peer(this, streamId));
    }
    return peer;
  }

  static final class Builder extends AbstractHttp2ConnectionHandlerBuilder<ClientSide, Builder> {
    private final Function<EventLoop, UpstreamPool> pools;

    Builder(Function<EventLoop, UpstreamPool> pools) {
      this.pools = pools;
      server(true);
    }

    @Override
    public ClientSide build() {
      return super.build();
    }

    @Override
    protected ClientSide build(Http2ConnectionDecoder decoder, Http2ConnectionEncoder encoder, Http2Settings settings) {
      ClientSide side = new ClientSide(decoder, encoder, settings, pools);
      frameListener(side);
      return side;
    }
  }
}
