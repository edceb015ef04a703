package io.pgembed.pipeline;

import io.pgembed.db.Layout;
import io.pgembed.batch.BatchMode;
import io.pgembed.db.Database;
import io.pgembed.db.EmbeddingSchema;
import io.pgembed.db.EmbeddingTables;
import io.pgembed.db.Pruning;
import io.pgembed.db.StagedUpsert;
import io.pgembed.db.TableNames;
import io.pgembed.db.TargetShape;
import io.pgembed.db.TextSearchSql;
import io.pgembed.write.WriteMethod;
import io.pgembed.search.TextSearchIndex;
import io.pgembed.capture.ChangeCapture;
import io.pgembed.capture.ChangeLog;
import io.pgembed.capture.LogDrain;
import io.pgembed.db.Catalog;
import io.pgembed.db.RowKey;
import io.pgembed.embed.ChunkTexts;
import io.pgembed.metrics.JvmMemory;
import io.pgembed.model.Chunking;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import io.pgembed.embed.SharedModels;
import io.pgembed.model.EmbeddingModel;
import io.pgembed.model.ModelSpec;
import io.pgembed.model.TextChunker;
import io.pgembed.options.DatabaseOptions;
import io.pgembed.options.EmbeddingPipelineOptions;
import io.pgembed.options.FlinkSettings;
import io.pgembed.options.RunOptions;
import io.pgembed.options.TableOptions;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Everything checked before a run reads a row: the options, the names, the model (a wrong {@code --device} fails
 * here), the tables (created when missing; the vector column's type and dimension checked) and the pending rows.
 *
 * <pre>{@code
 * try (Preflight.Checked checked = Preflight.check(options, spec)) { ... }
 * }</pre>
 */
public final class Preflight {
  private static final Logger LOG = LoggerFactory.getLogger(Preflight.class);

  private Preflight() {}

  /**
   * A run that passed its checks: where it reads and writes, the model it runs ({@code spec}) and its fingerprint,
   * what is pending, how many vectors of rows gone from the source it removed ({@code pruned}), how documents
   * become what the model embeds ({@code documents}: chunks; null: the rows as they are, measured as they are batched),
   * and whether a complete batch
   * run ends with an HNSW index ({@code hnswIndex}; see {@link AfterRun}), and with --changeCapture=trigger the
   * change log it drains ({@code drain}; null when it scans: {@code tables} then reads every row). It holds the
   * client's reference to the
   * shared model ({@code checkedWith}: on a remote Flink cluster, a CPU copy), released by {@link #close()}.
   */
  public record Checked(
      Database database, EmbeddingTables tables, Layout layout, ModelSpec spec, EmbeddingModel model,
      long pending, Long minId, Long maxId, ModelSpec checkedWith, long pruned,
      PTransform<PCollection<KV<RowKey, String>>, PCollection<KV<RowKey, String>>> documents, boolean hnswIndex,
      LogDrain drain, WriteMethod writeMethod)
      implements AutoCloseable {

    public String fingerprint() {
      return model.fingerprint().toString();
    }

    @Override
    public void close() {
      SharedModels.release(checkedWith);
    }
  }

  /**
   * Checks {@code o} for a run of {@code spec}'s model; throws IllegalArgumentException naming a bad option. Every
   * check (options, model, tables) comes before the first change (DDL, prune), so a refused run changed nothing.
   */
  public static Checked check(EmbeddingPipelineOptions o, ModelSpec spec) throws SQLException {
    checkOptions(o);
    Database database = DatabaseOptions.database(o);
    // Names are checked before any SQL is built or run.
    EmbeddingTables tables =
        new EmbeddingTables(TableOptions.tableNames(o), o.getMaxAttempts(), o.getSamplePercent());
    ChangeLog changeLog = o.getChangeCapture() == ChangeCapture.TRIGGER ? ChangeLog.of(tables.names()) : null;
    // The client needs the model's fingerprint and dimension. Where the workers are other processes (a Flink
    // cluster), it loads the model on the CPU: the client (on Kubernetes, the JobManager) may have no GPU.
    ModelSpec checkedWith = FlinkSettings.runsOnRemoteCluster(o) ? spec.onCpu() : spec;
    // The database first: an unreachable server or a refused login fails in a second, before the model loads.
    long began = JvmMemory.sinceStartMillis();
    database.checkReachable();
    long reached = JvmMemory.sinceStartMillis();
    String tls = database.tlsWarning();
    if (tls != null) {
      LOG.warn(tls);
    }
    EmbeddingModel model = SharedModels.acquire(checkedWith);
    long loaded = JvmMemory.sinceStartMillis();
    try (Connection c = database.connect()) {
      var documents = documents(o, spec, model);
      EmbeddingSchema.Plan plan = EmbeddingSchema.plan(c, tables, model.dimension(), TableOptions.vectorType(o));
      if (o.getHnswIndex() && !plan.layout().pgvector()) {
        throw new IllegalArgumentException("--hnswIndex needs a pgvector target, but " + tables.names().target()
            + "." + tables.names().embeddingColumn() + " is real[]: use --vectorType=vector for a new target");
      }
      boolean installLog = changeLog != null && LogDrain.checkInstallable(c, changeLog);
      TextSearchSql fts = o.getTextSearchIndex() ? new TextSearchSql(tables.names(), o.getTextSearchConfig()) : null;
      boolean createTextIndex = fts != null && TextSearchIndex.check(c, fts);
      WriteMethod writeMethod = writeMethod(c, o.getWriteMethod(), tables.names());
      // Checked: from here on the run changes the database.
      Layout layout = plan.create(c);
      if (createTextIndex) {
        TextSearchIndex.create(c, fts);
      }
      String fingerprint = model.fingerprint().toString();
      if (installLog) {
        LogDrain.install(c, changeLog, layout);
      }
      LogDrain drain = changeLog == null ? null : LogDrain.begin(c, changeLog, tables, fingerprint);
      Pruning pruning = new Pruning(tables, layout.idCastType(), drain == null ? null : drain.pruneIds());
      tables = drain == null ? tables : drain.restrict(tables);
      long pruned = o.getPruneDeleted() ? pruneDeleted(database, tables, pruning) : 0;
      pruning.clearCompletedFailures(database);
      long pending;
      Long min = null;
      Long max = null;
      long countStart = System.nanoTime();
      try (Connection ro = database.connectReadOnly();
          Statement s = ro.createStatement();
          ResultSet rs = s.executeQuery(
              layout.numericId() ? tables.pendingRangeQuery(fingerprint) : tables.countPendingQuery(fingerprint))) {
        rs.next();
        pending = rs.getLong(1);
        if (layout.numericId() && pending > 0) {
          min = rs.getLong(2);
          max = rs.getLong(3);
        }
      }
      LOG.info("{} rows of {} are pending for {}", pending, tables.names().source(), fingerprint);
      long done = JvmMemory.sinceStartMillis();
      LOG.info("Start-up: preflight from {} to {} ms after the process started: database reached in {} ms, model"
          + " ready in {} ms, tables checked and pending rows counted in {} ms", began, done, reached - began,
          loaded - reached, done - loaded);
      warnIfPollsScan(o, (System.nanoTime() - countStart) / 1_000_000);
      return new Checked(database, tables, layout, spec, model, pending, min, max, checkedWith, pruned, documents,
          o.getHnswIndex() && !o.getContinuous(), drain, writeMethod);
    } catch (SQLException | RuntimeException e) {
      SharedModels.release(checkedWith);
      if (e instanceof SQLException sql && tables.names().sourceQuery() != null) {
        throw Catalog.badSourceQuery(sql).map(RuntimeException.class::cast).orElseThrow(() -> sql);
      }
      throw e;
    }
  }

  /**
   * {@code asked} resolved for this target and role: copy for a target of one vector per row where the role may
   * create temporary tables (auto), else statements. {@code --writeMethod=copy} where it cannot be is refused, naming
   * the reason and the fix.
   */
  static WriteMethod writeMethod(Connection c, WriteMethod asked, TableNames names) throws SQLException {
    if (asked == WriteMethod.STATEMENTS) {
      return asked;
    }
    if (names.shape() != TargetShape.ROWS) {
      if (asked == WriteMethod.COPY) {
        throw new IllegalArgumentException("--writeMethod=copy writes targets of one vector per row, but "
            + names.target() + " holds chunks: leave --writeMethod out (auto) or use --writeMethod=statements");
      }
      return WriteMethod.STATEMENTS;
    }
    if (StagedUpsert.mayStage(c)) {
      return WriteMethod.COPY;
    }
    String fix = "GRANT TEMPORARY ON DATABASE <this database> TO <this role>";
    if (asked == WriteMethod.COPY) {
      throw new IllegalArgumentException("--writeMethod=copy stages each batch in a temporary table, but this role"
          + " may not create temporary tables in this database: " + fix + ", or use --writeMethod=statements");
    }
    LOG.warn("This role may not create temporary tables in this database, so vectors are written with"
        + " statements (--writeMethod=statements), not with binary COPY, which is faster: {}", fix);
    return WriteMethod.STATEMENTS;
  }

  /**
   * In continuous scan mode each poll reads the whole source, as the pending count just did: when that took more
   * than a quarter of --pollInterval, says so once, with the time, and names --changeCapture=trigger.
   */
  private static void warnIfPollsScan(EmbeddingPipelineOptions o, long countMillis) {
    if (o.getContinuous() && o.getChangeCapture() == ChangeCapture.SCAN
        && countMillis * 4 > RunOptions.pollInterval(o).getMillis()) {
      LOG.warn("Each poll of --continuous scans the whole source: finding the pending rows took {} ms, more than a"
          + " quarter of --pollInterval={}, and costs the database that at every poll, changed rows or not."
          + " --changeCapture=trigger reads a change log that triggers keep, at the cost of the changes",
          countMillis, o.getPollInterval());
    }
  }

  /** The options' own checks: no database, no model. */
  static void checkOptions(EmbeddingPipelineOptions o) {
    requirePositive(o.getWriteBatchSize(), "--writeBatchSize");
    requirePositive(o.getBatchSize(), "--batchSize");
    if (o.getTimeout() < 0) {
      throw new IllegalArgumentException("--timeout must be >= 0 ms (0: none), but was " + o.getTimeout());
    }
    if (o.getMaxBatchTokens() == null || o.getMaxBatchTokens() < 0) {
      throw new IllegalArgumentException("--maxBatchTokens must be >= 0 (0: no cap), but was " + o.getMaxBatchTokens());
    }
    if (o.getBatchMode() == BatchMode.TOKENS && o.getMaxBatchTokens() < 1) {
      throw new IllegalArgumentException("--batchMode=tokens needs --maxBatchTokens > 0");
    }
    if (o.getMaxBufferingMs() < 1) {
      throw new IllegalArgumentException("--maxBufferingMs must be >= 1, but was " + o.getMaxBufferingMs());
    }
    if (o.getMaxInFlightRows() == null || o.getMaxInFlightRows() < 0) {
      throw new IllegalArgumentException(
          "--maxInFlightRows must be >= 0 (0: no bound), but was " + o.getMaxInFlightRows());
    }
    if (o.getReadPartitions() == null || o.getReadPartitions() < 0) {
      throw new IllegalArgumentException(
          "--readPartitions must be >= 0 (0: 2 x --workers), but was " + o.getReadPartitions());
    }
    if (o.getChunkOverlap() != null && o.getChunkOverlap() < -1) {
      throw new IllegalArgumentException(
          "--chunkOverlap must be >= 0 (or -1: about 10% of --chunkTokens), but was " + o.getChunkOverlap());
    }
    if (o.getChunkTokens() != null && o.getChunkTokens() < 0) {
      throw new IllegalArgumentException(
          "--chunkTokens must be >= 0 (0: the model's maximum length), but was " + o.getChunkTokens());
    }
    if (o.getContinuous()) {
      RunOptions.pollInterval(o); // a bad duration is named before anything runs
      RunOptions.pruneInterval(o);
      if (o.getHnswIndex()) {
        LOG.warn("--hnswIndex is built after a complete batch run, and a continuous run never completes: no index"
            + " is built. Run once without --continuous (it builds the index, then later upserts keep it current)");
      }
    }
    TableOptions.vectorType(o); // a bad --vectorType is named before anything connects
  }

  /**
   * How documents reach the model: with --chunking=tokens, chunks of the model's maximum length and about 10% of it
   * overlapping unless given, checked against the model's tokenizer; without, null: the rows as they are, which
   * the embed step measures from the tokenization that picks their length bucket (one tokenization, no step).
   */
  private static PTransform<PCollection<KV<RowKey, String>>, PCollection<KV<RowKey, String>>> documents(
      EmbeddingPipelineOptions o, ModelSpec spec, EmbeddingModel model) {
    if (o.getChunking() == Chunking.NONE) {
      return null; // the rows as they are, measured where they are batched (EmbedTexts.withMeasuring)
    }
    if (o.getCanaryModel() != null) {
      throw new IllegalArgumentException("--canaryModel with --chunking=tokens is not supported yet: run the"
          + " candidate as its own job into another --targetTable");
    }
    int max = model.tokenizer().maxLength();
    int tokens = o.getChunkTokens() == null || o.getChunkTokens() == 0 ? max : o.getChunkTokens();
    if (tokens < 0 || tokens > max) {
      throw new IllegalArgumentException("--chunkTokens=" + tokens + " must be 1 to the model's maximum length, "
          + max + " (0: that); chunks longer would be truncated");
    }
    int overlap = o.getChunkOverlap() == null || o.getChunkOverlap() < 0 ? Math.round(tokens * 0.1f)
        : o.getChunkOverlap();
    TextChunker.check(model.tokenizer(), tokens, overlap);
    return ChunkTexts.of(spec, tokens, overlap, RowKey::chunk);
  }

  /** Removes the vectors and failure records of rows gone from the source; returns the vectors removed. */
  private static long pruneDeleted(Database database, EmbeddingTables tables, Pruning pruning) throws SQLException {
    long t0 = System.nanoTime();
    long[] removed = pruning.pruneDeleted(database);
    if (removed[0] + removed[1] > 0) {
      LOG.info("Removed {} vectors and {} failure records of rows no longer in {} ({} ms; --pruneDeleted=false"
          + " keeps them)", removed[0], removed[1], tables.names().source(), (System.nanoTime() - t0) / 1_000_000);
    }
    return removed[0];
  }

  private static void requirePositive(Integer v, String option) {
    if (v == null || v < 1) {
      throw new IllegalArgumentException(option + " must be >= 1, but was " + v);
    }
  }
}
