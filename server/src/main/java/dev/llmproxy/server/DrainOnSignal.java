package dev.llmproxy.server;

import java.io.PrintStream;
import java.time.Duration;
import sun.misc.Signal;

/**
 * Turns SIGTERM (and SIGINT) into a graceful drain: the first signal starts
 * {@link ProxyServer#drain(Duration)} on a thread of its own, a second one stops at once
 * ({@link ProxyServer#stopNow()}): the calls still running end with UNAVAILABLE, and the log says
 * how many were cut short rather than claiming a drain. Handling the signal, rather than draining in a shutdown hook, is what lets the
 * process exit 0 after a clean drain: once the JVM runs shutdown hooks for a SIGTERM its exit
 * status is 143, whatever the hooks do.
 *
 * <p>{@code sun.misc.Signal} is in the {@code jdk.unsupported} module, present in every JDK 17+;
 * where a signal cannot be handled (e.g. {@code -Xrs}) the JVM's default stays in place and the
 * shutdown hook that {@link Main} installs closes the proxy without a drain.
 */
final class DrainOnSignal {
  private final ProxyServer proxy;
  private final Duration grace;
  private final PrintStream err;
  private Thread drainer;
  private Thread stopper;

  private DrainOnSignal(ProxyServer proxy, Duration grace, PrintStream err) {
    this.proxy = proxy;
    this.grace = grace;
    this.err = err;
  }

  /** Installs the handlers; returns the installed instance, which {@link #awaitDone()} waits on. */
  static DrainOnSignal install(ProxyServer proxy, Duration grace, PrintStream err) {
    DrainOnSignal handler = new DrainOnSignal(proxy, grace, err);
    for (String name : new String[] {"TERM", "INT"}) {
      try {
        Signal.handle(new Signal(name), handler::onSignal);
      } catch (IllegalArgumentException | UnsupportedOperationException e) {
        err.println("llmproxy: SIG" + name + " not handled (" + e.getMessage() + "); it stops without a drain");
      }
    }
    return handler;
  }

  private synchronized void onSignal(Signal signal) {
    if (drainer == null) {
      int inFlight = proxy.callsInFlight();
      err.println("llmproxy: SIG" + signal.getName() + ": draining " + inFlight
          + " calls in flight (up to " + grace.toMillis() + " ms); new calls are refused");
      drainer = new Thread(() -> drain(inFlight), "llmproxy-drain");
      drainer.start();
    } else if (stopper == null) {
      err.println("llmproxy: SIG" + signal.getName() + " again: stopping now, without waiting for the "
          + proxy.callsInFlight() + " calls still running");
      stopper = new Thread(this::stopNow, "llmproxy-stop");
      stopper.start();
    }
  }

  private void stopNow() {
    try {
      int cancelled = proxy.stopNow();
      err.println("llmproxy: stopped before the drain finished: " + cancelled
          + " calls were cancelled with UNAVAILABLE \"shutting down\"");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      proxy.close();
    }
  }

  private void drain(int inFlight) {
    try {
      boolean finished = proxy.drain(grace);
      if (proxy.stoppedNow()) {
        return; // the second signal's thread reports what happened
      }
      err.println(finished ? "llmproxy: drained " + inFlight + " calls; stopped"
          : "llmproxy: grace period over; cancelled the calls still running with UNAVAILABLE; stopped");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      proxy.close();
    }
  }

  /** Waits for a drain that a signal started to finish closing everything. */
  void awaitDone() throws InterruptedException {
    Thread t;
    synchronized (this) {
      t = drainer;
    }
    if (t != null) {
      t.join();
    }
    synchronized (this) {
      t = stopper;
    }
    if (t != null) {
      t.join();
    }
  }
}
