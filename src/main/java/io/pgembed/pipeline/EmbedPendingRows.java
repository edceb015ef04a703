package io.pgembed.pipeline;

import io.pgembed.db.Layout;
import io.pgembed.capture.DrainOnNotify;
import io.pgembed.capture.LogDrain;
import io.pgembed.db.Database;
import io.pgembed.db.EmbeddingTables;
import io.pgembed.db.KeyRange;
import io.pgembed.db.Pruning;
import io.pgembed.db.RowKey;
import io.pgembed.embed.ChunkTexts;
import io.pgembed.embed.EmbedTexts;
import io.pgembed.embed.TransformSettings;
import io.pgembed.read.ArtifactSource;
import io.pgembed.read.ContinuousSource;
import io.pgembed.write.VectorWriter;
import io.pgembed.write.WriteMethod;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PBegin;
import org.apache.beam.sdk.values.PCollection;
import org.joda.time.Duration;

/**
 * The job as one transform: (1) JdbcIO reads the pending rows of a PostgreSQL table, once or every poll interval,
 * (2) the documents become what the model embeds (chunks; or the rows as they are), (3) {@link EmbedTexts} batches
 * and embeds them, (4) JdbcIO upserts the vectors and (5) records the rows that got none. Its output is
 * {@link EmbedTexts}' result, so a caller or a test can see what was embedded and what failed.
 *
 * <pre>{@code
 * pipeline.apply("Embed pending rows",
 *     EmbedPendingRows.from(database, tables, layout, fingerprint)
 *         .withEmbedding(EmbedTexts.<RowKey>using(spec).withBatchSize(32))
 *         .withPartitions(4, minId, maxId));
 * }</pre>
 *
 * <p>{@code fingerprint} must be that of the model {@code withEmbedding} runs: it is what the pending query compares
 * and what the upserts store. {@link Preflight} finds both.
 */
public final class EmbedPendingRows extends PTransform<PBegin, EmbedTexts.Result<RowKey>> {
  /** Everything the transform is configured with; each {@code withX} changes a copy ({@link #with}). */
  private static final class Settings extends TransformSettings<Settings> {
    Database database;
    EmbeddingTables tables;
    Layout layout;
    String fingerprint;
    EmbedTexts<RowKey> embedding;
    PTransform<PCollection<KV<RowKey, String>>, PCollection<KV<RowKey, String>>> documents;
    int partitions = 1;
    Long minId;
    Long maxId;
    Duration pollInterval;
    int maxRowsPerPoll;
    Duration pruneInterval;
    KeyRange keyRange = KeyRange.ALL;
    long readAtMicros;
    int writeBatchSize = 500;
    WriteMethod writeMethod = WriteMethod.STATEMENTS;
    LogDrain changeLog;
    boolean pruneLogged;
  }

  private final Settings s;

  private EmbedPendingRows(Settings settings) {
    this.s = settings;
  }

  /** A copy of this transform with {@code change} applied to its settings: the transform itself never changes. */
  private EmbedPendingRows with(java.util.function.Consumer<Settings> change) {
    return new EmbedPendingRows(s.copy(change));
  }

  /** The tables as {@link io.pgembed.db.EmbeddingSchema#plan} found them, for the model of {@code fingerprint}. */
  public static EmbedPendingRows from(Database database, EmbeddingTables tables, Layout layout, String fingerprint) {
    if (database == null || tables == null || layout == null || fingerprint == null) {
      throw new IllegalArgumentException("database, tables, layout and fingerprint must not be null");
    }
    Settings settings = new Settings();
    settings.database = database;
    settings.tables = tables;
    settings.layout = layout;
    settings.fingerprint = fingerprint;
    return new EmbedPendingRows(settings);
  }

  /** How the rows are embedded: required. */
  public EmbedPendingRows withEmbedding(EmbedTexts<RowKey> embedding) {
    if (embedding == null) {
      throw new IllegalArgumentException("embedding must not be null");
    }
    return with(c -> c.embedding = embedding);
  }

