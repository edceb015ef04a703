package io.pgembed.options;

import io.pgembed.model.ModelLoader;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;

/**
 * A canary rollout's candidate: a whole model spec of its own (model, pooling, normalization, maximum length), so
 * the main model's options never change because a canary runs; and the quality gate {@code canary-report} and
 * {@code promote} apply to it.
 */
public interface CanaryOptions extends PipelineOptions {
  @Description("Canary rollout: a candidate model that also embeds --canaryPercent of the rows into <target>_canary.")
  String getCanaryModel();

  void setCanaryModel(String value);

  @Description("Share of rows the candidate embeds, in percent. Env: EMBEDDING_TRAINING_CANARY_PERCENT.")
  @Default.Integer(10)
  Integer getCanaryPercent();

  void setCanaryPercent(Integer value);

  @Description("The candidate's pooling: mean or cls. Default: the candidate model's own (not --pooling).")
  String getCanaryPooling();

  void setCanaryPooling(String value);

  @Description("L2-normalize the candidate's vectors. Default: the candidate model's own (not --normalize).")
  Boolean getCanaryNormalize();

  void setCanaryNormalize(Boolean value);

  @Description("The candidate's maximum tokens per text; 0: the candidate model's own (not --maxLength).")
  @Default.Integer(0)
  Integer getCanaryMaxLength();

  void setCanaryMaxLength(Integer value);

  @Description(
      "Gate: the least mean top-10 neighbour overlap between the two models on the canary rows (0 to 1) that"
          + " passes. Below it the candidate ranks the same rows differently, and promote refuses. It measures"
          + " agreement, not quality: when switching model families on purpose, lower it or pass --force.")
  @Default.Double(0.8)
  Double getCanaryMinOverlap();

  void setCanaryMinOverlap(Double value);

  @Description(
      "Gate: the largest mean cosine drift (1 - cosine between a row's two vectors) that passes, applied when the"
          + " candidate has the same weights (only pooling, normalization or length differ); vectors of other"
          + " weights live in another space, where drift says nothing.")
  @Default.Double(0.05)
  Double getCanaryMaxDrift();

  void setCanaryMaxDrift(Double value);

  @Description("Gate: the largest share of canary rows the candidate failed on (0 to 1) that passes.")
  @Default.Double(0.01)
  Double getCanaryMaxFailureRate();

  void setCanaryMaxFailureRate(Double value);

  @Description("Gate: the fewest canary rows with both models' vectors to judge on; fewer is a no.")
  @Default.Integer(20)
  Integer getCanaryMinRows();

  void setCanaryMinRows(Integer value);

  @Description("promote: switch even when the gate says no (the decision is recorded as forced).")
  @Default.Boolean(false)
  Boolean getForce();

  void setForce(Boolean value);

  /**
   * The candidate's model spec: its own model, pooling, normalization and length; the device, workers and threads
   * of {@code m} (where it runs, not what it computes).
   */
  static ModelLoader candidateOf(CanaryOptions c, ModelOptions m) {
    if (c.getCanaryModel() == null) {
      throw new IllegalArgumentException("--canaryModel is required: the candidate model (a name or a directory)");
    }
    return ModelLoader.builder()
        .model(c.getCanaryModel())
        .device(m.getDevice())
        .pooling(c.getCanaryPooling())
        .normalize(c.getCanaryNormalize())
        .maxLength(c.getCanaryMaxLength() == null ? 0 : c.getCanaryMaxLength())
        .threads(m.getIntraOpThreads(), m.getInterOpThreads())
        .workers(m.getWorkers())
        .build();
  }
}
