package dev.llmproxy.bench;

import dev.llmproxy.v1.CompletionRequest;
import dev.llmproxy.v1.Message;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The routing benchmark's calls, fixed by a seed: {@code tenants} tenants, each with its own long
 * system prompt ({@code systemWords} words), sending short varied user turns; arrivals are a Poisson
 * process at {@code rate} calls per second. Uniform: every tenant equally likely; skewed: tenant 0
 * sends half of all calls.
 */
final class RoutingWorkload {
  /** One call: when it is due (from the start) and what it asks. */
  record Arrival(long dueNanos, int tenant, CompletionRequest request) {
  }

  private RoutingWorkload() {
  }

  static List<Arrival> arrivals(long seed, double rate, long durationNanos, int tenants, boolean skewed,
      int systemWords, int userWords, int maxTokens) {
    List<String> systems = new ArrayList<>(tenants);
    for (int t = 0; t < tenants; t++) {
      StringBuilder prompt = new StringBuilder("You are the assistant of tenant " + t + ".");
      for (int w = 0; w < systemWords; w++) {
        prompt.append(" t").append(t).append("rule").append(w);
      }
      systems.add(prompt.toString());
    }
    SplittableRandom random = new SplittableRandom(seed);
    List<Arrival> arrivals = new ArrayList<>();
    double t = 0;
    while (true) {
      t += -Math.log(1 - random.nextDouble()) / rate; // exponential gaps: a Poisson process
      long due = (long) (t * 1e9);
      if (due >= durationNanos) {
        return arrivals;
      }
      int tenant = skewed && random.nextBoolean() ? 0 : random.nextInt(tenants);
      StringBuilder user = new StringBuilder();
      for (int w = 0; w < userWords; w++) {
        user.append(w == 0 ? "" : " ").append("q").append(random.nextInt(100_000));
      }
      CompletionRequest request = CompletionRequest.newBuilder()
          .setModel("sim")
          .addMessages(Message.newBuilder().setRole("system").setContent(systems.get(tenant)))
          .addMessages(Message.newBuilder().setRole("user").setContent(user.toString()))
          .setMaxTokens(maxTokens)
          .build();
      arrivals.add(new Arrival(due, tenant, request));
    }
  }
}
