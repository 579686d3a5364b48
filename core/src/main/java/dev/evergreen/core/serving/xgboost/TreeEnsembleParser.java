package dev.evergreen.core.serving.xgboost;

import com.fasterxml.jackson.databind.JsonNode;
import dev.evergreen.api.EvergreenException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds a {@link TreeEnsemble} from the document tree of a saved XGBoost model. The field layout
 * follows the model schema of XGBoost 1.x-3.x ({@code doc/model.schema} in the XGBoost repository);
 * fields that only older versions write are read when present.
 */
final class TreeEnsembleParser {
  private static final Logger LOG = LoggerFactory.getLogger(TreeEnsembleParser.class);

  private static final String LEARNER = "learner";
  private static final String BOOSTER = LEARNER + ".gradient_booster";

  private TreeEnsembleParser() {}

  /** Tree arrays as stored, one entry per node id of the tree. */
  private record StoredTree(
      String path,
      int group,
      float weight,
      int[] leftChildren,
      int[] rightChildren,
      int[] splitIndices,
      float[] splitConditions,
      boolean[] defaultLeft) {
    int nodeCount() {
      return leftChildren.length;
    }
  }

  static TreeEnsemble parse(JsonNode root) {
    requireObject(root, "(document)");
    checkVersion(root);
    JsonNode learner = requireObject(field(root, LEARNER, "(document)"), LEARNER);
    JsonNode modelParam =
        requireObject(
            field(learner, "learner_model_param", LEARNER), LEARNER + ".learner_model_param");
    String modelParamPath = LEARNER + ".learner_model_param";

    String objectiveName =
        text(
            field(field(learner, "objective", LEARNER), "name", LEARNER + ".objective"),
            LEARNER + ".objective.name");
    Objective objective = Objective.forName(objectiveName);
    if (objective == null) {
      throw invalid(
          LEARNER + ".objective.name",
          quote(objectiveName),
          "is not a supported objective (supported: " + Objective.supportedNames() + ")",
          "Retrain with a supported objective or score the model with XGBoost itself");
    }

    int featureCount =
        intValue(field(modelParam, "num_feature", modelParamPath), modelParamPath + ".num_feature");
    if (featureCount <= 0) {
      throw invalid(modelParamPath + ".num_feature", featureCount, "must be positive", null);
    }
    int groupCount = groupCount(objective, modelParam, modelParamPath);
    float[] baseMargins = baseMargins(objective, modelParam, modelParamPath, groupCount);

    List<String> featureNames = featureNames(learner, featureCount);
    List<StoredTree> trees = readTrees(learner, featureCount, groupCount);
    return flatten(objective, featureCount, featureNames, baseMargins, trees);
  }

  /**
   * Reads {@code learner.feature_names}, which XGBoost fills when the training matrix had column
   * names (a pandas DataFrame, for example) and leaves out or empty otherwise.
   */
  private static List<String> featureNames(JsonNode learner, int featureCount) {
    JsonNode names = learner.get("feature_names");
    if (names == null || names.isNull() || (names.isArray() && names.isEmpty())) {
      return List.of();
    }
    String path = LEARNER + ".feature_names";
    requireArray(names, path);
    if (names.size() != featureCount) {
      throw invalid(
          path,
          describe(names),
          "must name each of the model's " + featureCount + " features (num_feature)",
          null);
    }
    List<String> result = new ArrayList<>(featureCount);
    for (int i = 0; i < featureCount; i++) {
      result.add(text(names.get(i), path + "[" + i + "]"));
    }
    return List.copyOf(result);
  }

  private static void checkVersion(JsonNode root) {
    JsonNode version = root.get("version");
    if (version == null || !version.isArray() || version.isEmpty()) {
      return;
    }
    int major = version.get(0).asInt(-1);
    if (major < 1 || major > 3) {
      // NOTE: the field layout is checked against 1.x-3.x only, so a later layout may parse and
      // still score differently.
      LOG.warn(
          "XGBoost model version {} is outside the supported 1.x-3.x. Compare its scores with"
              + " XGBoost before serving it",
          version);
    }
  }

