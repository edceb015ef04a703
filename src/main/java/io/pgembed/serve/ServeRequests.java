package io.pgembed.serve;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;

/**
 * The request bodies {@code serve} reads, checked field by field: a malformed body or a field of the wrong type is a
 * 400 naming the field and what it must be; too many inputs is a 413.
 */
final class ServeRequests {
  private static final ObjectMapper JSON = new ObjectMapper();

  private ServeRequests() {}

  /** OpenAI's {@code POST /v1/embeddings}. */
  record OpenAi(List<String> input, String model, boolean base64, Integer dimensions) {}

  /** TEI's {@code POST /embed}. */
  record Tei(List<String> inputs, boolean truncate, boolean normalize) {}

  /** {@code POST /search}: the query, and hybrid search's mode and fusion (vector mode ignores the latter). */
  record Search(String query, io.pgembed.search.SearchMode mode, io.pgembed.db.TextSearchSql.Fusion fusion) {}

  static OpenAi openAi(byte[] body, int maxInputs) {
    JsonNode n = object(body);
    List<String> input = texts(n, "input", maxInputs);
    JsonNode model = n.get("model");
    if (model == null || !model.isTextual()) {
      throw ApiError.badRequest("model", "model is required: a string naming the served model (GET /info: model_id)");
    }
    String format = "float";
    JsonNode f = n.get("encoding_format");
    if (f != null && !f.isNull()) {
      if (!f.isTextual() || !(f.asText().equals("float") || f.asText().equals("base64"))) {
        throw ApiError.badRequest("encoding_format", "encoding_format must be \"float\" or \"base64\", but was " + f);
      }
      format = f.asText();
    }
    JsonNode d = n.get("dimensions");
    if (d != null && !d.isNull() && !d.isInt()) {
      throw ApiError.badRequest("dimensions", "dimensions must be an integer, but was " + d);
    }
    return new OpenAi(input, model.asText(), format.equals("base64"), d == null || d.isNull() ? null : d.asInt());
  }

  static Tei tei(byte[] body, int maxInputs) {
    JsonNode n = object(body);
    return new Tei(texts(n, "inputs", maxInputs), bool(n, "truncate", false), bool(n, "normalize", true));
  }

  static Search search(byte[] body) {
    JsonNode n = object(body);
    JsonNode q = n.get("query");
    if (q == null || !q.isTextual() || q.asText().isBlank()) {
      throw ApiError.badRequest("query", "query is required: a non-empty string, e.g. {\"query\": \"how are"
          + " passwords stored\", \"top\": 5}");
    }
    JsonNode t = n.get("top");
    int top = 5;
    if (t != null && !t.isNull()) {
      if (!t.isInt() || t.asInt() < 1 || t.asInt() > 1000) {
        throw ApiError.badRequest("top", "top must be an integer from 1 to 1000, but was " + t);
      }
      top = t.asInt();
    }
    io.pgembed.search.SearchMode mode = io.pgembed.search.SearchMode.VECTOR;
    JsonNode m = n.get("mode");
    if (m != null && !m.isNull()) {
      try {
        mode = io.pgembed.search.SearchMode.parse(m.isTextual() ? m.asText() : m.toString());
      } catch (IllegalArgumentException e) {
        throw ApiError.badRequest("mode", "mode must be \"vector\" or \"hybrid\", but was " + m);
      }
    }
    int k = integer(n, "rrf_k", 60, 0, 100_000);
    int candidates = integer(n, "candidates", 50, 1, 1000);
    return new Search(q.asText(), mode, new io.pgembed.db.TextSearchSql.Fusion(top, candidates, k,
        weight(n, "vector_weight"), weight(n, "text_weight")));
  }

  private static int integer(JsonNode n, String field, int fallback, int min, int max) {
    JsonNode v = n.get(field);
    if (v == null || v.isNull()) {
      return fallback;
    }
    if (!v.isInt() || v.asInt() < min || v.asInt() > max) {
      throw ApiError.badRequest(field, field + " must be an integer from " + min + " to " + max + ", but was " + v);
    }
    return v.asInt();
  }

  private static double weight(JsonNode n, String field) {
    JsonNode v = n.get(field);
    if (v == null || v.isNull()) {
      return 1.0;
    }
    if (!v.isNumber() || v.asDouble() < 0) {
      throw ApiError.badRequest(field, field + " must be a number >= 0, but was " + v);
    }
    return v.asDouble();
  }

  private static JsonNode object(byte[] body) {
    JsonNode n;
    try {
      n = JSON.readTree(body);
    } catch (JsonProcessingException e) {
      throw ApiError.badRequest(null, "the body is not valid JSON: " + e.getOriginalMessage());
    } catch (java.io.IOException e) {
      throw ApiError.badRequest(null, "the body could not be read: " + e.getMessage());
    }
    if (n == null || !n.isObject()) {
      throw ApiError.badRequest(null, "the body must be a JSON object, but was " + (n == null ? "empty" : n.getNodeType()));
    }
    return n;
  }

  /** A string or an array of strings, none empty, at most {@code max}. */
  private static List<String> texts(JsonNode n, String field, int max) {
    JsonNode v = n.get(field);
    String shape = field + " must be a string or an array of strings";
    if (v == null || v.isNull()) {
      throw ApiError.badRequest(field, field + " is required: " + shape);
    }
    List<String> out = new ArrayList<>();
    if (v.isTextual()) {
      out.add(v.asText());
    } else if (v.isArray()) {
      if (v.size() > max) {
        throw new ApiError(413, "invalid_request_error", field, field + " has " + v.size() + " items, more than the"
            + " " + max + " one request may carry (--maxInputs): split it into several requests");
      }
      for (int i = 0; i < v.size(); i++) {
        JsonNode item = v.get(i);
        if (!item.isTextual()) {
          throw ApiError.badRequest(field, shape + ", but " + field + "[" + i + "] is " + item.getNodeType()
              + (item.isArray() || item.isNumber() ? " (token ids are not accepted: send the text)" : ""));
        }
        out.add(item.asText());
      }
    } else {
      throw ApiError.badRequest(field, shape + ", but was " + v.getNodeType());
    }
    if (out.isEmpty()) {
      throw ApiError.badRequest(field, field + " is empty: send at least one text");
    }
    for (int i = 0; i < out.size(); i++) {
      if (out.get(i).isEmpty()) {
        throw ApiError.badRequest(field, (v.isArray() ? field + "[" + i + "]" : field) + " is an empty string: every"
            + " input must have text");
      }
    }
    return out;
  }

  private static boolean bool(JsonNode n, String field, boolean fallback) {
    JsonNode v = n.get(field);
    if (v == null || v.isNull()) {
      return fallback;
    }
    if (!v.isBoolean()) {
      throw ApiError.badRequest(field, field + " must be true or false, but was " + v);
    }
    return v.asBoolean();
  }
}
