package io.pgembed.bench;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * A benchmark's load generator: HTTP/1.1 POSTs on one keep-alive loopback connection, the response read by its
 * Content-Length and checked for 200. As little client CPU as possible, so that a benchmark on two cores measures
 * the server; not a client for applications (the tests use the official OpenAI client).
 */
final class LoadClient implements AutoCloseable {
  private final Socket socket;
  private final OutputStream out;
  private final InputStream in;

  LoadClient(int port) throws IOException {
    socket = new Socket();
    socket.setTcpNoDelay(true);
    socket.connect(new InetSocketAddress("127.0.0.1", port));
    out = socket.getOutputStream();
    in = new BufferedInputStream(socket.getInputStream(), 65536);
  }

  /** Sends the body, reads the whole answer; throws unless it is a 200. */
  void post(String path, String json) throws IOException {
    byte[] body = json.getBytes(StandardCharsets.UTF_8);
    byte[] head = ("POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: "
        + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
    byte[] request = new byte[head.length + body.length];
    System.arraycopy(head, 0, request, 0, head.length);
    System.arraycopy(body, 0, request, head.length, body.length);
    out.write(request);
    out.flush();
    String status = line();
    int length = -1;
    for (String h = line(); !h.isEmpty(); h = line()) {
      if (h.regionMatches(true, 0, "Content-Length:", 0, 15)) {
        length = Integer.parseInt(h.substring(15).strip());
      }
    }
    if (length < 0) {
      throw new IOException("no Content-Length in the answer to " + path + " (" + status + ")");
    }
    byte[] answer = in.readNBytes(length);
    if (!status.startsWith("HTTP/1.1 200")) {
      throw new IOException(status + ": " + new String(answer, StandardCharsets.UTF_8));
    }
  }

  private String line() throws IOException {
    StringBuilder sb = new StringBuilder();
    for (int c = in.read(); c != '\n'; c = in.read()) {
      if (c < 0) {
        throw new IOException("the server closed the connection");
      }
      if (c != '\r') {
        sb.append((char) c);
      }
    }
    return sb.toString();
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
