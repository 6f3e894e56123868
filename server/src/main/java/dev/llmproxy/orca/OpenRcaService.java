package dev.llmproxy.orca;

import static java.util.Objects.requireNonNull;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.WireFormat;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import io.grpc.Status;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/*
 * Out-of-band ORCA (gRFC A51's companion): xds.service.orca.v3.OpenRcaService/StreamCoreMetrics, a
 * server-streaming RPC on which a backend sends an OrcaLoadReport every report_interval without any
 * call being made. The messages are encoded by hand, as LoadReportProto encodes the report, so the
 * proxy and the simulated backend speak it without grpc-xds on the classpath:
 *
 *   message OrcaLoadReportRequest {
 *     google.protobuf.Duration report_interval = 1;   // {int64 seconds = 1; int32 nanos = 2;}
 *     repeated string request_cost_names = 2;         // not used here; skipped when read
 *   }
 *
 * The server side (definition()) serves whatever a Supplier<LoadReport> says at the moment of each
 * tick: the simulated engine's live load, or an OpenAI-compatible upstream's last /metrics scrape.
 * A tick with nothing to say (null) sends nothing, and a stream whose client is not reading skips
 * the tick instead of queueing reports: only the newest load matters.
 */
/** The ORCA out-of-band load reporting service: its method, for clients, and a server for it. */
public final class OpenRcaService {
  /** The service's full name. */
  public static final String SERVICE_NAME = "xds.service.orca.v3.OpenRcaService";

