package io.pgembed.options;

import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;

/** Options of {@code search} (and {@code demo}, which searches after embedding). */
public interface SearchOptions extends EmbeddingPipelineOptions {
  @Description("The text to search for.")
  String getQuery();

  void setQuery(String value);

  @Description("How many nearest rows to print.")
  @Default.Integer(5)
  Integer getTop();

  void setTop(Integer value);
}
