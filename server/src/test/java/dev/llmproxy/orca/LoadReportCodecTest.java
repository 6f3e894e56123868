package dev.llmproxy.orca;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.HexFormat;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LoadReportCodecTest {
  private final LoadReportHeader header = new LoadReportHeader(new ObjectMapper());

  private static final LoadReport REPORT = new LoadReport(0.25, 0.5, 0.75, Map.of("gpu", 0.6),
      Map.of(LoadReport.WAITING, 3.0, LoadReport.KV_CACHE_USAGE, 0.4));

  @Test
  void protoRoundTrips() {
    assertThat(LoadReportProto.decode(LoadReportProto.encode(REPORT))).isEqualTo(REPORT);
  }

  @Test
  void protoReadsTheOrcaWireFormatAndSkipsFieldsItDoesNotKeep() {
    // cpu_utilization=0.5 (field 1, fixed64), rps_fractional=10 (field 6, skipped),
    // named_metrics {"q": 2} (field 8, map entry), as protoc encodes an OrcaLoadReport.
    byte[] bytes = HexFormat.of().parseHex("09000000000000e03f"
        + "310000000000002440"
        + "420c0a017111" + "0000000000000040");
    LoadReport report = LoadReportProto.decode(bytes);

    assertThat(report.cpuUtilization()).isEqualTo(0.5);
    assertThat(report.namedMetrics()).isEqualTo(Map.of("q", 2.0));
  }

  @Test
  void protoRejectsBytesThatAreNotAReport() {
    assertThatThrownBy(() -> LoadReportProto.decode(new byte[] {0x0a, 0x7f}))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("endpoint-load-metrics-bin");
  }

  @Test
  void parsesVllmsTextHeader() {
    LoadReport report = header.parse(
        "TEXT named_metrics.kv_cache_usage_perc=0.4, named_metrics.num_requests_waiting=3.0, cpu_utilization=0.2, rps_fractional=7");

    assertThat(report.named(LoadReport.WAITING)).hasValue(3.0);
    assertThat(report.named(LoadReport.KV_CACHE_USAGE)).hasValue(0.4);
    assertThat(report.cpuUtilization()).isEqualTo(0.2);
  }

  @Test
  void parsesVllmsJsonHeaderInProtoOrJsonFieldNames() {
    assertThat(header.parse("JSON {\"named_metrics\": {\"num_requests_waiting\": 2.0}}").named(LoadReport.WAITING))
        .hasValue(2.0);
    assertThat(header.parse("JSON {\"namedMetrics\": {\"num_requests_waiting\": 4}, \"applicationUtilization\": 0.5}"))
        .satisfies(r -> {
          assertThat(r.named(LoadReport.WAITING)).hasValue(4.0);
          assertThat(r.applicationUtilization()).isEqualTo(0.5);
        });
  }

  @Test
  void everyFormatItWritesParsesBack() {
    for (LoadReportHeader.Format format : LoadReportHeader.Format.values()) {
      assertThat(header.parse(header.format(REPORT, format))).as(format.name()).isEqualTo(REPORT);
    }
  }

  @Test
  void malformedHeadersNameWhatWasExpected() {
    assertThatThrownBy(() -> header.parse("XML <load/>")).hasMessageContaining("expected: TEXT, JSON or BIN");
    assertThatThrownBy(() -> header.parse("TEXT named_metrics.a=lots")).hasMessageContaining("named_metrics.a=lots")
        .hasMessageContaining("expected: a number");
    assertThatThrownBy(() -> header.parse("JSON [1]")).hasMessageContaining("expected: a JSON object");
  }

  @Test
  void busiestUtilizationIsTheScarcestResourceClamped() {
    assertThat(REPORT.maxUtilization()).isEqualTo(0.75);
    assertThat(LoadReport.ofNamedMetrics(Map.of(LoadReport.KV_CACHE_USAGE, 1.7)).maxUtilization()).isEqualTo(1.0);
  }
}