  /** {@code StreamCoreMetrics}: the requested report interval in, a stream of reports out. */
  public static final MethodDescriptor<Duration, LoadReport> STREAM_CORE_METRICS =
      MethodDescriptor.<Duration, LoadReport>newBuilder()
          .setType(MethodDescriptor.MethodType.SERVER_STREAMING)
          .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE_NAME, "StreamCoreMetrics"))
          .setRequestMarshaller(new RequestMarshaller())
          .setResponseMarshaller(new ReportMarshaller())
          .build();

  private static final ServiceDescriptor SERVICE =
      ServiceDescriptor.newBuilder(SERVICE_NAME).addMethod(STREAM_CORE_METRICS).build();

  private OpenRcaService() {
  }

  /**
   * The service, sending {@code load.get()} on every stream at the interval its client asked for,
   * but no more often than {@code minInterval} (an unset or shorter request gets {@code minInterval}).
   * The first report goes out at once.
   *
   * @param load the load now, or {@code null} when there is nothing to report (that tick is skipped)
   * @param scheduler runs the ticks; reports are sent from its threads
   */
  public static ServerServiceDefinition definition(Supplier<LoadReport> load, ScheduledExecutorService scheduler,
      Duration minInterval) {
    requireNonNull(load, "load");
    requireNonNull(scheduler, "scheduler");
    if (minInterval.isNegative() || minInterval.isZero()) {
      throw new IllegalArgumentException("minInterval: " + minInterval + " (expected: > 0)");
    }
    ServerCallHandler<Duration, LoadReport> handler = (call, headers) -> {
      call.request(1);
      return new Stream(call, load, scheduler, minInterval.toNanos());
    };
    return ServerServiceDefinition.builder(SERVICE).addMethod(STREAM_CORE_METRICS, handler).build();
  }

  /** One client's stream: waits for the request, then reports until the client cancels. */
  private static final class Stream extends ServerCall.Listener<Duration> implements Runnable {
    private final ServerCall<Duration, LoadReport> call;
    private final Supplier<LoadReport> load;
    private final ScheduledExecutorService scheduler;
    private final long minIntervalNanos;
    private long intervalNanos;
    private ScheduledFuture<?> ticks;
    private boolean done;

    Stream(ServerCall<Duration, LoadReport> call, Supplier<LoadReport> load, ScheduledExecutorService scheduler,
        long minIntervalNanos) {
      this.call = call;
      this.load = load;
      this.scheduler = scheduler;
      this.minIntervalNanos = minIntervalNanos;
    }

    @Override
    public synchronized void onMessage(Duration requested) {
      if (ticks != null || done) {
        return; // one request per stream
      }
      intervalNanos = Math.max(minIntervalNanos, requested.toNanos());
      call.sendHeaders(new io.grpc.Metadata());
      next(0);
    }

    // Each tick schedules the next, so a late tick delays the ones after it instead of bunching them.
    private void next(long delayNanos) {
      try {
        ticks = scheduler.schedule(this, delayNanos, TimeUnit.NANOSECONDS);
      } catch (RejectedExecutionException shuttingDown) {
        done = true;
        call.close(Status.UNAVAILABLE.withDescription("shutting down"), new io.grpc.Metadata());
      }
    }

    @Override
    public void run() {
      try {
        LoadReport report = load.get();
        synchronized (this) {
          if (done) {
            return;
          }
          if (report != null && call.isReady()) {
            call.sendMessage(report);
          }
          next(intervalNanos);
        }
      } catch (RuntimeException e) {
        // The load could not be read or the stream is gone: end it; a client reconnects.
        synchronized (this) {
          if (!done) {
            onCancel();
            try {
              call.close(Status.INTERNAL.withDescription("load report failed: " + e), new io.grpc.Metadata());
            } catch (RuntimeException closed) {
              // already closed
            }
          }
        }
      }
    }

    @Override
    public synchronized void onCancel() {
      done = true;
      if (ticks != null) {
        ticks.cancel(false);
      }
    }

    @Override
    public void onComplete() {
      onCancel();
    }
  }

  private static final class RequestMarshaller implements MethodDescriptor.Marshaller<Duration> {
    private static final int REPORT_INTERVAL = 1;

    @Override
    public InputStream stream(Duration interval) {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream(16);
      CodedOutputStream out = CodedOutputStream.newInstance(bytes);
      try {
        if (!interval.isZero()) {
          int size = (interval.getSeconds() == 0 ? 0 : CodedOutputStream.computeInt64Size(1, interval.getSeconds()))
              + (interval.getNano() == 0 ? 0 : CodedOutputStream.computeInt32Size(2, interval.getNano()));
          out.writeTag(REPORT_INTERVAL, WireFormat.WIRETYPE_LENGTH_DELIMITED);
          out.writeUInt32NoTag(size);
          if (interval.getSeconds() != 0) {
            out.writeInt64(1, interval.getSeconds());
          }
          if (interval.getNano() != 0) {
            out.writeInt32(2, interval.getNano());
          }
        }
        out.flush();
      } catch (IOException e) {
        throw new UncheckedIOException(e); // a byte array does not fail
      }
      return new ByteArrayInputStream(bytes.toByteArray());
    }

    /** The requested interval; zero when unset (the server's minimum applies). */
    @Override
    public Duration parse(InputStream stream) {
      long seconds = 0;
      int nanos = 0;
      try {
        CodedInputStream in = CodedInputStream.newInstance(stream);
        for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
          if (WireFormat.getTagFieldNumber(tag) == REPORT_INTERVAL
              && WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
            int limit = in.pushLimit(in.readRawVarint32());
            for (int inner = in.readTag(); inner != 0; inner = in.readTag()) {
              int field = WireFormat.getTagFieldNumber(inner);
              if (field == 1 && WireFormat.getTagWireType(inner) == WireFormat.WIRETYPE_VARINT) {
                seconds = in.readInt64();
              } else if (field == 2 && WireFormat.getTagWireType(inner) == WireFormat.WIRETYPE_VARINT) {
                nanos = in.readInt32();
              } else if (!in.skipField(inner)) {
                break;
              }
            }
            in.popLimit(limit);
          } else if (!in.skipField(tag)) {
            break;
          }
        }
      } catch (IOException e) {
        throw Status.INVALID_ARGUMENT.withDescription("not an OrcaLoadReportRequest (" + e.getMessage() + ")")
            .asRuntimeException();
      }
      if (seconds < 0 || nanos < 0) {
        return Duration.ZERO;
      }
      return Duration.ofSeconds(Math.min(seconds, Integer.MAX_VALUE), nanos % 1_000_000_000);
    }
  }

  private static final class ReportMarshaller implements MethodDescriptor.Marshaller<LoadReport> {
    @Override
    public InputStream stream(LoadReport report) {
      return new ByteArrayInputStream(LoadReportProto.encode(report));
    }

    @Override
    public LoadReport parse(InputStream stream) {
      try {
        return LoadReportProto.decode(stream.readAllBytes());
      } catch (IOException | IllegalArgumentException e) {
        throw Status.INTERNAL.withDescription("not an OrcaLoadReport (" + e.getMessage() + ")").asRuntimeException();
      }
    }
  }
}
