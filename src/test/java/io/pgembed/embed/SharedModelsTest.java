package io.pgembed.embed;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertSame;

import io.pgembed.model.EmbeddingModel;
import io.pgembed.model.TokenHashModel;
import org.junit.Test;

/** One model per spec per JVM: shared, reference-counted, and kept a while after its last user for the next stage. */
public class SharedModelsTest {
  @Test
  public void aModelReleasedByOneStageIsTakenOverByTheNextWithoutALoad() {
    TokenHashModel spec = new TokenHashModel(4, 64, 1);
    SharedModels.takeUnreportedLoads();
    EmbeddingModel first = SharedModels.acquire(spec);
    EmbeddingModel shared = SharedModels.acquire(spec);
    assertSame(first, shared);
    assertEquals(2, SharedModels.users(spec));
    SharedModels.release(spec);
    SharedModels.release(spec);
    assertEquals(0, SharedModels.users(spec));
    // Within the keep-alive (30 s) the next user gets the same instance: no second load.
    assertSame(first, SharedModels.acquire(spec));
    assertEquals(1, SharedModels.takeUnreportedLoads());
    SharedModels.release(spec);
  }
}
