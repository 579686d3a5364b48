package dev.evergreen.core.serving.xgboost;

import java.util.List;
import java.util.Objects;

/**
 * XGBoost tree model scored in plain Java, without the native library.
 *
 * <p>All trees live in flat primitive arrays, one entry per node, so scoring a row allocates
 * nothing and each tree's nodes sit together in memory. Each tree's nodes are renumbered
 * breadth-first with the right child stored right after the left child. Trees are grouped by output
 * group (class), keeping their order within a group.
 *
 * <p>Margins are summed in float32 in tree order, starting from the base margin, and the link is
 * applied in float32, as XGBoost's CPU predictor does. Results therefore match {@code
 * Booster.predict} to about one float32 ulp, the difference between {@code expf} and {@link
 * Math#exp}.
 *
 * <p>Instances are immutable and safe for concurrent use.
 */
public final class TreeEnsemble {
  private final Objective objective;
  private final int featureCount;

  /** The model's {@code feature_names}, one per feature, or empty when it has none. */
  private final List<String> featureNames;

  private final int groupCount;
  private final int outputWidth;

  /** Starting margin per output group. */
  private final float[] baseMargins;

  /** Trees of group g are {@code groupTreeStart[g] .. groupTreeStart[g + 1]}. */
  private final int[] groupTreeStart;

  /** Global node index of each tree's root, in group order. */
  private final int[] treeRoots;

  /** Feature index of a split node, or -1 for a leaf. */
  private final int[] nodeFeatures;

  /** Split threshold of a split node, or the (tree-weighted) leaf value of a leaf. */
  private final float[] nodeValues;

  /** Global index of the left child. The right child is at the next index. */
  private final int[] nodeLeftChildren;

  /** Whether a missing (NaN) value goes to the left child. */
  private final boolean[] nodeDefaultLeft;

  TreeEnsemble(
      Objective objective,
      int featureCount,
      List<String> featureNames,
      float[] baseMargins,
      int[] groupTreeStart,
      int[] treeRoots,
      int[] nodeFeatures,
      float[] nodeValues,
      int[] nodeLeftChildren,
      boolean[] nodeDefaultLeft) {
    this.objective = objective;
    this.featureCount = featureCount;
    this.featureNames = featureNames;
    this.groupCount = baseMargins.length;
    this.outputWidth = objective.link == Objective.Link.ARGMAX ? 1 : groupCount;
    this.baseMargins = baseMargins;
    this.groupTreeStart = groupTreeStart;
    this.treeRoots = treeRoots;
    this.nodeFeatures = nodeFeatures;
    this.nodeValues = nodeValues;
    this.nodeLeftChildren = nodeLeftChildren;
    this.nodeDefaultLeft = nodeDefaultLeft;
  }

  /**
   * Parses a model saved by XGBoost 1.x-3.x in JSON ({@code Booster.toByteArray("json")}, {@code
   * save_model("x.json")}) or UBJSON ({@code "ubj"}), detecting the format from the first bytes.
   *
   * @throws dev.evergreen.api.EvergreenException of kind INVALID_INPUT when the bytes are not a
   *     readable model or the model uses a booster, objective or split type that is not supported
   */
  public static TreeEnsemble parse(byte[] model) {
    Objects.requireNonNull(model, "model");
    return TreeEnsembleParser.parse(ModelDocument.read(model));
  }

  /** Returns the number of input features, {@code num_feature} in the model. */
  public int featureCount() {
    return featureCount;
  }

  /**
   * Returns the feature names saved with the model, in feature order, or an empty list when the
   * model was trained without them.
   */
  public List<String> featureNames() {
    return featureNames;
  }

  /**
   * Returns the values per row: {@code num_class} for multi:softprob and 1 for every other
   * objective, multi:softmax included (it returns the class index).
   */
  public int outputWidth() {
    return outputWidth;
  }

  /** Returns the XGBoost objective name, for example {@code binary:logistic}. */
  public String objective() {
    return objective.xgboostName;
  }

  /** Returns the number of trees. */
  int treeCount() {
    return treeRoots.length;
  }

