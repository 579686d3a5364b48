package dev.evergreen.api.pipeline;

/**
 * The target of the model.
 *
 * @param column source column of the label
 * @param greaterThan when set, the label is 1 where {@code column > greaterThan} and 0 otherwise,
 *     turning a numeric column into a binary target
 */
public record LabelSpec(String column, Double greaterThan) {}
