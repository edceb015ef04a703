package io.pgembed.options;

import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;

/**
 * Options of {@code serve}: the model spec (as for {@code run}: the served vectors are the stored ones' model), where
 * to listen, the limits, and optionally the database and tables that {@code POST /search} reads.
 */
public interface ServeOptions extends DatabaseOptions, TableOptions, ModelOptions {
  @Description("The port to listen on (0: any free one, printed at start).")
  @Default.Integer(8080)
  Integer getPort();

  void setPort(Integer value);

  @Description("The address to listen on. The default, the loopback, is reachable only from this machine; bind"
      + " wider only with --apiKeyFile.")
  @Default.String("127.0.0.1")
  String getBind();

  void setBind(String value);

  @Description("A file holding the API key: requests must send 'Authorization: Bearer <key>' (GET /health and"
      + " /metrics excepted). Without it, no key is asked for.")
  String getApiKeyFile();

  void setApiKeyFile(String value);

  @Description("The most inputs one request may carry (413 beyond it).")
  @Default.Integer(256)
  Integer getMaxInputs();

  void setMaxInputs(Integer value);

  @Description("The largest request body in bytes (413 beyond it).")
  @Default.Integer(2 * 1024 * 1024)
  Integer getMaxBodyBytes();

  void setMaxBodyBytes(Integer value);

  @Description("The most inputs waiting for the model; a request that would exceed it gets 429 with Retry-After.")
  @Default.Integer(4096)
  Integer getMaxQueuedInputs();

  void setMaxQueuedInputs(Integer value);

  @Description("How long, in milliseconds, a forward pass waits for company while requests are arriving.")
  @Default.Integer(2)
  Integer getMaxWaitMs();

  void setMaxWaitMs(Integer value);

  @Description("Threads answering HTTP requests (each waits while its inputs are embedded).")
  @Default.Integer(128)
  Integer getHttpThreads();

  void setHttpThreads(Integer value);

  @Description("Seconds a stop (SIGTERM) waits for the requests in flight.")
  @Default.Integer(30)
  Integer getDrainSeconds();

  void setDrainSeconds(Integer value);
}
