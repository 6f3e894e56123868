package dev.llmproxy.server.observability.tracing;

import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.context.Context;
import io.opentelemetry.sdk.trace.data.LinkData;
import io.opentelemetry.sdk.trace.samplers.Sampler;
import io.opentelemetry.sdk.trace.samplers.SamplingResult;
import java.util.List;

/**
 * {@code parentbased_traceidratio} whose ratio a config reload can change: the SDK takes its
 * sampler once, when it is built, so the proxy gives it this one and swaps what it delegates to.
 * A client's sampled (or unsampled) trace is followed whatever the ratio.
 */
final class ReloadableRatioSampler implements Sampler {
  private volatile Sampler delegate;

  ReloadableRatioSampler(double ratio) {
    setRatio(ratio);
  }

  void setRatio(double newRatio) {
    delegate = Sampler.parentBased(Sampler.traceIdRatioBased(newRatio));
  }

  @Override
  public SamplingResult shouldSample(Context parentContext, String traceId, String name, SpanKind spanKind,
      Attributes attributes, List<LinkData> parentLinks) {
    return delegate.shouldSample(parentContext, traceId, name, spanKind, attributes, parentLinks);
  }

  @Override
  public String getDescription() {
    return "Reloadable{" + delegate.getDescription() + "}";
  }
}
