package dev.llmproxy.client;

import static java.util.Objects.requireNonNull;

import io.grpc.CallCredentials;
import io.grpc.Metadata;
import java.util.concurrent.Executor;

/**
 * Sends the API key with every call, in {@code x-api-key} or another configured header; in
 * {@code authorization} it is sent as {@code Bearer <key>}. The key never appears in {@link #toString()}.
 */
final class ApiKeyCallCredentials extends CallCredentials {
  static final String DEFAULT_HEADER = "x-api-key";

  private final Metadata.Key<String> header;
  private final String value;

  ApiKeyCallCredentials(String header, String apiKey) {
    this.header = Metadata.Key.of(requireNonNull(header, "header"), Metadata.ASCII_STRING_MARSHALLER);
    requireNonNull(apiKey, "apiKey");
    this.value = header.equals("authorization") ? "Bearer " + apiKey : apiKey;
  }

  @Override
  public void applyRequestMetadata(RequestInfo requestInfo, Executor appExecutor, MetadataApplier applier) {
    Metadata metadata = new Metadata();
    metadata.put(header, value);
    applier.apply(metadata);
  }

  @Override
  public String toString() {
    return "ApiKeyCallCredentials{header=" + header.name() + ", key=<redacted>}";
  }
}
