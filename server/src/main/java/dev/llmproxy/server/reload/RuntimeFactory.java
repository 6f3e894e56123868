package dev.llmproxy.server.reload;

import java.io.IOException;

/** Builds generations for the reloader, and says what to close when one is retired. */
public interface RuntimeFactory {
  /**
   * The generation for {@code loaded}, sharing what is unchanged with {@code previous}. On failure
   * nothing it built is left open.
   */
  ProxyRuntime build(LoadedConfig loaded, ProxyRuntime previous) throws IOException;

  /**
   * What to run once {@code retired} has no call left, given the generation that replaced it:
   * close what it does not share. Must not block (it may run on a transport thread).
   */
  Runnable retirement(ProxyRuntime retired, ProxyRuntime replacement);

  /** Called after a successful swap, e.g. to re-resolve upstream names at once. */
  default void reloaded(ProxyRuntime current) {}
}
