package dev.llmproxy.sim.openai;

import static java.util.Objects.requireNonNull;

import java.util.List;
import java.util.Optional;

/**
 * Settings of an {@link OpenAiSimulatedBackend} that only the OpenAI-compatible API has; timing,
 * capacity and faults are in {@link dev.llmproxy.sim.SimulatedBackendConfig}.
 *
 * @param servedModels the models it serves, like vLLM's {@code --served-model-name}; a request for
 *     another model gets 404. Empty: any model is served (the answer echoes the requested model)
 * @param apiKey when present, requests to {@code /v1/...} must carry {@code Authorization: Bearer
 *     <key>} or get 401, like vLLM's {@code --api-key}
 * @param usageChunk whether a stream honours {@code stream_options.include_usage}; false models an
 *     engine that never sends the usage chunk
 */
public record OpenAiSimSettings(List<String> servedModels, Optional<String> apiKey, boolean usageChunk) {

  /** Validates and copies. */
  public OpenAiSimSettings {
    servedModels = List.copyOf(requireNonNull(servedModels, "servedModels"));
    for (String model : servedModels) {
      if (model.isBlank()) {
        throw new IllegalArgumentException("servedModels: '" + model + "' (expected: not blank)");
      }
    }
    requireNonNull(apiKey, "apiKey");
    apiKey.ifPresent(key -> {
      if (key.isEmpty() || !key.chars().allMatch(c -> c > ' ' && c < 0x7f)) {
        throw new IllegalArgumentException("apiKey: (expected: printable ASCII without spaces)");
      }
    });
  }

  /** Any model, no API key, usage chunk when asked for. */
  public static OpenAiSimSettings defaults() {
    return new OpenAiSimSettings(List.of(), Optional.empty(), true);
  }

  /** Returns a copy serving only {@code models} (none: any model). */
  public OpenAiSimSettings withServedModels(List<String> models) {
    return new OpenAiSimSettings(models, apiKey, usageChunk);
  }

  /** Returns a copy that requires {@code key} as a bearer token (null: no key required). */
  public OpenAiSimSettings withApiKey(String key) {
    return new OpenAiSimSettings(servedModels, Optional.ofNullable(key), usageChunk);
  }

  /** Returns a copy that sends the usage chunk when asked ({@code true}) or never ({@code false}). */
  public OpenAiSimSettings withUsageChunk(boolean send) {
    return new OpenAiSimSettings(servedModels, apiKey, send);
  }

  /** Whether {@code model} is served. */
  boolean serves(String model) {
    return servedModels.isEmpty() || servedModels.contains(model);
  }

  /** Never shows the key. */
  @Override
  public String toString() {
    return "OpenAiSimSettings{servedModels=" + (servedModels.isEmpty() ? "any" : servedModels)
        + ", apiKey=" + (apiKey.isPresent() ? "<redacted>" : "none") + ", usageChunk=" + usageChunk + "}";
  }
}
