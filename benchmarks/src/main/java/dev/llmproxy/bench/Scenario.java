package dev.llmproxy.bench;

import java.util.Map;

/** A benchmark that is one command: starts what it needs, measures, stops everything, reports. */
interface Scenario {
  /** The command name, e.g. {@code overhead}. */
  String name();

  /** One line for the usage text. */
  String summary();

  /** Runs the scenario; the returned map is written as the result JSON. */
  Map<String, Object> run(ScenarioContext context) throws Exception;
}
