package io.pgembed.options;

/** Options of {@code canary-report}: a search's options and the candidate model. */
public interface CanaryReportOptions extends SearchOptions, CanaryOptions {}
