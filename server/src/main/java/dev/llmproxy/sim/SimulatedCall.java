package dev.llmproxy.sim;

import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.Usage;
import io.grpc.Deadline;
import io.grpc.Status;
import java.time.Duration;
import java.util.SplittableRandom;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import javax.annotation.Nullable;

/**
 * Drives one call of the simulated backend from start to end: validation, the random-failure fault,
 * admission into the {@link AdmissionQueue}, timed generation (in the subclasses), cancellation, and
 * recording.
 *
 * <p>Design notes. Three kinds of thread touch a call: the transport thread that starts it and
 * delivers onReady and onCancel (the server runs on {@code directExecutor}), the shared scheduler that
 * fires token timers, and whichever thread frees a slot in the admission queue. Every step that reads
 * or changes the call's state, or calls the response observer ({@code ServerCall} is not
 * thread-safe), holds this object's lock, so those steps never race. No step blocks while holding it:
 * time passes only in scheduler timers, never in a sleeping thread, so ten thousand slow streams cost
 * ten thousand small objects and at most one pending timer each. Lock order is call, then admission
 * queue; the queue never calls back into a call under its lock, and admission callbacks only hand the
 * call to the scheduler, so locks of two calls never nest.
 *
 * <p>Protocol front-ends subclass it: the gRPC service ({@code StreamingCall}, {@code UnaryCall}) and
 * the OpenAI-compatible HTTP server ({@code dev.llmproxy.sim.openai}). A front-end calls {@link
 * #start()} once, {@link #transportReady()} when its transport can take more output and {@link
 * #cancel()} when the client goes away; it implements {@link #generate()} and {@link
 * #sendFailure(Status)}. Every hook runs under this object's lock.
 */
public abstract class SimulatedCall {
  /** Where a call stands. Only {@code GENERATING} produces tokens. */
  protected enum Phase { NEW, QUEUED, GENERATING, STALLED, DONE }

  protected final SimulatedBackendConfig config;
  protected final RecordedCall record;
  protected final CompletionRequest request;
  private final ScheduledExecutorService scheduler;
  private final AdmissionQueue admission;
  private final PrefixKvCache kvCache;
  private final CallRecorder recorder;
  @Nullable private final Deadline deadline;
  private final Runnable admittedCallback = this::admittedFromQueue;

  /** Guarded by this. */
  protected Phase phase = Phase.NEW;
  // Guarded by this.
  private boolean holdsSlot;
  private SplittableRandom draws;
  @Nullable private ScheduledFuture<?> timer;

  /**
   * A call about to start.
   *
   * @param scheduler runs token timers and admission hand-overs; any scheduler whose tasks may take
   *     this call's lock (a shared pool, or the event loop of the call's connection)
   * @param deadline the client's deadline, or null
   */
  protected SimulatedCall(
      SimulatedBackendConfig config,
      ScheduledExecutorService scheduler,
      AdmissionQueue admission,
      PrefixKvCache kvCache,
      CallRecorder recorder,
      RecordedCall record,
      @Nullable Deadline deadline) {
    this.config = config;
    this.scheduler = scheduler;
    this.admission = admission;
    this.kvCache = kvCache;
    this.recorder = recorder;
    this.record = record;
    this.request = record.request();
    this.deadline = deadline;
  }

  /** Starts producing output; called once, under the lock, when the call gets a slot. */
  protected abstract void generate();

  /** Called under the lock when the transport can take more output. */
  protected void ready() {}

  /**
   * Sends {@code status} to the client as the call's end; under the lock, once, after the call has
   * been recorded as failed.
   */
  protected abstract void sendFailure(Status status);

  /**
   * A failure that the front-end injects before admission (after validation, before the
   * {@code failRate} fault), or null to go on. Under the lock.
   */
  @Nullable
  protected Status rejection() {
    return null;
  }

  /** Starts the call: records it, validates it, then fails, queues or admits it. */
  public final void start() {
    long arrival = recorder.started(record);
    synchronized (this) {
      draws = draws(config.seed(), arrival);
      String invalid = invalidField(request);
      if (invalid != null) {
        fail(Status.INVALID_ARGUMENT.withDescription(invalid));
        return;
      }
      Status rejected = rejection();
      if (rejected != null) {
        fail(rejected);
        return;
      }
      Faults faults = config.faults();
      if (faults.failRate() > 0 && random().nextDouble() < faults.failRate()) {
        fail(Status.fromCode(faults.failCode())
            .withDescription("simulated failure of backend " + config.name()));
        return;
      }
      switch (admission.enter(admittedCallback)) {
        case ADMITTED -> {
          holdsSlot = true;
          beginGenerating();
        }
        case QUEUED -> phase = Phase.QUEUED;
        case REJECTED -> fail(Status.RESOURCE_EXHAUSTED
            .withDescription("simulated backend " + config.name() + " is at capacity"));
      }
    }
  }

