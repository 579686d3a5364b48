package dev.evergreen.api.data;

/** One frequent value of a column and how many rows hold it. */
public record ValueCount(String value, long count) {}
