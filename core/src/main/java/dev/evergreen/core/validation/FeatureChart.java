package dev.evergreen.core.validation;

import dev.evergreen.api.pipeline.DerivedFeature;
import dev.evergreen.api.pipeline.PipelineSpec;
import dev.evergreen.core.profile.ColumnSketch;
import dev.evergreen.core.profile.DatasetProfile;
import dev.evergreen.core.profile.FrequentItems;
import dev.evergreen.core.profile.KllSketch;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Distribution of one feature in the reference and the current batch, as shares of rows per bin,
 * drawn from the stored profiles.
 *
 * <p>Numeric features: {@value #NUMERIC_BINS} bins of equal width between the smallest and the
 * largest value of both batches, counted from the quantile sketches, so each share carries the
 * sketch's rank error. Categorical features: the {@value #TOP_VALUES} most frequent values of the
 * reference (of the current batch without a reference) and one bin for every other value, counted
 * from the frequent-value counters. Derived calendar features: the exact hour-of-day or day-of-week
 * counts. Null values are left out of the shares.
 *
 * @param feature feature name
 * @param kind {@code numeric} or {@code categorical}
 * @param labels one label per bin
 * @param reference share of the reference's non-null values per bin, null without a reference
 * @param current share of the current batch's non-null values per bin
 */
public record FeatureChart(
    String feature, String kind, List<String> labels, double[] reference, double[] current) {
  static final int NUMERIC_BINS = 20;
  static final int TOP_VALUES = 12;
  private static final String[] DAYS = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};

  /**
   * Returns one chart per numeric, categorical and derived feature of {@code spec}, in that order,
   * or one per column of {@code current} when {@code spec} is null. A feature that the current
   * profile lacks, or whose reference column has another type, has no chart.
   *
   * @param reference profile of the reference batch, null for none
   */
  public static List<FeatureChart> of(
      PipelineSpec spec, DatasetProfile reference, DatasetProfile current) {
    List<FeatureChart> charts = new ArrayList<>();
    if (spec == null) {
      for (ColumnSketch column : current.columns()) {
        ColumnSketch before = matching(reference, column);
        if (column.quantiles() != null) {
          charts.add(numeric(column.name(), before, column));
        } else {
          charts.add(categorical(column.name(), before, column));
        }
      }
      return charts;
    }
    for (String feature : spec.features().numeric()) {
      Optional<ColumnSketch> column = current.column(feature);
      if (column.isPresent() && column.get().quantiles() != null) {
        charts.add(numeric(feature, matching(reference, column.get()), column.get()));
      }
    }
    for (String feature : spec.features().categorical()) {
      current
          .column(feature)
          .ifPresent(c -> charts.add(categorical(feature, matching(reference, c), c)));
    }
    for (DerivedFeature derived : spec.features().derived()) {
      Optional<ColumnSketch> column = current.column(derived.from());
      if (column.isEmpty() || column.get().hours() == null) {
        continue;
      }
      ColumnSketch before = matching(reference, column.get());
      switch (derived.function()) {
        case "hour_of_day" ->
            charts.add(
                calendar(
                    derived.name(),
                    hourLabels(),
                    before == null ? null : before.hours(),
                    column.get().hours()));
        case "day_of_week" ->
            charts.add(
                calendar(
                    derived.name(),
                    List.of(DAYS),
                    before == null ? null : before.days(),
                    column.get().days()));
        default -> {}
      }
    }
    return charts;
  }

  private static ColumnSketch matching(DatasetProfile reference, ColumnSketch current) {
    if (reference == null) {
      return null;
    }
    return reference.column(current.name()).filter(c -> c.type() == current.type()).orElse(null);
  }

  private static FeatureChart numeric(String feature, ColumnSketch before, ColumnSketch after) {
    KllSketch.Cdf currentCdf = after.quantiles().cdf();
    KllSketch.Cdf referenceCdf = before == null ? null : before.quantiles().cdf();
    double low = Double.POSITIVE_INFINITY;
    double high = Double.NEGATIVE_INFINITY;
    for (ColumnSketch sketch : new ColumnSketch[] {before, after}) {
      if (sketch != null && sketch.moments().count() > 0) {
        low = Math.min(low, sketch.moments().min());
        high = Math.max(high, sketch.moments().max());
      }
    }
    if (low > high) {
      return new FeatureChart(
          feature,
          PopulationStability.NUMERIC,
          List.of(),
          before == null ? null : new double[0],
          new double[0]);
    }
    int bins = low == high ? 1 : NUMERIC_BINS;
    double width = (high - low) / bins;
    List<String> labels = new ArrayList<>();
    for (int i = 0; i < bins; i++) {
      double from = low + i * width;
      double to = i == bins - 1 ? high : low + (i + 1) * width;
      labels.add(number(after, from) + " to " + number(after, to));
    }
    return new FeatureChart(
        feature,
        PopulationStability.NUMERIC,
        labels,
        referenceCdf == null ? null : histogram(referenceCdf, low, width, bins),
        histogram(currentCdf, low, width, bins));
  }

  /**
   * Returns the share of values per bin; the last bin also contains values equal to its upper end.
   */
  private static double[] histogram(KllSketch.Cdf cdf, double low, double width, int bins) {
    double[] shares = new double[bins];
    if (cdf.total() == 0) {
      return shares;
    }
    long previous = 0;
    for (int i = 0; i < bins; i++) {
      long below = i == bins - 1 ? cdf.total() : cdf.rankBelow(low + (i + 1) * width);
      shares[i] = (double) (below - previous) / cdf.total();
      previous = below;
    }
    return shares;
  }

  private static FeatureChart categorical(String feature, ColumnSketch before, ColumnSketch after) {
    ColumnSketch basis = before == null ? after : before;
    List<FrequentItems.Item> top = basis.frequent().items().stream().limit(TOP_VALUES).toList();
    List<String> labels = new ArrayList<>();
    for (FrequentItems.Item item : top) {
      labels.add(basis.text(item.value()));
    }
    labels.add("other");
    return new FeatureChart(
        feature,
        PopulationStability.CATEGORICAL,
        labels,
        before == null ? null : valueShares(before, top),
        valueShares(after, top));
  }

  private static double[] valueShares(ColumnSketch sketch, List<FrequentItems.Item> top) {
    long values = sketch.rows() - sketch.nulls();
    double[] shares = new double[top.size() + 1];
    if (values == 0) {
      return shares;
    }
    long listed = 0;
    for (int i = 0; i < top.size(); i++) {
      long count = sketch.frequent().count(top.get(i).value());
      shares[i] = (double) count / values;
      listed += count;
    }
    shares[top.size()] = (double) Math.max(0, values - listed) / values;
    return shares;
  }

  private static FeatureChart calendar(
      String feature, List<String> labels, long[] before, long[] after) {
    return new FeatureChart(
        feature,
        PopulationStability.CATEGORICAL,
        labels,
        before == null ? null : shares(before),
        shares(after));
  }

  private static double[] shares(long[] counts) {
    long total = 0;
    for (long count : counts) {
      total += count;
    }
    double[] shares = new double[counts.length];
    for (int i = 0; i < counts.length && total > 0; i++) {
      shares[i] = (double) counts[i] / total;
    }
    return shares;
  }

  private static List<String> hourLabels() {
    List<String> labels = new ArrayList<>();
    for (int hour = 0; hour < 24; hour++) {
      labels.add(Integer.toString(hour));
    }
    return labels;
  }

  /** Formats a bin edge: dates and timestamps as the sketch renders them, numbers to 4 digits. */
  private static String number(ColumnSketch column, double value) {
    if (column.hours() != null) {
      return column.text((long) Math.floor(value));
    }
    return String.format(Locale.ROOT, "%.4g", value);
  }
}
