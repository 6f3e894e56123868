package dev.llmproxy.server.quota;

import java.util.List;
import java.util.Objects;

/**
 * A caller as quotas see it: an API key's id (or {@code anonymous}), the limits of its tier, and
 * the models it may use.
 *
 * @param models the models the caller may ask for; empty: every model. A request for the default
 *     route (empty model) is allowed if the default route serves one of them.
 */
public record QuotaSubject(String id, QuotaLimits limits, List<String> models) {
  public QuotaSubject {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(limits, "limits");
    models = List.copyOf(models);
  }

  /** Whether the caller may use {@code model}, which resolved to a route serving {@code routeModels}. */
  public boolean mayUse(String model, List<String> routeModels) {
    if (models.isEmpty() || models.contains(model)) {
      return true;
    }
    return model.isEmpty() && routeModels.stream().anyMatch(models::contains);
  }

  /** How messages name the caller: never a secret. */
  public String describe() {
    return id.equals(QuotaPolicy.ANONYMOUS) ? "anonymous callers" : "key '" + id + "'";
  }
}
