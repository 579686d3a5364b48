package dev.evergreen.core.data;

import dev.evergreen.api.data.ColumnType;
import dev.evergreen.api.data.PersonalDataTag;
import dev.evergreen.api.pipeline.DerivedFeature;
import dev.evergreen.api.pipeline.PipelineSpec;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** The columns a pipeline needs in every batch, and the types it expects them to have. */
public final class PipelineColumns {
  private PipelineColumns() {}

  /**
   * Returns the required columns, each once, in this order: the columns declared in {@code
   * data.columns}, the label column, the numeric and categorical features, and the source columns
   * of derived features.
   */
  public static List<String> required(PipelineSpec spec) {
    Set<String> columns = new LinkedHashSet<>(spec.data().columns().keySet());
    if (spec.label() != null && spec.label().column() != null) {
      columns.add(spec.label().column());
    }
    columns.addAll(spec.features().numeric());
    columns.addAll(spec.features().categorical());
    for (DerivedFeature derived : spec.features().derived()) {
      if (derived.from() != null) {
        columns.add(derived.from());
      }
    }
    return List.copyOf(new ArrayList<>(columns));
  }

  /** Returns the types declared in {@code data.columns}, in declaration order. */
  public static Map<String, ColumnType> declaredTypes(PipelineSpec spec) {
    Map<String, ColumnType> types = new LinkedHashMap<>();
    spec.data().columns().forEach((name, type) -> types.put(name, ColumnType.parse(type)));
    return types;
  }

  /**
   * Returns the type a snapshot stores for a declared column: {@code STRING} for a column tagged
   * {@code direct_identifier}, because its values are replaced by hex pseudonyms, and the declared
   * type otherwise. Empty when the column is not declared.
   */
  public static Optional<ColumnType> storedType(PipelineSpec spec, String column) {
    String declared = spec.data().columns().get(column);
    if (declared == null) {
      return Optional.empty();
    }
    if (isDirectIdentifier(spec, column)) {
      return Optional.of(ColumnType.STRING);
    }
    return Optional.of(ColumnType.parse(declared));
  }

  public static boolean isDirectIdentifier(PipelineSpec spec, String column) {
    return spec.data().personalData().get(column) == PersonalDataTag.DIRECT_IDENTIFIER;
  }

  /** Returns true when the label must be numeric, because the label is {@code column > limit}. */
  public static boolean isNumericLabel(PipelineSpec spec, String column) {
    return spec.label() != null
        && column.equals(spec.label().column())
        && spec.label().greaterThan() != null;
  }

  public static boolean isDerivedSource(PipelineSpec spec, String column) {
    return spec.features().derived().stream().anyMatch(d -> column.equals(d.from()));
  }

  /**
   * Describes why a column is required, for error messages, such as {@code the label column} or
   * {@code a numeric feature}.
   */
  public static String role(PipelineSpec spec, String column) {
    List<String> roles = new ArrayList<>();
    if (spec.data().columns().containsKey(column)) {
      roles.add("declared in data.columns");
    }
    if (spec.label() != null && column.equals(spec.label().column())) {
      roles.add("the label column");
    }
    if (spec.features().numeric().contains(column)) {
      roles.add("a numeric feature");
    }
    if (spec.features().categorical().contains(column)) {
      roles.add("a categorical feature");
    }
    for (DerivedFeature derived : spec.features().derived()) {
      if (column.equals(derived.from())) {
        roles.add("the source of derived feature '" + derived.name() + "'");
      }
    }
    return roles.isEmpty() ? "not required" : String.join(" and ", roles);
  }
}
