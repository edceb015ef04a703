package io.pgembed.db;

import java.io.Serializable;

/**
 * The ids {@code after < id <= upTo} of one wave of a run, in the id column's own order (numbers, uuids and text
 * alike); {@code after} null means from the first id. {@link #ALL} is no bound at all.
 */
public record KeyRange(String after, String upTo) implements Serializable {
  public static final KeyRange ALL = new KeyRange(null, null);
}
