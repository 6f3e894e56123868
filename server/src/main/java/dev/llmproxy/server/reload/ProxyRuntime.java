package dev.llmproxy.server.reload;

import dev.llmproxy.server.config.ProxyConfig;
import dev.llmproxy.server.upstream.RouteTable;
import io.grpc.ServerServiceDefinition;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One generation of the proxy's per-call state: the config it was built from, its routes (and their
 * channels) and the {@code LlmProxy} service with its interceptor chain (keys, tiers, cache,
 * shedding). A call captures the current generation when it starts and runs on it to its end, so a
 * reload changes only what new calls see.
 *
 * <p>A generation replaced by a reload is <em>retired</em>: once its last call has ended, the
 * given {@code onIdle} runs once (closing the channels that the new generation does not share). Entering and
 * retiring race without a lock: the count goes to {@link #CLOSED} only from zero, after which
 * {@link #tryEnter()} refuses and the caller takes the newer generation.
 */
public final class ProxyRuntime {
  private static final int CLOSED = -1;

  private final ProxyConfig config;
  private final String hash;
  private final RouteTable routes;
  private final ServerServiceDefinition service;
  private volatile Runnable onIdle = () -> { };
  private final AtomicInteger calls = new AtomicInteger();
  private final AtomicBoolean retired = new AtomicBoolean();

  /**
   * @param hash identifies the config's source (a digest of the file), for metrics and the admin page
   * @param service the {@code LlmProxy} service with this generation's interceptors
   */
  public ProxyRuntime(ProxyConfig config, String hash, RouteTable routes, ServerServiceDefinition service) {
    this.config = Objects.requireNonNull(config, "config");
    this.hash = Objects.requireNonNull(hash, "hash");
    this.routes = Objects.requireNonNull(routes, "routes");
    this.service = Objects.requireNonNull(service, "service");
  }

  public ProxyConfig config() {
    return config;
  }

  public String hash() {
    return hash;
  }

  public RouteTable routes() {
    return routes;
  }

  ServerServiceDefinition service() {
    return service;
  }

  /** Counts a call in; false once the generation is retired and closed (take the newer one). */
  boolean tryEnter() {
    for (;;) {
      int now = calls.get();
      if (now == CLOSED) {
        return false;
      }
      if (calls.compareAndSet(now, now + 1)) {
        return true;
      }
    }
  }

  /** Counts a call out. */
  void exit() {
    if (calls.decrementAndGet() == 0 && retired.get()) {
      closeIfIdle();
    }
  }

  /** Calls running on this generation now. */
  public int callsInFlight() {
    return Math.max(0, calls.get());
  }

  /**
   * Marks the generation replaced; {@code onIdle} runs once: now if no call is left, else when
   * the last one ends (possibly on a transport thread: it must not block).
   */
  public void retire(Runnable onIdle) {
    this.onIdle = Objects.requireNonNull(onIdle, "onIdle");
    retired.set(true);
    closeIfIdle();
  }

  /** Whether the generation is retired and its last call has ended. */
  public boolean closed() {
    return calls.get() == CLOSED;
  }

  private void closeIfIdle() {
    if (calls.compareAndSet(0, CLOSED)) {
      onIdle.run();
    }
  }
}
