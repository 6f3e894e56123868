package dev.llmproxy.server.reload;

import io.grpc.Context;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The service the server registers once, whose handlers start each call on the generation that is
 * current at that moment ({@link ProxyRuntime}). {@link #swap} makes a new generation current; the
 * old one's calls finish where they started.
 */
public final class SwappableService {
  private final AtomicReference<ProxyRuntime> current;
  private final ServerServiceDefinition definition;

  /**
   * @param initial the first generation; every later one implements the same methods (its service
   *     descriptor, whose method descriptors grpc checks by identity, is the one served)
   */
  public SwappableService(ProxyRuntime initial) {
    this.current = new AtomicReference<>(Objects.requireNonNull(initial, "initial"));
    ServerServiceDefinition.Builder builder = ServerServiceDefinition.builder(initial.service().getServiceDescriptor());
    for (ServerMethodDefinition<?, ?> method : initial.service().getMethods()) {
      addMethod(builder, method);
    }
    this.definition = builder.build();
  }

  private <ReqT, RespT> void addMethod(ServerServiceDefinition.Builder builder, ServerMethodDefinition<ReqT, RespT> method) {
    String name = method.getMethodDescriptor().getFullMethodName();
    builder.addMethod(method.getMethodDescriptor(), new ServerCallHandler<ReqT, RespT>() {
      @Override
      public ServerCall.Listener<ReqT> startCall(ServerCall<ReqT, RespT> call, Metadata headers) {
        ProxyRuntime runtime = enterCurrent();
        // grpc cancels a call's context whenever the call ends, however it ends.
        Context.current().addListener(ended -> runtime.exit(), Runnable::run);
        @SuppressWarnings("unchecked")
        ServerMethodDefinition<ReqT, RespT> target =
            (ServerMethodDefinition<ReqT, RespT>) runtime.service().getMethod(name);
        return target.getServerCallHandler().startCall(call, headers);
      }
    });
  }

  private ProxyRuntime enterCurrent() {
    for (;;) {
      ProxyRuntime runtime = current.get();
      if (runtime.tryEnter()) {
        return runtime;
      }
    }
  }

  /** The definition to register with the server. */
  public ServerServiceDefinition definition() {
    return definition;
  }

  public ProxyRuntime current() {
    return current.get();
  }

  /**
   * Makes {@code next} current for new calls and returns the generation it replaces, which the
   * caller retires ({@link ProxyRuntime#retire}) with what to close once its calls are done.
   */
  public ProxyRuntime swap(ProxyRuntime next) {
    return current.getAndSet(Objects.requireNonNull(next, "next"));
  }
}
