package dev.llmproxy.bench;

import dev.llmproxy.v1.Completion;
import dev.llmproxy.v1.CompletionChunk;
import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.LlmProxyGrpc;
import io.grpc.ClientInterceptor;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;

/*
 * The load generator: async gRPC calls, every latency into an HdrHistogram.
 *
 * Closed loop (fixed concurrency N): N workers, each starting its next call when the previous one
 * ends. Throughput is what the server sustains at that concurrency; latency is per call.
 *
 * Open loop (fixed rate R): calls are due every 1/R seconds whether or not earlier ones finished,
 * and each call's latency is measured from when it was DUE, not from when the generator got round
 * to sending it. A server that stalls therefore shows its queueing delay in the latency instead of
 * silently lowering the offered load ("coordinated omission").
 *
 * Measurement: calls that start during warm-up are not recorded. Calls that start in the measured
 * window are recorded when they end, including ones that end after it; the measured time runs from
 * the end of warm-up to the last recorded end. Errors are counted by status code and kept out of
 * the latency histograms.
 */
final class LoadGenerator {
  private static final long HIGHEST_MICROS = TimeUnit.MINUTES.toMicros(30);
  private static final int OPEN_LOOP_MAX_OUTSTANDING = 200_000;

  private final PrintStream progressOut;

  /** @param progressOut where a progress line is printed every second; null for none */
  LoadGenerator(PrintStream progressOut) {
    this.progressOut = progressOut;
  }

