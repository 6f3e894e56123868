package dev.llmproxy.server.reload;

import dev.llmproxy.server.config.ConfigException;
import dev.llmproxy.server.config.ConfigLoader;
import dev.llmproxy.server.config.ProxyConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Objects;
import java.util.function.UnaryOperator;

/**
 * The config file, read anew on each load, with the command line's overrides applied on top (so a
 * reload keeps {@code --port} and {@code --upstreams}). The hash is that of the file's bytes.
 */
public final class FileConfigSource implements ConfigSource {
  private final Path file;
  private final UnaryOperator<ProxyConfig> overrides;
  private final ConfigLoader loader = new ConfigLoader();

  public FileConfigSource(Path file, UnaryOperator<ProxyConfig> overrides) {
    this.file = Objects.requireNonNull(file, "file");
    this.overrides = Objects.requireNonNull(overrides, "overrides");
  }

  public Path file() {
    return file;
  }

  @Override
  public LoadedConfig load() {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new ConfigException(file + ": no such file");
    } catch (IOException e) {
      throw new ConfigException(file + ": cannot be read (" + e.getMessage() + ")");
    }
    ProxyConfig config = loader.parse(new String(bytes, StandardCharsets.UTF_8), file.toString());
    return new LoadedConfig(overrides.apply(config), LoadedConfig.hashOf(bytes));
  }
}
