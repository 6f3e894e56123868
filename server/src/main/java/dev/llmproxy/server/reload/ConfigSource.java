package dev.llmproxy.server.reload;

/** Where the config comes from: read anew on every reload. */
@FunctionalInterface
public interface ConfigSource {
  /**
   * Reads, parses and validates the config.
   *
   * @throws dev.llmproxy.server.config.ConfigException naming the path of what is wrong
   */
  LoadedConfig load();
}