  /**
   * The random draws of call number {@code arrival} of a backend seeded with {@code seed}: the same
   * for the same pair, whichever thread runs the call and whatever other calls do meanwhile.
   */
  static SplittableRandom draws(long seed, long arrival) {
    // Seeded with the (arrival + 1)-th number of a generator seeded with seed (SplittableRandom steps
    // its state by this constant): well mixed, so no call's draws are another's shifted by one.
    return new SplittableRandom(new SplittableRandom(seed + arrival * 0x9e3779b97f4a7c15L).nextLong());
  }

  /**
   * This call's source of random choices (jitter, injected failures), seeded by the backend's seed
   * and the call's arrival number; under the lock, from {@link #start()} on.
   */
  protected final SplittableRandom random() {
    return draws;
  }

  /** Fails the call with {@code status}; under the lock. */
  protected final void fail(Status status) {
    if (phase == Phase.DONE) {
      return;
    }
    end(RecordedCall.Outcome.FAILED, status);
    sendFailure(status);
  }

  /**
   * Closes the call's books; under the lock, before the observer is closed (or after the call was
   * cancelled), so a client that has seen the end always finds it recorded.
   */
  protected final void end(RecordedCall.Outcome outcome, Status status) {
    phase = Phase.DONE;
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
    if (holdsSlot) {
      holdsSlot = false;
      admission.release();
    }
    if (record.end(outcome, status, System.nanoTime())) {
      recorder.ended(outcome);
    }
  }

