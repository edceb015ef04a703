package io.pgembed.options;

import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;

/** A semantic search's query. */
public interface QueryOptions extends PipelineOptions {
  @Description("The text to search for.")
  String getQuery();

  void setQuery(String value);

  @Description("How many nearest rows to print.")
  @Default.Integer(5)
  Integer getTop();

  void setTop(Integer value);
}
