package dev.llmproxy.server.reload;

import java.util.List;
import java.util.Objects;

/**
 * What a reload did.
 *
 * @param applied whether new calls now run on the reloaded config
 * @param hash the hash of the config new calls run on (the previous one when not applied)
 * @param error why the reload was refused; {@code null} when applied
 * @param needsRestart settings that changed but keep their running values until a restart
 */
public record ReloadResult(boolean applied, String hash, String error, List<String> needsRestart) {
  public ReloadResult {
    Objects.requireNonNull(hash, "hash");
    needsRestart = List.copyOf(needsRestart);
  }

  /** One line for the log, the admin endpoint and the signal handler. */
  public String describe() {
    if (!applied) {
      return "config reload failed, still running config " + hash + ": " + error;
    }
    return "config reloaded: " + hash + (needsRestart.isEmpty() ? ""
        : "; needs a restart to take effect, kept as running: " + String.join(", ", needsRestart));
  }
}
