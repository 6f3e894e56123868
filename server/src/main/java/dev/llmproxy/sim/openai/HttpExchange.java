package dev.llmproxy.sim.openai;

import dev.llmproxy.orca.LoadReportHeader;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.util.function.Supplier;
import javax.annotation.Nullable;

/**
 * The response side of one HTTP/1.1 request on a connection: a whole response, or a chunked event
 * stream written piece by piece. Every response names the backend in {@code llmproxy-upstream}. When
 * the response is done, the connection is closed if the request did not keep it alive, else {@code
 * onDone} runs so the connection can serve its next request. Used on the connection's event loop only.
 */
final class HttpExchange {
  static final String UPSTREAM_HEADER = "llmproxy-upstream";
  private static final String EVENT_STREAM = "text/event-stream; charset=utf-8";

  private final ChannelHandlerContext ctx;
  private final boolean keepAlive;
  private final String upstream;
  private final Supplier<String> loadReport;
  private final Runnable onDone;
  private boolean started;
  private boolean done;

  /**
   * {@code loadReport}, if not null, gives the {@code endpoint-load-metrics} header, read when the
   * response starts (the request asked for one with {@code endpoint-load-metrics-format}).
   */
  HttpExchange(ChannelHandlerContext ctx, boolean keepAlive, String upstream, @Nullable Supplier<String> loadReport,
      Runnable onDone) {
    this.ctx = ctx;
    this.keepAlive = keepAlive;
    this.upstream = upstream;
    this.loadReport = loadReport;
    this.onDone = onDone;
  }

  /** Whether the response has begun (its headers are written). */
  boolean started() {
    return started;
  }

  /** Whether the response is complete or the connection was dropped. */
  boolean done() {
    return done;
  }

  /** Whether the connection takes more output now without queueing beyond its high-water mark. */
  boolean writable() {
    return ctx.channel().isWritable();
  }

  /** Sends a whole response; {@code extraHeaders} are name, value pairs. */
  void respond(HttpResponseStatus status, String contentType, ByteBuf body, String... extraHeaders) {
    if (started) {
      body.release();
      throw new IllegalStateException("response already started");
    }
    FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, body);
    HttpHeaders headers = response.headers();
    if (contentType != null) {
      headers.set(HttpHeaderNames.CONTENT_TYPE, contentType);
    }
    headers.setInt(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes());
    addCommonHeaders(headers, extraHeaders);
    started = true;
    finish(ctx.writeAndFlush(response));
  }

  /** Sends a response without a body. */
  void respondEmpty(HttpResponseStatus status, String... extraHeaders) {
    respond(status, null, Unpooled.EMPTY_BUFFER, extraHeaders);
  }

  /** Starts a {@code 200 text/event-stream} response with chunked transfer encoding. */
  void startEvents() {
    HttpResponse response = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
    HttpHeaders headers = response.headers();
    headers.set(HttpHeaderNames.CONTENT_TYPE, EVENT_STREAM);
    headers.set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_CACHE);
    HttpUtil.setTransferEncodingChunked(response, true);
    addCommonHeaders(headers);
    started = true;
    ctx.write(response);
  }

  /** Writes one or more events of a started stream; {@code flush} sends them now. */
  void writeEvent(ByteBuf event, boolean flush) {
    DefaultHttpContent content = new DefaultHttpContent(event);
    if (flush) {
      ctx.writeAndFlush(content, ctx.voidPromise());
    } else {
      ctx.write(content, ctx.voidPromise());
    }
  }

  /** Sends what was written. */
  void flush() {
    ctx.flush();
  }

  /** Ends a started stream with the terminating chunk. */
  void endEvents() {
    finish(ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT));
  }

  /** Drops the connection without ending the response, like a crashed server. */
  void abort() {
    done = true;
    ctx.channel().close();
  }

  private void addCommonHeaders(HttpHeaders headers, String... extra) {
    headers.set(UPSTREAM_HEADER, upstream);
    if (loadReport != null) {
      headers.set(LoadReportHeader.REPORT_HEADER, loadReport.get());
    }
    for (int i = 0; i + 1 < extra.length; i += 2) {
      headers.set(extra[i], extra[i + 1]);
    }
    if (!keepAlive) {
      headers.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    }
  }

  private void finish(io.netty.channel.ChannelFuture written) {
    done = true;
    if (keepAlive) {
      onDone.run();
    } else {
      written.addListener(ChannelFutureListener.CLOSE);
    }
  }
}
