package dev.evergreen.core.training;

import dev.evergreen.core.serving.CheckSet;

/**
 * A model trained by {@link XgboostTrainer}, free of native handles.
 *
 * @param model the booster in XGBoost JSON ({@code Booster.toByteArray("json")})
 * @param engineVersion XGBoost4J version that trained it, or {@code unknown}
 * @param trainSeconds wall-clock seconds spent in {@code XGBoost.train}
 * @param checkSet the first holdout rows with the scores XGBoost's own {@code Booster.predict} gave
 *     them
 */
public record TrainedModel(
    byte[] model, String engineVersion, double trainSeconds, CheckSet checkSet) {}
