package dev.llmproxy.sim.openai;

import javax.annotation.Nullable;

/** A request body that the API rejects with 400, naming the offending parameter. */
final class InvalidRequestException extends Exception {
  @Nullable private final String param;

  InvalidRequestException(String message, @Nullable String param) {
    super(message, null, false, false);
    this.param = param;
  }

  /** The parameter at fault, or null if it is the body as a whole. */
  @Nullable
  String param() {
    return param;
  }
}
