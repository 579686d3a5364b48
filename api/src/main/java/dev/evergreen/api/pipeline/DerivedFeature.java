package dev.evergreen.api.pipeline;

/**
 * A feature computed from a source column.
 *
 * @param name feature name
 * @param from source column, a timestamp or date
 * @param function {@code hour_of_day} (0 to 23) or {@code day_of_week} (1 = Monday to 7 = Sunday,
 *     ISO 8601), computed in UTC
 */
public record DerivedFeature(String name, String from, String function) {}
