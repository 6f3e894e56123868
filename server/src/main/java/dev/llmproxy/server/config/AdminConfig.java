package dev.llmproxy.server.config;

/**
 * The admin endpoint on the metrics port: {@code GET /admin/config} (the effective config, secrets
 * redacted), {@code GET /admin/routes} (routes and upstream states), {@code POST /admin/reload}.
 * Off by default; answers loopback clients only unless {@code allow_remote}.
 */
public record AdminConfig(boolean enabled, boolean allowRemote) {

  public static AdminConfig disabled() {
    return new AdminConfig(false, false);
  }

  static AdminConfig from(ConfigNode node) {
    AdminConfig admin = new AdminConfig(node.bool("enabled", false), node.bool("allow_remote", false));
    node.rejectUnknownKeys();
    return admin;
  }
}
