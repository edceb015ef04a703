package io.pgembed.bench;

import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.model.embedding.onnx.OnnxEmbeddingModel;
import dev.langchain4j.model.embedding.onnx.PoolingMode;
import io.pgembed.model.EmbeddingModel;
import io.pgembed.model.EmbeddingPredictor;
import io.pgembed.model.LengthSortedBatches;
import io.pgembed.model.ModelFamilies;
import io.pgembed.model.ModelLoader;
import io.pgembed.model.Tokenized;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The three model families on the same texts, in one run: {@code runners/bench-models.sh [--texts=1000]
 * [--rounds=2] [--batchSize=32]}. all-MiniLM-L6-v2 (6 layers, bundled), bge-small-en-v1.5 and e5-small-v2 (12
 * layers each, from ONNX directories); each as this project runs it (DJL PyTorch, length-sorted batches) and, for
 * scale, as ONNX Runtime runs the same file through langchain4j. The texts are the encoder benchmark's mix (short
 * package descriptions, long source chunks), all within 256 tokens so every model sees the same tokens. Best round.
 */
public final class ModelFamiliesBenchmark {
  public static void main(String[] args) throws Exception {
    int n = EncoderBenchmark.intArg(args, "texts", 1000);
    int rounds = EncoderBenchmark.intArg(args, "rounds", 2);
    int batchSize = EncoderBenchmark.intArg(args, "batchSize", 32);
    int cores = Runtime.getRuntime().availableProcessors();
    List<String> texts = new ArrayList<>();
    long tokens = 0;
    try (EmbeddingModel minilm = ModelLoader.builder().device("cpu").build().load()) {
      List<String> all = BenchCorpus.mixed(n * 2, 42);
      List<Tokenized> tok = minilm.tokenizer().tokenize(all);
      for (int i = 0; i < all.size() && texts.size() < n; i++) {
        if (!tok.get(i).truncated()) {
          texts.add(all.get(i));
          tokens += tok.get(i).length();
        }
      }
    }
    System.out.printf("corpus: %d texts, mean %.1f tokens; %d cores; batch %d%n", texts.size(),
        (double) tokens / texts.size(), cores, batchSize);
    ExecutorService pool = Executors.newFixedThreadPool(cores);
    String[][] models = {
        {ModelLoader.BUNDLED, "MEAN"},
        {ModelFamilies.bgeSmall().toString(), "CLS"},
        {ModelFamilies.e5Small().toString(), "MEAN"}};
    List<String> lines = new ArrayList<>();
    for (String[] m : models) {
      try (EmbeddingModel model = ModelLoader.builder().model(m[0]).device("cpu").maxLength(256).build().load();
          EmbeddingPredictor p = model.newPredictor()) {
        List<Tokenized> tok = model.tokenizer().tokenize(texts);
        long modelTokens = tok.stream().mapToLong(Tokenized::length).sum();
        OnnxEmbeddingModel reference = m[0].equals(ModelLoader.BUNDLED) ? null : new OnnxEmbeddingModel(
            ModelFamilies.onnx(Path.of(m[0])), Path.of(m[0]).resolve("tokenizer.json"), PoolingMode.valueOf(m[1]),
            pool);
        LengthSortedBatches.embed(p, tok.subList(0, 64), batchSize); // warm-up
        double best = 0;
        double bestRef = 0;
        for (int r = 0; r < rounds; r++) {
          long t0 = System.nanoTime();
          LengthSortedBatches.embed(p, model.tokenizer().tokenize(texts), batchSize);
          best = Math.max(best, texts.size() / ((System.nanoTime() - t0) / 1e9));
          if (reference != null) {
            t0 = System.nanoTime();
            reference.embedAll(texts.stream().map(TextSegment::from).toList());
            bestRef = Math.max(bestRef, texts.size() / ((System.nanoTime() - t0) / 1e9));
          }
        }
        String line = String.format("%-20s %,8.1f texts/s %,10.0f tokens/s%s", model.fingerprint().name(), best,
            best * modelTokens / texts.size(), reference == null ? "" : String.format(
                "   (ONNX Runtime, same file: %.1f texts/s)", bestRef));
        System.out.println(line);
        lines.add(line);
      }
    }
    pool.shutdown();
    System.out.println("RESULT");
    lines.forEach(System.out::println);
  }
}