  /**
   * How documents become what the model embeds: {@link ChunkTexts} for a target of chunks (required there), or
   * {@link io.pgembed.embed.MeasureTexts}; without it rows go to the model as they are (measured there with
   * {@link EmbedTexts#withMeasuring}).
   */
  public EmbedPendingRows withDocuments(
      PTransform<PCollection<KV<RowKey, String>>, PCollection<KV<RowKey, String>>> documents) {
    return with(c -> c.documents = documents);
  }

  /** Reads numeric ids in {@code partitions} parallel queries over {@code minId..maxId} (null: one query). */
  public EmbedPendingRows withPartitions(int partitions, Long minId, Long maxId) {
    if (partitions < 1) {
      throw new IllegalArgumentException("readPartitions must be >= 1, but was " + partitions);
    }
    return with(c -> {
      c.partitions = partitions;
      c.minId = minId;
      c.maxId = maxId;
    });
  }

  /**
   * Keeps reading the pending rows every {@code pollInterval} (continuous mode: an unbounded pipeline), at most the
   * first {@code maxRowsPerPoll} in id order each time (0: all): rows still in flight are read again and dropped, so
   * no more than that many are in flight, and a poll takes new rows only as earlier ones are written.
   */
  public EmbedPendingRows withPolling(Duration pollInterval, int maxRowsPerPoll) {
    if (pollInterval == null || pollInterval.getMillis() < 100) {
      throw new IllegalArgumentException("--pollInterval must be >= 100 ms, but was " + pollInterval);
    }
    if (maxRowsPerPoll < 0) {
      throw new IllegalArgumentException("--maxInFlightRows must be >= 0 (0: no bound), but was " + maxRowsPerPoll);
    }
    return with(c -> {
      c.pollInterval = pollInterval;
      c.maxRowsPerPoll = maxRowsPerPoll;
    });
  }

  /**
   * With polling, also removes the vectors and failure records of rows gone from the source every
   * {@code pruneInterval} (null: never).
   */
  public EmbedPendingRows withPruning(Duration pruneInterval) {
    if (pruneInterval != null && pruneInterval.getMillis() < 100) {
      throw new IllegalArgumentException("--pruneInterval must be >= 100 ms, but was " + pruneInterval);
    }
    return with(c -> c.pruneInterval = pruneInterval);
  }

  /**
   * With polling, reads the rows the change log of {@code drain} names instead of scanning the source, when its
   * channel is notified (or every poll interval), and prunes its deletes when {@code prune}.
   */
  public EmbedPendingRows withChangeLog(LogDrain drain, boolean prune) {
    return with(c -> {
      c.changeLog = drain;
      c.pruneLogged = prune;
    });
  }

  /** Reads only the pending rows with ids in {@code range}: one wave of a run (see {@code RunController}). */
  public EmbedPendingRows withKeyRange(KeyRange range) {
    if (range == null) {
      throw new IllegalArgumentException("range must not be null (KeyRange.ALL: every id)");
    }
    return with(c -> c.keyRange = range);
  }

  /**
   * Stamps every row read with this read time (microseconds since the epoch; 0: the read's own time): a wave tried
   * again keeps its first read time, so a failure written by both tries counts one attempt.
   */
  public EmbedPendingRows withReadTime(long readAtMicros) {
    if (readAtMicros < 0) {
      throw new IllegalArgumentException("readAtMicros must be >= 0, but was " + readAtMicros);
    }
    return with(c -> c.readAtMicros = readAtMicros);
  }

