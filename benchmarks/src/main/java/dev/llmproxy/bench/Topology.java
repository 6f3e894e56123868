package dev.llmproxy.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Simulated upstreams and (optionally) one llmproxy in front of them, each a process of its own
 * on loopback ports the OS picks, so the CPU of each can be read apart. Closing stops them by PID.
 */
final class Topology implements AutoCloseable {
  private static final Duration START_TIMEOUT = Duration.ofSeconds(60);

  private final List<ServerProcess> sims = new ArrayList<>();
  private final List<String> simAddresses = new ArrayList<>();
  private ServerProcess proxy;
  private String proxyAddress;

  /**
   * Starts the sims, then a proxy over them.
   *
   * @param simArgs flags of the {@code sim} command beyond host/port/name, e.g. {@code --itl 20ms}
   * @param proxyArgs flags of the proxy; {@code {UPSTREAMS}} is replaced by the sims' addresses.
   *     Null: no proxy.
   */
  static Topology start(Path serverJar, int simCount, List<String> simArgs, List<String> simJvm,
      List<String> proxyArgs, List<String> proxyJvm) throws IOException, InterruptedException {
    Topology t = startSims(serverJar, simCount, simArgs, simJvm);
    if (proxyArgs != null) {
      List<String> args = new ArrayList<>();
      for (String a : proxyArgs) {
        args.add(a.replace("{UPSTREAMS}", String.join(",", t.simAddresses)));
      }
      t.startProxy(serverJar, args, proxyJvm);
    }
    return t;
  }

  /** Starts a proxy process in front of the sims (once). */
  void startProxy(Path serverJar, List<String> args, List<String> jvm) throws IOException, InterruptedException {
    try {
      proxy = ServerProcess.start("llmproxy", serverJar, jvm, args, "listening on", START_TIMEOUT);
      proxyAddress = proxy.listenAddress();
    } catch (IOException | InterruptedException | RuntimeException e) {
      close();
      throw e;
    }
  }

  /** Starts only the simulated upstreams. */
  static Topology startSims(Path serverJar, int simCount, List<String> simArgs, List<String> simJvm)
      throws IOException, InterruptedException {
    Topology t = new Topology();
    try {
      for (int i = 1; i <= simCount; i++) {
        List<String> args = new ArrayList<>(List.of("sim", "--host", "127.0.0.1", "--port", "0", "--name", "sim-" + i));
        args.addAll(simArgs);
        ServerProcess sim = ServerProcess.start("sim-" + i, serverJar, simJvm, args, "listening on", START_TIMEOUT);
        t.sims.add(sim);
        t.simAddresses.add(sim.listenAddress());
      }
      return t;
    } catch (IOException | InterruptedException | RuntimeException e) {
      t.close();
      throw e;
    }
  }

  List<String> simAddresses() {
    return simAddresses;
  }

  String proxyAddress() {
    return proxyAddress;
  }

  ServerProcess proxy() {
    return proxy;
  }

  /** CPU seconds so far of the proxy, the sims together, this generator and the whole machine. */
  Map<String, Double> cpu() {
    Map<String, Double> cpu = new LinkedHashMap<>();
    if (proxy != null) {
      cpu.put("proxy", proxy.cpuSeconds());
    }
    cpu.put("sims", sims.stream().mapToDouble(ServerProcess::cpuSeconds).sum());
    cpu.put("generator", ProcessCpu.self());
    cpu.put("machine", ProcessCpu.machine());
    return cpu;
  }

  @Override
  public void close() throws InterruptedException {
    if (proxy != null) {
      proxy.close();
    }
    for (ServerProcess sim : sims) {
      sim.close();
    }
  }
}
