package dev.llmproxy.bench.floor;

import io.grpc.netty.shaded.io.netty.handler.codec.http2.AbstractHttp2ConnectionHandlerBuilder;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.Http2ConnectionDecoder;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.Http2ConnectionEncoder;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.Http2Settings;

/** The {@link ByteRelay}'s connection to one upstream, in one event loop's {@link UpstreamPool}. */
final class UpstreamSide extends FrameRelayHandler {
  private UpstreamSide(Http2ConnectionDecoder decoder, Http2ConnectionEncoder encoder, Http2Settings settings) {
    super(decoder, encoder, settings);
  }

  @Override
  Peer peerOf(int streamId, boolean starting) {
    return linked(streamId); // streams start on the client's side only
  }

  static final class Builder extends AbstractHttp2ConnectionHandlerBuilder<UpstreamSide, Builder> {
    Builder() {
      server(false);
    }

    @Override
    public UpstreamSide build() {
      return super.build();
    }

    @Override
    protected UpstreamSide build(Http2ConnectionDecoder decoder, Http2ConnectionEncoder encoder,
        Http2Settings settings) {
      UpstreamSide side = new UpstreamSide(decoder, encoder, settings);
      frameListener(side);
      return side;
    }
  }
}
