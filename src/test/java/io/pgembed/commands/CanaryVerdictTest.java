package io.pgembed.commands;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.pgembed.options.CanaryOptions;
import io.pgembed.options.OptionSources;
import java.util.List;
import java.util.Map;
import org.junit.Test;

/** The gate's rules, each threshold alone: which measurements say no, and how the reason names the option. */
public class CanaryVerdictTest {
  private static CanaryOptions options(String... args) {
    return OptionSources.parse(args, Map.of(), CanaryOptions.class);
  }

  @Test
  public void eachThresholdSaysNoWithTheOptionToChange() {
    CanaryOptions defaults = options();
    assertTrue(CanaryGate.verdict(defaults, 47, 0.9, true, 0.98, 47, 0).pass());
    assertEquals(List.of("only 12 canary rows have both vectors, fewer than --canaryMinRows=20 (raise --canaryPercent,"
        + " or run the canary on more rows)"), CanaryGate.verdict(defaults, 12, 0.9, true, 0.98, 12, 0).reasons());
    assertEquals(List.of("mean cosine drift 0.0600 is above --canaryMaxDrift=0.05"),
        CanaryGate.verdict(defaults, 47, 0.9, true, 0.94, 47, 0).reasons());
    // Drift between different weights is not judged: their vectors live in different spaces.
    assertTrue(CanaryGate.verdict(defaults, 47, 0.9, false, 0.17, 47, 0).pass());
    assertEquals(List.of("the candidate failed 2 of 49 canary rows (0.0408), above --canaryMaxFailureRate=0.01"),
        CanaryGate.verdict(defaults, 47, 0.9, true, 0.98, 49, 2).reasons());
    assertTrue(CanaryGate.verdict(options("--canaryMaxFailureRate=0.05"), 47, 0.9, true, 0.98, 49, 2).pass());
    assertEquals(List.of("mean top-10 neighbour overlap 0.500 is below --canaryMinOverlap=0.8",
        "the candidate failed 2 of 49 canary rows (0.0408), above --canaryMaxFailureRate=0.01"),
        CanaryGate.verdict(defaults, 47, 0.5, false, 0.1, 49, 2).reasons());
    assertTrue(CanaryGate.verdict(options("--canaryMinOverlap=0.5"), 47, 0.5, false, 0.1, 47, 0).pass());
  }
}
