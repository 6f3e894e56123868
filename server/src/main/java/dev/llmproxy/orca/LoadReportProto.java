package dev.llmproxy.orca;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.WireFormat;
import io.grpc.Metadata;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The protobuf wire form of {@link LoadReport}: {@code xds.data.orca.v3.OrcaLoadReport}, byte for
 * byte, without depending on grpc-xds (which would double the proxy's classpath for one message).
 * Field numbers follow {@code xds/data/orca/v3/orca_load_report.proto}; unknown fields are skipped,
 * so reports with request costs or rates parse.
 */
public final class LoadReportProto {
  /** The trailer of gRPC per-call load reports (gRFC A51). */
  public static final Metadata.Key<byte[]> TRAILER =
      Metadata.Key.of("endpoint-load-metrics-bin", Metadata.BINARY_BYTE_MARSHALLER);

  private static final int CPU_UTILIZATION = 1;
  private static final int MEM_UTILIZATION = 2;
  private static final int UTILIZATION = 5;
  private static final int NAMED_METRICS = 8;
  private static final int APPLICATION_UTILIZATION = 9;

  private LoadReportProto() {
  }

  /** The serialized {@code OrcaLoadReport}. */
  public static byte[] encode(LoadReport report) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(64);
    CodedOutputStream out = CodedOutputStream.newInstance(bytes);
    try {
      writeDouble(out, CPU_UTILIZATION, report.cpuUtilization());
      writeDouble(out, MEM_UTILIZATION, report.memUtilization());
      writeMap(out, UTILIZATION, report.utilization());
      writeMap(out, NAMED_METRICS, report.namedMetrics());
      writeDouble(out, APPLICATION_UTILIZATION, report.applicationUtilization());
      out.flush();
    } catch (IOException e) {
      throw new UncheckedIOException(e); // a byte array does not fail
    }
    return bytes.toByteArray();
  }

  /**
   * Parses a serialized {@code OrcaLoadReport}.
   *
   * @throws IllegalArgumentException if the bytes are not one
   */
  public static LoadReport decode(byte[] bytes) {
    double cpu = 0;
    double mem = 0;
    double application = 0;
    Map<String, Double> utilization = new LinkedHashMap<>();
    Map<String, Double> named = new LinkedHashMap<>();
    try {
      CodedInputStream in = CodedInputStream.newInstance(bytes);
      for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
        int field = WireFormat.getTagFieldNumber(tag);
        int type = WireFormat.getTagWireType(tag);
        if (field == CPU_UTILIZATION && type == WireFormat.WIRETYPE_FIXED64) {
          cpu = in.readDouble();
        } else if (field == MEM_UTILIZATION && type == WireFormat.WIRETYPE_FIXED64) {
          mem = in.readDouble();
        } else if (field == APPLICATION_UTILIZATION && type == WireFormat.WIRETYPE_FIXED64) {
          application = in.readDouble();
        } else if ((field == UTILIZATION || field == NAMED_METRICS)
            && type == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
          readEntry(in, field == UTILIZATION ? utilization : named);
        } else if (!in.skipField(tag)) {
          break;
        }
      }
    } catch (IOException e) {
      throw new IllegalArgumentException("endpoint-load-metrics-bin: not an OrcaLoadReport ("
          + e.getMessage() + ")");
    }
    return new LoadReport(cpu, mem, application, utilization, named);
  }

  // A map entry is a nested message {string key = 1; double value = 2;}.
  private static void readEntry(CodedInputStream in, Map<String, Double> into) throws IOException {
    int limit = in.pushLimit(in.readRawVarint32());
    String key = "";
    double value = 0;
    for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
      int field = WireFormat.getTagFieldNumber(tag);
      if (field == 1 && WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
        key = in.readStringRequireUtf8();
      } else if (field == 2 && WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_FIXED64) {
        value = in.readDouble();
      } else {
        in.skipField(tag);
      }
    }
    in.popLimit(limit);
    into.put(key, value);
  }

  private static void writeDouble(CodedOutputStream out, int field, double value) throws IOException {
    if (value != 0) { // proto3: defaults are not written
      out.writeDouble(field, value);
    }
  }

  private static void writeMap(CodedOutputStream out, int field, Map<String, Double> map) throws IOException {
    for (Map.Entry<String, Double> e : map.entrySet()) {
      int size = CodedOutputStream.computeStringSize(1, e.getKey()) + CodedOutputStream.computeDoubleSize(2, e.getValue());
      out.writeTag(field, WireFormat.WIRETYPE_LENGTH_DELIMITED);
      out.writeUInt32NoTag(size);
      out.writeString(1, e.getKey());
      out.writeDouble(2, e.getValue());
    }
  }
}