  /**
   * Scores one row, {@code features[offset .. offset + featureCount())} with {@code Float.NaN} for
   * a missing value, and writes {@link #outputWidth()} values to {@code out[outOffset ..]}.
   * Allocates nothing.
   *
   * @throws IndexOutOfBoundsException when the row or the output range lies outside its array
   */
  public void predict(float[] features, int offset, double[] out, int outOffset) {
    Objects.checkFromIndexSize(offset, featureCount, features.length);
    Objects.checkFromIndexSize(outOffset, outputWidth, out.length);
    switch (objective.link) {
      case IDENTITY -> out[outOffset] = margin(0, features, offset);
      case SIGMOID -> out[outOffset] = Objective.sigmoid(margin(0, features, offset));
      case EXP -> out[outOffset] = (float) Math.exp(margin(0, features, offset));
      case SOFTMAX -> softmax(features, offset, out, outOffset);
      case ARGMAX -> out[outOffset] = argmax(features, offset);
    }
  }

  /**
   * Scores {@code rows} rows laid out row-major in {@code features} and returns {@code rows *
   * outputWidth()} values, row-major.
   *
   * @throws IllegalArgumentException when rows is negative
   * @throws IndexOutOfBoundsException when features holds fewer than {@code rows * featureCount()}
   *     values
   */
  public double[] predict(float[] features, int rows) {
    if (rows < 0) {
      throw new IllegalArgumentException("rows must be >= 0, got " + rows);
    }
    long valueCount = (long) rows * featureCount;
    if (valueCount > features.length) {
      throw new IndexOutOfBoundsException(
          rows
              + " rows of "
              + featureCount
              + " features need "
              + valueCount
              + " values but the array has "
              + features.length);
    }
    double[] out = new double[Math.multiplyExact(rows, outputWidth)];
    for (int row = 0; row < rows; row++) {
      predict(features, row * featureCount, out, row * outputWidth);
    }
    return out;
  }

  /** Sums the base margin and the leaf values of group {@code group}'s trees in float32. */
  private float margin(int group, float[] features, int offset) {
    float sum = baseMargins[group];
    int end = groupTreeStart[group + 1];
    for (int tree = groupTreeStart[group]; tree < end; tree++) {
      sum += nodeValues[leaf(treeRoots[tree], features, offset)];
    }
    return sum;
  }

  /** Walks one tree and returns the global index of the leaf the row reaches. */
  private int leaf(int root, float[] features, int offset) {
    int node = root;
    int feature;
    while ((feature = nodeFeatures[node]) >= 0) {
      float value = features[offset + feature];
      int left = nodeLeftChildren[node];
      if (value < nodeValues[node]) {
        node = left;
      } else if (Float.isNaN(value)) {
        node = nodeDefaultLeft[node] ? left : left + 1;
      } else {
        node = left + 1;
      }
    }
    return node;
  }

  /** Writes class probabilities the way XGBoost's {@code common::Softmax} computes them. */
  private void softmax(float[] features, int offset, double[] out, int outOffset) {
    float max = Float.NEGATIVE_INFINITY;
    for (int group = 0; group < groupCount; group++) {
      float margin = margin(group, features, offset);
      out[outOffset + group] = margin;
      max = Math.max(max, margin);
    }
    double sum = 0;
    for (int group = 0; group < groupCount; group++) {
      float exp = (float) Math.exp((float) out[outOffset + group] - max);
      out[outOffset + group] = exp;
      sum += exp;
    }
    float floatSum = (float) sum;
    for (int group = 0; group < groupCount; group++) {
      out[outOffset + group] = (float) out[outOffset + group] / floatSum;
    }
  }

  /** Returns the index of the first group with the largest margin. */
  private int argmax(float[] features, int offset) {
    int best = 0;
    float bestMargin = margin(0, features, offset);
    for (int group = 1; group < groupCount; group++) {
      float margin = margin(group, features, offset);
      if (margin > bestMargin) {
        best = group;
        bestMargin = margin;
      }
    }
    return best;
  }

  @Override
  public String toString() {
    return "TreeEnsemble[objective="
        + objective.xgboostName
        + ", trees="
        + treeRoots.length
        + ", nodes="
        + nodeFeatures.length
        + ", features="
        + featureCount
        + ", outputWidth="
        + outputWidth
        + "]";
  }
}
