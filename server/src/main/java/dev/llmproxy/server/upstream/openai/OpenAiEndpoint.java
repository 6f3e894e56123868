package dev.llmproxy.server.upstream.openai;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llmproxy.orca.LoadReportHeader;
import dev.llmproxy.orca.LoadReportProto;
import dev.llmproxy.v1.CompletionRequest;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * One OpenAI-compatible upstream as the HTTP side sees it: its URLs, the route's HTTP client and
 * credential, the model name to send, and a bound on the exchanges open to it at once.
 */
final class OpenAiEndpoint {
  private static final Logger log = Logger.getLogger(OpenAiEndpoint.class.getName());
  static final int MAX_EVENT_BYTES = 256 << 10;
  private static final long CREDENTIAL_WARNING_INTERVAL_NANOS = TimeUnit.MINUTES.toNanos(1);

  private final String name;
  private final EndpointUrls urls;
  private final HttpClient client;
  private final String authorization;
  private final String upstreamModel;
  private final int maxConnections;
  private final int maxMessageBytes;
  private final boolean asksLoad;
  private final AtomicInteger open = new AtomicInteger();
  private final LoadReportHeader loadReports = new LoadReportHeader(new ObjectMapper());
  private final AtomicLong credentialWarnedAt = new AtomicLong(System.nanoTime() - CREDENTIAL_WARNING_INTERVAL_NANOS);

  /**
   * @param authorization the {@code Authorization} header value, or {@code null}
   * @param upstreamModel the model sent upstream, or {@code null} for the requested one
   * @param asksLoad whether each request asks the engine for its load (for a policy that uses it)
   */
  OpenAiEndpoint(String name, EndpointUrls urls, HttpClient client, String authorization, String upstreamModel,
      int maxConnections, int maxMessageBytes, boolean asksLoad) {
    this.name = name;
    this.urls = urls;
    this.client = client;
    this.authorization = authorization;
    this.upstreamModel = upstreamModel;
    this.maxConnections = maxConnections;
    this.maxMessageBytes = maxMessageBytes;
    this.asksLoad = asksLoad;
  }

  String name() {
    return name;
  }

  EndpointUrls urls() {
    return urls;
  }

  int maxConnections() {
    return maxConnections;
  }

  int maxMessageBytes() {
    return maxMessageBytes;
  }

  /**
   * The largest SSE event accepted. A streamed chunk is a few hundred bytes; the bound keeps what a
   * misbehaving upstream can make one call hold small, with a thousand calls open.
   */
  int maxEventBytes() {
    return Math.min(maxMessageBytes, MAX_EVENT_BYTES);
  }

  boolean tryOpenConnection() {
    while (true) {
      int now = open.get();
      if (now >= maxConnections) {
        return false;
      }
      if (open.compareAndSet(now, now + 1)) {
        return true;
      }
    }
  }

  void closeConnection() {
    open.decrementAndGet();
  }

  /** Starts the streaming HTTP request for {@code request}; the handler receives the answer. */
  CompletableFuture<HttpResponse<Void>> send(CompletionRequest request, PropagatedHeaders propagated,
      HttpResponse.BodyHandler<Void> handler) {
    boolean chat = OpenAiRequestWriter.isChat(request);
    String model = upstreamModel != null ? upstreamModel : request.getModel();
    URI uri = chat ? urls.chat() : urls.completions();
    HttpRequest.Builder http = HttpRequest.newBuilder(uri)
        .POST(HttpRequest.BodyPublishers.ofByteArray(OpenAiRequestWriter.body(request, model)))
        .header("content-type", "application/json")
        .header("accept", "text/event-stream");
    if (asksLoad) {
      // vLLM answers with its queue depth and KV-cache use in endpoint-load-metrics (ORCA).
      http.header(LoadReportHeader.FORMAT_HEADER, LoadReportHeader.Format.TEXT.name());
    }
    propagated.addTo(http);
    if (authorization != null) {
      http.header("authorization", authorization);
    }
    return client.sendAsync(http.build(), handler);
  }

  /**
   * The ORCA report of an {@code endpoint-load-metrics} response header, serialized for the
   * {@code endpoint-load-metrics-bin} trailer, so that balancers read OpenAI upstreams' load as they
   * read gRPC upstreams'. Null without a header or with one that does not parse (the call goes on;
   * only the load signal is lost).
   */
  byte[] loadReportTrailer(String header) {
    if (header == null) {
      return null;
    }
    try {
      return LoadReportProto.encode(loadReports.parse(header));
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  /**
   * The upstream refused the proxy's credential (HTTP 401 or 403): a configuration fault every call
   * would hit, so it is logged at most once a minute, and never with the key.
   */
  void credentialRejected(int httpStatus) {
    long last = credentialWarnedAt.get();
    long now = System.nanoTime();
    if (now - last >= CREDENTIAL_WARNING_INTERVAL_NANOS && credentialWarnedAt.compareAndSet(last, now)) {
      log.warning("upstream " + name + " answered HTTP " + httpStatus + " to llmproxy's credential: "
          + (authorization == null ? "the route sends none (set its api_key)" : "check the route's api_key")
          + "; calls to it fail over (logged at most once a minute)");
    }
  }

  /** An exception thrown inside a call's steps: a bug, logged rather than lost. */
  void uncaught(Throwable e) {
    log.log(Level.SEVERE, "upstream " + name + ": unexpected failure in an OpenAI call", e);
  }

  @Override
  public String toString() {
    return "OpenAiEndpoint{" + name + " " + urls.chat() + "}"; // never the credential
  }
}
