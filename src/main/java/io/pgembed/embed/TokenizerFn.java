package io.pgembed.embed;

import io.pgembed.model.ModelSpec;
import io.pgembed.model.TextTokenizer;
import org.apache.beam.sdk.transforms.DoFn;

/**
 * A DoFn that reads texts with the model's own tokenizer: the JVM's shared model ({@link SharedModels}), acquired
 * at setup and released at teardown.
 */
abstract class TokenizerFn<I, O> extends DoFn<I, O> {
  private final ModelSpec spec;
  transient TextTokenizer tokenizer;

  TokenizerFn(ModelSpec spec) {
    this.spec = spec;
  }

  @Setup
  public void setup() {
    tokenizer = SharedModels.acquire(spec).tokenizer();
  }

  @Teardown
  public void teardown() {
    if (tokenizer != null) {
      tokenizer = null;
      SharedModels.release(spec);
    }
  }
}
