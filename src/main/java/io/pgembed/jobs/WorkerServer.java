package io.pgembed.jobs;

import com.sun.net.httpserver.HttpExchange;
import io.pgembed.capture.ChangeLog;
import io.pgembed.capture.ChangeLogs;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.sql.Connection;
import java.sql.Statement;
import java.util.Map;

/**
 * The worker's HTTP endpoints, on the JDK's own server: {@code GET /health} (200 ready or 503 not ready, with the
 * reason: database reachable, model loaded) and {@code GET /metrics} (Prometheus text format).
 */
public final class WorkerServer implements AutoCloseable {
  private final HttpServer server;
  private final JobWorker worker;

  public WorkerServer(JobWorker worker, int port) throws IOException {
    this.worker = worker;
    this.server = HttpServer.create(new InetSocketAddress(port), 0);
    server.createContext("/health", this::health);
    server.createContext("/metrics", this::metrics);
    server.start();
  }

  public int port() {
    return server.getAddress().getPort();
  }

  private void health(HttpExchange ex) throws IOException {
    String database;
    boolean dbOk;
    try (Connection c = worker.database().connect();
        Statement s = c.createStatement()) {
      s.setQueryTimeout(5);
      s.execute("SELECT 1");
      dbOk = true;
      database = "reachable";
    } catch (Exception e) {
      dbOk = false;
      database = "unreachable (" + e.getClass().getSimpleName() + ")";
    }
    boolean model = worker.modelLoaded();
    boolean ready = dbOk && model;
    String body =
        "{\"status\":\"" + (ready ? "ready" : "not ready") + "\",\"database\":\"" + database + "\",\"model\":\""
            + (model ? "loaded" : "not loaded") + "\"}\n";
    send(ex, ready ? 200 : 503, "application/json", body);
  }

  /** The depth of every change log in the worker's database (--changeCapture=trigger): entries, oldest age. */
  private void changeLogs(StringBuilder sb) {
    Map<String, ChangeLog.Depth> depths;
    try (java.sql.Connection c = worker.database().connect()) {
      depths = ChangeLogs.depths(c);
    } catch (java.sql.SQLException e) {
      return; // reported above as unreachable
    }
    if (depths.isEmpty()) {
      return;
    }
    sb.append("# HELP pgembed_change_log_entries Entries queued in a change log (--changeCapture=trigger).\n"
        + "# TYPE pgembed_change_log_entries gauge\n");
    depths.forEach((log, d) -> sb.append("pgembed_change_log_entries{log=\"").append(log).append("\"} ")
        .append(d.entries()).append('\n'));
    sb.append("# HELP pgembed_change_log_oldest_seconds Age of a change log's oldest entry.\n"
        + "# TYPE pgembed_change_log_oldest_seconds gauge\n");
    depths.forEach((log, d) -> sb.append("pgembed_change_log_oldest_seconds{log=\"").append(log).append("\"} ")
        .append(d.oldestSeconds()).append('\n'));
  }

  private void metrics(HttpExchange ex) throws IOException {
    String queue = worker.options().getQueue();
    StringBuilder sb = new StringBuilder();
    sb.append("# HELP pgembed_jobs Jobs of the queue by status.\n# TYPE pgembed_jobs gauge\n");
    long queued = -1;
    try {
      for (Map.Entry<String, Long> e : worker.queue().countsByStatus(queue).entrySet()) {
        sb.append("pgembed_jobs{queue=\"").append(queue).append("\",status=\"").append(e.getKey()).append("\"} ")
            .append(e.getValue()).append('\n');
        if (e.getKey().equals("queued")) {
          queued = e.getValue();
        }
      }
    } catch (java.sql.SQLException e) {
      sb.append("# database unreachable: ").append(e.getClass().getSimpleName()).append('\n');
    }
    JobWorker.WorkerStats s = worker.stats;
    gauge(sb, "pgembed_queue_depth", "Jobs waiting in the queue.", queue, queued);
    counter(sb, "pgembed_worker_jobs_succeeded_total", "Jobs this worker finished.", queue, s.jobsSucceeded.get());
    counter(sb, "pgembed_worker_jobs_failed_total", "Jobs this worker failed for good.", queue, s.jobsFailed.get());
    counter(sb, "pgembed_rows_embedded_total", "Rows this worker embedded.", queue, s.rowsEmbedded.get());
    counter(sb, "pgembed_rows_failed_total", "Rows this worker could not embed.", queue, s.rowsFailed.get());
    gauge(sb, "pgembed_last_job_rows_per_second", "Throughput of the last job.", queue, s.lastJobRowsPerSecond);
    gauge(sb, "pgembed_last_job_latency_seconds", "Wall time of the last job.", queue, s.lastJobSeconds);
    changeLogs(sb);
    send(ex, 200, "text/plain; version=0.0.4; charset=utf-8", sb.toString());
  }

  private static void gauge(StringBuilder sb, String name, String help, String queue, double v) {
    sb.append("# HELP ").append(name).append(' ').append(help).append("\n# TYPE ").append(name).append(" gauge\n")
        .append(name).append("{queue=\"").append(queue).append("\"} ").append(v).append('\n');
  }

  private static void counter(StringBuilder sb, String name, String help, String queue, long v) {
    sb.append("# HELP ").append(name).append(' ').append(help).append("\n# TYPE ").append(name).append(" counter\n")
        .append(name).append("{queue=\"").append(queue).append("\"} ").append(v).append('\n');
  }

  private static void send(HttpExchange ex, int code, String type, String body) throws IOException {
    io.pgembed.serve.EmbeddingServer.send(ex, code, type, body);
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
