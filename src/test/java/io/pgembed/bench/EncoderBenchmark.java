package io.pgembed.bench;

import io.pgembed.model.EmbeddingModel;
import io.pgembed.model.EmbeddingPredictor;
import io.pgembed.model.LengthSortedBatches;
import io.pgembed.model.MiniLmReference;
import io.pgembed.model.ModelLoader;
import io.pgembed.model.TestModels;
import io.pgembed.model.Tokenized;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Throughput of the DJL encoder against the ONNX Runtime reference, on the same texts in the same run.
 *
 * <p>Run with {@code runners/bench-encoder.sh [--texts=2000] [--batchSize=32] [--rounds=2]}. The corpus is half
 * Debian package descriptions (short) and half JDK source chunks (long); texts the model would truncate are left
 * out, so both implementations do exactly the same work. Each round times the reference, then the encoder with
 * length-sorted batches, then the encoder with batches in input order; the best round of each is reported.
 */
public final class EncoderBenchmark {
  public static void main(String[] args) throws Exception {
    int n = intArg(args, "texts", 2000);
    int batchSize = intArg(args, "batchSize", 32);
    int rounds = intArg(args, "rounds", 2);
    int maxBatchTokens = intArg(args, "maxBatchTokens", 2048);
    int cores = Runtime.getRuntime().availableProcessors();

    try (EmbeddingModel model = ModelLoader.builder().device("cpu").build().load();
        EmbeddingPredictor predictor = model.newPredictor()) {
      List<String> texts = new ArrayList<>();
      List<String> all = BenchCorpus.mixed(n * 2, 42);
      List<Tokenized> tok = model.tokenizer().tokenize(all);
      long tokens = 0;
      int shortTexts = 0;
      for (int i = 0; i < all.size() && texts.size() < n; i++) {
        if (!tok.get(i).truncated()) {
          texts.add(all.get(i));
          tokens += tok.get(i).length();
          shortTexts += tok.get(i).length() <= 32 ? 1 : 0;
        }
      }
      System.out.printf(
          "corpus: %d texts (%d of <= 32 tokens), mean %.1f tokens; %d cores; batch %d, max batch tokens %d%n",
          texts.size(), shortTexts, (double) tokens / texts.size(), cores, batchSize, maxBatchTokens);

      ExecutorService pool = Executors.newFixedThreadPool(cores);
      MiniLmReference reference = MiniLmReference.open(256, pool);
      // Warm up both.
      reference.embedAll(texts.subList(0, 64));
      LengthSortedBatches.embed(predictor, model.tokenizer().tokenize(texts.subList(0, 64)), batchSize);

      double bestRef = 0;
      double bestSorted = 0;
      double bestUnsorted = 0;
      double worstCos = 1;
      for (int r = 0; r < rounds; r++) {
        long t0 = System.nanoTime();
        List<float[]> ref = reference.embedAll(texts);
        double refRate = texts.size() / ((System.nanoTime() - t0) / 1e9);

        t0 = System.nanoTime();
        LengthSortedBatches.Result sorted =
            LengthSortedBatches.embed(predictor, model.tokenizer().tokenize(texts), batchSize, maxBatchTokens);
        double sortedRate = texts.size() / ((System.nanoTime() - t0) / 1e9);

        t0 = System.nanoTime();
        List<Tokenized> inOrder = model.tokenizer().tokenize(texts);
        for (int i = 0; i < inOrder.size(); i += batchSize) {
          predictor.embed(new io.pgembed.model.TokenBatch(inOrder.subList(i, Math.min(inOrder.size(), i + batchSize))));
        }
        double unsortedRate = texts.size() / ((System.nanoTime() - t0) / 1e9);

        for (int i = 0; i < texts.size(); i++) {
          worstCos = Math.min(worstCos, TestModels.cosine(ref.get(i), sorted.vectors()[i]));
        }
        System.out.printf(
            "round %d: reference %.1f texts/s | encoder sorted %.1f texts/s (padding efficiency %.3f) | encoder"
                + " unsorted %.1f texts/s%n",
            r + 1, refRate, sortedRate, (double) sorted.realTokens() / sorted.paddedTokens(), unsortedRate);
        bestRef = Math.max(bestRef, refRate);
        bestSorted = Math.max(bestSorted, sortedRate);
        bestUnsorted = Math.max(bestUnsorted, unsortedRate);
      }
      pool.shutdown();
      System.out.printf(
          "RESULT reference(ONNX Runtime) %.1f texts/s, encoder(DJL PyTorch, length-sorted) %.1f texts/s,"
              + " ratio %.2f; unsorted batches %.1f texts/s, ratio %.2f; worst cosine %.6f%n",
          bestRef, bestSorted, bestSorted / bestRef, bestUnsorted, bestUnsorted / bestRef, worstCos);
    }
  }

  static int intArg(String[] args, String name, int fallback) {
    for (String a : args) {
      if (a.startsWith("--" + name + "=")) {
        return Integer.parseInt(a.substring(name.length() + 3));
      }
    }
    return fallback;
  }
}
