package dev.llmproxy.sim;

import dev.llmproxy.cli.ParameterErrors;
import dev.llmproxy.sim.openai.OpenAiSimSettings;
import dev.llmproxy.sim.openai.OpenAiSimulatedBackend;
import io.grpc.Status;
import java.io.IOException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The {@code sim} command: runs one {@link SimulatedBackend} until the process is told to stop.
 *
 * <pre>
 * java -jar server/target/llmproxy-server.jar sim --port 7001 --name sim-a --ttft 200ms --itl 20ms
 * java -jar server/target/llmproxy-server.jar sim --protocol openai --port 8000 --ttft 50ms --itl 20ms
 * </pre>
 *
 * It prints {@code simulated backend <name> listening on <host>:<port>} (gRPC) or {@code simulated
 * backend <name> listening on http://<host>:<port> (openai)} once it serves, and shuts the backend
 * down on SIGTERM or Ctrl-C. Flags are parsed by picocli ({@link Flags}); a bad one is refused like
 * every llmproxy command line: {@code llmproxy: <flag>: <what was wrong> (expected: ...)} and exit
 * code 2. {@code --help} prints the generated usage.
 */
public final class SimCommand {
  /** Exit code for a bad command line. */
  public static final int EXIT_USAGE = 2;

  private SimCommand() {}

  /** The API a backend serves. */
  enum Protocol { GRPC, OPENAI }

  /**
   * The flags as picocli fills them: one string field per flag, so that {@link #parse} reports a bad
   * value in the project's words (the flag, the value, what was expected) and a new flag is one field.
   */
  @Command(name = "llmproxy sim", mixinStandardHelpOptions = true, sortOptions = false, usageHelpWidth = 100,
      description = {"Runs a simulated LLM backend that serves llmproxy.v1.LlmProxy, gRPC health and reflection,",
          "or, with --protocol openai, the OpenAI-compatible HTTP API as vLLM serves it",
          "(/v1/chat/completions, /v1/completions, /health, /v1/models, /metrics)."},
      footer = {"", "Engine model: TTFT = queueing + --ttft + uncached prompt tokens x --prefill-per-token;",
          "ITL = --itl x (1 + --itl-growth x (calls generating - 1)); README \"The simulated backend\".",
          "", "Flags marked (openai) only go with --protocol openai; there --fail-code and --fail-after-code",
          "map to HTTP statuses: UNAVAILABLE 503, RESOURCE_EXHAUSTED 429, INTERNAL 500, INVALID_ARGUMENT 400, ..."})
  static final class Flags {
    @Option(names = "--protocol", paramLabel = "grpc|openai", description = "the API to serve (default grpc)")
    String protocol;
    @Option(names = "--host", paramLabel = "HOST", description = "address to listen on (default 127.0.0.1)")
    String host;
    @Option(names = "--port", paramLabel = "PORT", description = "port to listen on, 0 for any free port (default 7001)")
    String port;
    @Option(names = "--name", paramLabel = "NAME",
        description = "name sent in llmproxy-upstream and completion ids (default sim)")
    String name;
    @Option(names = "--ttft", paramLabel = "DURATION", description = "time to first token, like 200ms or 1s (default 0)")
    String ttft;
    @Option(names = "--itl", paramLabel = "DURATION", description = "inter-token latency (default 0)")
    String itl;
    @Option(names = "--jitter", paramLabel = "DURATION", description = "random +/- change of every delay (default 0)")
    String jitter;
    @Option(names = "--seed", paramLabel = "N", description = "seed of every random choice: jitter, --fail-rate,"
        + " --http-error-rate; the same seed and calls in the same order give the same timings (default 0)")
    String seed;
    @Option(names = "--max-concurrency", paramLabel = "N",
        description = "calls generating at once, 0 for unlimited (default 0)")
    String maxConcurrency;
    @Option(names = "--max-queue", paramLabel = "N",
        description = "calls waiting beyond that; more get RESOURCE_EXHAUSTED (default unbounded)")
    String maxQueue;
    @Option(names = "--fail-rate", paramLabel = "RATE",
        description = "share of calls, 0 to 1, failed before the first token (default 0)")
    String failRate;
    @Option(names = "--fail-code", paramLabel = "CODE", description = "gRPC status code for --fail-rate (default UNAVAILABLE)")
    String failCode;
    @Option(names = "--fail-after-tokens", paramLabel = "N", description = "fail calls after N tokens (default off)")
    String failAfterTokens;
    @Option(names = "--fail-after-code", paramLabel = "CODE",
        description = "gRPC status code for --fail-after-tokens (default INTERNAL)")
    String failAfterCode;
    @Option(names = "--stall-after-tokens", paramLabel = "N",
        description = "stop sending after N tokens until the call is cancelled (default off)")
    String stallAfterTokens;
    @Option(names = "--prefill-per-token", paramLabel = "DURATION",
        description = "prefill time per prompt token not in the cache, like 200us (default 0)")
    String prefillPerToken;
    @Option(names = "--kv-cache-blocks", paramLabel = "N",
        description = "prompt blocks the prefix cache holds, LRU; 0 for none (default 0)")
    String kvCacheBlocks;
    @Option(names = "--kv-block-tokens", paramLabel = "N", description = "prompt tokens (words) per block (default 16)")
    String kvBlockTokens;
    @Option(names = "--itl-growth", paramLabel = "X",
        description = "ITL slow-down per further call in the batch, like 0.05 (default 0)")
    String itlGrowth;
    @Option(names = "--http-error-rate", paramLabel = "RATE",
        description = "(openai) share of requests, 0 to 1, answered with --http-error-status before admission (default 0)")
    String httpErrorRate;
    @Option(names = "--http-error-status", paramLabel = "STATUS",
        description = "(openai) HTTP status for --http-error-rate, 400 to 599 (default 503)")
    String httpErrorStatus;
    @Option(names = "--retry-after", paramLabel = "SECONDS",
        description = "(openai) Retry-After sent with every 429 and 503 (default none)")
    String retryAfter;
    @Option(names = "--malformed-after-tokens", paramLabel = "N",
        description = "(openai) send one event that is not JSON after N tokens (default off)")
    String malformedAfterTokens;
    @Option(names = "--close-after-tokens", paramLabel = "N",
        description = "(openai) drop the connection after N tokens, like a crashed engine (default off)")
    String closeAfterTokens;
    @Option(names = "--no-usage", arity = "0",
        description = "(openai) never send the usage chunk, even when a stream asks for it")
    boolean noUsage;
    @Option(names = "--served-models", paramLabel = "A[,B...]",
        description = "(openai) the only model names served; others get 404 (default: any)")
    String servedModels;
    @Option(names = "--api-key", paramLabel = "KEY",
        description = "(openai) require Authorization: Bearer KEY on /v1/... (default none)")
    String apiKey;
    @Option(names = "--loading", paramLabel = "DURATION",
        description = "(openai) answer 503 on /health and /v1/... for this long after start, like an engine loading its model (default 0)")
    String loading;
  }

  /** Parsed command line. */
  record Options(
      Protocol protocol,
      String host,
      int port,
      SimulatedBackendConfig config,
      OpenAiSimSettings openAi,
      Duration loading,
      boolean help) {}

  /** A command-line error, with a message for the user. */
  static final class UsageException extends Exception {
    UsageException(String message) {
      super(message, null, false, false);
    }
  }

  /** Runs the command on its own: {@code java -cp llmproxy-server.jar dev.llmproxy.sim.SimCommand --help}. */
  public static void main(String[] args) {
    int code = run(args, System.out, System.err);
    if (code != 0) {
      System.exit(code);
    }
  }

  /**
   * Runs the command: parses {@code args}, starts the backend, prints where it listens and blocks
   * until it terminates (the shutdown hook closes it) or this thread is interrupted.
   *
   * @return the exit code: 0 after a clean shutdown or {@code --help}, 1 if the backend cannot start,
   *     {@value #EXIT_USAGE} for a bad command line
   */
  public static int run(String[] args, PrintStream out, PrintStream err) {
    Flags flags = new Flags();
    CommandLine cli = new CommandLine(flags);
    Options options;
    try {
      try {
        cli.parseArgs(args);
      } catch (CommandLine.ParameterException e) {
        throw new UsageException(ParameterErrors.describe(e, flag -> "a value; --help lists them"));
      }
      if (cli.isUsageHelpRequested()) {
        cli.usage(out);
        return 0;
      }
      if (cli.isVersionHelpRequested()) {
        out.println("llmproxy sim");
        return 0;
      }
      options = options(flags);
    } catch (UsageException e) {
      err.println("llmproxy: " + e.getMessage());
      err.println("llmproxy: not started (--help shows usage)");
      return EXIT_USAGE;
    }
    if (options.protocol() == Protocol.OPENAI) {
      return runOpenAi(options, out, err);
    }
    SimulatedBackend backend;
    try {
      backend = SimulatedBackend.start(options.host(), options.port(), options.config());
    } catch (IOException | RuntimeException e) {
      err.println("llmproxy: sim: cannot listen on " + options.host() + ":" + options.port() + ": "
          + rootMessage(e));
      return 1;
    }
    Thread hook = new Thread(backend::close, "llmproxy-sim-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    out.println("simulated backend " + backend.name() + " listening on " + backend.address());
    out.flush();
    try {
      backend.awaitTermination();
    } catch (InterruptedException e) {
      backend.close();
      removeHook(hook);
    }
    return 0;
  }

  private static int runOpenAi(Options options, PrintStream out, PrintStream err) {
    OpenAiSimulatedBackend backend;
    try {
      backend = OpenAiSimulatedBackend.start(
          options.host(), options.port(), options.config(), options.openAi());
    } catch (IOException | RuntimeException e) {
      err.println("llmproxy: sim: cannot listen on " + options.host() + ":" + options.port() + ": "
          + rootMessage(e));
      return 1;
    }
    if (!options.loading().isZero()) {
      backend.setLoading(true);
      CompletableFuture.delayedExecutor(options.loading().toNanos(), TimeUnit.NANOSECONDS)
          .execute(() -> backend.setLoading(false));
    }
    Thread hook = new Thread(backend::close, "llmproxy-sim-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    out.println("simulated backend " + backend.name() + " listening on " + backend.baseUrl()
        + " (openai)");
    out.flush();
    try {
      backend.awaitTermination();
    } catch (InterruptedException e) {
      backend.close();
      removeHook(hook);
    }
    return 0;
  }

  private static void removeHook(Thread hook) {
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException shuttingDown) {
      // The hook is running already.
    }
  }

  /** Parses flags given as {@code --flag value} or {@code --flag=value}. */
  static Options parse(String[] args) throws UsageException {
    Flags flags = new Flags();
    CommandLine cli = new CommandLine(flags);
    try {
      cli.parseArgs(args);
    } catch (CommandLine.ParameterException e) {
      throw new UsageException(ParameterErrors.describe(e, flag -> "a value; --help lists them"));
    }
    if (cli.isUsageHelpRequested()) {
      return new Options(Protocol.GRPC, "127.0.0.1", 7001, SimulatedBackendConfig.defaults("sim"),
          OpenAiSimSettings.defaults(), Duration.ZERO, true);
    }
    return options(flags);
  }

  /** Validates the flags picocli filled, in the order they are declared. */
  private static Options options(Flags f) throws UsageException {
    Protocol protocol = f.protocol == null ? Protocol.GRPC : protocol("--protocol", f.protocol);
    String host = f.host == null ? "127.0.0.1" : nonEmpty("--host", f.host);
    int port = f.port == null ? 7001 : intIn("--port", f.port, 0, 65535);
    SimulatedBackendConfig config = SimulatedBackendConfig.defaults("sim");
    if (f.name != null) {
      config = configured("--name", f.name, config::withName);
    }
    if (f.ttft != null) {
      config = config.withTimeToFirstToken(duration("--ttft", f.ttft));
    }
    if (f.itl != null) {
      config = config.withInterTokenLatency(duration("--itl", f.itl));
    }
    if (f.jitter != null) {
      config = config.withJitter(duration("--jitter", f.jitter));
    }
    if (f.seed != null) {
      config = config.withSeed(seed("--seed", f.seed));
    }
    if (f.maxConcurrency != null) {
      config = config.withMaxConcurrency(intIn("--max-concurrency", f.maxConcurrency, 0, Integer.MAX_VALUE));
    }
    if (f.maxQueue != null) {
      config = config.withMaxQueue(intIn("--max-queue", f.maxQueue, 0, Integer.MAX_VALUE));
    }
    EngineModel engine = config.engine();
    if (f.prefillPerToken != null) {
      engine = engine.withPrefillPerToken(duration("--prefill-per-token", f.prefillPerToken));
    }
    if (f.kvCacheBlocks != null) {
      engine = engine.withKvCache(intIn("--kv-cache-blocks", f.kvCacheBlocks, 0, Integer.MAX_VALUE),
          engine.kvBlockTokens());
    }
    if (f.kvBlockTokens != null) {
      engine = engine.withKvCache(engine.kvCacheBlocks(), intIn("--kv-block-tokens", f.kvBlockTokens, 1, 1 << 16));
    }
    if (f.itlGrowth != null) {
      engine = engine.withItlGrowth(growth("--itl-growth", f.itlGrowth));
    }
    config = config.withEngine(engine);
    Faults faults = Faults.none();
    if (f.failRate != null || f.failCode != null) {
      faults = faults.withFailRate(f.failRate == null ? faults.failRate() : rate("--fail-rate", f.failRate),
          f.failCode == null ? faults.failCode() : code("--fail-code", f.failCode));
    }
    if (f.failAfterTokens != null || f.failAfterCode != null) {
      faults = faults.withFailAfterTokens(f.failAfterTokens == null ? faults.failAfterTokens()
              : intIn("--fail-after-tokens", f.failAfterTokens, -1, Integer.MAX_VALUE),
          f.failAfterCode == null ? faults.failAfterCode() : code("--fail-after-code", f.failAfterCode));
    }
    if (f.stallAfterTokens != null) {
      faults = faults.withStallAfterTokens(intIn("--stall-after-tokens", f.stallAfterTokens, -1, Integer.MAX_VALUE));
    }
    if (f.httpErrorRate != null || f.httpErrorStatus != null) {
      faults = faults.withHttpError(
          f.httpErrorRate == null ? faults.httpErrorRate() : rate("--http-error-rate", f.httpErrorRate),
          f.httpErrorStatus == null ? faults.httpErrorStatus()
              : intIn("--http-error-status", f.httpErrorStatus, 400, 599));
    }
    if (f.retryAfter != null) {
      faults = faults.withRetryAfterSeconds(intIn("--retry-after", f.retryAfter, 0, Integer.MAX_VALUE));
    }
    if (f.malformedAfterTokens != null) {
      faults = faults.withMalformedAfterTokens(
          intIn("--malformed-after-tokens", f.malformedAfterTokens, -1, Integer.MAX_VALUE));
    }
    if (f.closeAfterTokens != null) {
      faults = faults.withCloseAfterTokens(intIn("--close-after-tokens", f.closeAfterTokens, -1, Integer.MAX_VALUE));
    }
    OpenAiSimSettings openAi = OpenAiSimSettings.defaults();
    if (f.noUsage) {
      openAi = openAi.withUsageChunk(false);
    }
    if (f.servedModels != null) {
      openAi = openAi.withServedModels(models("--served-models", f.servedModels));
    }
    if (f.apiKey != null) {
      openAi = openAi.withApiKey(apiKey("--api-key", f.apiKey));
    }
    Duration loading = f.loading == null ? Duration.ZERO : duration("--loading", f.loading);
    String openAiFlag = firstOpenAiFlag(f);
    if (openAiFlag != null && protocol != Protocol.OPENAI) {
      throw new UsageException(openAiFlag + ": only with --protocol openai");
    }
    return new Options(protocol, host, port, config.withFaults(faults), openAi, loading, false);
  }

  private static String firstOpenAiFlag(Flags f) {
    Object[][] flags = {{"--http-error-rate", f.httpErrorRate}, {"--http-error-status", f.httpErrorStatus},
        {"--retry-after", f.retryAfter}, {"--malformed-after-tokens", f.malformedAfterTokens},
        {"--close-after-tokens", f.closeAfterTokens}, {"--no-usage", f.noUsage ? "" : null},
        {"--served-models", f.servedModels}, {"--api-key", f.apiKey}, {"--loading", f.loading}};
    for (Object[] flag : flags) {
      if (flag[1] != null) {
        return (String) flag[0];
      }
    }
    return null;
  }

  private static Protocol protocol(String flag, String value) throws UsageException {
    return switch (value.trim().toLowerCase(Locale.ROOT)) {
      case "grpc" -> Protocol.GRPC;
      case "openai" -> Protocol.OPENAI;
      default -> throw new UsageException(flag + ": '" + value + "' (expected: grpc or openai)");
    };
  }

  private static List<String> models(String flag, String value) throws UsageException {
    List<String> models = Arrays.stream(value.split(",")).map(String::trim).toList();
    if (models.isEmpty() || models.stream().anyMatch(String::isEmpty)) {
      throw new UsageException(flag + ": '" + value + "' (expected: model names separated by commas)");
    }
    return models;
  }

  private static String apiKey(String flag, String value) throws UsageException {
    if (value.isEmpty() || !value.chars().allMatch(c -> c > ' ' && c < 0x7f)) {
      // The value is a secret: never echo it.
      throw new UsageException(flag + ": (expected: printable ASCII without spaces)");
    }
    return value;
  }

  private interface Wither {
    SimulatedBackendConfig apply(String value);
  }

  private static SimulatedBackendConfig configured(String flag, String value, Wither wither)
      throws UsageException {
    try {
      return wither.apply(value);
    } catch (IllegalArgumentException e) {
      String message = e.getMessage();
      int colon = message.indexOf(": ");
      throw new UsageException(flag + ": " + (colon >= 0 ? message.substring(colon + 2) : message));
    }
  }

  private static String nonEmpty(String flag, String value) throws UsageException {
    if (value.isBlank()) {
      throw new UsageException(flag + ": '" + value + "' (expected: not empty)");
    }
    return value;
  }

  private static int intIn(String flag, String value, int min, int max) throws UsageException {
    String expected = max == Integer.MAX_VALUE
        ? "an integer >= " + min
        : "an integer from " + min + " to " + max;
    try {
      int n = Integer.parseInt(value.trim());
      if (n >= min && n <= max) {
        return n;
      }
    } catch (NumberFormatException e) {
      // Reported below.
    }
    throw new UsageException(flag + ": '" + value + "' (expected: " + expected + ")");
  }

  private static long seed(String flag, String value) throws UsageException {
    try {
      return Long.parseLong(value.trim());
    } catch (NumberFormatException e) {
      throw new UsageException(flag + ": '" + value + "' (expected: a whole number, like 42)");
    }
  }

  private static Duration duration(String flag, String value) throws UsageException {
    Duration d;
    try {
      d = DurationText.parse(value);
    } catch (IllegalArgumentException e) {
      throw new UsageException(flag + ": " + e.getMessage());
    }
    if (d.isNegative()) {
      throw new UsageException(flag + ": '" + value + "' (expected: a duration >= 0, like 20ms)");
    }
    return d;
  }

  private static double growth(String flag, String value) throws UsageException {
    try {
      double growth = Double.parseDouble(value.trim());
      if (growth >= 0 && growth <= 100) {
        return growth;
      }
    } catch (NumberFormatException e) {
      // Reported below.
    }
    throw new UsageException(flag + ": '" + value + "' (expected: a number from 0 to 100, like 0.05)");
  }

  private static double rate(String flag, String value) throws UsageException {
    try {
      double rate = Double.parseDouble(value.trim());
      if (rate >= 0 && rate <= 1) {
        return rate;
      }
    } catch (NumberFormatException e) {
      // Reported below.
    }
    throw new UsageException(flag + ": '" + value + "' (expected: a number from 0 to 1, like 0.1)");
  }

  private static Status.Code code(String flag, String value) throws UsageException {
    try {
      Status.Code code = Status.Code.valueOf(value.trim().toUpperCase(Locale.ROOT));
      if (code != Status.Code.OK) {
        return code;
      }
    } catch (IllegalArgumentException e) {
      // Reported below.
    }
    throw new UsageException(flag + ": '" + value
        + "' (expected: a gRPC error code like UNAVAILABLE, INTERNAL or RESOURCE_EXHAUSTED)");
  }

  private static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null) {
      t = t.getCause();
    }
    return t.getMessage() != null ? t.getMessage() : t.getClass().getSimpleName();
  }
}