  private static int groupCount(Objective objective, JsonNode modelParam, String path) {
    JsonNode numTarget = modelParam.get("num_target");
    if (numTarget != null) {
      int targets = intValue(numTarget, path + ".num_target");
      if (targets > 1) {
        throw invalid(
            path + ".num_target",
            targets,
            "means a multi-target model, which is not supported",
            "Train one model per target");
      }
    }
    int numClass = intValue(field(modelParam, "num_class", path), path + ".num_class");
    boolean multiClass =
        objective == Objective.MULTI_SOFTPROB || objective == Objective.MULTI_SOFTMAX;
    if (multiClass && numClass < 1) {
      throw invalid(
          path + ".num_class", numClass, "must be positive for " + objective(objective), null);
    }
    if (!multiClass && numClass > 1) {
      throw invalid(
          path + ".num_class",
          numClass,
          "is inconsistent with " + objective(objective) + ", which has one output",
          null);
    }
    return Math.max(numClass, 1);
  }

  /**
   * Reads {@code base_score}: a scalar string before XGBoost 3.1 ({@code "5E-1"}), a vector string
   * from 3.1 on ({@code "[5E-1]"} or one value per class), and converts it to margins.
   */
  private static float[] baseMargins(
      Objective objective, JsonNode modelParam, String path, int groupCount) {
    String fieldPath = path + ".base_score";
    JsonNode node = field(modelParam, "base_score", path);
    String text = node.isNumber() ? Float.toString(node.floatValue()) : text(node, fieldPath);
    String body = text.strip();
    if (body.startsWith("[") && body.endsWith("]")) {
      body = body.substring(1, body.length() - 1);
    }
    String[] parts = body.split(",", -1);
    if (parts.length != 1 && parts.length != groupCount) {
      throw invalid(
          fieldPath,
          quote(text),
          "has " + parts.length + " values but the model has " + groupCount + " output groups",
          null);
    }
    float[] margins = new float[groupCount];
    for (int group = 0; group < groupCount; group++) {
      String part = parts[parts.length == 1 ? 0 : group].strip();
      float score;
      try {
        score = Float.parseFloat(part);
      } catch (NumberFormatException e) {
        throw invalid(fieldPath, quote(text), "is not a number or a list of numbers", null);
      }
      if (objective.intercept == Objective.Intercept.LOGIT && !(score >= 0 && score <= 1)) {
        throw invalid(
            fieldPath,
            quote(text),
            "must be a probability in [0, 1] for " + objective(objective),
            null);
      }
      margins[group] = objective.baseMargin(score);
      if (!Float.isFinite(margins[group])) {
        throw invalid(
            fieldPath,
            quote(text),
            "gives a non-finite starting margin for " + objective(objective),
            null);
      }
    }
    return margins;
  }

  private static List<StoredTree> readTrees(JsonNode learner, int featureCount, int groupCount) {
    JsonNode booster = requireObject(field(learner, "gradient_booster", LEARNER), BOOSTER);
    String boosterName = text(field(booster, "name", BOOSTER), BOOSTER + ".name");
    JsonNode model;
    String modelPath;
    JsonNode weightDrop;
    String weightDropPath;
    switch (boosterName) {
      case "gbtree" -> {
        modelPath = BOOSTER + ".model";
        model = requireObject(field(booster, "model", BOOSTER), modelPath);
        // XGBoost 3.4 and later keep DART tree weights inside the gbtree model.
        weightDrop = model.get("weight_drop");
        weightDropPath = modelPath + ".weight_drop";
      }
      case "dart" -> {
        // Before 3.4 a DART booster wraps a gbtree and keeps the tree weights beside it.
        String gbtreePath = BOOSTER + ".gbtree";
        JsonNode gbtree = requireObject(field(booster, "gbtree", BOOSTER), gbtreePath);
        modelPath = gbtreePath + ".model";
        model = requireObject(field(gbtree, "model", gbtreePath), modelPath);
        weightDrop = booster.get("weight_drop");
        weightDropPath = BOOSTER + ".weight_drop";
      }
      default ->
          throw invalid(
              BOOSTER + ".name",
              quote(boosterName),
              "is not supported because only tree boosters (gbtree, dart) can be scored here",
              "Retrain with booster=gbtree or score the model with XGBoost itself");
    }
    checkNoCategoryEncoder(model, modelPath);

    JsonNode treeArray = requireArray(field(model, "trees", modelPath), modelPath + ".trees");
    JsonNode treeInfo =
        requireArray(field(model, "tree_info", modelPath), modelPath + ".tree_info");
    int treeCount = treeArray.size();
    if (treeInfo.size() != treeCount) {
      throw invalid(
          modelPath + ".tree_info",
          "an array of " + treeInfo.size(),
          "must have one entry per tree (" + treeCount + " trees)",
          null);
    }
    JsonNode modelParam = model.get("gbtree_model_param");
    if (modelParam != null && modelParam.has("num_trees")) {
      String numTreesPath = modelPath + ".gbtree_model_param.num_trees";
      int declared = intValue(modelParam.get("num_trees"), numTreesPath);
      if (declared != treeCount) {
        throw invalid(
            numTreesPath,
            declared,
            "does not match the " + treeCount + " trees stored (truncated file?)",
            null);
      }
    }
    float[] weights = treeWeights(weightDrop, weightDropPath, treeCount);
    // iteration_indptr only matters for scoring a prefix of the boosting rounds, and every
    // prediction here uses all trees, so it is not read.

    List<StoredTree> trees = new ArrayList<>(treeCount);
    for (int t = 0; t < treeCount; t++) {
      String infoPath = modelPath + ".tree_info[" + t + "]";
      int group = intValue(treeInfo.get(t), infoPath);
      if (group < 0 || group >= groupCount) {
        throw invalid(
            infoPath,
            group,
            "is not an output group of this model (0.." + (groupCount - 1) + ")",
            null);
      }
      String treePath = modelPath + ".trees[" + t + "]";
      trees.add(readTree(treeArray.get(t), treePath, group, weights[t], featureCount));
    }
    return trees;
  }

