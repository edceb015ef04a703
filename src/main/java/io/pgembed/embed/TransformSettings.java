package io.pgembed.embed;

import java.io.Serializable;
import java.util.function.Consumer;

/**
 * The settings of an immutable transform: each of its {@code withX} methods returns a new transform over a changed
 * copy ({@link #copy}), so no constructor of many arguments is written again per setting.
 *
 * <pre>{@code
 * public EmbedTexts<K> withBatchSize(int n) { return new EmbedTexts<>(s.copy(c -> c.batchSize = n)); }
 * }</pre>
 */
public abstract class TransformSettings<S extends TransformSettings<S>> implements Serializable, Cloneable {
  /** A copy of these settings with {@code change} applied; these stay as they are. */
  @SuppressWarnings("unchecked")
  public S copy(Consumer<S> change) {
    try {
      S copy = (S) clone();
      change.accept(copy);
      return copy;
    } catch (CloneNotSupportedException e) {
      throw new AssertionError(e);
    }
  }
}
