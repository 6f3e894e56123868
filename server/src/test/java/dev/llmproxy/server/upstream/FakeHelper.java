package dev.llmproxy.server.upstream;

import io.grpc.Attributes;
import io.grpc.ChannelLogger;
import io.grpc.ConnectivityState;
import io.grpc.ConnectivityStateInfo;
import io.grpc.EquivalentAddressGroup;
import io.grpc.LoadBalancer;
import io.grpc.ManagedChannel;
import io.grpc.SynchronizationContext;
import java.util.ArrayList;
import java.util.List;

/** A {@link LoadBalancer.Helper} that hands out {@link FakeSubchannel}s and records the state. */
final class FakeHelper extends LoadBalancer.Helper {
  private static final ChannelLogger SILENT = new ChannelLogger() {
    @Override
    public void log(ChannelLogLevel level, String message) {
    }

    @Override
    public void log(ChannelLogLevel level, String messageFormat, Object... args) {
    }
  };

  final SynchronizationContext syncContext = new SynchronizationContext((thread, error) -> {
    throw new AssertionError("uncaught in sync context", error);
  });
  final List<FakeSubchannel> subchannels = new ArrayList<>();
  /** What {@link #getScheduledExecutorService} returns; null: none. */
  java.util.concurrent.ScheduledExecutorService timers;
  ConnectivityState state;
  LoadBalancer.SubchannelPicker picker;
  int stateUpdates;

  @Override
  public LoadBalancer.Subchannel createSubchannel(LoadBalancer.CreateSubchannelArgs args) {
    FakeSubchannel subchannel = new FakeSubchannel(args.getAddresses(), args.getAttributes());
    subchannels.add(subchannel);
    return subchannel;
  }

  @Override
  public void updateBalancingState(ConnectivityState newState,
      LoadBalancer.SubchannelPicker newPicker) {
    state = newState;
    picker = newPicker;
    stateUpdates++;
  }

  @Override
  public void refreshNameResolution() {
  }

  @Override
  public SynchronizationContext getSynchronizationContext() {
    return syncContext;
  }

  @Override
  public ChannelLogger getChannelLogger() {
    return SILENT;
  }

  @Override
  public ManagedChannel createOobChannel(EquivalentAddressGroup eag, String authority) {
    throw new UnsupportedOperationException();
  }

  @Override
  public java.util.concurrent.ScheduledExecutorService getScheduledExecutorService() {
    if (timers == null) {
      throw new UnsupportedOperationException("no timers in this test");
    }
    return timers;
  }

  @Override
  public String getAuthority() {
    return "fake-authority";
  }

  /** A subchannel whose connectivity the test drives. */
  static final class FakeSubchannel extends LoadBalancer.Subchannel {
    List<EquivalentAddressGroup> addresses;
    LoadBalancer.SubchannelStateListener listener;
    int connectionRequests;
    boolean shutdown;

    final Attributes attributes;

    FakeSubchannel(List<EquivalentAddressGroup> addresses) {
      this(addresses, Attributes.EMPTY);
    }

    FakeSubchannel(List<EquivalentAddressGroup> addresses, Attributes attributes) {
      this.addresses = List.copyOf(addresses);
      this.attributes = attributes;
    }

    FakeSubchannel() {
      this(List.of());
    }

    void setState(ConnectivityStateInfo state) {
      listener.onSubchannelState(state);
    }

    @Override
    public void start(LoadBalancer.SubchannelStateListener listener) {
      this.listener = listener;
    }

    @Override
    public void shutdown() {
      shutdown = true;
    }

    @Override
    public void requestConnection() {
      connectionRequests++;
    }

    @Override
    public void updateAddresses(List<EquivalentAddressGroup> addresses) {
      this.addresses = List.copyOf(addresses);
    }

    @Override
    public List<EquivalentAddressGroup> getAllAddresses() {
      return new ArrayList<>(addresses);
    }

    @Override
    public Attributes getAttributes() {
      return attributes;
    }

    @Override
    public ChannelLogger getChannelLogger() {
      return SILENT;
    }

    @Override
    public String toString() {
      return "FakeSubchannel" + addresses;
    }
  }
}
