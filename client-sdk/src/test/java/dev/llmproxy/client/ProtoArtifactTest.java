package dev.llmproxy.client;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorSet;
import dev.llmproxy.v1.LlmProxyProto;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The llmproxy-proto jar that the SDK depends on carries what other build systems generate from. */
class ProtoArtifactTest {

  private static byte[] resource(String name) throws Exception {
    try (InputStream in = LlmProxyProto.class.getClassLoader().getResourceAsStream(name)) {
      assertThat(in).as(name).isNotNull();
      return in.readAllBytes();
    }
  }

  /** Messages with their fields and numbers, and the service's methods: the wire contract. */
  private static List<String> shape(FileDescriptorProto file) {
    List<String> shape = new ArrayList<>();
    file.getMessageTypeList().forEach(m -> m.getFieldList().forEach(
        f -> shape.add(m.getName() + "." + f.getName() + "=" + f.getNumber() + ":" + f.getType())));
    file.getServiceList().forEach(s -> s.getMethodList().forEach(
        m -> shape.add(s.getName() + "/" + m.getName() + "(" + m.getInputType() + ") -> " + m.getOutputType())));
    return shape;
  }

  @Test
  void carriesTheProtoSourceAndADescriptorSetOfTheSameApi() throws Exception {
    String proto = new String(resource("llmproxy/v1/llmproxy.proto"), StandardCharsets.UTF_8);
    FileDescriptorSet set = FileDescriptorSet.parseFrom(resource("llmproxy/v1/llmproxy.desc"));

    assertThat(proto).contains("package llmproxy.v1;", "service LlmProxy {");
    assertThat(set.getFileList()).extracting(FileDescriptorProto::getName)
        .containsExactly("google/protobuf/struct.proto", "llmproxy/v1/llmproxy.proto");
    assertThat(shape(set.getFile(1))).isEqualTo(shape(LlmProxyProto.getDescriptor().toProto()));
    assertThat(set.getFile(1).hasSourceCodeInfo()).as("comments kept for generators").isTrue();
  }
}
