package dev.llmproxy.server.upstream;

import static java.util.Objects.requireNonNull;

import dev.llmproxy.orca.LoadReport;
import dev.llmproxy.orca.OpenRcaService;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ConnectivityState;
import io.grpc.ConnectivityStateInfo;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.SynchronizationContext;
import io.grpc.SynchronizationContext.ScheduledHandle;
import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/*
 * The client of one backend's OpenRcaService/StreamCoreMetrics (out-of-band ORCA), driven by its
 * subchannel's connectivity, after grpc-xds' OrcaOobUtil:
 *
 * - READY: opens the stream on the subchannel's own channel (subchannel.asChannel(), so it rides the
 *   connection the calls use, as grpc's health checker does), asking for reports every `interval`;
 *   each report goes to the sink (EngineLoad.report, the intake of per-call trailers too).
 * - The stream ends with UNIMPLEMENTED: the backend has no OOB service. No more attempts on this
 *   connection; the endpoint is balanced on its per-call reports, else on calls in flight. A new
 *   connection (after the subchannel left READY) tries again: the backend may have been upgraded.
 * - The stream ends otherwise: opened again, at once if it had delivered reports, else after an
 *   exponential backoff (1 s, growing 1.6x to 2 min, jittered), reset by the next report.
 * - The subchannel leaves READY or shuts down: the stream is cancelled and no retry is pending.
 *
 * Everything runs in the load balancer's SynchronizationContext; call callbacks hop into it and
 * are dropped when they belong to a call that is no longer the current one.
 */
/** Out-of-band ORCA load reports from one subchannel's backend. Confined to the sync context. */
final class OrcaOobStream {
  private static final Logger log = Logger.getLogger(OrcaOobStream.class.getName());

  private final SynchronizationContext syncContext;
  private final ScheduledExecutorService scheduler;
  private final Supplier<Channel> channel;
  private final Duration interval;
  private final Consumer<LoadReport> sink;
  private final ExponentialBackoff backoff;
  private final Supplier<String> name;
  private boolean ready;
  private boolean disabled;
  private boolean closed;
  private boolean failing;
  private Reports current;
  private ScheduledHandle retry;

  /**
   * @param channel the backend's channel ({@code subchannel::asChannel})
   * @param name names the backend in logs
   */
  OrcaOobStream(SynchronizationContext syncContext, ScheduledExecutorService scheduler, Supplier<Channel> channel,
      Duration interval, Consumer<LoadReport> sink, ExponentialBackoff backoff, Supplier<String> name) {
    this.syncContext = requireNonNull(syncContext, "syncContext");
    this.scheduler = requireNonNull(scheduler, "scheduler");
    this.channel = requireNonNull(channel, "channel");
    this.interval = requireNonNull(interval, "interval");
    this.sink = requireNonNull(sink, "sink");
    this.backoff = requireNonNull(backoff, "backoff");
    this.name = requireNonNull(name, "name");
  }

  /** The subchannel's new state. */
  void onSubchannelState(ConnectivityStateInfo state) {
    syncContext.throwIfNotInThisSynchronizationContext();
    boolean nowReady = state.getState() == ConnectivityState.READY;
    if (ready && !nowReady) {
      disabled = false; // the next connection may reach a backend that serves OOB reports
    }
    ready = nowReady;
    if (ready) {
      if (current == null && retry == null && !disabled && !closed) {
        start();
      }
    } else {
      stop("subchannel " + state.getState());
      backoff.reset();
    }
  }

  /** The subchannel shuts down: no stream from here on. */
  void close() {
    syncContext.throwIfNotInThisSynchronizationContext();
    closed = true;
    stop("subchannel shut down");
  }

  /** Whether a stream is open now (for tests and toString). */
  boolean isOpen() {
    return current != null;
  }

  /** Whether a retry is scheduled (for tests). */
  boolean retryPending() {
    return retry != null && retry.isPending();
  }

  private void start() {
    current = new Reports(channel.get().newCall(OpenRcaService.STREAM_CORE_METRICS, CallOptions.DEFAULT));
    current.start();
  }

  private void stop(String why) {
    if (current != null) {
      Reports stopping = current;
      current = null;
      stopping.call.cancel(why, null);
    }
    if (retry != null) {
      retry.cancel();
      retry = null;
    }
  }

  private void closed(Reports stream, Status status) {
    if (stream != current) {
      return;
    }
    current = null;
    if (status.getCode() == Status.Code.UNIMPLEMENTED) {
      disabled = true;
      log.info(() -> "upstream " + name.get() + " serves no " + OpenRcaService.SERVICE_NAME
          + " (UNIMPLEMENTED): balanced on per-call load reports or calls in flight");
      return;
    }
    if (!failing) {
      failing = true;
      log.log(stream.responded ? Level.FINE : Level.WARNING, () -> "upstream " + name.get()
          + ": out-of-band load report stream ended: " + status + "; retrying with backoff");
    }
    if (stream.responded) {
      start();
      return;
    }
    retry = syncContext.schedule(() -> {
      retry = null;
      if (ready && !closed && current == null) {
        start();
      }
    }, backoff.nextDelayNanos(), TimeUnit.NANOSECONDS, scheduler);
  }

  private void received(Reports stream, LoadReport report) {
    if (stream != current) {
      return;
    }
    stream.responded = true;
    failing = false;
    backoff.reset();
    sink.accept(report);
    stream.call.request(1);
  }

  @Override
  public String toString() {
    return "OrcaOobStream{" + name.get() + (current != null ? ", open" : "") + (disabled ? ", unimplemented" : "")
        + (retry != null ? ", retry pending" : "") + "}";
  }

  /** One attempt: a call and whether it delivered a report. */
  private final class Reports extends ClientCall.Listener<LoadReport> {
    final ClientCall<Duration, LoadReport> call;
    boolean responded;

    Reports(ClientCall<Duration, LoadReport> call) {
      this.call = call;
    }

    void start() {
      call.start(this, new Metadata());
      call.sendMessage(interval);
      call.halfClose();
      call.request(1);
    }

    @Override
    public void onMessage(LoadReport report) {
      syncContext.execute(() -> received(this, report));
    }

    @Override
    public void onClose(Status status, Metadata trailers) {
      syncContext.execute(() -> closed(this, status));
    }
  }
}
