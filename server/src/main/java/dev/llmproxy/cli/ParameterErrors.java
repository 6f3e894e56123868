package dev.llmproxy.cli;

import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import picocli.CommandLine;

/**
 * A picocli parse error in llmproxy's words, shared by every command so that all of them refuse a
 * bad command line the same way: the flag (or argument) first, then what was expected.
 */
public final class ParameterErrors {
  private static final Pattern SWITCH_WITH_VALUE =
      Pattern.compile("option '(-[^']+)' should be specified without '.*' parameter");

  private ParameterErrors() {}

  /**
   * Describes {@code e} as {@code <flag>: <what was wrong> (expected: ...)}.
   *
   * @param expectedValue what a flag that lacks its value expects, by the flag's longest name
   */
  public static String describe(CommandLine.ParameterException e, Function<String, String> expectedValue) {
    CommandLine command = e.getCommandLine();
    if (e instanceof CommandLine.UnmatchedArgumentException unmatched && !unmatched.getUnmatched().isEmpty()) {
      String arg = unmatched.getUnmatched().get(0);
      if (!arg.startsWith("-")) {
        if (command.getSubcommands().isEmpty()) {
          return "'" + arg + "': unexpected argument (expected: flags like --port 7001)";
        }
        return arg + ": unknown command (expected one of: "
            + String.join(", ", command.getSubcommands().keySet()) + ")";
      }
      int eq = arg.indexOf('=');
      String flag = eq > 0 ? arg.substring(0, eq) : arg;
      String known = command.getCommandSpec().options().stream().map(o -> o.longestName())
          .collect(Collectors.joining(", "));
      return flag + ": unknown flag (expected one of: " + known + ")";
    }
    if (e instanceof CommandLine.MissingParameterException missing && !missing.getMissing().isEmpty()
        && missing.getMissing().get(0) instanceof CommandLine.Model.OptionSpec option) {
      return option.longestName() + ": missing value (expected: " + expectedValue.apply(option.longestName()) + ")";
    }
    // picocli words a value given to a switch (--no-usage=true) this way, with no structured field
    Matcher switchValue = SWITCH_WITH_VALUE.matcher(String.valueOf(e.getMessage()));
    if (switchValue.matches()) {
      return switchValue.group(1) + ": takes no value";
    }
    return e.getMessage();
  }
}
