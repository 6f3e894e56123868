package dev.llmproxy.server;

import dev.llmproxy.server.config.ConfigException;
import dev.llmproxy.server.config.TlsServerConfig;
import io.grpc.ServerCredentials;
import io.grpc.TlsServerCredentials;
import io.grpc.util.AdvancedTlsX509KeyManager;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.util.Objects;

/**
 * The TLS listener's certificate chain and private key, held by a key manager that handshakes read
 * on every new connection, so that a reload re-reads the files (a renewed certificate, a rotated
 * Kubernetes Secret) without a restart; connections already open keep the key they agreed on. The
 * paths and the client CA stay as started ({@code server.*} is restart-only).
 */
final class ListenerKeys {
  private final TlsServerConfig tls;
  private final AdvancedTlsX509KeyManager keys = new AdvancedTlsX509KeyManager();

  private ListenerKeys(TlsServerConfig tls) {
    this.tls = Objects.requireNonNull(tls, "tls");
  }

  /** Reads the files of {@code tls}; a config error names them when they do not hold a usable key pair. */
  static ListenerKeys load(TlsServerConfig tls) {
    ListenerKeys listener = new ListenerKeys(tls);
    listener.reread();
    return listener;
  }

  /** Reads the certificate chain and key again; on failure the running pair stays and the error names the files. */
  void reread() {
    try {
      keys.updateIdentityCredentials(tls.certChain().toFile(), tls.privateKey().toFile());
    } catch (IOException | GeneralSecurityException | RuntimeException e) {
      throw ConfigException.invalid("server.tls.cert/key", tls.certChain() + ", " + tls.privateKey(),
          "a readable PEM certificate chain and its private key: " + e.getMessage());
    }
  }

  ServerCredentials credentials() {
    TlsServerCredentials.Builder creds = TlsServerCredentials.newBuilder().keyManager(keys);
    if (tls.clientCa() != null) {
      try {
        creds.trustManager(tls.clientCa().toFile()).clientAuth(TlsServerCredentials.ClientAuth.REQUIRE);
      } catch (IOException e) {
        throw ConfigException.invalid("server.tls.client_ca", tls.clientCa(), "a readable PEM CA certificate");
      }
    }
    return creds.build();
  }
}