  /** Runs {@code step} under the lock after {@code delayNanos}, unless the call ends first. */
  protected final void schedule(Runnable step, long delayNanos) {
    try {
      timer = scheduler.schedule(() -> runTimer(step), delayNanos, TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException e) {
      // The backend is closing; its shutdown cancels the call.
    }
  }

  /** Whether a timer is pending; under the lock. */
  protected final boolean timerPending() {
    return timer != null;
  }

  /** {@code base} moved by a uniform random amount within the configured jitter, never below 0. */
  protected final long jittered(Duration base) {
    long nanos = base.toNanos();
    long jitter = config.jitter().toNanos();
    if (jitter > 0) {
      nanos += random().nextLong(-jitter, jitter + 1);
    }
    return Math.max(0, nanos);
  }

  /**
   * Delay from admission to the first token: the configured TTFT (jittered) plus the prefill of the
   * prompt tokens the prefix cache does not hold (see {@link EngineModel}). Looks the prompt up in,
   * and stores it into, the cache: call once per call.
   */
  protected final long firstTokenDelayNanos() {
    EngineModel engine = config.engine();
    long delay = jittered(config.timeToFirstToken());
    long prefill = engine.prefillPerToken().toNanos();
    int cached = kvCache.lookUpAndStore(request, engine.kvCacheBlocks(), engine.kvBlockTokens());
    if (prefill > 0) {
      int uncached = Math.max(0, SeededTokenGenerator.promptTokens(request) - cached);
      delay += prefill * uncached;
    }
    return delay;
  }

  /** Delay to the next token: the configured ITL (jittered), longer the fuller the batch. */
  protected final long nextTokenDelayNanos() {
    long itl = jittered(config.interTokenLatency());
    double growth = config.engine().itlGrowth();
    if (growth == 0) {
      return itl;
    }
    int others = Math.max(0, admission.running() - 1);
    return (long) (itl * (1 + growth * others));
  }

  /** Usage of a completion with {@code completionTokens} tokens. */
  protected final Usage usage(int completionTokens) {
    int promptTokens = SeededTokenGenerator.promptTokens(request);
    return Usage.newBuilder()
        .setPromptTokens(promptTokens)
        .setCompletionTokens(completionTokens)
        .setTotalTokens(promptTokens + completionTokens)
        .build();
  }

  /** Usage of the answer {@code script} gave, reasoning tokens included. */
  protected final Usage usage(AnswerScript script) {
    return usage(script.produced()).toBuilder().setReasoningTokens(script.reasoningTokens()).build();
  }

  /** Tokens after which a fault interrupts a generation of {@code total} tokens, or -1. */
  protected final int faultPoint(int total) {
    Faults faults = config.faults();
    int fail = faults.failAfterTokens() < total ? faults.failAfterTokens() : -1;
    int stall = faults.stallAfterTokens() < total ? faults.stallAfterTokens() : -1;
    if (fail >= 0 && (stall < 0 || fail <= stall)) {
      return fail;
    }
    return stall;
  }

  /** Applies the fault due after {@code sent} tokens, if any: fails or stalls. Under the lock. */
  protected final boolean injectFault(int sent, boolean moreToCome) {
    if (!moreToCome) {
      return false;
    }
    Faults faults = config.faults();
    int fail = faults.failAfterTokens();
    int stall = faults.stallAfterTokens();
    if (fail >= 0 && sent >= fail && (stall < 0 || fail <= stall)) {
      fail(Status.fromCode(faults.failAfterCode()).withDescription(
          "simulated failure of backend " + config.name() + " after " + sent + " tokens"));
      return true;
    }
    if (stall >= 0 && sent >= stall) {
      phase = Phase.STALLED;
      recorder.changed();
      return true;
    }
    return false;
  }

  /** Counts sent tokens and wakes waiting tests. */
  protected final void countTokens(int count, long nanos) {
    record.addTokens(count, nanos);
    recorder.changed();
  }

  private void beginGenerating() {
    phase = Phase.GENERATING;
    record.admitted(System.nanoTime());
    recorder.changed();
    generate();
  }

  private void admittedFromQueue() {
    // Runs on the thread that freed the slot, possibly under another call's lock: hand over.
    try {
      scheduler.execute(this::admitted);
    } catch (RejectedExecutionException e) {
      // The backend is closing.
    }
  }

  private synchronized void admitted() {
    holdsSlot = true;
    if (phase != Phase.QUEUED) {
      end(RecordedCall.Outcome.CANCELLED, Status.CANCELLED); // cancelled while the slot was on its way
      return;
    }
    beginGenerating();
  }

  private synchronized void runTimer(Runnable step) {
    timer = null;
    if (phase != Phase.GENERATING) {
      return;
    }
    try {
      step.run();
    } catch (RuntimeException e) {
      fail(Status.INTERNAL.withDescription(
          "simulated backend " + config.name() + " failed: " + e.getClass().getSimpleName()));
    }
  }

  /** Tells the call that its transport can take more output. */
  public final synchronized void transportReady() {
    if (phase == Phase.GENERATING) {
      ready();
    }
  }

  /**
   * Tells the call that its client went away (cancel, deadline, closed connection); the call ends as
   * {@code CANCELLED} at once, unless it has ended already.
   */
  public final synchronized void cancel() {
    if (phase == Phase.DONE) {
      return;
    }
    if (phase == Phase.QUEUED) {
      // If the call already left the queue, a slot is on its way and admitted() releases it.
      admission.leave(admittedCallback);
    }
    Status status = deadline != null && deadline.isExpired()
        ? Status.DEADLINE_EXCEEDED
        : Status.CANCELLED;
    end(RecordedCall.Outcome.CANCELLED, status);
  }

  /** Describes the first invalid field of {@code request}, or returns null. */
  @Nullable
  static String invalidField(CompletionRequest request) {
    boolean hasPrompt = !request.getPrompt().isEmpty();
    boolean hasMessages = request.getMessagesCount() > 0;
    if (hasPrompt == hasMessages) {
      return "prompt, messages: " + (hasPrompt ? "both set" : "neither set")
          + " (expected: exactly one of them)";
    }
    if (request.getMaxTokens() < 0) {
      return "max_tokens: " + request.getMaxTokens() + " (expected: >= 0)";
    }
    if (request.hasTemperature()
        && !(request.getTemperature() >= 0 && request.getTemperature() <= 2)) {
      return "temperature: " + request.getTemperature() + " (expected: 0 to 2)";
    }
    if (request.hasTopP() && !(request.getTopP() >= 0 && request.getTopP() <= 1)) {
      return "top_p: " + request.getTopP() + " (expected: 0 to 1)";
    }
    return null;
  }
}
