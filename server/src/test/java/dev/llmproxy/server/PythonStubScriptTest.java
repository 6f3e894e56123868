package dev.llmproxy.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** {@code clients/python/gen_stubs.py} where grpc_tools is not installed: what to install, no traceback. */
@Timeout(60)
class PythonStubScriptTest {
  private static final Path SCRIPT = Path.of("..", "clients", "python", "gen_stubs.py");

  @Test
  void withoutGrpcToolsItSaysWhatToInstallInsteadOfATraceback() throws Exception {
    Path python = Path.of("/usr/bin/python3");
    Assumptions.assumeTrue(Files.isExecutable(python), "no /usr/bin/python3");
    Path desc = Files.createTempFile("llmproxy-", ".desc");
    try {
      // Hides grpc_tools whether or not it is installed here.
      String hide = "import runpy, sys; sys.modules['grpc_tools'] = None; script, desc = sys.argv[1:3]; "
          + "sys.argv = [script, '--from', desc]; runpy.run_path(script, run_name='__main__')";
      Process p = new ProcessBuilder(python.toString(), "-c", hide, SCRIPT.toString(), desc.toString())
          .redirectErrorStream(true).start();
      String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
      assertThat(p.exitValue()).isNotZero();
      assertThat(output).contains("gen_stubs: the grpc_tools module is missing")
          .contains("python3-grpc-tools").contains("grpcio-tools").doesNotContain("Traceback");
    } finally {
      Files.deleteIfExists(desc);
    }
  }
}
