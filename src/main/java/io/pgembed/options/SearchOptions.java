package io.pgembed.options;

/** Options of {@code search}: the database, the tables, the model and the query. */
public interface SearchOptions extends DatabaseOptions, TableOptions, ModelOptions, QueryOptions {}
