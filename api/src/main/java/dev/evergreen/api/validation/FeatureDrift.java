package dev.evergreen.api.validation;

/** Population stability index of one feature between the reference and the current snapshot. */
public record FeatureDrift(String feature, double psi) {}
