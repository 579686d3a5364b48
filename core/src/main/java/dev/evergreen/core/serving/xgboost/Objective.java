package dev.evergreen.core.serving.xgboost;

/**
 * XGBoost objectives that {@link TreeEnsemble} can score: how the stored {@code base_score} becomes
 * a starting margin and which link turns margins into predictions.
 *
 * <p>The float32 arithmetic follows XGBoost 3.4 ({@code src/common/math.h}, {@code
 * src/objective/*}) so that scores match {@code Booster.predict} to about one float32 ulp.
 */
enum Objective {
  BINARY_LOGISTIC("binary:logistic", Link.SIGMOID, Intercept.LOGIT),
  REG_LOGISTIC("reg:logistic", Link.SIGMOID, Intercept.LOGIT),
  BINARY_LOGITRAW("binary:logitraw", Link.IDENTITY, Intercept.IDENTITY),
  REG_SQUAREDERROR("reg:squarederror", Link.IDENTITY, Intercept.IDENTITY),
  /** Name of reg:squarederror before XGBoost 1.0; XGBoost 3.4 still registers it. */
  REG_LINEAR("reg:linear", Link.IDENTITY, Intercept.IDENTITY),
  REG_ABSOLUTEERROR("reg:absoluteerror", Link.IDENTITY, Intercept.IDENTITY),
  COUNT_POISSON("count:poisson", Link.EXP, Intercept.LOG),
  MULTI_SOFTPROB("multi:softprob", Link.SOFTMAX, Intercept.IDENTITY),
  MULTI_SOFTMAX("multi:softmax", Link.ARGMAX, Intercept.IDENTITY);

  /** Function from summed margins to predictions. */
  enum Link {
    IDENTITY,
    SIGMOID,
    EXP,
    SOFTMAX,
    ARGMAX
  }

  /** Conversion of {@code base_score} to a margin ({@code ObjFunction::ProbToMargin}). */
  enum Intercept {
    IDENTITY,
    LOGIT,
    LOG
  }

  /** Clamp applied to a probability before its logit, {@code kRtEps} in XGBoost. */
  private static final float RT_EPS = 1e-6f;

  final String xgboostName;
  final Link link;
  final Intercept intercept;

  Objective(String xgboostName, Link link, Intercept intercept) {
    this.xgboostName = xgboostName;
    this.link = link;
    this.intercept = intercept;
  }

  /** Returns the objective with this XGBoost name, or null when it is not supported. */
  static Objective forName(String name) {
    for (Objective objective : values()) {
      if (objective.xgboostName.equals(name)) {
        return objective;
      }
    }
    return null;
  }

  static String supportedNames() {
    StringBuilder names = new StringBuilder();
    for (Objective objective : values()) {
      if (!names.isEmpty()) {
        names.append(", ");
      }
      names.append(objective.xgboostName);
    }
    return names.toString();
  }

  /** Converts a stored {@code base_score} value to the margin that every row starts from. */
  float baseMargin(float baseScore) {
    return switch (intercept) {
      case IDENTITY -> baseScore;
      case LOGIT -> {
        float p = Math.min(Math.max(baseScore, RT_EPS), 1.0f - RT_EPS);
        yield -(float) Math.log(1.0f / p - 1.0f);
      }
      case LOG -> (float) Math.log(baseScore);
    };
  }

  /** Sigmoid of a float32 margin, computed like XGBoost's {@code common::Sigmoid(float)}. */
  static float sigmoid(float margin) {
    // XGBoost caps the exponent at 88.7 to keep expf finite and adds 1e-16, which changes no
    // float32 sum above 1.
    float x = Math.min(-margin, 88.7f);
    float denominator = (float) Math.exp(x) + 1.0f;
    return 1.0f / denominator;
  }
}
