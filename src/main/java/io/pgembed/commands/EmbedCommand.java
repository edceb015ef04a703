package io.pgembed.commands;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgembed.model.EmbeddingModel;
import io.pgembed.model.EmbeddingPredictor;
import io.pgembed.model.LengthSortedBatches;
import io.pgembed.model.Tokenized;
import io.pgembed.options.EmbedFileOptions;
import io.pgembed.options.ModelOptions;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code embed --input=IN.jsonl --output=OUT.jsonl}: embeds {@code {"id": ..., "text": ...}} lines with no database
 * and writes {@code {"id": ..., "embedding": [...]}} lines in the same order.
 *
 * <p>Lines are read in windows; inside a window the texts are embedded in order of token length, so that batches
 * carry little padding, and written back in input order. The output appears only when every line succeeded (it is
 * written to a temporary file and moved into place): a bad line stops the run with an error naming its line
 * number, and no partial output is left behind.
 */
public final class EmbedCommand {
  private static final Logger LOG = LoggerFactory.getLogger(EmbedCommand.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  /** What a run did. */
  public record Summary(long texts, long truncated, long realTokens, long paddedTokens, int batches, double seconds) {
    public double textsPerSecond() {
      return seconds > 0 ? texts / seconds : 0;
    }

    public double paddingEfficiency() {
      return paddedTokens == 0 ? 1 : (double) realTokens / paddedTokens;
    }
  }

  private EmbedCommand() {}

  public static Summary run(EmbedFileOptions options) throws IOException {
    if (options.getWindow() < 1) {
      throw new IllegalArgumentException("--window must be >= 1, but was " + options.getWindow());
    }
    Path input = Path.of(options.getInput());
    Path output = Path.of(options.getOutput());
    if (!Files.isReadable(input)) {
      throw new BadInputException("--input=" + input + " does not exist or cannot be read");
    }
    // Load the model first: a wrong --device fails before any line is read.
    try (EmbeddingModel model = ModelOptions.loaderOf(options).load();
        EmbeddingPredictor predictor = model.newPredictor()) {
      return run(predictor, input, output, options.getBatchSize(), options.getMaxBatchTokens(), options.getWindow());
    }
  }

  public static Summary run(
      EmbeddingPredictor predictor, Path input, Path output, int batchSize, int maxBatchTokens, int window)
      throws IOException {
    long start = System.nanoTime();
    Path parent = output.toAbsolutePath().getParent();
    Files.createDirectories(parent);
    Path tmp = Files.createTempFile(parent, output.getFileName().toString(), ".partial");
    long texts = 0;
    long truncated = 0;
    long real = 0;
    long padded = 0;
    int batches = 0;
    boolean done = false;
    try (BufferedReader in = Files.newBufferedReader(input, StandardCharsets.UTF_8);
        OutputStream out = Files.newOutputStream(tmp);
        JsonGenerator gen = JSON.getFactory().createGenerator(out)) {
      long lineNo = 0;
      List<JsonNode> ids = new ArrayList<>(window);
      List<String> batchTexts = new ArrayList<>(window);
      String line;
      while (true) {
        line = in.readLine();
        if (line != null) {
          lineNo++;
          if (line.isBlank()) {
            throw new BadInputException(
                input + " line " + lineNo + " is blank: every line must be {\"id\": ..., \"text\": \"...\"};"
                    + " remove the blank line");
          }
          JsonNode[] parsed = parse(line, input, lineNo);
          ids.add(parsed[0]);
          batchTexts.add(parsed[1].textValue());
        }
        if (!ids.isEmpty() && (line == null || ids.size() == window)) {
          List<Tokenized> tokens = predictor.tokenizer().tokenize(batchTexts);
          LengthSortedBatches.Result r = LengthSortedBatches.embed(predictor, tokens, batchSize, maxBatchTokens);
          for (int i = 0; i < ids.size(); i++) {
            gen.writeStartObject();
            gen.writeFieldName("id");
            gen.writeTree(ids.get(i));
            gen.writeArrayFieldStart("embedding");
            for (float v : r.vectors()[i]) {
              gen.writeNumber(v);
            }
            gen.writeEndArray();
            gen.writeEndObject();
            gen.writeRaw('\n');
          }
          texts += ids.size();
          truncated += r.truncated();
          real += r.realTokens();
          padded += r.paddedTokens();
          batches += r.forwardPasses();
          ids.clear();
          batchTexts.clear();
        }
        if (line == null) {
          break;
        }
      }
      done = true;
    } finally {
      if (!done) {
        Files.deleteIfExists(tmp);
      }
    }
    Files.move(tmp, output, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    Summary s = new Summary(texts, truncated, real, padded, batches, (System.nanoTime() - start) / 1e9);
    LOG.info(
        "Embedded {} texts in {} batches, {} s ({} texts/s); {} truncated to {} tokens; padding efficiency {}",
        s.texts(), s.batches(), String.format("%.2f", s.seconds()), String.format("%.1f", s.textsPerSecond()),
        s.truncated(), predictor.tokenizer().maxLength(), String.format("%.3f", s.paddingEfficiency()));
    return s;
  }

  /** Returns {id, text}; a bad line is an error naming the file and line number. */
  private static JsonNode[] parse(String line, Path input, long lineNo) {
    JsonNode node;
    try {
      node = JSON.readTree(line);
    } catch (JsonProcessingException e) {
      throw new BadInputException(
          input + " line " + lineNo + " is not valid JSON (" + e.getOriginalMessage() + "): every line must be"
              + " {\"id\": ..., \"text\": \"...\"}");
    }
    if (node == null || !node.isObject()) {
      throw new BadInputException(
          input + " line " + lineNo + " is not a JSON object: every line must be {\"id\": ..., \"text\": \"...\"}");
    }
    JsonNode id = node.get("id");
    if (id == null || id.isNull() || id.isContainerNode()) {
      throw new BadInputException(
          input + " line " + lineNo + " has no \"id\" (a string or a number): add one so the vector can be matched");
    }
    JsonNode text = node.get("text");
    if (text == null || !text.isTextual()) {
      throw new BadInputException(
          input + " line " + lineNo + " (id " + id + ") has no string \"text\""
              + (text == null ? "" : " (it is " + text.getNodeType().name().toLowerCase() + ")")
              + ": give the text to embed as a JSON string");
    }
    return new JsonNode[] {id, text};
  }
}
