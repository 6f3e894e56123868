package dev.llmproxy.client;

import io.grpc.ChannelCredentials;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.TlsChannelCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** Builds the client's one Netty channel from its settings: transport security, retries, keepalive. */
final class NettyChannelFactory {
  private NettyChannelFactory() {}

  static ManagedChannel create(ClientSettings settings) {
    NettyChannelBuilder builder = NettyChannelBuilder.forTarget(settings.target(), credentials(settings))
        // The retry policy below is the service config; a DNS TXT record must not replace it.
        .disableServiceConfigLookUp();
    if (settings.authority() != null) {
      builder.overrideAuthority(settings.authority());
    }
    if (settings.retryPolicy().maxAttempts() > 1) {
      builder.defaultServiceConfig(RetryServiceConfig.of(settings.retryPolicy()))
          .maxRetryAttempts(settings.retryPolicy().maxAttempts())
          .enableRetry();
    } else {
      builder.disableRetry();
    }
    if (settings.keepAliveTime() != null) {
      builder.keepAliveTime(settings.keepAliveTime().toNanos(), TimeUnit.NANOSECONDS)
          .keepAliveTimeout(settings.keepAliveTimeout().toNanos(), TimeUnit.NANOSECONDS);
    }
    return builder.build();
  }

  private static ChannelCredentials credentials(ClientSettings settings) {
    if (settings.plaintext()) {
      return InsecureChannelCredentials.create();
    }
    TlsChannelCredentials.Builder tls = TlsChannelCredentials.newBuilder();
    try {
      if (settings.trustCertificates() != null) {
        tls.trustManager(readable("trustCertificates", settings.trustCertificates()).toFile());
      }
      if (settings.clientCertChain() != null) {
        tls.keyManager(readable("clientCertificate", settings.clientCertChain()).toFile(),
            readable("clientKey", settings.clientKey()).toFile());
      }
    } catch (IOException e) {
      throw new UncheckedIOException("TLS files: " + e.getMessage()
          + " (expected: PEM certificates and a PKCS#8 PEM private key)", e);
    }
    return tls.build();
  }

  private static Path readable(String what, Path file) throws IOException {
    if (!file.toFile().canRead()) {
      throw new IOException(what + ": " + file + " is not a readable file");
    }
    return file;
  }
}
