package dev.llmproxy.bench.floor;

import dev.llmproxy.server.completion.MessageBytes;
import dev.llmproxy.server.config.RouteConfig;
import dev.llmproxy.v1.LlmProxyGrpc;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.KnownLength;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The second floor under issue 11's relay goals: the least a relay built on grpc-java (the
 * transport llmproxy uses on both legs) spends, where {@link ByteRelay} is the least one on bare
 * Netty. It is grpc-java's own proxy shape and nothing more: every {@code llmproxy.v1.LlmProxy}
 * method served with byte-array marshallers (no parsing), each call forwarded to one of the
 * upstreams in turn (a channel each, round robin per call), headers, messages and trailers passed
 * through, the client's deadline and cancellation passed on (by grpc's context). Flow control is
 * llmproxy's: up to eight messages asked of the upstream ahead while the client's side is ready,
 * more on {@code onReady}. The transport settings are llmproxy's too: Netty with native epoll,
 * grpc's default event loops, {@code directExecutor} on both legs, retries off, a fixed 64 KiB
 * window on the upstream connections, messages read and written without per-message buffers. No
 * interceptors, stream tracers, routing, quota, cache, metrics, failover or stall detection.
 *
 * <p>So llmproxy's CPU less this relay's is what llmproxy's own work costs, and this relay's less
 * {@link ByteRelay}'s is what grpc-java's message layer costs.
 *
 * <pre>java -jar benchmarks/target/llmproxy-bench.jar grpc-relay --port 19121 --upstreams 127.0.0.1:19051,127.0.0.1:19052</pre>
 */
public final class GrpcRelay implements AutoCloseable {
  /** The most messages asked of the upstream beyond what the client's side takes, as llmproxy's relay. */
  private static final int MAX_AHEAD = 8;
  private static final String USAGE = "usage: grpc-relay --port N --upstreams host:port[,host:port...]";
  private static final MethodDescriptor.Marshaller<byte[]> BYTES = new MethodDescriptor.Marshaller<>() {
    @Override
    public InputStream stream(byte[] value) {
      return new MessageBytes(value); // drained in one write, as llmproxy's relayed chunks
    }

    @Override
    public byte[] parse(InputStream stream) {
      try {
        // grpc's received messages know their length: read them in one array of that size
        // (readAllBytes alone allocates 16 KiB buffers per message).
        return stream instanceof KnownLength ? stream.readNBytes(stream.available()) : stream.readAllBytes();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  };

  private final Server server;
  private final List<ManagedChannel> channels;

  private GrpcRelay(Server server, List<ManagedChannel> channels) {
    this.server = server;
    this.channels = channels;
  }

  /** {@code grpc-relay --port N --upstreams host:port,...}: runs until the process is stopped; 2 on bad flags. */
  public static int run(String[] args, PrintStream err) throws IOException, InterruptedException {
    RelayFlags flags;
    try {
      flags = RelayFlags.parse(args);
    } catch (IllegalArgumentException e) {
      err.println("grpc-relay: " + e.getMessage());
      err.println(USAGE);
      return 2;
    }
    try (GrpcRelay relay = start(flags.port(), flags.upstreams())) {
      err.println("grpc-relay: listening on " + relay.port() + ", upstreams " + flags.upstreams());
      relay.server.awaitTermination();
    }
    return 0;
  }

  /** Listens on {@code port} (0: any free one) of every address and relays to {@code upstreams}. */
  public static GrpcRelay start(int port, List<InetSocketAddress> upstreams) throws IOException {
    List<ManagedChannel> channels = new ArrayList<>();
    for (InetSocketAddress upstream : upstreams) {
      // llmproxy's upstream settings: a fixed window of a route's default size (no BDP pings).
      channels.add(NettyChannelBuilder.forAddress(upstream).usePlaintext().directExecutor().disableRetry()
          .flowControlWindow(RouteConfig.DEFAULT_FLOW_CONTROL_WINDOW).maxInboundMessageSize(64 << 20).build());
    }
    AtomicInteger next = new AtomicInteger();
    ServerServiceDefinition.Builder service = ServerServiceDefinition.builder(LlmProxyGrpc.SERVICE_NAME);
    for (MethodDescriptor<?, ?> method : LlmProxyGrpc.getServiceDescriptor().getMethods()) {
      MethodDescriptor<byte[], byte[]> bytes = method.toBuilder(BYTES, BYTES).build();
      ServerCallHandler<byte[], byte[]> handler = (call, headers) -> {
        ManagedChannel channel = channels.get(Math.floorMod(next.getAndIncrement(), channels.size()));
        return new Call(call, channel, headers);
      };
      service.addMethod(bytes, handler);
    }
    try {
      Server server = NettyServerBuilder.forAddress(new InetSocketAddress(port)).directExecutor()
          .maxInboundMessageSize(64 << 20).addService(service.build()).build().start();
      return new GrpcRelay(server, channels);
    } catch (IOException | RuntimeException e) {
      channels.forEach(ManagedChannel::shutdownNow);
      throw e;
    }
  }

  public int port() {
    return server.getPort();
  }

  /** Stops listening, ends every call and closes the upstream channels. */
  @Override
  public void close() throws InterruptedException {
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    for (ManagedChannel channel : channels) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  /**
   * One relayed call. Server events come on the client connection's thread, upstream events on the
   * upstream connection's; the server call is sent to only from upstream events, and the upstream
   * call from server events, but for the thread-safe {@code request} when topping up.
   */
  private static final class Call extends ServerCall.Listener<byte[]> {
    private final ServerCall<byte[], byte[]> serverCall;
    private final ClientCall<byte[], byte[]> upstream;
    /** Messages asked of the upstream and not yet received. */
    private final AtomicInteger outstanding = new AtomicInteger();

    Call(ServerCall<byte[], byte[]> serverCall, ManagedChannel channel, Metadata headers) {
      this.serverCall = serverCall;
      // Made in the client call's context, so grpc ends it when that context ends: the client's
      // deadline and cancellation reach the upstream without code here.
      this.upstream = channel.newCall(serverCall.getMethodDescriptor(), CallOptions.DEFAULT);
      upstream.start(new Upstream(), headers);
      serverCall.request(1);
      topUp();
    }

    @Override
    public void onMessage(byte[] message) {
      upstream.sendMessage(message);
      serverCall.request(1);
    }

    @Override
    public void onHalfClose() {
      upstream.halfClose();
    }

    @Override
    public void onReady() {
      if (serverCall.isReady()) {
        topUp();
      }
    }

    private void topUp() {
      for (;;) {
        int current = outstanding.get();
        if (current >= MAX_AHEAD) {
          return;
        }
        if (outstanding.compareAndSet(current, MAX_AHEAD)) {
          upstream.request(MAX_AHEAD - current);
          return;
        }
      }
    }

    private final class Upstream extends ClientCall.Listener<byte[]> {
      @Override
      public void onHeaders(Metadata headers) {
        serverCall.sendHeaders(headers);
      }

      @Override
      public void onMessage(byte[] message) {
        boolean low = outstanding.decrementAndGet() <= MAX_AHEAD / 2;
        serverCall.sendMessage(message);
        if (low && serverCall.isReady()) {
          topUp();
        }
      }

      @Override
      public void onClose(Status status, Metadata trailers) {
        serverCall.close(status, trailers);
      }
    }
  }
}
