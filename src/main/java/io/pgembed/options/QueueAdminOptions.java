package io.pgembed.options;

/** Options of {@code status} and {@code cancel}: the database that holds the queue, and the queue. */
public interface QueueAdminOptions extends DatabaseOptions, QueueOptions {}
