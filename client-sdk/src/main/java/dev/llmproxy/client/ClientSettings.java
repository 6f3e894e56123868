package dev.llmproxy.client;

import java.nio.file.Path;
import java.time.Duration;

/**
 * What a {@link LlmProxyClient.Builder} collected, validated. Nullable: {@code trustCertificates} (the
 * system trust store), {@code clientCertChain}/{@code clientKey} (no client certificate),
 * {@code authority}, {@code apiKey} (anonymous), {@code keepAliveTime} (no keepalive pings).
 * {@link #toString()} redacts the API key.
 */
record ClientSettings(
    String target,
    boolean plaintext,
    Path trustCertificates,
    Path clientCertChain,
    Path clientKey,
    String authority,
    String apiKey,
    String apiKeyHeader,
    Duration defaultDeadline,
    RetryPolicy retryPolicy,
    Duration keepAliveTime,
    Duration keepAliveTimeout) {

  @Override
  public String toString() {
    return "ClientSettings{target=" + target + ", plaintext=" + plaintext + ", trustCertificates="
        + trustCertificates + ", clientCertChain=" + clientCertChain + ", authority=" + authority
        + ", apiKey=" + (apiKey == null ? "none" : "<redacted>") + ", apiKeyHeader=" + apiKeyHeader
        + ", defaultDeadline=" + defaultDeadline + ", retryPolicy=" + retryPolicy + ", keepAliveTime="
        + keepAliveTime + ", keepAliveTimeout=" + keepAliveTimeout + "}";
  }
}
