package dev.llmproxy.server.upstream;

import io.grpc.CallOptions;
import io.grpc.LoadBalancer.PickSubchannelArgs;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;

/** Pick arguments carrying only call options; the pickers under test read nothing else. */
final class FakePickArgs extends PickSubchannelArgs {
  static final FakePickArgs DEFAULT = new FakePickArgs(CallOptions.DEFAULT);

  private final CallOptions options;

  FakePickArgs(CallOptions options) {
    this.options = options;
  }

  /** Arguments of a call that carries {@code filter}. */
  static FakePickArgs filtered(PickFilter filter) {
    return new FakePickArgs(CallOptions.DEFAULT.withOption(PickFilter.CALL_OPTION, filter));
  }

  @Override
  public CallOptions getCallOptions() {
    return options;
  }

  @Override
  public Metadata getHeaders() {
    return new Metadata();
  }

  @Override
  public MethodDescriptor<?, ?> getMethodDescriptor() {
    throw new UnsupportedOperationException("not needed by the pickers under test");
  }
}
