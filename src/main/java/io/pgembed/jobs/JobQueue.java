package io.pgembed.jobs;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgembed.db.Database;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The job queue and status table in PostgreSQL ({@code embedding_jobs}). Workers claim jobs with
 * {@code FOR UPDATE SKIP LOCKED}, hold them under a lease they renew, and finish them; a job whose lease expired
 * (its worker died) is claimable again, and counts that as an attempt. Every state change is guarded by the worker
 * name and status, so a worker that lost its job cannot overwrite the new owner's result.
 *
 * <pre>{@code
 * JobQueue q = new JobQueue(database);
 * long id = q.enqueue("embeddings", List.of("--sourceTable=artifacts"), 3);
 * Optional<JobQueue.Claimed> job = q.claim("embeddings", "worker-1", Duration.ofSeconds(30));
 * }</pre>
 */
public final class JobQueue {
  public static final String TABLE = "embedding_jobs";
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Database database;

  /** A job a worker now owns. */
  public record Claimed(long id, List<String> args, int attempts, int maxAttempts) {}

  /** A row of {@code status}. */
  public record Job(
      long id, String queue, String status, int attempts, int maxAttempts, Timestamp createdAt, Timestamp startedAt,
      Timestamp finishedAt, String worker, String metrics, String error) {}

  public JobQueue(Database database) throws SQLException {
    this.database = database;
    try (Connection c = database.connect();
        Statement s = c.createStatement()) {
      s.execute(
          "CREATE TABLE IF NOT EXISTS " + TABLE + " ("
              + "id bigserial PRIMARY KEY, "
              + "queue text NOT NULL, "
              + "status text NOT NULL CHECK (status IN ('queued','running','succeeded','failed','cancelled')), "
              + "params jsonb NOT NULL, "
              + "attempts integer NOT NULL DEFAULT 0, "
              + "max_attempts integer NOT NULL CHECK (max_attempts > 0), "
              + "run_after timestamptz NOT NULL DEFAULT now(), "
              + "lease_until timestamptz, "
              + "created_at timestamptz NOT NULL DEFAULT now(), "
              + "started_at timestamptz, "
              + "finished_at timestamptz, "
              + "worker text, "
              + "metrics jsonb, "
              + "error text)");
      s.execute("CREATE INDEX IF NOT EXISTS embedding_jobs_claim ON " + TABLE + " (queue, status, run_after)");
    }
  }

  /** Records a job whose parameters are pipeline arguments ({@code --name=value}); returns its id. */
  public long enqueue(String queue, List<String> args, int maxAttempts) throws SQLException {
    return insert(queue, args, maxAttempts, null, "queued", null);
  }

  /**
   * Records a job with a decision beside its arguments ({@code params.canary}: a promote's gate report); returns its
   * id.
   */
  public long enqueue(String queue, List<String> args, int maxAttempts, Map<String, Object> decision)
      throws SQLException {
    return insert(queue, args, maxAttempts, decision, "queued", null);
  }

  /**
   * Records a job that was refused before it ran (a promote the canary gate said no to): status cancelled, with
   * {@code error} saying why and the decision in {@code params.canary}. Returns its id.
   */
  public long recordRefused(String queue, List<String> args, Map<String, Object> decision, String error)
      throws SQLException {
    return insert(queue, args, 1, decision, "cancelled", error);
  }

  private long insert(String queue, List<String> args, int maxAttempts, Map<String, Object> decision, String status,
      String error) throws SQLException {
    for (String a : args) {
      if (a.toLowerCase().startsWith("--password=")) {
        throw new IllegalArgumentException("a job's parameters never hold a password: use PGPASSWORD or ~/.pgpass on the workers");
      }
    }
    if (maxAttempts < 1) {
      throw new IllegalArgumentException("max attempts must be >= 1, but was " + maxAttempts);
    }
    try (Connection c = database.connect();
        PreparedStatement ps =
            c.prepareStatement(
                "INSERT INTO " + TABLE + " (queue, status, params, max_attempts, error, finished_at)"
                    + " VALUES (?, ?, ?::jsonb, ?, ?, CASE WHEN ? = 'cancelled' THEN now() END) RETURNING id")) {
      ps.setString(1, queue);
      ps.setString(2, status);
      Map<String, Object> params = new java.util.LinkedHashMap<>();
      params.put("args", args);
      if (decision != null) {
        params.put("canary", decision);
      }
      ps.setString(3, JSON.writeValueAsString(params));
      ps.setInt(4, maxAttempts);
      ps.setString(5, error);
      ps.setString(6, status);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Takes the oldest runnable job of the queue, or an expired one, for {@code lease}. */
  public Optional<Claimed> claim(String queue, String worker, java.time.Duration lease) throws SQLException {
    String sql =
        "UPDATE " + TABLE + " SET status = 'running', attempts = attempts + 1, started_at = now(), finished_at = NULL,"
            + " worker = ?, lease_until = now() + ? * interval '1 millisecond'"
            + " WHERE id = (SELECT id FROM " + TABLE + " WHERE queue = ?"
            + " AND ((status = 'queued' AND run_after <= now()) OR (status = 'running' AND lease_until < now()))"
            + " ORDER BY run_after, id LIMIT 1 FOR UPDATE SKIP LOCKED)"
            + " RETURNING id, params, attempts, max_attempts";
    try (Connection c = database.connect();
        PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setString(1, worker);
      ps.setLong(2, lease.toMillis());
      ps.setString(3, queue);
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          return Optional.empty();
        }
        List<String> args = new ArrayList<>();
        JSON.readTree(rs.getString(2)).path("args").forEach(n -> args.add(n.asText()));
        return Optional.of(new Claimed(rs.getLong(1), args, rs.getInt(3), rs.getInt(4)));
      }
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("job parameters are not valid JSON", e);
    }
  }

