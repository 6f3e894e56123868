package dev.llmproxy.bench.floor;

import io.grpc.netty.shaded.io.netty.buffer.ByteBuf;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandlerContext;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.Http2ConnectionDecoder;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.Http2ConnectionEncoder;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.Http2Error;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.Http2Flags;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.Http2FrameListener;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.Http2Headers;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.Http2Settings;
import io.grpc.netty.shaded.io.netty.util.collection.IntObjectHashMap;
import java.util.ArrayList;
import java.util.List;

/**
 * One HTTP/2 connection of the {@link ByteRelay}: the frames read on it are written, unchanged, to
 * the peer stream on another connection ({@link #peerOf}); the connections written to are flushed
 * once per read batch. All connections a stream crosses share one event loop.
 */
abstract class FrameRelayHandler extends Http2ConnectionHandler implements Http2FrameListener {
  /** A stream's other end: the connection and the stream id on it. */
  record Peer(FrameRelayHandler handler, int streamId) {}

  private final IntObjectHashMap<Peer> peers = new IntObjectHashMap<>();
  private final List<FrameRelayHandler> written = new ArrayList<>();
  ChannelHandlerContext ctx;
  private boolean dirty;

  FrameRelayHandler(Http2ConnectionDecoder decoder, Http2ConnectionEncoder encoder, Http2Settings settings) {
    super(decoder, encoder, settings);
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) throws Exception {
    this.ctx = ctx;
    super.handlerAdded(ctx);
  }

  /** The other end of {@code streamId}, or a new one for a stream that starts here; null: none. */
  abstract Peer peerOf(int streamId, boolean starting);

  final void link(int streamId, Peer peer) {
    peers.put(streamId, peer);
  }

  final Peer linked(int streamId) {
    return peers.get(streamId);
  }

  final void unlink(int streamId) {
    peers.remove(streamId);
  }

  private void wroteTo(FrameRelayHandler to) {
    if (!to.dirty) {
      to.dirty = true;
      written.add(to);
    }
  }

  @Override
  public void onHeadersRead(ChannelHandlerContext c, int streamId, Http2Headers headers, int padding,
      boolean endStream) {
    Peer peer = peerOf(streamId, true);
    if (peer == null) {
      encoder().writeRstStream(ctx, streamId, Http2Error.REFUSED_STREAM.code(), ctx.newPromise());
      return;
    }
    FrameRelayHandler to = peer.handler();
    to.encoder().writeHeaders(to.ctx, peer.streamId(), headers, 0, endStream, to.ctx.newPromise())
        .addListener(f -> {
          if (!f.isSuccess()) {
            resetBoth(streamId, peer);
          }
        });
    wroteTo(to);
    if (endStream) {
      unlink(streamId);
    }
  }

  @Override
  public void onHeadersRead(ChannelHandlerContext c, int streamId, Http2Headers headers, int streamDependency,
      short weight, boolean exclusive, int padding, boolean endStream) {
    onHeadersRead(c, streamId, headers, padding, endStream);
  }

  @Override
  public int onDataRead(ChannelHandlerContext c, int streamId, ByteBuf data, int padding, boolean endStream) {
    int consumed = data.readableBytes() + padding; // handed back at once: see ByteRelay
    Peer peer = peerOf(streamId, false);
    if (peer != null) {
      FrameRelayHandler to = peer.handler();
      to.encoder().writeData(to.ctx, peer.streamId(), data.retain(), 0, endStream, to.ctx.voidPromise());
      wroteTo(to);
      if (endStream) {
        unlink(streamId);
      }
    }
    return consumed;
  }

  @Override
  public void onRstStreamRead(ChannelHandlerContext c, int streamId, long errorCode) {
    Peer peer = peerOf(streamId, false);
    if (peer != null) {
      unlink(streamId);
      peer.handler().unlink(peer.streamId());
      FrameRelayHandler to = peer.handler();
      to.encoder().writeRstStream(to.ctx, peer.streamId(), errorCode, to.ctx.newPromise());
      wroteTo(to);
    }
  }

  private void resetBoth(int streamId, Peer peer) {
    unlink(streamId);
    peer.handler().unlink(peer.streamId());
    encoder().writeRstStream(ctx, streamId, Http2Error.REFUSED_STREAM.code(), ctx.newPromise());
    flush(ctx);
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext c) throws Exception {
    for (int i = 0; i < written.size(); i++) {
      FrameRelayHandler to = written.get(i);
      to.dirty = false;
      to.flush(to.ctx);
    }
    written.clear();
    super.channelReadComplete(c);
  }

  /** Resets the other end of every stream still open on this connection, which has closed. */
  @Override
  public void channelInactive(ChannelHandlerContext c) throws Exception {
    peers.forEach((streamId, peer) -> {
      FrameRelayHandler to = peer.handler();
      to.unlink(peer.streamId());
      if (to.ctx.channel().isActive()) {
        to.encoder().writeRstStream(to.ctx, peer.streamId(), Http2Error.CANCEL.code(), to.ctx.newPromise());
        to.flush(to.ctx);
      }
    });
    peers.clear();
    super.channelInactive(c);
  }

  @Override
  public void onPriorityRead(ChannelHandlerContext c, int streamId, int dependency, short weight, boolean exclusive) {}

  @Override
  public void onSettingsAckRead(ChannelHandlerContext c) {}

  @Override
  public void onSettingsRead(ChannelHandlerContext c, Http2Settings settings) {}

  @Override
  public void onPingRead(ChannelHandlerContext c, long data) {}

  @Override
  public void onPingAckRead(ChannelHandlerContext c, long data) {}

  @Override
  public void onPushPromiseRead(ChannelHandlerContext c, int streamId, int promisedStreamId, Http2Headers headers,
      int padding) {}

  @Override
  public void onGoAwayRead(ChannelHandlerContext c, int lastStreamId, long errorCode, ByteBuf debugData) {}

  @Override
  public void onWindowUpdateRead(ChannelHandlerContext c, int streamId, int windowSizeIncrement) {}

  @Override
  public void onUnknownFrame(ChannelHandlerContext c, byte frameType, int streamId, Http2Flags flags,
      ByteBuf payload) {}
}
