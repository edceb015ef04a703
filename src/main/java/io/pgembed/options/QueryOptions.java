package io.pgembed.options;

import io.pgembed.search.SearchMode;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;

/** A search's query, and how it ranks: by the vectors alone, or fused with full-text ranking. */
public interface QueryOptions extends PipelineOptions {
  @Description("The text to search for.")
  String getQuery();

  void setQuery(String value);

  @Description("How many nearest rows to print.")
  @Default.Integer(5)
  Integer getTop();

  void setTop(Integer value);

  @Description("vector: the stored vectors nearest the query's. hybrid: those and PostgreSQL's full-text ranking"
      + " (websearch_to_tsquery, ts_rank_cd), fused by reciprocal rank.")
  @Default.Enum("VECTOR")
  SearchMode getMode();

  void setMode(SearchMode value);

  @Description("Hybrid: the k of reciprocal rank fusion, score = sum of weight / (k + rank).")
  @Default.Integer(60)
  Integer getRrfK();

  void setRrfK(Integer value);

  @Description("Hybrid: the vector list's weight in the fusion.")
  @Default.Double(1.0)
  Double getVectorWeight();

  void setVectorWeight(Double value);

  @Description("Hybrid: the full-text list's weight in the fusion.")
  @Default.Double(1.0)
  Double getTextWeight();

  void setTextWeight(Double value);

  @Description("Hybrid: how many of each list's best are fused.")
  @Default.Integer(50)
  Integer getHybridCandidates();

  void setHybridCandidates(Integer value);
}
