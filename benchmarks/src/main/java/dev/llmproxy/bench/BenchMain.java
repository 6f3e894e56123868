package dev.llmproxy.bench;

import dev.llmproxy.bench.floor.ByteRelay;
import dev.llmproxy.bench.floor.GrpcRelay;
import dev.llmproxy.server.NettyProcessDefaults;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code java -jar benchmarks/target/llmproxy-bench.jar <scenario> [--flag value ...]}: runs one
 * scenario, prints progress, writes {@code <results>/<scenario>-<time>.json} (and {@code .png} for
 * scenarios with a chart). {@code jmh [JMH options]} runs the JMH benchmarks; {@code byte-relay} and
 * {@code grpc-relay} run the {@link ByteRelay} and {@link GrpcRelay} instruments.
 */
public final class BenchMain {
  private static final List<Scenario> SCENARIOS = List.of(new LoadCommand(), new OverheadScenario(),
      new RelayScenario(), new ManyStreamsScenario(), new ScaleScenario(), new RoutingScenario());

  private BenchMain() {}

  public static void main(String[] args) throws Exception {
    System.exit(run(args, System.out, System.err));
  }

  static int run(String[] args, PrintStream out, PrintStream err) throws Exception {
    if (args.length == 0 || args[0].equals("--help") || args[0].equals("help")) {
      out.print(usage());
      return args.length == 0 ? 2 : 0;
    }
    if (args[0].equals("byte-relay") || args[0].equals("grpc-relay")) {
      // The floors run with the Netty settings llmproxy's main gives itself, before Netty reads them.
      NettyProcessDefaults.apply(System.getProperties());
      String[] flags = Arrays.copyOfRange(args, 1, args.length);
      return args[0].equals("byte-relay") ? ByteRelay.run(flags, err) : GrpcRelay.run(flags, err);
    }
    if (args[0].equals("jmh")) {
      org.openjdk.jmh.Main.main(Arrays.copyOfRange(args, 1, args.length));
      return 0;
    }
    Scenario scenario = SCENARIOS.stream().filter(s -> s.name().equals(args[0])).findFirst().orElse(null);
    if (scenario == null) {
      err.println("bench: " + args[0] + ": unknown scenario (expected one of: "
          + String.join(", ", SCENARIOS.stream().map(Scenario::name).toList()) + ", jmh)");
      return 2;
    }
    Options options;
    Path serverJar;
    Path results;
    boolean quiet;
    try {
      options = new Options(Arrays.copyOfRange(args, 1, args.length));
      serverJar = Path.of(options.string("server-jar", "server/target/llmproxy-server.jar"));
      results = Path.of(options.string("results", "benchmarks/results"));
      quiet = options.string("progress", "on").equals("off");
    } catch (IllegalArgumentException e) {
      err.println("bench: " + e.getMessage());
      return 2;
    }
    if (!scenario.name().equals("load") && !Files.isRegularFile(serverJar)) {
      err.println("bench: --server-jar: " + serverJar + " does not exist (expected: the built server jar; run "
          + "./mvnw -q -DskipTests install first)");
      return 2;
    }
    Files.createDirectories(results);
    String name = scenario.name() + "-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
    ScenarioContext ctx = new ScenarioContext(serverJar, options, results, name,
        new LoadGenerator(quiet ? null : err), err);
    Map<String, Object> result;
    try {
      result = scenario.run(ctx);
    } catch (IllegalArgumentException e) {
      err.println("bench: " + e.getMessage());
      return 2;
    }
    Map<String, Object> report = new LinkedHashMap<>();
    report.put("scenario", scenario.name());
    report.put("command", "java -jar benchmarks/target/llmproxy-bench.jar " + String.join(" ", args));
    report.put("machine", machine());
    report.put("result", result);
    Path json = ctx.file("json");
    Files.writeString(json, Json.write(report));
    out.println("results: " + json + (Files.exists(ctx.file("png")) ? " and " + ctx.file("png") : ""));
    return 0;
  }

  static Map<String, Object> machine() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("cpus", Runtime.getRuntime().availableProcessors());
    m.put("cpu_model", cpuModel());
    m.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version") + " " + System.getProperty("os.arch"));
    m.put("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"));
    m.put("machine_busy_cores_before", busyCores());
    return m;
  }

  private static String cpuModel() {
    try {
      return Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
          .findFirst().map(l -> l.substring(l.indexOf(':') + 1).trim()).orElse("unknown");
    } catch (IOException e) {
      return "unknown";
    }
  }

  /** Busy cores over one second: how loaded the machine was when the run started. */
  private static double busyCores() {
    double a = ProcessCpu.machine();
    try {
      Thread.sleep(1000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return Math.round((ProcessCpu.machine() - a) * 100) / 100.0;
  }

  private static String usage() {
    StringBuilder s = new StringBuilder("""
        usage: java -jar benchmarks/target/llmproxy-bench.jar SCENARIO [--flag value ...]
               java -jar benchmarks/target/llmproxy-bench.jar jmh [JMH options, e.g. -f 1 -wi 3 -i 5]
               java -jar benchmarks/target/llmproxy-bench.jar byte-relay --port N --upstreams host:port,...
               java -jar benchmarks/target/llmproxy-bench.jar grpc-relay --port N --upstreams host:port,...

        Scenarios start the simulated upstreams and the proxy as processes of their own on loopback
        (from --server-jar, default server/target/llmproxy-server.jar), stop them by PID when done,
        and write JSON (and a PNG chart) to --results (default benchmarks/results).
        --progress off silences the per-second progress lines.

        """);
    for (Scenario sc : SCENARIOS) {
      s.append(String.format("  %-13s %s%n", sc.name(), sc.summary()));
    }
    s.append("\nSee benchmarks/README.md for each scenario's flags and the numbers measured.\n");
    return s.toString();
  }
}