  private static void checkNoCategoryEncoder(JsonNode model, String modelPath) {
    JsonNode cats = model.get("cats");
    JsonNode encoder = cats == null ? null : cats.get("enc");
    if (encoder != null && encoder.isArray() && !encoder.isEmpty()) {
      throw invalid(
          modelPath + ".cats.enc",
          "an array of " + encoder.size() + " entries",
          "means the model re-encodes categorical features, which is not supported",
          "Encode categories as numbers before training");
    }
  }

  private static float[] treeWeights(JsonNode weightDrop, String path, int treeCount) {
    float[] weights = new float[treeCount];
    Arrays.fill(weights, 1.0f);
    if (weightDrop == null) {
      return weights;
    }
    requireArray(weightDrop, path);
    if (weightDrop.size() > treeCount) {
      throw invalid(
          path,
          "an array of " + weightDrop.size(),
          "has more weights than the " + treeCount + " trees",
          null);
    }
    // XGBoost gives trees beyond the end of weight_drop a weight of 1.
    for (int i = 0; i < weightDrop.size(); i++) {
      weights[i] = floatValue(weightDrop.get(i), path + "[" + i + "]");
    }
    return weights;
  }

  private static StoredTree readTree(
      JsonNode tree, String path, int group, float weight, int featureCount) {
    requireObject(tree, path);
    JsonNode treeParam = tree.get("tree_param");
    if (treeParam != null && treeParam.has("size_leaf_vector")) {
      String leafPath = path + ".tree_param.size_leaf_vector";
      int leafSize = intValue(treeParam.get("size_leaf_vector"), leafPath);
      if (leafSize > 1) {
        throw invalid(
            leafPath,
            leafSize,
            "means a multi-target tree with vector leaves, which is not supported",
            "Train with multi_strategy=one_output_per_tree");
      }
    }
    int[] left = intArray(tree, "left_children", path);
    int nodeCount = left.length;
    if (treeParam != null && treeParam.has("num_nodes")) {
      int declared = intValue(treeParam.get("num_nodes"), path + ".tree_param.num_nodes");
      if (declared != nodeCount) {
        throw invalid(
            path + ".tree_param.num_nodes",
            declared,
            "does not match the " + nodeCount + " entries of left_children",
            null);
      }
    }
    if (nodeCount == 0) {
      throw invalid(path + ".left_children", "an empty array", "must contain the root node", null);
    }
    int[] right = intArray(tree, "right_children", path);
    int[] splitIndices = intArray(tree, "split_indices", path);
    float[] splitConditions = floatArray(tree, "split_conditions", path);
    boolean[] defaultLeft = booleanArray(tree, "default_left", path);
    checkLength(right, nodeCount, path + ".right_children");
    checkLength(splitIndices, nodeCount, path + ".split_indices");
    checkLength(splitConditions, nodeCount, path + ".split_conditions");
    checkLength(defaultLeft, nodeCount, path + ".default_left");

    // split_type is absent before XGBoost 1.3; 0 is a numeric split, 1 a categorical one.
    if (tree.has("split_type")) {
      int[] splitTypes = intArray(tree, "split_type", path);
      for (int i = 0; i < splitTypes.length; i++) {
        if (splitTypes[i] != 0 && i < nodeCount && left[i] != -1) {
          throw invalid(
              path + ".split_type[" + i + "]",
              splitTypes[i],
              "is a categorical split, which is not supported",
              "Encode categorical features as numbers and retrain without enable_categorical");
        }
      }
    }
    for (int i = 0; i < nodeCount; i++) {
      if (left[i] == -1) {
        continue;
      }
      if (splitIndices[i] < 0 || splitIndices[i] >= featureCount) {
        throw invalid(
            path + ".split_indices[" + i + "]",
            splitIndices[i],
            "is not a feature index of this model (num_feature is " + featureCount + ")",
            null);
      }
    }
    return new StoredTree(
        path, group, weight, left, right, splitIndices, splitConditions, defaultLeft);
  }

