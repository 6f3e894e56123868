package dev.llmproxy.sim;

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
 * down on SIGTERM or Ctrl-C. A bad flag prints what was wrong and what was expected, then
 * exits with code 2; {@code --help} prints the usage.
 */
public final class SimCommand {
  /** Exit code for a bad command line. */
  public static final int EXIT_USAGE = 2;

  static final String USAGE = """
      Usage: llmproxy sim [flags]

      Runs a simulated LLM backend that serves llmproxy.v1.LlmProxy, gRPC health and reflection,
      or, with --protocol openai, the OpenAI-compatible HTTP API as vLLM serves it
      (/v1/chat/completions, /v1/completions, /health, /v1/models, /metrics).

      Flags:
        --protocol grpc|openai      the API to serve (default grpc)
        --host HOST                 address to listen on (default 127.0.0.1)
        --port PORT                 port to listen on, 0 for any free port (default 7001)
        --name NAME                 name sent in llmproxy-upstream and completion ids (default sim)
        --ttft DURATION             time to first token, like 200ms or 1s (default 0)
        --itl DURATION              inter-token latency (default 0)
        --jitter DURATION           random +/- change of every delay (default 0)
        --max-concurrency N         calls generating at once, 0 for unlimited (default 0)
        --max-queue N               calls waiting beyond that; more get RESOURCE_EXHAUSTED
                                    (default unbounded)
        --fail-rate RATE            share of calls, 0 to 1, failed before the first token (default 0)
        --fail-code CODE            gRPC status code for --fail-rate (default UNAVAILABLE)
        --fail-after-tokens N       fail calls after N tokens (default off)
        --fail-after-code CODE      gRPC status code for --fail-after-tokens (default INTERNAL)
        --stall-after-tokens N      stop sending after N tokens until the call is cancelled
                                    (default off)

      Engine model (TTFT = queueing + --ttft + uncached prompt tokens x --prefill-per-token;
      ITL = --itl x (1 + --itl-growth x (calls generating - 1)); README "The simulated backend"):
        --prefill-per-token DURATION  prefill time per prompt token not in the cache, like 200us
                                    (default 0)
        --kv-cache-blocks N         prompt blocks the prefix cache holds, LRU; 0 for none (default 0)
        --kv-block-tokens N         prompt tokens (words) per block (default 16)
        --itl-growth X              ITL slow-down per further call in the batch, like 0.05
                                    (default 0)

      Only with --protocol openai (--fail-code and --fail-after-code map to HTTP statuses:
      UNAVAILABLE 503, RESOURCE_EXHAUSTED 429, INTERNAL 500, INVALID_ARGUMENT 400, ...):
        --http-error-rate RATE      share of requests, 0 to 1, answered with --http-error-status
                                    before admission (default 0)
        --http-error-status STATUS  HTTP status for --http-error-rate, 400 to 599 (default 503)
        --retry-after SECONDS       Retry-After sent with every 429 and 503 (default none)
        --malformed-after-tokens N  send one event that is not JSON after N tokens (default off)
        --close-after-tokens N      drop the connection after N tokens, like a crashed engine
                                    (default off)
        --no-usage                  never send the usage chunk, even when a stream asks for it
        --served-models A[,B...]    the only model names served; others get 404 (default: any)
        --api-key KEY               require Authorization: Bearer KEY on /v1/... (default none)
        --loading DURATION          answer 503 on /health and /v1/... for this long after start,
                                    like an engine loading its model (default 0)
        -h, --help                  print this help
      """;

  private static final List<String> FLAGS = List.of("--protocol", "--host", "--port", "--name",
      "--ttft", "--itl", "--jitter", "--max-concurrency", "--max-queue", "--fail-rate", "--fail-code",
      "--fail-after-tokens", "--fail-after-code", "--stall-after-tokens", "--http-error-rate",
      "--http-error-status", "--retry-after", "--malformed-after-tokens", "--close-after-tokens",
      "--no-usage", "--served-models", "--api-key", "--loading", "--prefill-per-token", "--kv-cache-blocks",
      "--kv-block-tokens", "--itl-growth");
  /** Flags that take no value. */
  private static final List<String> SWITCHES = List.of("--no-usage");
  /** Flags that only the OpenAI-compatible backend has. */
  private static final List<String> OPENAI_FLAGS = List.of("--http-error-rate", "--http-error-status",
      "--retry-after", "--malformed-after-tokens", "--close-after-tokens", "--no-usage",
      "--served-models", "--api-key", "--loading");

  private SimCommand() {}

