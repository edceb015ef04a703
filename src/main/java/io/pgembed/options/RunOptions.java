package io.pgembed.options;

import io.pgembed.capture.ChangeCapture;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.joda.time.Duration;

/** How one run behaves: retries of failed rows, reporting, sampling, continuous mode. */
public interface RunOptions extends TimeoutOptions {
  @Description("A row that failed this many times is no longer retried (until its text changes).")
  @Default.Integer(3)
  Integer getMaxAttempts();

  void setMaxAttempts(Integer value);

  @Description("Print a progress line every few seconds.")
  @Default.Boolean(false)
  Boolean getVerbose();

  void setVerbose(Boolean value);

  @Description("Also write the final report as JSON to this file.")
  String getReportFile();

  void setReportFile(String value);

  @Description("A preset of options: pipelines/NAME.properties, or a path to a .properties file.")
  String getProfile();

  void setProfile(String value);

  @Description(
      "Embed only a deterministic hash-chosen share of rows, in percent (1-100): those whose id's md5 mod 100 is"
          + " below it. 100: every row.")
  @Default.Integer(100)
  Integer getSamplePercent();

  void setSamplePercent(Integer value);

  @Description(
      "How a run finds pending rows: scan (every run or poll reads the whole source) or trigger (triggers on the"
          + " source keep a change log, <source>_changes, installed when missing and the role owns the table; a"
          + " run reads the log, so its cost follows the changes; the first run, and a new model's, scans once).")
  @Default.Enum("SCAN")
  ChangeCapture getChangeCapture();

  void setChangeCapture(ChangeCapture value);

  @Description("Keep running: poll for new and changed rows every --pollInterval and embed them as they appear.")
  @Default.Boolean(false)
  Boolean getContinuous();

  void setContinuous(Boolean value);

  @Description("With --continuous, how often pending rows are read: 500ms, 5s, 2m.")
  @Default.String("5s")
  String getPollInterval();

  void setPollInterval(String value);

  @Description(
      "Remove the vectors and failure records of rows no longer in the source (deleted, or no longer returned by"
          + " --sourceQuery): at the start of each run, and with --continuous every --pruneInterval.")
  @Default.Boolean(true)
  Boolean getPruneDeleted();

  void setPruneDeleted(Boolean value);

  @Description("With --continuous and --pruneDeleted, how often deleted rows are looked for: 30s, 1m, 10m.")
  @Default.String("1m")
  String getPruneInterval();

  void setPruneInterval(String value);

  /** {@code --pollInterval} as a duration: {@code 500ms}, {@code 5s}, {@code 2m}, {@code 1h}; at least 100 ms. */
  static Duration pollInterval(RunOptions o) {
    return Durations.parse(o.getPollInterval(), "--pollInterval");
  }

  /** {@code --pruneInterval} as a duration; at least 100 ms. */
  static Duration pruneInterval(RunOptions o) {
    return Durations.parse(o.getPruneInterval(), "--pruneInterval");
  }
}
