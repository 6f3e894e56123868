package dev.llmproxy.server.config;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;

/** Reads a YAML config file into a validated {@link ProxyConfig}; every failure is a {@link ConfigException}. */
public final class ConfigLoader {

  public ProxyConfig load(Path file) {
    try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      return parse(reader, file.toString());
    } catch (NoSuchFileException e) {
      throw new ConfigException(file + ": no such file");
    } catch (IOException e) {
      throw new ConfigException(file + ": cannot be read (" + e.getMessage() + ")");
    }
  }

  public ProxyConfig parse(String yaml) {
    return parse(yaml, "(config)");
  }

  /** Parses {@code yaml} read from {@code source}, which errors name. */
  public ProxyConfig parse(String yaml, String source) {
    return parse(new java.io.StringReader(yaml), source);
  }

  private ProxyConfig parse(Reader reader, String source) {
    Object document;
    try {
      LoaderOptions options = new LoaderOptions();
      options.setAllowDuplicateKeys(false);
      options.setMaxAliasesForCollections(10);
      document = new Yaml(new SafeConstructor(options)).load(reader);
    } catch (MarkedYAMLException e) {
      throw new ConfigException(source + ": not valid YAML at line "
          + (e.getProblemMark().getLine() + 1) + ", column " + (e.getProblemMark().getColumn() + 1)
          + ": " + e.getProblem());
    } catch (YAMLException e) {
      throw new ConfigException(source + ": not valid YAML: " + e.getMessage());
    }
    return ProxyConfig.from(ConfigNode.root(document));
  }
}