  /** Lays the trees out in group order, renumbering each tree's reachable nodes breadth-first. */
  private static TreeEnsemble flatten(
      Objective objective,
      int featureCount,
      List<String> featureNames,
      float[] baseMargins,
      List<StoredTree> trees) {
    int groupCount = baseMargins.length;
    int totalNodes = 0;
    int[] groupTreeStart = new int[groupCount + 1];
    for (StoredTree tree : trees) {
      totalNodes = Math.addExact(totalNodes, tree.nodeCount());
      groupTreeStart[tree.group() + 1]++;
    }
    for (int group = 0; group < groupCount; group++) {
      groupTreeStart[group + 1] += groupTreeStart[group];
    }

    int[] treeRoots = new int[trees.size()];
    int[] features = new int[totalNodes];
    float[] values = new float[totalNodes];
    int[] leftChildren = new int[totalNodes];
    boolean[] defaultLeft = new boolean[totalNodes];
    int[] nextTreeSlot = Arrays.copyOf(groupTreeStart, groupCount);
    int nextNode = 0;
    for (StoredTree tree : trees) {
      treeRoots[nextTreeSlot[tree.group()]++] = nextNode;
      nextNode = layOut(tree, nextNode, features, values, leftChildren, defaultLeft);
    }
    return new TreeEnsemble(
        objective,
        featureCount,
        featureNames,
        baseMargins,
        groupTreeStart,
        treeRoots,
        Arrays.copyOf(features, nextNode),
        Arrays.copyOf(values, nextNode),
        Arrays.copyOf(leftChildren, nextNode),
        Arrays.copyOf(defaultLeft, nextNode));
  }

  /** Writes one tree from global index {@code base} on and returns the next free index. */
  private static int layOut(
      StoredTree tree,
      int base,
      int[] features,
      float[] values,
      int[] leftChildren,
      boolean[] defaultLeft) {
    int nodeCount = tree.nodeCount();
    // storedIds[k] is the stored node id placed at global index base + k.
    int[] storedIds = new int[nodeCount];
    boolean[] placed = new boolean[nodeCount];
    storedIds[0] = 0;
    placed[0] = true;
    int placedCount = 1;
    for (int k = 0; k < placedCount; k++) {
      int id = storedIds[k];
      int global = base + k;
      int left = tree.leftChildren()[id];
      int right = tree.rightChildren()[id];
      if (left == -1) {
        if (right != -1) {
          throw invalid(
              tree.path() + ".right_children[" + id + "]",
              right,
              "must be -1 because left_children[" + id + "] is -1 (a leaf)",
              null);
        }
        features[global] = -1;
        values[global] = tree.splitConditions()[id] * tree.weight();
        leftChildren[global] = -1;
        continue;
      }
      checkChild(tree, "left_children", id, left, placed);
      checkChild(tree, "right_children", id, right, placed);
      placed[left] = true;
      placed[right] = true;
      storedIds[placedCount] = left;
      storedIds[placedCount + 1] = right;
      features[global] = tree.splitIndices()[id];
      values[global] = tree.splitConditions()[id];
      leftChildren[global] = base + placedCount;
      defaultLeft[global] = tree.defaultLeft()[id];
      placedCount += 2;
    }
    return base + placedCount;
  }

  private static void checkChild(
      StoredTree tree, String field, int parent, int child, boolean[] placed) {
    String path = tree.path() + "." + field + "[" + parent + "]";
    if (child < 0 || child >= placed.length) {
      throw invalid(
          path, child, "is not a node id of this tree (0.." + (placed.length - 1) + ")", null);
    }
    if (placed[child]) {
      throw invalid(path, child, "points to a node that is already in the tree (a cycle)", null);
    }
  }

