package dev.evergreen.core.tracking;

/**
 * A dataset as MLflow records it, shared by the runs of one experiment that log the same name and
 * digest.
 *
 * @param digest a short content hash that the client computes
 * @param sourceType kind of source, such as {@code local}, {@code http} or {@code delta_table}
 * @param source JSON text that locates the data, as the client sends it
 * @param schema JSON text, or null
 * @param profile JSON text with summary figures such as the row count, or null
 */
public record Dataset(
    String name, String digest, String sourceType, String source, String schema, String profile) {}