  /** The API a backend serves. */
  enum Protocol { GRPC, OPENAI }

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
    Options options;
    try {
      options = parse(args);
    } catch (UsageException e) {
      err.println("sim: " + e.getMessage());
      err.println("Run 'sim --help' for usage.");
      return EXIT_USAGE;
    }
    if (options.help()) {
      out.print(USAGE);
      return 0;
    }
    if (options.protocol() == Protocol.OPENAI) {
      return runOpenAi(options, out, err);
    }
    SimulatedBackend backend;
    try {
      backend = SimulatedBackend.start(options.host(), options.port(), options.config());
    } catch (IOException | RuntimeException e) {
      err.println("sim: cannot listen on " + options.host() + ":" + options.port() + ": "
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
      err.println("sim: cannot listen on " + options.host() + ":" + options.port() + ": "
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
    String host = "127.0.0.1";
    int port = 7001;
    SimulatedBackendConfig config = SimulatedBackendConfig.defaults("sim");
    Faults faults = Faults.none();
    Protocol protocol = Protocol.GRPC;
    OpenAiSimSettings openAi = OpenAiSimSettings.defaults();
    Duration loading = Duration.ZERO;
    String openAiFlag = null;
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      if (arg.equals("-h") || arg.equals("--help")) {
        return new Options(protocol, host, port, config, openAi, loading, true);
      }
      if (!arg.startsWith("--")) {
        throw new UsageException("unexpected argument '" + arg + "' (expected: flags like --port 7001)");
      }
      int eq = arg.indexOf('=');
      String flag = eq > 0 ? arg.substring(0, eq) : arg;
      if (!FLAGS.contains(flag)) {
        throw new UsageException("unknown flag " + flag + " (expected one of: "
            + String.join(", ", FLAGS) + ", --help)");
      }
      if (OPENAI_FLAGS.contains(flag) && openAiFlag == null) {
        openAiFlag = flag;
      }
      String value;
      if (SWITCHES.contains(flag)) {
        if (eq > 0) {
          throw new UsageException(flag + ": takes no value");
        }
        value = "";
      } else if (eq > 0) {
        value = arg.substring(eq + 1);
      } else if (i + 1 < args.length) {
        value = args[++i];
      } else {
        throw new UsageException(flag + ": missing value");
      }
      switch (flag) {
        case "--protocol" -> protocol = protocol(flag, value);
        case "--host" -> host = nonEmpty(flag, value);
        case "--port" -> port = intIn(flag, value, 0, 65535);
        case "--name" -> config = configured(flag, value, config::withName);
        case "--ttft" -> config = config.withTimeToFirstToken(duration(flag, value));
        case "--itl" -> config = config.withInterTokenLatency(duration(flag, value));
        case "--jitter" -> config = config.withJitter(duration(flag, value));
        case "--max-concurrency" ->
            config = config.withMaxConcurrency(intIn(flag, value, 0, Integer.MAX_VALUE));
        case "--prefill-per-token" ->
            config = config.withEngine(config.engine().withPrefillPerToken(duration(flag, value)));
        case "--kv-cache-blocks" -> config = config.withEngine(config.engine().withKvCache(
            intIn(flag, value, 0, Integer.MAX_VALUE), config.engine().kvBlockTokens()));
        case "--kv-block-tokens" -> config = config.withEngine(config.engine().withKvCache(
            config.engine().kvCacheBlocks(), intIn(flag, value, 1, 1 << 16)));
        case "--itl-growth" -> config = config.withEngine(config.engine().withItlGrowth(growth(flag, value)));
        case "--max-queue" -> config = config.withMaxQueue(intIn(flag, value, 0, Integer.MAX_VALUE));
        case "--fail-rate" -> faults = faults.withFailRate(rate(flag, value), faults.failCode());
        case "--fail-code" -> faults = faults.withFailRate(faults.failRate(), code(flag, value));
        case "--fail-after-tokens" -> faults = faults.withFailAfterTokens(
            intIn(flag, value, -1, Integer.MAX_VALUE), faults.failAfterCode());
        case "--fail-after-code" ->
            faults = faults.withFailAfterTokens(faults.failAfterTokens(), code(flag, value));
        case "--stall-after-tokens" ->
            faults = faults.withStallAfterTokens(intIn(flag, value, -1, Integer.MAX_VALUE));
        case "--http-error-rate" ->
            faults = faults.withHttpError(rate(flag, value), faults.httpErrorStatus());
        case "--http-error-status" ->
            faults = faults.withHttpError(faults.httpErrorRate(), intIn(flag, value, 400, 599));
        case "--retry-after" ->
            faults = faults.withRetryAfterSeconds(intIn(flag, value, 0, Integer.MAX_VALUE));
        case "--malformed-after-tokens" ->
            faults = faults.withMalformedAfterTokens(intIn(flag, value, -1, Integer.MAX_VALUE));
        case "--close-after-tokens" ->
            faults = faults.withCloseAfterTokens(intIn(flag, value, -1, Integer.MAX_VALUE));
        case "--no-usage" -> openAi = openAi.withUsageChunk(false);
        case "--served-models" -> openAi = openAi.withServedModels(models(flag, value));
        case "--api-key" -> openAi = openAi.withApiKey(apiKey(flag, value));
        case "--loading" -> loading = duration(flag, value);
        default -> throw new AssertionError(flag);
      }
    }
    if (openAiFlag != null && protocol != Protocol.OPENAI) {
      throw new UsageException(openAiFlag + ": only with --protocol openai");
    }
    return new Options(protocol, host, port, config.withFaults(faults), openAi, loading, false);
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