  // --- field access ---

  private static JsonNode field(JsonNode parent, String name, String parentPath) {
    JsonNode value = parent.get(name);
    if (value == null || value.isNull()) {
      String path = parentPath.equals("(document)") ? name : parentPath + "." + name;
      throw EvergreenException.invalid(
          "XGBoost model field "
              + path
              + " is missing. Pass a complete model saved by XGBoost 1.x-3.x with"
              + " save_model(\"model.json\") or save_model(\"model.ubj\").");
    }
    return value;
  }

  private static JsonNode requireObject(JsonNode node, String path) {
    if (!node.isObject()) {
      throw invalid(path, describe(node), "must be an object", null);
    }
    return node;
  }

  private static JsonNode requireArray(JsonNode node, String path) {
    if (!node.isArray()) {
      throw invalid(path, describe(node), "must be an array", null);
    }
    return node;
  }

  private static String text(JsonNode node, String path) {
    if (!node.isTextual()) {
      throw invalid(path, describe(node), "must be a string", null);
    }
    return node.textValue();
  }

  /** Reads an integer stored as a JSON number or, as XGBoost stores parameters, a string. */
  private static int intValue(JsonNode node, String path) {
    if (node.isIntegralNumber() && node.canConvertToInt()) {
      return node.intValue();
    }
    if (node.isTextual()) {
      try {
        return Integer.parseInt(node.textValue().strip());
      } catch (NumberFormatException e) {
        // Reported below.
      }
    }
    throw invalid(path, describe(node), "must be an integer", null);
  }

  private static float floatValue(JsonNode node, String path) {
    if (!node.isNumber()) {
      throw invalid(path, describe(node), "must be a number", null);
    }
    return node.floatValue();
  }

  private static int[] intArray(JsonNode tree, String name, String treePath) {
    String path = treePath + "." + name;
    JsonNode array = requireArray(field(tree, name, treePath), path);
    int[] values = new int[array.size()];
    for (int i = 0; i < values.length; i++) {
      values[i] = intValue(array.get(i), path + "[" + i + "]");
    }
    return values;
  }

  private static float[] floatArray(JsonNode tree, String name, String treePath) {
    String path = treePath + "." + name;
    JsonNode array = requireArray(field(tree, name, treePath), path);
    float[] values = new float[array.size()];
    for (int i = 0; i < values.length; i++) {
      values[i] = floatValue(array.get(i), path + "[" + i + "]");
    }
    return values;
  }

  /** Reads flags stored as 0/1 integers (XGBoost 1.6 and later) or booleans (earlier). */
  private static boolean[] booleanArray(JsonNode tree, String name, String treePath) {
    String path = treePath + "." + name;
    JsonNode array = requireArray(field(tree, name, treePath), path);
    boolean[] values = new boolean[array.size()];
    for (int i = 0; i < values.length; i++) {
      JsonNode element = array.get(i);
      values[i] = element.isBoolean() ? element.booleanValue() : intValue(element, path) != 0;
    }
    return values;
  }

  private static void checkLength(int[] values, int expected, String path) {
    checkLength(values.length, expected, path);
  }

  private static void checkLength(float[] values, int expected, String path) {
    checkLength(values.length, expected, path);
  }

  private static void checkLength(boolean[] values, int expected, String path) {
    checkLength(values.length, expected, path);
  }

  private static void checkLength(int length, int expected, String path) {
    if (length != expected) {
      throw invalid(
          path,
          "an array of " + length,
          "must have one entry per node (" + expected + " nodes)",
          null);
    }
  }

  private static String describe(JsonNode node) {
    if (node.isObject()) {
      return "an object";
    }
    if (node.isArray()) {
      return "an array of " + node.size();
    }
    String text = node.toString();
    return text.length() > 40 ? text.substring(0, 40) + "..." : text;
  }

  private static String quote(String value) {
    return "\"" + value + "\"";
  }

  private static String objective(Objective objective) {
    return "objective " + objective.xgboostName;
  }

  private static EvergreenException invalid(
      String path, Object value, String problem, String nextStep) {
    String step =
        nextStep != null
            ? nextStep
            : "Save the model again with XGBoost 1.x-3.x (save_model(\"model.json\") or"
                + " save_model(\"model.ubj\"))";
    return EvergreenException.invalid(
        "XGBoost model field " + path + " = " + value + " " + problem + ". " + step + ".");
  }
}
