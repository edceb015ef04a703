package io.pgembed.commands;

import io.pgembed.jobs.JobArguments;
import io.pgembed.jobs.JobQueue;
import io.pgembed.jobs.JobWorker;
import io.pgembed.jobs.WorkerServer;
import io.pgembed.options.DatabaseOptions;
import io.pgembed.options.EnqueueOptions;
import io.pgembed.options.OptionSources;
import io.pgembed.options.QueueAdminOptions;
import io.pgembed.options.QueueOptions;
import io.pgembed.options.WorkerOptions;
import io.pgembed.pipeline.ExitCode;
import java.util.List;
import java.util.Map;

/** {@code enqueue}, {@code status}, {@code cancel} and {@code worker}. */
public final class QueueCommands {
  private QueueCommands() {}

  /**
   * Records a job: its parameters are the given pipeline options, without the queue's own and without the
   * connection (the worker brings its own), checked as a worker will check them.
   */
  public static long enqueue(String[] args, EnqueueOptions o) throws Exception {
    List<String> params = JobArguments.fromCommandLine(List.of(args));
    if (params.stream().noneMatch(a -> a.startsWith("--sourceTable="))) {
      throw new BadInputException("enqueue needs the job's --sourceTable (and any other pipeline options)");
    }
    long id = queue(o).enqueue(o.getQueue(), params, 1 + o.getRetries());
    System.out.println("enqueued job " + id + " on queue '" + o.getQueue() + "': " + params);
    if (params.stream().anyMatch(a -> a.startsWith("--" + JobArguments.SOURCE_QUERY + "="))) {
      System.out.println("note: a worker runs this job's --sourceQuery only when started with"
          + " --allowJobSourceQuery=true; others fail it with that reason");
    }
    return id;
  }

  public static void status(QueueAdminOptions o) throws Exception {
    JobQueue q = queue(o);
    System.out.printf("%6s %-10s %-10s %8s %-23s %-23s %-20s %s%n",
        "id", "queue", "status", "attempts", "started", "finished", "worker", "rows / error");
    for (JobQueue.Job j : q.recent(20)) {
      System.out.printf("%6d %-10s %-10s %4d/%-3d %-23s %-23s %-20s %s%n", j.id(), j.queue(), j.status(), j.attempts(),
          j.maxAttempts(), j.startedAt(), j.finishedAt(), j.worker() == null ? "" : j.worker(),
          j.error() != null ? j.error() : j.metrics() == null ? "" : j.metrics());
    }
    Map<String, Long> counts = q.countsByStatus(o.getQueue());
    System.out.printf("queue '%s': %d queued, %d running%n", o.getQueue(), counts.get("queued"), counts.get("running"));
  }

  public static int cancel(QueueAdminOptions o) throws Exception {
    if (o.getJob() == null) {
      throw new BadInputException("cancel needs --job=ID (see 'status')");
    }
    boolean done = queue(o).cancel(o.getJob());
    System.out.println(done ? "cancelled job " + o.getJob() : "job " + o.getJob() + " is not queued or running");
    return (done ? ExitCode.OK : ExitCode.BAD_INPUT).code();
  }

  public static int worker(WorkerOptions o, Map<String, String> env) throws Exception {
    try (JobWorker worker = new JobWorker(o, env);
        WorkerServer server = o.getPort() > 0 ? new WorkerServer(worker, o.getPort()) : null) {
      if (server != null) {
        System.out.println("worker " + worker.name() + ": /health and /metrics on port " + server.port());
      }
      Runtime.getRuntime().addShutdownHook(new Thread(worker::stop));
      worker.run();
    }
    return ExitCode.OK.code();
  }

  private static JobQueue queue(DatabaseOptions o) throws java.sql.SQLException {
    return new JobQueue(DatabaseOptions.database(o));
  }
}
