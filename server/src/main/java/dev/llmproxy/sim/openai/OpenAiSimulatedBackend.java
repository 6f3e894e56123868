package dev.llmproxy.sim.openai;

import static java.util.Objects.requireNonNull;

import dev.llmproxy.sim.CallRecorder;
import dev.llmproxy.sim.Faults;
import dev.llmproxy.sim.SimulatedBackendConfig;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A simulated LLM server that speaks the OpenAI-compatible HTTP API the way vLLM serves it: {@code POST
 * /v1/chat/completions} and {@code /v1/completions}, streamed as server-sent events or whole, plus
 * {@code GET /health}, {@code /v1/models} and {@code /metrics} (in vLLM's metric names).
 *
 * <p>It is the same engine as the gRPC {@link dev.llmproxy.sim.SimulatedBackend}: the same
 * deterministic text for the same model, prompt or messages, seed and {@code max_tokens} (so text
 * streamed through either protocol is identical), the same timing, capacity and {@link Faults}, and
 * the same {@link CallRecorder}. On top it injects HTTP faults (error statuses with {@code
 * Retry-After}, malformed events, a dropped connection) and has the {@link OpenAiSimSettings} that only
 * HTTP has (served models, API key, usage chunk). A request that cannot wait in the queue gets 429.
 *
 * <p>An HTTP/1.1 server on Netty's NIO transport: connections are kept alive between requests, token
 * timers run on each connection's event loop (a slow stream costs a small object, never a thread), a
 * client that stops reading stops generation (TCP back-pressure), and a client that closes its
 * connection cancels its call at once, which the recorder shows as {@code CANCELLED}. Every answer
 * names the backend in {@code llmproxy-upstream}. Only requests that reach a completion are recorded;
 * those refused before (bad JSON, wrong key, unknown model, loading) are not.
 *
 * <pre>{@code
 * try (OpenAiSimulatedBackend sim = OpenAiSimulatedBackend.start(
 *     SimulatedBackendConfig.defaults("vllm-a").withInterTokenLatency(Duration.ofMillis(20)))) {
 *   URI uri = URI.create(sim.baseUrl() + "/v1/chat/completions");
 *   ...
 * }
 * }</pre>
 * Thread-safe.
 */
public final class OpenAiSimulatedBackend implements AutoCloseable {
  private static final int MAX_REQUEST_BYTES = 16 * 1024 * 1024;

  private final EventLoopGroup group;
  private final Channel server;
  private final ChannelGroup connections;
  private final BackendState state;
  private final String dialHost;
  private final int port;
  private final AtomicBoolean closed = new AtomicBoolean();
  private final CountDownLatch terminated = new CountDownLatch(1);

  private OpenAiSimulatedBackend(EventLoopGroup group, Channel server, ChannelGroup connections,
      BackendState state, String dialHost) {
    this.group = group;
    this.server = server;
    this.connections = connections;
    this.state = state;
    this.dialHost = dialHost;
    this.port = ((InetSocketAddress) server.localAddress()).getPort();
  }

  /**
   * Starts a backend listening on {@code host:port} with default {@link OpenAiSimSettings}.
   *
   * @param port the port, or 0 for an ephemeral one (see {@link #port()})
   * @throws IOException if the server cannot bind
   */
  public static OpenAiSimulatedBackend start(String host, int port, SimulatedBackendConfig config)
      throws IOException {
    return start(host, port, config, OpenAiSimSettings.defaults());
  }

  /** Starts a backend on an ephemeral port of 127.0.0.1 with default {@link OpenAiSimSettings}. */
  public static OpenAiSimulatedBackend start(SimulatedBackendConfig config) throws IOException {
    return start("127.0.0.1", 0, config);
  }

  /**
   * Starts a backend listening on {@code host:port}.
   *
   * @throws IOException if the server cannot bind
   */
  public static OpenAiSimulatedBackend start(
      String host, int port, SimulatedBackendConfig config, OpenAiSimSettings settings)
      throws IOException {
    requireNonNull(host, "host");
    requireNonNull(config, "config");
    requireNonNull(settings, "settings");
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("port: " + port + " (expected: 0 to 65535)");
    }
    BackendState state = new BackendState(config, settings);
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(
        Math.max(1, Math.min(2, Runtime.getRuntime().availableProcessors())),
        daemonThreads("llmproxy-sim-http-" + config.name() + "-"), NioIoHandler.newFactory());
    ChannelGroup connections = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    Channel server;
    try {
      server = new ServerBootstrap()
          .group(group)
          .channel(NioServerSocketChannel.class)
          .childOption(ChannelOption.TCP_NODELAY, true)
          .childHandler(new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel ch) {
              connections.add(ch);
              ch.pipeline()
                  .addLast(new HttpServerCodec())
                  .addLast(new HttpObjectAggregator(MAX_REQUEST_BYTES))
                  .addLast(new OpenAiConnectionHandler(state));
            }
          })
          .bind(new InetSocketAddress(host, port))
          .sync()
          .channel();
    } catch (Exception e) { // sync() rethrows a bind failure, an IOException, unchecked
      group.shutdownGracefully(0, 0, TimeUnit.SECONDS);
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      if (e instanceof IOException io) {
        throw io;
      }
      throw new IOException("cannot listen on " + host + ":" + port + ": " + e.getMessage(), e);
    }
    return new OpenAiSimulatedBackend(group, server, connections, state, dialHost(host));
  }

  /** The port it listens on. */
  public int port() {
    return port;
  }

  /** {@code host:port} for clients to dial, e.g. {@code 127.0.0.1:8000} (loopback for a wildcard host). */
  public String address() {
    return dialHost + ":" + port;
  }

  /** {@code http://host:port}, the base URL of the API, without a trailing slash. */
  public String baseUrl() {
    return "http://" + address();
  }

  /** The backend's name, as in {@code llmproxy-upstream}. */
  public String name() {
    return state.name();
  }

  /** The current settings. */
  public SimulatedBackendConfig config() {
    return state.config.get();
  }

  /** The current OpenAI-only settings. */
  public OpenAiSimSettings settings() {
    return state.settings();
  }

  /** What the backend saw. */
  public CallRecorder recorder() {
    return state.recorder;
  }

  /** TCP connections open now. */
  public int openConnections() {
    return connections.size();
  }

  /** Requests generating now (holding a slot), as {@code vllm:num_requests_running} shows. */
  public int requestsRunning() {
    return state.admission.running();
  }

  /** Requests waiting for a slot now, as {@code vllm:num_requests_waiting} shows. */
  public int requestsWaiting() {
    return state.admission.queued();
  }

  /** Sets what {@code /health} answers: 200 when serving, 503 when not; completions are served either way. */
  public void setServing(boolean serving) {
    state.setServing(serving);
  }

  /**
   * Models an engine that is loading its model: while true, {@code /health} and every {@code /v1/...}
   * request answer 503 (with {@code Retry-After} if the faults set one).
   */
  public void setLoading(boolean loading) {
    state.setLoading(loading);
  }

  /**
   * Whether a request that asks for a load report ({@code endpoint-load-metrics-format}) gets the
   * {@code endpoint-load-metrics} header (the default); false models an engine that sends none, as
   * vLLM on streamed answers, so that only {@code /metrics} tells its load.
   */
  public void setPerCallLoadReports(boolean send) {
    state.setPerCallLoadReports(send);
  }

  /** Replaces the faults; requests that arrive from now on see them. */
  public synchronized void setFaults(Faults faults) {
    requireNonNull(faults, "faults");
    setConfig(state.config.get().withFaults(faults));
  }

  /**
   * Replaces the settings: timing and faults apply to requests that arrive from now on, capacity at
   * once. The name cannot change.
   */
  public synchronized void setConfig(SimulatedBackendConfig newConfig) {
    requireNonNull(newConfig, "newConfig");
    String name = state.name();
    if (!newConfig.name().equals(name)) {
      throw new IllegalArgumentException("name: '" + newConfig.name()
          + "' (expected: '" + name + "'; a running backend keeps its name)");
    }
    state.config.set(newConfig);
    state.admission.setLimits(newConfig.maxConcurrency(), newConfig.maxQueue());
  }

  /** Replaces the OpenAI-only settings for requests that arrive from now on. */
  public void setSettings(OpenAiSimSettings settings) {
    state.setSettings(requireNonNull(settings, "settings"));
  }

  /** Blocks until the backend has shut down, through {@link #close()} or a shutdown hook. */
  public void awaitTermination() throws InterruptedException {
    terminated.await();
  }

  /**
   * Kills the backend like a crashed engine: the listening socket and every connection close at once,
   * mid-response or not, and open calls are cancelled. Waits up to 5 seconds for the event loops to
   * stop. Idempotent.
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    try {
      server.close();
      connections.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
      group.shutdownGracefully(0, 5, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    } finally {
      terminated.countDown();
    }
  }

  @Override
  public String toString() {
    return "OpenAiSimulatedBackend{" + name() + " at " + baseUrl() + (closed.get() ? ", closed" : "") + "}";
  }

  /** The host clients dial: loopback for a wildcard address, IPv6 literals in brackets. */
  private static String dialHost(String host) {
    String dial = host;
    try {
      if (host.isEmpty() || InetAddress.getByName(host).isAnyLocalAddress()) {
        dial = "127.0.0.1";
      }
    } catch (IOException e) {
      // Bound, so resolvable a moment ago; keep the name as given.
    }
    return dial.indexOf(':') >= 0 && !dial.startsWith("[") ? "[" + dial + "]" : dial;
  }

  private static ThreadFactory daemonThreads(String prefix) {
    AtomicInteger count = new AtomicInteger();
    return runnable -> {
      Thread thread = new Thread(runnable, prefix + count.incrementAndGet());
      thread.setDaemon(true);
      return thread;
    };
  }
}