  LoadResult run(LoadSpec spec) throws InterruptedException {
    List<ManagedChannel> channels = new ArrayList<>();
    for (String target : spec.targets()) {
      for (int i = 0; i < spec.connections(); i++) {
        channels.add(NettyChannelBuilder.forTarget(target).usePlaintext().directExecutor()
            .maxInboundMessageSize(64 << 20).build());
      }
    }
    try {
      return new Run(spec, channels).execute();
    } finally {
      for (ManagedChannel channel : channels) {
        channel.shutdownNow();
      }
      for (ManagedChannel channel : channels) {
        channel.awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  private final class Run {
    final LoadSpec spec;
    final LlmProxyGrpc.LlmProxyStub[] stubs;
    final CompletionRequest request;
    final Histogram latency = new ConcurrentHistogram(HIGHEST_MICROS, 3);
    final Histogram ttft = new ConcurrentHistogram(HIGHEST_MICROS, 3);
    final Histogram itl = new ConcurrentHistogram(HIGHEST_MICROS, 3);
    final Map<String, LongAdder> errors = new ConcurrentHashMap<>();
    final LongAdder ok = new LongAdder();
    final LongAdder tokens = new LongAdder();
    final LongAdder finishedAll = new LongAdder();
    final AtomicLong issued = new AtomicLong();
    final AtomicLong inFlight = new AtomicLong();
    final AtomicLong maxInFlight = new AtomicLong();
    final AtomicLong lastRecordedEnd = new AtomicLong();
    final AtomicLong next = new AtomicLong();
    final ScheduledExecutorService retryLater = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "bench-retry");
      t.setDaemon(true);
      return t;
    });
    long measureStart;
    long issueUntil;

    Run(LoadSpec spec, List<ManagedChannel> channels) {
      this.spec = spec;
      Metadata headers = new Metadata();
      spec.headers().forEach((k, v) -> headers.put(Metadata.Key.of(k, Metadata.ASCII_STRING_MARSHALLER), v));
      ClientInterceptor attach = MetadataUtils.newAttachHeadersInterceptor(headers);
      stubs = channels.stream().map(c -> LlmProxyGrpc.newStub(c).withInterceptors(attach))
          .toArray(LlmProxyGrpc.LlmProxyStub[]::new);
      request = CompletionRequest.newBuilder().setModel(spec.model())
          .setPrompt("Say something short about proxies.").setMaxTokens(spec.maxTokens()).build();
    }

    LoadResult execute() throws InterruptedException {
      long start = System.nanoTime();
      measureStart = start + spec.warmup().toNanos();
      issueUntil = measureStart + spec.duration().toNanos();
      lastRecordedEnd.set(measureStart);
      Thread progress = startProgress(start);
      try {
        if (spec.openLoop()) {
          openLoop(start);
        } else {
          for (int i = 0; i < (int) spec.load(); i++) {
            startNext();
          }
          while (System.nanoTime() < issueUntil && !allIssued()) {
            Thread.sleep(20);
          }
        }
        long drainDeadline = System.nanoTime() + spec.callTimeout().toNanos() + TimeUnit.SECONDS.toNanos(5);
        while (inFlight.get() > 0 && System.nanoTime() < drainDeadline) {
          Thread.sleep(5);
        }
      } finally {
        retryLater.shutdownNow();
        if (progress != null) {
          progress.interrupt();
          progress.join(2000);
        }
      }
      if (inFlight.get() > 0) {
        errors.computeIfAbsent("UNFINISHED", k -> new LongAdder()).add(inFlight.get());
      }
      double seconds = Math.max(0, lastRecordedEnd.get() - measureStart) / 1e9;
      Map<String, Long> errorCounts = new java.util.TreeMap<>();
      errors.forEach((k, v) -> errorCounts.put(k, v.sum()));
      return new LoadResult(spec, seconds, ok.sum(), errorCounts, tokens.sum(), latency.copy(), ttft.copy(),
          itl.copy(), maxInFlight.get());
    }

    private boolean allIssued() {
      return spec.totalCalls() > 0 && issued.get() >= spec.totalCalls();
    }

    private void openLoop(long start) {
      double intervalNanos = 1e9 / spec.load();
      for (long i = 0; ; i++) {
        long due = start + (long) (i * intervalNanos);
        if (due >= issueUntil || allIssued()) {
          return;
        }
        long wait = due - System.nanoTime();
        if (wait > 0) {
          LockSupport.parkNanos(wait);
        }
        if (inFlight.get() >= OPEN_LOOP_MAX_OUTSTANDING) {
          errors.computeIfAbsent("GENERATOR_OVERLOADED", k -> new LongAdder()).increment();
          continue;
        }
        issue(due);
      }
    }

    /** Closed loop: the next call of a worker, unless the run is over. */
    private void startNext() {
      if (System.nanoTime() >= issueUntil || allIssued()) {
        return;
      }
      issue(System.nanoTime());
    }

    private void issue(long dueNanos) {
      if (spec.totalCalls() > 0 && issued.incrementAndGet() > spec.totalCalls()) {
        return;
      } else if (spec.totalCalls() == 0) {
        issued.incrementAndGet();
      }
      maxInFlight.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
      LlmProxyGrpc.LlmProxyStub stub = stubs[(int) (next.getAndIncrement() % stubs.length)]
          .withDeadlineAfter(spec.callTimeout().toMillis(), TimeUnit.MILLISECONDS);
      boolean measured = dueNanos >= measureStart;
      if (spec.stream()) {
        Call<CompletionChunk> call = new Call<>(dueNanos, measured);
        try {
          stub.streamComplete(request, call);
        } catch (RuntimeException e) {
          call.onError(e);
        }
      } else {
        Call<Completion> call = new Call<>(dueNanos, measured);
        try {
          stub.complete(request, call);
        } catch (RuntimeException e) {
          call.onError(e);
        }
      }
    }

    private final class Call<T> implements StreamObserver<T> {
      private final long start;
      private final boolean measured;
      private long last;
      private int chunks;

      Call(long start, boolean measured) {
        this.start = start;
        this.measured = measured;
      }

      @Override
      public void onNext(T value) {
        long now = System.nanoTime();
        if (measured && spec.stream()) {
          if (chunks == 0) {
            ttft.recordValue(Math.min(HIGHEST_MICROS, Math.max(0, (now - start) / 1000)));
          } else {
            itl.recordValue(Math.min(HIGHEST_MICROS, (now - last) / 1000));
          }
        }
        last = now;
        chunks++;
      }

      @Override
      public void onError(Throwable t) {
        if (measured) {
          errors.computeIfAbsent(Status.fromThrowable(t).getCode().name(), k -> new LongAdder()).increment();
        }
        finishedAll.increment();
        inFlight.decrementAndGet();
        if (!spec.openLoop()) {
          // Not from this stack: a server that fails every call at once would recurse without end.
          try {
            retryLater.schedule(Run.this::startNext, 1, TimeUnit.MILLISECONDS);
          } catch (java.util.concurrent.RejectedExecutionException over) {
            // The run has ended.
          }
        }
      }

      @Override
      public void onCompleted() {
        long now = System.nanoTime();
        if (measured) {
          latency.recordValue(Math.min(HIGHEST_MICROS, Math.max(0, (now - start) / 1000)));
          ok.increment();
          tokens.add(chunks);
          lastRecordedEnd.accumulateAndGet(now, Math::max);
        }
        done(now);
      }

      private void done(long now) {
        finishedAll.increment();
        inFlight.decrementAndGet();
        if (!spec.openLoop()) {
          startNext();
        }
      }
    }

    private Thread startProgress(long start) {
      if (progressOut == null) {
        return null;
      }
      Thread t = new Thread(() -> {
        long lastFinished = 0;
        try {
          while (true) {
            Thread.sleep(1000);
            long finished = finishedAll.sum();
            long elapsed = (System.nanoTime() - start) / 1_000_000_000L;
            String phase = System.nanoTime() < measureStart ? "warm-up" : "measure";
            long errs = errors.values().stream().mapToLong(LongAdder::sum).sum();
            progressOut.printf("  [%3ds %s] %s %s/s done, %d in flight, %d ok, %d errors, p99 %s ms%n",
                elapsed, phase, spec.rpc(), finished - lastFinished, inFlight.get(), ok.sum(), errs,
                latency.getTotalCount() == 0 ? "-" : String.format("%.2f", latency.getValueAtPercentile(99) / 1000.0));
            lastFinished = finished;
          }
        } catch (InterruptedException e) {
          // Run over.
        }
      }, "bench-progress");
      t.setDaemon(true);
      t.start();
      return t;
    }
  }
}
