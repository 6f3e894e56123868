package dev.llmproxy.server;

import dev.llmproxy.server.reload.ReloadResult;
import java.io.PrintStream;
import java.util.function.Supplier;
import sun.misc.Signal;

/**
 * Turns SIGHUP into a config reload (by default the JVM would exit on it, cutting every stream).
 * The reload runs on a thread of its own, so the signal dispatcher is free at once; its outcome is
 * one line on standard error.
 */
final class ReloadOnSignal {
  private ReloadOnSignal() {}

  static void install(Supplier<ReloadResult> reload, PrintStream err) {
    try {
      Signal.handle(new Signal("HUP"), signal -> {
        Thread reloader = new Thread(() -> err.println("llmproxy: SIGHUP: " + reload.get().describe()),
            "llmproxy-reload");
        reloader.setDaemon(true);
        reloader.start();
      });
    } catch (IllegalArgumentException | UnsupportedOperationException e) {
      err.println("llmproxy: SIGHUP not handled (" + e.getMessage() + "); reload through the file watch or "
          + "the admin endpoint");
    }
  }
}