  /**
   * How vectors are written: {@link WriteMethod#COPY} (a target of one vector per row; the role must be allowed to
   * create temporary tables) or {@link WriteMethod#STATEMENTS} (the default here); {@link Preflight} resolves the option.
   */
  public EmbedPendingRows withWriteMethod(WriteMethod method) {
    if (method != WriteMethod.COPY && method != WriteMethod.STATEMENTS) {
      throw new IllegalArgumentException("the write method must be copy or statements, but was " + method);
    }
    return with(c -> c.writeMethod = method);
  }

  /** Rows per write (a JDBC batch, or a COPY and its upsert). */
  public EmbedPendingRows withWriteBatchSize(int writeBatchSize) {
    if (writeBatchSize < 1) {
      throw new IllegalArgumentException("--writeBatchSize must be >= 1, but was " + writeBatchSize);
    }
    return with(c -> c.writeBatchSize = writeBatchSize);
  }

  @Override
  public EmbedTexts.Result<RowKey> expand(PBegin input) {
    if (s.embedding == null) {
      throw new IllegalStateException("EmbedPendingRows needs withEmbedding(EmbedTexts.using(model))");
    }
    EmbeddingTables tables = s.tables;
    PCollection<KV<RowKey, String>> rows =
        s.pollInterval != null
            ? input.apply("Poll pending rows", polling())
            : input.apply("Read pending rows", ArtifactSource
                .query(s.database, tables.pendingQuery(s.fingerprint, s.keyRange, s.layout.idCastType(), s.readAtMicros))
                .withPartitions(s.partitions, s.layout.numericId() ? s.minId : null,
                    s.layout.numericId() ? s.maxId : null));
    PCollection<KV<RowKey, String>> texts = s.documents == null ? rows : rows.apply("Chunk or measure", s.documents);
    EmbedTexts.Result<RowKey> result = texts.apply("Embed", s.embedding);
    result.embedded().apply("Write vectors",
        VectorWriter.upserts(s.database, tables, s.layout, s.fingerprint, s.writeBatchSize, s.writeMethod));
    result.failed().apply("Record failures", VectorWriter.failures(
        s.database, tables.failureStatement(), s.fingerprint, tables.maxAttempts(), s.writeBatchSize));
    return result;
  }

  /**
   * Continuous mode's source: every poll interval, the pending rows of the whole source; or, with a change log,
   * every {@link #LOG_TICK} a look whether the log was notified (or a poll interval passed), then the pending rows
   * the log names.
   */
  private ContinuousSource polling() {
    if (s.changeLog == null) {
      return new ContinuousSource(
          s.database, s.tables.firstPendingQuery(s.fingerprint, s.maxRowsPerPoll), s.pollInterval, inFlight())
          .withPruning(s.pruneInterval, new Pruning(s.tables, s.layout.idCastType()));
    }
    LogDrain d = s.changeLog;
    EmbeddingTables logged = d.tables().onlyIds(d.log().upsertedIds(Long.MAX_VALUE));
    return new ContinuousSource(s.database, logged.firstPendingQuery(s.fingerprint, s.maxRowsPerPoll), LOG_TICK,
        inFlight())
        .withTickFilter(new DrainOnNotify(s.database, d.log(), d.tables(), s.layout.idCastType(), s.fingerprint,
            s.pollInterval.getMillis(), s.pruneLogged));
  }

  /** How often continuous mode looks whether a change log was notified. */
  private static final Duration LOG_TICK = Duration.millis(100);

  /** How long a row read by one poll counts as in flight: 20 poll intervals, at least 5 minutes. */
  private Duration inFlight() {
    Duration twenty = s.pollInterval.multipliedBy(20);
    return twenty.isLongerThan(Duration.standardMinutes(5)) ? twenty : Duration.standardMinutes(5);
  }

  @Override
  public void populateDisplayData(DisplayData.Builder builder) {
    super.populateDisplayData(builder);
    builder
        .add(DisplayData.item("source", s.tables.names().source().toString()))
        .add(DisplayData.item("target", s.tables.names().target().toString()))
        .add(DisplayData.item("model", s.fingerprint));
  }
}
