package dev.llmproxy.testing;

import com.google.protobuf.DescriptorProtos.DescriptorProto;
import com.google.protobuf.DescriptorProtos.EnumDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.DescriptorValidationException;
import com.google.protobuf.Descriptors.FileDescriptor;
import dev.llmproxy.v1.LlmProxyProto;
import java.util.Map;

/**
 * The API as the previous release shipped it (proto/previous/llmproxy/v1/llmproxy.proto), as
 * descriptors for {@code DynamicMessage}: what an old client sends and reads, and what an old
 * upstream parses and answers. Built from today's descriptor by keeping only the messages, fields and
 * enum values that release had, so it cannot drift from the wire numbers.
 */
public final class PreviousApi {
  /** The fields each message of the previous release had: field numbers up to this one. */
  private static final Map<String, Integer> MESSAGES = Map.of(
      "CompletionRequest", 8, "Message", 2, "Usage", 3, "Completion", 5, "CompletionChunk", 5);

  private static final FileDescriptor FILE = build();

  private PreviousApi() {}

  /** The previous release's message {@code name} (CompletionRequest, Completion, ...). */
  public static Descriptor message(String name) {
    return FILE.findMessageTypeByName(name);
  }

  private static FileDescriptor build() {
    FileDescriptorProto today = LlmProxyProto.getDescriptor().toProto();
    FileDescriptorProto.Builder previous = today.toBuilder().clearMessageType().clearEnumType()
        .clearService().clearDependency().setName("llmproxy/v1/previous.proto");
    for (DescriptorProto message : today.getMessageTypeList()) {
      Integer last = MESSAGES.get(message.getName());
      if (last != null) {
        DescriptorProto.Builder kept = message.toBuilder().clearField();
        message.getFieldList().stream().filter(f -> f.getNumber() <= last).forEach(kept::addField);
        // the oneofs of the kept fields (proto3 optional ones): those of new fields come after them
        int oneofs = kept.getFieldList().stream().filter(f -> f.hasOneofIndex())
            .mapToInt(f -> f.getOneofIndex() + 1).max().orElse(0);
        kept.clearOneofDecl().addAllOneofDecl(message.getOneofDeclList().subList(0, oneofs));
        previous.addMessageType(kept);
      }
    }
    for (EnumDescriptorProto e : today.getEnumTypeList()) {
      if (e.getName().equals("FinishReason")) {
        EnumDescriptorProto.Builder kept = e.toBuilder().clearValue();
        e.getValueList().stream().filter(v -> v.getNumber() <= 3).forEach(kept::addValue);
        previous.addEnumType(kept);
      }
    }
    try {
      return FileDescriptor.buildFrom(previous.build(), new FileDescriptor[0]);
    } catch (DescriptorValidationException e) {
      throw new IllegalStateException(e);
    }
  }
}
