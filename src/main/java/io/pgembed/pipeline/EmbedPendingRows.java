package io.pgembed.pipeline;

import io.pgembed.db.Database;
import io.pgembed.db.EmbeddingSchema;
import io.pgembed.db.EmbeddingTables;
import io.pgembed.db.KeyRange;
import io.pgembed.db.Pruning;
import io.pgembed.db.RowKey;
import io.pgembed.embed.ChunkTexts;
import io.pgembed.embed.EmbedTexts;
import io.pgembed.read.ArtifactSource;
import io.pgembed.read.ContinuousSource;
import io.pgembed.write.VectorWriter;
import java.util.List;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PBegin;
import org.apache.beam.sdk.values.PCollection;
import org.joda.time.Duration;

/**
 * The job as one transform: (1) JdbcIO reads the pending rows of a PostgreSQL table, once or every poll interval,
 * (2) {@link EmbedTexts} batches and embeds them, (3) JdbcIO upserts the vectors and (4) records the rows that got
 * none. Its output is {@link EmbedTexts}' result, so a caller or a test can see what was embedded and what failed.
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
  private final Database database;
  private final EmbeddingTables tables;
  private final EmbeddingSchema.Layout layout;
  private final String fingerprint;
  private final EmbedTexts<RowKey> embedding;
  private final int partitions;
  private final Long minId;
  private final Long maxId;
  private final Duration pollInterval;
  private final int maxRowsPerPoll;
  private final Duration pruneInterval;
  private final KeyRange keyRange;
  private final long readAtMicros;
  private final int writeBatchSize;
  private final ChunkTexts chunking;

  private EmbedPendingRows(
      Database database, EmbeddingTables tables, EmbeddingSchema.Layout layout, String fingerprint,
      EmbedTexts<RowKey> embedding, int partitions, Long minId, Long maxId, Duration pollInterval,
      int maxRowsPerPoll, Duration pruneInterval, KeyRange keyRange, long readAtMicros, int writeBatchSize,
      ChunkTexts chunking) {
    this.database = database;
    this.tables = tables;
    this.layout = layout;
    this.fingerprint = fingerprint;
    this.embedding = embedding;
    this.partitions = partitions;
    this.minId = minId;
    this.maxId = maxId;
    this.pollInterval = pollInterval;
    this.maxRowsPerPoll = maxRowsPerPoll;
    this.pruneInterval = pruneInterval;
    this.keyRange = keyRange;
    this.readAtMicros = readAtMicros;
    this.writeBatchSize = writeBatchSize;
    this.chunking = chunking;
  }

  /** The tables as {@link EmbeddingTables#prepare} found them, for the model of {@code fingerprint}. */
  public static EmbedPendingRows from(
      Database database, EmbeddingTables tables, EmbeddingSchema.Layout layout, String fingerprint) {
    if (database == null || tables == null || layout == null || fingerprint == null) {
      throw new IllegalArgumentException("database, tables, layout and fingerprint must not be null");
    }
    return new EmbedPendingRows(
        database, tables, layout, fingerprint, null, 1, null, null, null, 0, null, KeyRange.ALL, 0, 500, null);
  }

  /** How the rows are embedded: required. */
  public EmbedPendingRows withEmbedding(EmbedTexts<RowKey> embedding) {
    if (embedding == null) {
      throw new IllegalArgumentException("embedding must not be null");
    }
    return new EmbedPendingRows(database, tables, layout, fingerprint, embedding, partitions, minId, maxId,
        pollInterval, maxRowsPerPoll, pruneInterval, keyRange, readAtMicros, writeBatchSize, chunking);
  }

  /** Reads numeric ids in {@code partitions} parallel queries over {@code minId..maxId} (null: one query). */
  public EmbedPendingRows withPartitions(int partitions, Long minId, Long maxId) {
    if (partitions < 1) {
      throw new IllegalArgumentException("readPartitions must be >= 1, but was " + partitions);
    }
    return new EmbedPendingRows(database, tables, layout, fingerprint, embedding, partitions, minId, maxId,
        pollInterval, maxRowsPerPoll, pruneInterval, keyRange, readAtMicros, writeBatchSize, chunking);
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
    return new EmbedPendingRows(database, tables, layout, fingerprint, embedding, partitions, minId, maxId,
        pollInterval, maxRowsPerPoll, pruneInterval, keyRange, readAtMicros, writeBatchSize, chunking);
  }

  /**
   * With polling, also removes the vectors and failure records of rows gone from the source every
   * {@code pruneInterval} (null: never).
   */
  public EmbedPendingRows withPruning(Duration pruneInterval) {
    if (pruneInterval != null && pruneInterval.getMillis() < 100) {
      throw new IllegalArgumentException("--pruneInterval must be >= 100 ms, but was " + pruneInterval);
    }
    return new EmbedPendingRows(database, tables, layout, fingerprint, embedding, partitions, minId, maxId,
        pollInterval, maxRowsPerPoll, pruneInterval, keyRange, readAtMicros, writeBatchSize, chunking);
  }

  /** Reads only the pending rows with ids in {@code range}: one wave of a run (see {@code RunController}). */
  public EmbedPendingRows withKeyRange(KeyRange range) {
    if (range == null) {
      throw new IllegalArgumentException("range must not be null (KeyRange.ALL: every id)");
    }
    return new EmbedPendingRows(database, tables, layout, fingerprint, embedding, partitions, minId, maxId,
        pollInterval, maxRowsPerPoll, pruneInterval, range, readAtMicros, writeBatchSize, chunking);
  }

  /**
   * Stamps every row read with this read time (microseconds since the epoch; 0: the read's own time): a wave tried
   * again keeps its first read time, so a failure written by both tries counts one attempt.
   */
  public EmbedPendingRows withReadTime(long readAtMicros) {
    if (readAtMicros < 0) {
      throw new IllegalArgumentException("readAtMicros must be >= 0, but was " + readAtMicros);
    }
    return new EmbedPendingRows(database, tables, layout, fingerprint, embedding, partitions, minId, maxId,
        pollInterval, maxRowsPerPoll, pruneInterval, keyRange, readAtMicros, writeBatchSize, chunking);
  }

  /**
   * How documents become what the model embeds ({@link ChunkTexts}): chunks, for a target of chunks, or the rows as
   * they are, measured. Required for a target of chunks; without it rows pass unmeasured.
   */
  public EmbedPendingRows withChunking(ChunkTexts chunking) {
    return new EmbedPendingRows(database, tables, layout, fingerprint, embedding, partitions, minId, maxId,
        pollInterval, maxRowsPerPoll, pruneInterval, keyRange, readAtMicros, writeBatchSize, chunking);
  }

  /** Rows per JDBC batch write. */
  public EmbedPendingRows withWriteBatchSize(int writeBatchSize) {
    if (writeBatchSize < 1) {
      throw new IllegalArgumentException("--writeBatchSize must be >= 1, but was " + writeBatchSize);
    }
    return new EmbedPendingRows(database, tables, layout, fingerprint, embedding, partitions, minId, maxId,
        pollInterval, maxRowsPerPoll, pruneInterval, keyRange, readAtMicros, writeBatchSize, chunking);
  }

  @Override
  public EmbedTexts.Result<RowKey> expand(PBegin input) {
    if (embedding == null) {
      throw new IllegalStateException("EmbedPendingRows needs withEmbedding(EmbedTexts.using(model))");
    }
    PCollection<KV<RowKey, String>> rows =
        pollInterval != null
            ? input.apply("Poll pending rows", new ContinuousSource(
                database, tables.firstPendingQuery(fingerprint, maxRowsPerPoll), pollInterval, inFlight())
                .withPruning(pruneInterval, new Pruning(tables, layout.idCastType())))
            : input.apply("Read pending rows", ArtifactSource
                .query(database, tables.pendingQuery(fingerprint, keyRange, layout.idCastType(), readAtMicros))
                .withPartitions(partitions, layout.numericId() ? minId : null, layout.numericId() ? maxId : null));
    if (tables.names().chunked() && chunking == null) {
      throw new IllegalStateException("a target of chunks needs withChunking(ChunkTexts.of(model, tokens, overlap))");
    }
    PCollection<KV<RowKey, String>> texts = chunking == null ? rows : rows.apply("Chunk", chunking);
    EmbedTexts.Result<RowKey> result = texts.apply("Embed", embedding);
    result.embedded().apply("Write vectors", tables.names().chunked()
        ? VectorWriter.chunkVectors(database, tables.upsertStatement(layout), fingerprint, writeBatchSize)
        : VectorWriter.vectors(database, tables.upsertStatement(layout), fingerprint, writeBatchSize));
    result.failed().apply("Record failures", VectorWriter.failures(
        database, tables.failureStatement(), fingerprint, tables.maxAttempts(), writeBatchSize));
    return result;
  }

  /** How long a row read by one poll counts as in flight: 20 poll intervals, at least 5 minutes. */
  private Duration inFlight() {
    Duration twenty = pollInterval.multipliedBy(20);
    return twenty.isLongerThan(Duration.standardMinutes(5)) ? twenty : Duration.standardMinutes(5);
  }

  @Override
  public void populateDisplayData(DisplayData.Builder builder) {
    super.populateDisplayData(builder);
    builder
        .add(DisplayData.item("source", tables.names().source().toString()))
        .add(DisplayData.item("target", tables.names().target().toString()))
        .add(DisplayData.item("model", fingerprint));
  }
}
