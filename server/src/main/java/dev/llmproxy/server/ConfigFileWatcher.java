package dev.llmproxy.server;

import dev.llmproxy.server.reload.LoadedConfig;
import dev.llmproxy.server.reload.ReloadResult;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Reloads the config when its file (or a credential file it names) changes. It watches the files'
 * directories rather than the files, because editors and Kubernetes replace a file instead of
 * writing it (a ConfigMap or Secret volume swaps a {@code ..data} symlink). A burst of events is
 * debounced into one reload {@link #DEBOUNCE} after the last of them, and only a change of the
 * files' bytes reloads: an unrelated file in the same directory does not.
 */
final class ConfigFileWatcher implements AutoCloseable {
  static final Duration DEBOUNCE = Duration.ofMillis(500);

  private final List<Path> files;
  private final Supplier<ReloadResult> reload;
  private final PrintStream err;
  private final WatchService watch;
  private final ScheduledExecutorService debouncer;
  private final Thread listener;
  private ScheduledFuture<?> pending; // guarded by this
  private String fingerprint; // only on the debouncer thread

  private ConfigFileWatcher(List<Path> files, Supplier<ReloadResult> reload, PrintStream err) throws IOException {
    this.files = List.copyOf(files);
    this.reload = reload;
    this.err = err;
    this.watch = files.get(0).getFileSystem().newWatchService();
    Set<Path> dirs = new LinkedHashSet<>();
    for (Path file : this.files) {
      dirs.add(file.toAbsolutePath().getParent());
    }
    for (Path dir : dirs) {
      dir.register(watch, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_MODIFY,
          StandardWatchEventKinds.ENTRY_DELETE);
    }
    ScheduledThreadPoolExecutor executor = new ScheduledThreadPoolExecutor(1, r -> daemon(r, "llmproxy-config-debounce"));
    executor.setRemoveOnCancelPolicy(true);
    this.debouncer = executor;
    this.fingerprint = fingerprint();
    this.listener = daemon(this::listen, "llmproxy-config-watch");
  }

  /**
   * Watches {@code files} (the config file first); {@code reload} runs when their bytes change.
   * Returns null, after saying why on {@code err}, if the directories cannot be watched.
   */
  static ConfigFileWatcher start(List<Path> files, Supplier<ReloadResult> reload, PrintStream err) {
    try {
      ConfigFileWatcher watcher = new ConfigFileWatcher(files, reload, err);
      watcher.listener.start();
      return watcher;
    } catch (IOException | UncheckedIOException e) {
      err.println("llmproxy: not watching " + files.get(0) + " for changes (" + e.getMessage()
          + "); SIGHUP reloads it");
      return null;
    }
  }

  static ConfigFileWatcher start(Path file, Supplier<ReloadResult> reload, PrintStream err) {
    return start(List.of(file), reload, err);
  }

  private void listen() {
    try {
      for (;;) {
        WatchKey key = watch.take();
        key.pollEvents();
        key.reset();
        schedule();
      }
    } catch (InterruptedException | ClosedWatchServiceException e) {
      // closed
    }
  }

  private synchronized void schedule() {
    if (pending != null) {
      pending.cancel(false);
    }
    pending = debouncer.schedule(this::fire, DEBOUNCE.toMillis(), TimeUnit.MILLISECONDS);
  }

  private void fire() {
    String now = fingerprint();
    if (now.equals(fingerprint)) {
      return;
    }
    fingerprint = now;
    err.println("llmproxy: config file changed: " + reload.get().describe());
  }

  /** A digest of every watched file's bytes ("missing" for one that is absent right now). */
  private String fingerprint() {
    StringBuilder all = new StringBuilder();
    for (Path file : files) {
      try {
        all.append(LoadedConfig.hashOf(Files.readAllBytes(file)));
      } catch (IOException e) {
        all.append("missing");
      }
      all.append(',');
    }
    return all.toString();
  }

  @Override
  public void close() {
    try {
      watch.close();
    } catch (IOException e) {
      // closing
    }
    listener.interrupt();
    debouncer.shutdownNow();
  }

  private static Thread daemon(Runnable task, String name) {
    Thread thread = new Thread(task, name);
    thread.setDaemon(true);
    return thread;
  }

  /** The credential files a config names, watched beside it (a rotated key reloads too). */
  static List<Path> withCredentialFiles(Path config, dev.llmproxy.server.config.ProxyConfig loaded) {
    List<Path> files = new ArrayList<>();
    files.add(config);
    for (var route : loaded.routes()) {
      if (route.openai() != null && route.openai().apiKey() != null && route.openai().apiKey().file() != null) {
        files.add(route.openai().apiKey().file());
      }
      if (route.tls() != null) {
        java.util.stream.Stream.of(route.tls().ca(), route.tls().certChain(), route.tls().privateKey())
            .filter(java.util.Objects::nonNull).forEach(files::add);
      }
    }
    if (loaded.server().tls() != null) { // the listener's key pair is re-read on reload
      files.add(loaded.server().tls().certChain());
      files.add(loaded.server().tls().privateKey());
    }
    return files;
  }
}
