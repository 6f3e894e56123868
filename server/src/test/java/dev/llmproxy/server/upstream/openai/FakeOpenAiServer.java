package dev.llmproxy.server.upstream.openai;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * A scriptable OpenAI-compatible server for tests, on a real loopback socket: each completion
 * request is answered by the current {@link Answer}, written piece by piece (chunked), and
 * recorded with its headers and body. {@code /health} answers {@link #healthStatus}.
 */
public final class FakeOpenAiServer implements AutoCloseable {
  /** One scripted answer. */
  public record Answer(int status, Map<String, String> headers, List<String> pieces, boolean dropConnection) {
    /** A 200 event stream of {@code events}, each written as {@code data: ...\n\n}. */
    public static Answer stream(String... events) {
      List<String> pieces = new ArrayList<>();
      for (String event : events) {
        pieces.add("data: " + event + "\n\n");
      }
      return new Answer(200, Map.of("content-type", "text/event-stream"), pieces, false);
    }

    /** An error with a JSON body. */
    public static Answer error(int status, String body, Map<String, String> headers) {
      return new Answer(status, headers, List.of(body), false);
    }

    /** The same answer, with the connection closed before the body's end. */
    public Answer thenDropConnection() {
      return new Answer(status, headers, pieces, true);
    }
  }

  /** A request as the server saw it. */
  public record Seen(String path, Map<String, List<String>> headers, String body) {
    public String header(String name) {
      List<String> values = headers.get(Character.toUpperCase(name.charAt(0)) + name.substring(1).toLowerCase());
      return values == null ? null : values.get(0);
    }
  }

  private final HttpServer server;
  private final ExecutorService executor = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "fake-openai");
    t.setDaemon(true);
    return t;
  });
  private final List<Seen> seen = new CopyOnWriteArrayList<>();
  private final AtomicInteger healthPolls = new AtomicInteger();
  private volatile Function<Seen, Answer> script;
  public volatile int healthStatus = 200;

  public FakeOpenAiServer(Function<Seen, Answer> script) throws IOException {
    this.script = script;
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/", this::handle);
    server.setExecutor(executor);
    server.start();
  }

  public String baseUrl() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  public void script(Function<Seen, Answer> newScript) {
    this.script = newScript;
  }

  public List<Seen> seen() {
    return List.copyOf(seen);
  }

  public int healthPolls() {
    return healthPolls.get();
  }

  private void handle(HttpExchange exchange) throws IOException {
    String path = exchange.getRequestURI().getPath();
    if (path.equals("/health")) {
      healthPolls.incrementAndGet();
      exchange.sendResponseHeaders(healthStatus, -1);
      exchange.close();
      return;
    }
    String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
    Seen request = new Seen(path, Map.copyOf(exchange.getRequestHeaders()), body);
    seen.add(request);
    Answer answer = script.apply(request);
    answer.headers().forEach((k, v) -> exchange.getResponseHeaders().add(k, v));
    exchange.sendResponseHeaders(answer.status(), 0);
    OutputStream out = exchange.getResponseBody();
    for (String piece : answer.pieces()) {
      out.write(piece.getBytes(StandardCharsets.UTF_8));
      out.flush();
    }
    if (answer.dropConnection()) {
      // Closing the stream would end the chunked body cleanly; a handler that throws makes the
      // server drop the connection instead, as a crashed engine would.
      throw new IOException("cut short on purpose");
    }
    out.close();
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }
}