  /** Extends the lease; false when the job is no longer this worker's (cancelled, or reclaimed after expiry). */
  public boolean heartbeat(long id, String worker, java.time.Duration lease) throws SQLException {
    return update(
        "UPDATE " + TABLE + " SET lease_until = now() + ? * interval '1 millisecond'"
            + " WHERE id = ? AND worker = ? AND status = 'running'",
        lease.toMillis(), id, worker) == 1;
  }

  public boolean succeed(long id, String worker, String metricsJson) throws SQLException {
    return update(
        "UPDATE " + TABLE + " SET status = 'succeeded', finished_at = now(), lease_until = NULL, metrics = ?::jsonb,"
            + " error = NULL WHERE id = ? AND worker = ? AND status = 'running'",
        metricsJson, id, worker) == 1;
  }

  /**
   * A failed attempt: back to the queue after {@code retryDelay} while attempts remain, else {@code failed}.
   * Returns the new status, or null if the job was no longer this worker's.
   */
  public String fail(long id, String worker, String error, String metricsJson, java.time.Duration retryDelay)
      throws SQLException {
    try (Connection c = database.connect();
        PreparedStatement ps =
            c.prepareStatement(
                "UPDATE " + TABLE + " SET"
                    + " status = CASE WHEN attempts < max_attempts THEN 'queued' ELSE 'failed' END,"
                    + " run_after = now() + ? * interval '1 millisecond',"
                    + " finished_at = CASE WHEN attempts < max_attempts THEN NULL ELSE now() END,"
                    + " lease_until = NULL, error = ?, metrics = ?::jsonb"
                    + " WHERE id = ? AND worker = ? AND status = 'running' RETURNING status")) {
      ps.setLong(1, retryDelay.toMillis());
      ps.setString(2, error);
      ps.setString(3, metricsJson);
      ps.setLong(4, id);
      ps.setString(5, worker);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getString(1) : null;
      }
    }
  }

  /** Cancels a queued or running job; a running one is stopped by its worker at the next lease renewal. */
  public boolean cancel(long id) throws SQLException {
    return update(
        "UPDATE " + TABLE + " SET status = 'cancelled', finished_at = now(), lease_until = NULL"
            + " WHERE id = ? AND status IN ('queued', 'running')",
        id) == 1;
  }

  public List<Job> recent(int limit) throws SQLException {
    List<Job> out = new ArrayList<>();
    try (Connection c = database.connect();
        PreparedStatement ps =
            c.prepareStatement(
                "SELECT id, queue, status, attempts, max_attempts, created_at, started_at, finished_at, worker,"
                    + " metrics::text, error FROM " + TABLE + " ORDER BY id DESC LIMIT ?")) {
      ps.setInt(1, limit);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(
              new Job(
                  rs.getLong(1), rs.getString(2), rs.getString(3), rs.getInt(4), rs.getInt(5), rs.getTimestamp(6),
                  rs.getTimestamp(7), rs.getTimestamp(8), rs.getString(9), rs.getString(10), rs.getString(11)));
        }
      }
    }
    return out;
  }

  /** Jobs per status for a queue (every status present, zero when none). */
  public Map<String, Long> countsByStatus(String queue) throws SQLException {
    Map<String, Long> out = new LinkedHashMap<>();
    for (String s : new String[] {"queued", "running", "succeeded", "failed", "cancelled"}) {
      out.put(s, 0L);
    }
    try (Connection c = database.connect();
        PreparedStatement ps =
            c.prepareStatement("SELECT status, count(*) FROM " + TABLE + " WHERE queue = ? GROUP BY status")) {
      ps.setString(1, queue);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.put(rs.getString(1), rs.getLong(2));
        }
      }
    }
    return out;
  }

  private int update(String sql, Object... params) throws SQLException {
    try (Connection c = database.connect();
        PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 0; i < params.length; i++) {
        ps.setObject(i + 1, params[i]);
      }
      return ps.executeUpdate();
    }
  }
}
