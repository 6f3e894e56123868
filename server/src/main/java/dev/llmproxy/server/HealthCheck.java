package dev.llmproxy.server;

import dev.llmproxy.v1.LlmProxyGrpc;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.PrintStream;
import java.util.concurrent.TimeUnit;

/**
 * A container health check: asks a proxy's (or simulated backend's) {@code grpc.health.v1} service
 * whether {@code llmproxy.v1.LlmProxy} is SERVING, and exits 0 if it is, 1 if not or unreachable,
 * 2 for a bad command line.
 *
 * <pre>java -cp llmproxy-server.jar dev.llmproxy.server.HealthCheck 127.0.0.1:50051 [SERVICE]</pre>
 *
 * Plaintext only, with a 3-second deadline: it is meant for the loopback port inside a container.
 */
public final class HealthCheck {
  static final int SERVING = 0;
  static final int NOT_SERVING = 1;
  static final int USAGE = 2;
  private static final long DEADLINE_SECONDS = 3;

  private HealthCheck() {}

  public static void main(String[] args) {
    System.exit(run(args, System.out, System.err));
  }

  static int run(String[] args, PrintStream out, PrintStream err) {
    if (args.length < 1 || args.length > 2 || args[0].startsWith("-")) {
      err.println("usage: java -cp llmproxy-server.jar dev.llmproxy.server.HealthCheck HOST:PORT [SERVICE]");
      return USAGE;
    }
    String address = args[0];
    int colon = address.lastIndexOf(':');
    int port;
    try {
      port = colon > 0 ? Integer.parseInt(address.substring(colon + 1)) : -1;
    } catch (NumberFormatException e) {
      port = -1;
    }
    if (port < 1 || port > 65535) {
      err.println("llmproxy: HOST:PORT: '" + address + "' (expected: host:port with a port from 1 to 65535)");
      return USAGE;
    }
    String host = address.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    String service = args.length > 1 ? args[1] : LlmProxyGrpc.SERVICE_NAME;
    ManagedChannel channel = NettyChannelBuilder.forAddress(host, port).usePlaintext().build();
    try {
      HealthCheckResponse response = HealthGrpc.newBlockingStub(channel)
          .withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS)
          .check(HealthCheckRequest.newBuilder().setService(service).build());
      out.println("healthcheck: " + service + " at " + address + ": " + response.getStatus());
      return response.getStatus() == HealthCheckResponse.ServingStatus.SERVING ? SERVING : NOT_SERVING;
    } catch (StatusRuntimeException e) {
      err.println("healthcheck: " + service + " at " + address + ": " + e.getStatus().getCode()
          + (e.getStatus().getDescription() != null ? " (" + e.getStatus().getDescription() + ")" : ""));
      return NOT_SERVING;
    } finally {
      channel.shutdownNow();
    }
  }
}
