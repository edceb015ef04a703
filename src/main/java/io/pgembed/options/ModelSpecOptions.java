package io.pgembed.options;

import io.pgembed.model.ModelLoader;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;

/**
 * What the model computes: which model, its pooling, normalization and maximum length. Together they make the
 * fingerprint stored with every vector; where and how fast it runs are {@link ModelOptions}'. A canary's candidate
 * has its own spec ({@link CanaryOptions}), so these names are what a candidate's run leaves out.
 */
public interface ModelSpecOptions extends PipelineOptions {
  @Description(
      "The embedding model: 'all-minilm-l6-v2' (bundled), a sentence-transformers directory (config.json,"
          + " model.safetensors, tokenizer.json), an ONNX one (model.onnx or onnx/model.onnx, tokenizer.json,"
          + " config.json and 1_Pooling/config.json where present) or a TorchScript directory (NAME.pt,"
          + " tokenizer.json).")
  @Default.String(ModelLoader.BUNDLED)
  String getModel();

  void setModel(String value);

  @Description("Pooling override: mean or cls. Default: the model's own (modules.json), mean for the bundled model.")
  String getPooling();

  void setPooling(String value);

  @Description("L2-normalize the vectors. Default: the model's own (a Normalize module), true for the bundled model.")
  Boolean getNormalize();

  void setNormalize(Boolean value);

  @Description("Maximum tokens per text, special tokens included; longer texts are truncated and counted. 0: the model's own (256 for all-MiniLM-L6-v2).")
  @Default.Integer(0)
  Integer getMaxLength();

  void setMaxLength(Integer value);

}
