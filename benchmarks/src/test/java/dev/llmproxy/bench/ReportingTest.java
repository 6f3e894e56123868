package dev.llmproxy.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** JSON, the PNG chart, Prometheus text and flags: the parts that report and configure a run. */
class ReportingTest {
  @Test
  void jsonNestsMapsAndListsAndEscapesStrings() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("name", "a \"b\"\n");
    m.put("n", 3.0);
    m.put("x", 0.12345);
    m.put("nan", Double.NaN);
    m.put("list", List.of(1, true));
    m.put("empty", Map.of());

    assertThat(Json.write(m)).isEqualTo("""
        {
          "name": "a \\"b\\"\\n",
          "n": 3,
          "x": 0.123,
          "nan": null,
          "list": [
            1,
            true
          ],
          "empty": {}
        }
        """);
  }

  @Test
  void chartIsAPngWithEachSeriesDrawnInItsColour(@TempDir Path dir) throws Exception {
    LatencyChart chart = new LatencyChart("t", "calls/s", "ms");
    chart.add("direct", 1000, 1.2, 5.0);
    chart.add("direct", 2000, 2.5, 9.0);
    chart.add("llmproxy", 900, 1.8, 7.5);
    Path png = dir.resolve("c.png");
    chart.write(png);

    BufferedImage image = ImageIO.read(png.toFile());
    assertThat(image.getWidth()).isEqualTo(960);
    assertThat(image.getHeight()).isEqualTo(600);
    // The two series' colours appear in the plot.
    assertThat(countPixels(image, 0x1f77b4)).isGreaterThan(50);
    assertThat(countPixels(image, 0xd62728)).isGreaterThan(50);
    assertThat(Files.size(png)).isPositive();
  }

  private static int countPixels(BufferedImage image, int rgb) {
    int n = 0;
    for (int x = 0; x < image.getWidth(); x++) {
      for (int y = 0; y < image.getHeight(); y++) {
        if ((image.getRGB(x, y) & 0xffffff) == rgb) {
          n++;
        }
      }
    }
    return n;
  }

  @Test
  void prometheusTextSumsTheSamplesWhoseLabelsMatch() {
    String text = """
        # HELP jvm_memory_used_bytes x
        jvm_memory_used_bytes{area="heap",id="G1 Eden Space"} 100.0
        jvm_memory_used_bytes{area="heap",id="G1 Old Gen"} 50.0
        jvm_memory_used_bytes{area="nonheap",id="Metaspace"} 7.0
        jvm_memory_used_bytes_other 1.0
        """;

    assertThat(PrometheusText.sum(text, "jvm_memory_used_bytes", "area=\"heap\"")).isEqualTo(150.0);
    assertThat(PrometheusText.sum(text, "jvm_memory_used_bytes")).isEqualTo(157.0);
  }

  @Test
  void optionsReadDurationsAndListsAndRejectUnknownFlags() {
    Options o = new Options(new String[] {"--duration", "1.5s", "--steps=1,4", "--typo", "x"});

    assertThat(o.duration("duration", Duration.ZERO)).isEqualTo(Duration.ofMillis(1500));
    assertThat(o.numbers("steps", "9")).containsExactly(1.0, 4.0);
    assertThatThrownBy(o::rejectUnknown).hasMessageStartingWith("--typo: unknown flag");
    assertThatThrownBy(() -> new Options(new String[] {"--duration"}).duration("duration", Duration.ZERO))
        .hasMessage("--duration: missing value");
  }
}
