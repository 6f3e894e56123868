package dev.llmproxy.sim.openai;

import dev.llmproxy.sim.Faults;
import dev.llmproxy.sim.RecordedCall;
import dev.llmproxy.sim.SimulatedBackendConfig;
import dev.llmproxy.sim.SimulatedCall;
import io.grpc.Status;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.util.concurrent.ScheduledExecutorService;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.annotation.Nullable;

/**
 * A completion call of the OpenAI-compatible API: the shared simulated call (validation, admission,
 * timing, faults, recording) answering over an {@link HttpExchange}. Failures become HTTP error
 * responses before the first token and an SSE {@code error} event after it; the HTTP-only faults
 * ({@code httpErrorRate}, {@code closeAfterTokens}) are injected here.
 *
 * <p>Runs on its connection's event loop: the loop is the call's scheduler, so token timers, writes,
 * writability changes and the connection's close all happen on one thread.
 */
abstract class OpenAiCall extends SimulatedCall {
  private static final Pattern FIELD = Pattern.compile("^([a-z_]+): ");
  static final String JSON = "application/json";

  protected final HttpExchange exchange;
  protected final OpenAiRequest openAi;
  protected final OpenAiSimSettings settings;
  protected final OpenAiEncoder encoder;
  protected final OpenAiEncoder.Header header;
  protected final VllmMetrics metrics;
  // Guarded by this.
  private int injectedHttpStatus;
  private boolean crashed;

  OpenAiCall(
      SimulatedBackendConfig config,
      OpenAiSimSettings settings,
      ScheduledExecutorService eventLoop,
      BackendState state,
      RecordedCall record,
      OpenAiRequest openAi,
      OpenAiEncoder encoder,
      HttpExchange exchange) {
    super(config, eventLoop, state.admission, state.kvCache, state.recorder, record, null);
    this.settings = settings;
    this.exchange = exchange;
    this.openAi = openAi;
    this.encoder = encoder;
    this.metrics = state.metrics;
    this.header = new OpenAiEncoder.Header(openAi.endpoint(), record.completionId(),
        System.currentTimeMillis() / 1000, request.getModel());
  }

  @Override
  @Nullable
  protected Status rejection() {
    Faults faults = config.faults();
    if (faults.httpErrorRate() > 0 && random().nextDouble() < faults.httpErrorRate()) {
      injectedHttpStatus = faults.httpErrorStatus();
      return Status.fromCode(HttpErrorMapping.grpcCode(injectedHttpStatus)).withDescription(
          "simulated HTTP " + injectedHttpStatus + " from backend " + config.name());
    }
    return null;
  }

  @Override
  protected void sendFailure(Status status) {
    if (exchange.done()) {
      return;
    }
    if (crashed) {
      exchange.abort();
      return;
    }
    int http = injectedHttpStatus != 0 ? injectedHttpStatus : HttpErrorMapping.httpStatus(status.getCode());
    String message = status.getDescription() != null ? status.getDescription() : status.getCode().name();
    String type = HttpErrorMapping.errorType(http);
    if (exchange.started()) {
      exchange.writeEvent(encoder.errorEvent(message, type, http), false);
      exchange.writeEvent(encoder.doneEvent(), false);
      exchange.endEvents();
      return;
    }
    int retryAfter = config.faults().retryAfterSeconds();
    String[] headers = (http == 429 || http == 503) && retryAfter >= 0
        ? new String[] {HttpHeaderNames.RETRY_AFTER.toString(), Integer.toString(retryAfter)}
        : new String[0];
    exchange.respond(HttpResponseStatus.valueOf(http), JSON,
        encoder.errorBody(message, type, param(status), http), headers);
  }

  /** The crash fault: drops the connection mid-response; the call is recorded as failed. Under the lock. */
  protected final void crash(int sent) {
    crashed = true;
    fail(Status.UNAVAILABLE.withDescription("simulated crash of backend " + config.name()
        + ": connection closed after " + sent + " tokens"));
  }

  /** Tokens after which the crash fault hits a generation of {@code total} tokens, or -1. */
  protected final int crashPoint(int total) {
    int close = config.faults().closeAfterTokens();
    return close >= 0 && close < total ? close : -1;
  }

  /** Whether the crash fault is due after {@code sent} tokens with {@code moreToCome}. */
  protected final boolean crashDue(int sent, boolean moreToCome) {
    int close = config.faults().closeAfterTokens();
    return moreToCome && close >= 0 && sent >= close;
  }

  @Nullable
  private static String param(Status status) {
    if (status.getCode() != Status.Code.INVALID_ARGUMENT || status.getDescription() == null) {
      return null;
    }
    Matcher m = FIELD.matcher(status.getDescription());
    return m.find() ? m.group(1) : null;
  }
}
