package io.pgembed.options;

import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;

/** A canary rollout's candidate model. */
public interface CanaryOptions extends PipelineOptions {
  @Description("Canary rollout: a candidate model that also embeds --canaryPercent of the rows into <target>_canary.")
  String getCanaryModel();

  void setCanaryModel(String value);

  @Description("Share of rows the candidate embeds, in percent. Env: EMBEDDING_TRAINING_CANARY_PERCENT.")
  @Default.Integer(10)
  Integer getCanaryPercent();

  void setCanaryPercent(Integer value);
}
