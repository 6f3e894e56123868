package dev.llmproxy.server;

import dev.llmproxy.cli.ParameterErrors;
import dev.llmproxy.server.config.ConfigException;
import dev.llmproxy.server.config.ProxyConfig;
import dev.llmproxy.server.config.RouteConfig;
import dev.llmproxy.server.reload.FileConfigSource;
import dev.llmproxy.server.reload.LoadedConfig;
import dev.llmproxy.sim.SimCommand;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/**
 * The command line: {@code llmproxy [serve] [flags]} (serving is the default, so today's
 * invocations keep working), {@code sim}, {@code bridge}, {@code check-config FILE} and
 * {@code health [HOST:PORT [SERVICE]]}, with generated {@code --help} and {@code --version}.
 * Every bad command line is refused the same way: {@code llmproxy: <flag or setting>: <what was
 * wrong> (expected: ...)} on standard error and exit code 2.
 */
@Command(name = "llmproxy", mixinStandardHelpOptions = true, versionProvider = Cli.Version.class,
    description = "gRPC traffic manager for LLM backends. With no command, serve.",
    footer = {"", "With no --config and no --upstreams, the demo starts: three simulated upstreams in-process.",
        "SIGHUP reloads the config file; SIGTERM drains (a second one stops at once)."})
final class Cli implements Callable<Integer> {
  static final int USAGE = 2;

  @Mixin
  ServeFlags flags = new ServeFlags();

  private final PrintStream out;
  private final PrintStream err;

  private Cli(PrintStream out, PrintStream err) {
    this.out = out;
    this.err = err;
  }

  /** Runs the command line; returns the exit code. */
  static int run(String[] args, PrintStream out, PrintStream err) {
    CommandLine cli = new CommandLine(new Cli(out, err))
        .addSubcommand("serve", new ServeCommand(out, err))
        .addSubcommand("sim", new SimSubcommand(out, err))
        .addSubcommand("bridge", new BridgeSubcommand(out, err))
        .addSubcommand("check-config", new CheckConfig(out, err))
        .addSubcommand("health", new Health(out, err));
    // sim and bridge parse their own flags (and their own --help)
    cli.getSubcommands().get("sim").setUnmatchedOptionsArePositionalParams(true);
    cli.getSubcommands().get("bridge").setUnmatchedOptionsArePositionalParams(true);
    cli.setOut(new PrintWriter(out, true, StandardCharsets.UTF_8));
    cli.setErr(new PrintWriter(err, true, StandardCharsets.UTF_8));
    cli.setParameterExceptionHandler((e, ignored) -> {
      err.println("llmproxy: " + describe(e));
      err.println("llmproxy: not started (--help shows usage)");
      return USAGE;
    });
    cli.setExecutionExceptionHandler((e, ignored, parsed) -> {
      if (e instanceof ConfigException) {
        err.println("llmproxy: " + e.getMessage());
        err.println("llmproxy: not started (--help shows usage)");
        return USAGE;
      }
      err.println("llmproxy: " + (e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName()));
      return 1;
    });
    return cli.execute(args);
  }

  @Override
  public Integer call() {
    return Main.serve(flags.options(), out, err);
  }

  /** A picocli parse error in the proxy's words: the flag first, then what was expected. */
  static String describe(CommandLine.ParameterException e) {
    return ParameterErrors.describe(e, ProxyOptions::expected);
  }

  /** {@code llmproxy <version>}, from the jar's manifest. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"llmproxy " + ProxyOptions.buildVersion()};
    }
  }

  @Command(name = "serve", mixinStandardHelpOptions = true, versionProvider = Cli.Version.class,
      description = "Run the proxy (the default command).")
  static final class ServeCommand implements Callable<Integer> {
    @Mixin
    ServeFlags flags = new ServeFlags();
    private final PrintStream out;
    private final PrintStream err;

    ServeCommand(PrintStream out, PrintStream err) {
      this.out = out;
      this.err = err;
    }

    @Override
    public Integer call() {
      return Main.serve(flags.options(), out, err);
    }
  }

  @Command(name = "sim", description = "Run a simulated LLM backend (gRPC or OpenAI-compatible); sim --help lists its flags.")
  static final class SimSubcommand implements Callable<Integer> {
    @Parameters(arity = "0..*", paramLabel = "FLAGS")
    List<String> args = new ArrayList<>();
    private final PrintStream out;
    private final PrintStream err;

    SimSubcommand(PrintStream out, PrintStream err) {
      this.out = out;
      this.err = err;
    }

    @Override
    public Integer call() {
      return SimCommand.run(args.toArray(String[]::new), out, err);
    }
  }

  @Command(name = "bridge", description = "Serve one OpenAI-compatible engine as a gRPC upstream; bridge --help lists its flags.")
  static final class BridgeSubcommand implements Callable<Integer> {
    @Parameters(arity = "0..*", paramLabel = "FLAGS")
    List<String> args = new ArrayList<>();
    private final PrintStream out;
    private final PrintStream err;

    BridgeSubcommand(PrintStream out, PrintStream err) {
      this.out = out;
      this.err = err;
    }

    @Override
    public Integer call() {
      return BridgeCommand.run(args.toArray(String[]::new), out, err);
    }
  }

  @Command(name = "check-config", mixinStandardHelpOptions = true, versionProvider = Cli.Version.class,
      description = "Validate a config file without starting anything: exit 0 if it is valid, 2 with the error if not.")
  static final class CheckConfig implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "FILE", description = "the YAML config file")
    Path file;
    private final PrintStream out;
    private final PrintStream err;

    CheckConfig(PrintStream out, PrintStream err) {
      this.out = out;
      this.err = err;
    }

    @Override
    public Integer call() {
      try {
        LoadedConfig loaded = new FileConfigSource(file, c -> c).load();
        ConfigCheck.credentials(loaded.config());
        ProxyConfig config = loaded.config();
        out.println("llmproxy: " + file + ": valid (hash " + loaded.hash() + "; routes: "
            + config.routes().stream().map(RouteConfig::name).collect(Collectors.joining(", ")) + ")");
        return 0;
      } catch (ConfigException e) {
        err.println("llmproxy: " + e.getMessage());
        return USAGE;
      }
    }
  }

  @Command(name = "health", mixinStandardHelpOptions = true, versionProvider = Cli.Version.class,
      description = "Ask a proxy's (or simulated backend's) gRPC health service whether a service is SERVING: "
          + "exit 0 if it is, 1 if not or unreachable, 2 for a bad command line.")
  static final class Health implements Callable<Integer> {
    @Parameters(index = "0", arity = "0..1", paramLabel = "HOST:PORT", defaultValue = "127.0.0.1:50051",
        description = "plaintext address (default ${DEFAULT-VALUE})")
    String address;
    @Parameters(index = "1", arity = "0..1", paramLabel = "SERVICE", defaultValue = "llmproxy.v1.LlmProxy",
        description = "service name (default ${DEFAULT-VALUE}; \"\" for the server as a whole)")
    String service;
    private final PrintStream out;
    private final PrintStream err;

    Health(PrintStream out, PrintStream err) {
      this.out = out;
      this.err = err;
    }

    @Override
    public Integer call() {
      return HealthCheck.run(new String[] {address, service}, out, err);
    }
  }
}
