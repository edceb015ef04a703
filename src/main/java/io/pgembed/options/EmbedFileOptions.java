package io.pgembed.options;

import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.Validation;

/** Options of the {@code embed} command: JSON Lines in, JSON Lines out, no database. */
public interface EmbedFileOptions extends ModelOptions {

  @Description("Input JSON Lines file: one {\"id\": ..., \"text\": \"...\"} per line.")
  @Validation.Required
  String getInput();

  void setInput(String value);

  @Description("Output JSON Lines file: one {\"id\": ..., \"embedding\": [...]} per input line, in input order.")
  @Validation.Required
  String getOutput();

  void setOutput(String value);

  @Description("Lines sorted by token length together, so that batches carry little padding.")
  @Default.Integer(1024)
  Integer getWindow();

  void setWindow(Integer value);
}
