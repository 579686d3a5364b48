package dev.evergreen.core.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.evergreen.api.ErrorKind;
import dev.evergreen.api.EvergreenException;
import dev.evergreen.api.pipeline.DerivedFeature;
import dev.evergreen.api.pipeline.FeaturesSpec;
import dev.evergreen.api.pipeline.LabelSpec;
import dev.evergreen.api.pipeline.PipelineSpec;
import dev.evergreen.api.pipeline.SplitSpec;
import dev.evergreen.core.serving.InputBatch;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeSet;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DatasetLoaderTest {
  private static final int ROWS = 30_000;
  private static final SplitSpec RANDOM = new SplitSpec("random", 0.2, 11L, null);

  @TempDir static Path dir;
  private static Path sample;
  private static FlightSamples.Rows raw;

  @BeforeAll
  static void writeSample() throws Exception {
    sample = FlightSamples.write(dir, ROWS);
    raw = FlightSamples.read(sample);
  }

  private static TrainingData load(PipelineSpec spec) {
    return DatasetLoader.load(sample, spec, 1);
  }

  private static long nullDelays() {
    return Arrays.stream(raw.delay()).filter(Double::isNaN).count();
  }

  @Test
  void randomSplitMatchesHoldoutFraction() {
    TrainingData data = load(FlightSamples.binary(RANDOM));

    long labeled = ROWS - nullDelays();
    assertThat(nullDelays()).isPositive();
    assertThat(data.droppedLabels()).isEqualTo(nullDelays());
    assertThat(data.trainRows() + data.holdout().rows()).isEqualTo(labeled);
    assertThat((double) data.holdout().rows() / labeled).isCloseTo(0.2, within(0.01));
    assertThat(data.trainLabels()).hasSize(data.trainRows());
    assertThat(data.trainFeatures()).hasSize(data.trainRows() * 5);
    assertThat(data.holdout().labels()).hasSize(data.holdout().rows());
    assertThat(data.holdout().rowNumbers()).hasSize(data.holdout().rows());
  }

  @Test
  void randomSplitDrawsOncePerFileRow() {
    TrainingData data = load(FlightSamples.binary(RANDOM));

    SplittableRandom random = new SplittableRandom(11L);
    List<Long> expected = new ArrayList<>();
    for (int row = 0; row < ROWS; row++) {
      double draw = random.nextDouble();
      if (!Double.isNaN(raw.delay()[row]) && draw < 0.2) {
        expected.add((long) row);
      }
    }
    assertThat(data.holdout().rowNumbers()).containsExactly(toArray(expected));
  }

  @Test
  void randomSplitRepeatsWithSameSeed() {
    TrainingData first = load(FlightSamples.binary(RANDOM));
    TrainingData second = load(FlightSamples.binary(RANDOM));
    TrainingData otherSeed = load(FlightSamples.binary(new SplitSpec("random", 0.2, 12L, null)));

    assertThat(second.holdout().rowNumbers()).isEqualTo(first.holdout().rowNumbers());
    assertThat(second.trainFeatures()).isEqualTo(first.trainFeatures());
    assertThat(second.trainLabels()).isEqualTo(first.trainLabels());
    assertThat(otherSeed.holdout().rowNumbers()).isNotEqualTo(first.holdout().rowNumbers());
  }

  @Test
  void timeSplitHoldsOutNewestRows() {
    TrainingData data = load(FlightSamples.binary(new SplitSpec("time", 0.25, null, "date")));

    long labeled = ROWS - nullDelays();
    assertThat(data.holdout().rows()).isEqualTo(Math.round(labeled * 0.25));
    Set<Long> holdout = new HashSet<>();
    for (long row : data.holdout().rowNumbers()) {
      holdout.add(row);
    }
    // Order labeled rows by (time, row); the holdout must be exactly a suffix of that order.
    List<Integer> order = new ArrayList<>();
    for (int row = 0; row < ROWS; row++) {
      if (!Double.isNaN(raw.delay()[row])) {
        order.add(row);
      }
    }
    order.sort(Comparator.<Integer>comparingLong(row -> raw.micros()[row]).thenComparing(r -> r));
    int firstHoldout = order.size() - holdout.size();
    for (int i = 0; i < order.size(); i++) {
      assertThat(holdout.contains((long) order.get(i)))
          .as("labeled row %d at time position %d", order.get(i), i)
          .isEqualTo(i >= firstHoldout);
    }
    // The sample is in hash order, so a time split differs from taking the last file rows.
    long[] rowNumbers = data.holdout().rowNumbers();
    assertThat(rowNumbers[0]).isLessThan(ROWS / 2);
  }

  @Test
  void labelsAreBinarizedAtThreshold() {
    TrainingData data = load(FlightSamples.binary(RANDOM));

    long[] rows = data.holdout().rowNumbers();
    for (int i = 0; i < rows.length; i++) {
      double delay = raw.delay()[(int) rows[i]];
      assertThat(data.holdout().labels()[i]).isEqualTo(delay > 15 ? 1.0 : 0.0);
    }
    assertThat(data.classNames()).containsExactly("0", "1");
    assertThat(data.numClass()).isEqualTo(2);
    int positives = 0;
    for (float label : data.trainLabels()) {
      assertThat(label).isIn(0f, 1f);
      positives += (int) label;
    }
    assertThat(positives).isBetween(data.trainRows() / 10, data.trainRows() / 2);
  }

  @Test
  void holdoutKeepsRawSourceColumns() {
    TrainingData data = load(FlightSamples.binary(RANDOM));

    InputBatch inputs = data.holdout().inputs();
    assertThat(inputs.numeric().keySet()).containsExactly("distance");
    assertThat(inputs.text().keySet()).containsExactlyInAnyOrder("origin", "destination", "date");
    long[] rows = data.holdout().rowNumbers();
    for (int i = 0; i < rows.length; i++) {
      int row = (int) rows[i];
      assertThat(inputs.numeric().get("distance")[i]).isEqualTo(raw.distance()[row]);
      assertThat(inputs.text().get("origin")[i]).isEqualTo(raw.origin()[row]);
      assertThat(inputs.text().get("destination")[i]).isEqualTo(raw.destination()[row]);
      LocalDateTime expected =
          LocalDateTime.ofEpochSecond(raw.micros()[row] / 1_000_000, 0, ZoneOffset.UTC);
      assertThat(LocalDateTime.parse(inputs.text().get("date")[i])).isEqualTo(expected);
    }
  }

  @Test
  void categoriesLearnedFromTrainingRowsOnly() {
    TrainingData data = load(FlightSamples.binary(RANDOM));

    Set<Long> holdout = new HashSet<>();
    for (long row : data.holdout().rowNumbers()) {
      holdout.add(row);
    }
    Map<String, Integer> counts = new HashMap<>();
    Set<String> holdoutOnly = new TreeSet<>();
    for (int row = 0; row < ROWS; row++) {
      if (Double.isNaN(raw.delay()[row])) {
        continue;
      }
      if (holdout.contains((long) row)) {
        holdoutOnly.add(raw.origin()[row]);
      } else {
        counts.merge(raw.origin()[row], 1, Integer::sum);
      }
    }
    holdoutOnly.removeAll(counts.keySet());
    List<String> expected = new ArrayList<>(counts.keySet());
    expected.sort(
        Comparator.<String>comparingInt(value -> -counts.get(value))
            .thenComparing(Comparator.naturalOrder()));

    FeatureEncoding.Feature origin = data.encoding().features().get(1);
    assertThat(origin.name()).isEqualTo("origin");
    assertThat(origin.categories()).containsExactlyElementsOf(expected);
    // Airports seen only in the holdout are not categories, so they encode as missing.
    for (String airport : holdoutOnly) {
      assertThat(origin.categories()).doesNotContain(airport);
    }
  }

  @Test
  void trainFeaturesMatchServingEncoding() {
    TrainingData data = load(FlightSamples.binary(RANDOM));

    Set<Long> holdout = new HashSet<>();
    for (long row : data.holdout().rowNumbers()) {
      holdout.add(row);
    }
    List<Integer> trainRows = new ArrayList<>();
    for (int row = 0; row < ROWS; row++) {
      if (!Double.isNaN(raw.delay()[row]) && !holdout.contains((long) row)) {
        trainRows.add(row);
      }
    }
    int n = trainRows.size();
    double[] distance = new double[n];
    String[] origin = new String[n];
    String[] destination = new String[n];
    String[] date = new String[n];
    for (int i = 0; i < n; i++) {
      int row = trainRows.get(i);
      distance[i] = raw.distance()[row];
      origin[i] = raw.origin()[row];
      destination[i] = raw.destination()[row];
      date[i] = Instant.ofEpochSecond(raw.micros()[row] / 1_000_000).toString();
    }
    InputBatch batch =
        new InputBatch(
            n,
            Map.of("distance", distance),
            Map.of("origin", origin, "destination", destination, "date", date));

    assertThat(data.trainRows()).isEqualTo(n);
    assertThat(data.encoding().encode(batch)).isEqualTo(data.trainFeatures());
  }

  @Test
  void multiClassLabelsMapToSortedClasses() {
    TrainingData data = load(FlightSamples.multiClass(RANDOM));

    assertThat(data.classNames()).containsExactly("early", "late", "on_time");
    assertThat(data.numClass()).isEqualTo(3);
    assertThat(data.outputWidth()).isEqualTo(3);
    assertThat(data.droppedLabels()).isEqualTo(nullDelays());
    long[] rows = data.holdout().rowNumbers();
    for (int i = 0; i < rows.length; i++) {
      double delay = raw.delay()[(int) rows[i]];
      String expected = "late";
      if (delay < 0) {
        expected = "early";
      } else if (delay < 15) {
        expected = "on_time";
      }
      assertThat(data.classNames().get((int) data.holdout().labels()[i])).isEqualTo(expected);
    }
  }

  @Test
  void regressionLabelsAreValues() {
    TrainingData data = load(FlightSamples.regression(RANDOM));

    assertThat(data.classNames()).isEmpty();
    assertThat(data.numClass()).isZero();
    long[] rows = data.holdout().rowNumbers();
    for (int i = 0; i < rows.length; i++) {
      assertThat(data.holdout().labels()[i]).isEqualTo(raw.delay()[(int) rows[i]]);
    }
  }

  @Test
  void missingColumnIsRejected() {
    FeaturesSpec features = new FeaturesSpec(List.of("distance", "seats"), null, null, null);
    PipelineSpec spec =
        FlightSamples.pipeline(
            new LabelSpec("delay", 15.0),
            features,
            RANDOM,
            FlightSamples.trainer("binary:logistic"));

    assertThatThrownBy(() -> load(spec))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining("'seats'")
        .hasMessageContaining("features.numeric")
        .extracting(e -> ((EvergreenException) e).kind())
        .isEqualTo(ErrorKind.INVALID_INPUT);
  }

  @Test
  void binaryLabelOutsideZeroOneRejected() {
    PipelineSpec spec =
        FlightSamples.pipeline(
            new LabelSpec("delay", null),
            FlightSamples.features(),
            RANDOM,
            FlightSamples.trainer("binary:logistic"));

    assertThatThrownBy(() -> load(spec))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining("row 1: label -8 is not one of 0, 1")
        .hasMessageContaining("label.greaterThan");
  }

  @Test
  void textTimestampsParsedAsUtc() throws Exception {
    Path file =
        writeTable(
            "texts",
            """
            SELECT * FROM (VALUES
              (0, '2001-01-01T06:00:00', 1.0),
              (1, '2001-01-01 23:30:00.25', 0.0),
              (2, '2001-01-07T01:00:00+02:00', 1.0),
              (3, '2001-01-06T23:00:00Z', 0.0),
              (4, NULL, 1.0),
              (5, '2001-01-03T12:00:00-0500', 0.0)) t(id, departure, y)
            """);
    PipelineSpec spec =
        FlightSamples.pipeline(
            new LabelSpec("y", null),
            new FeaturesSpec(
                List.of("id"),
                null,
                List.of(
                    new DerivedFeature("hour", "departure", "hour_of_day"),
                    new DerivedFeature("day", "departure", "day_of_week")),
                null),
            new SplitSpec("time", 0.2, null, "id"),
            FlightSamples.trainer("binary:logistic"));

    TrainingData data = DatasetLoader.load(file, spec, 1);

    // Expected hours and ISO days: Monday 06:00, Monday 23:30, Saturday 23:00 UTC (01:00 at
    // +02:00 on Sunday), Saturday 23:00, missing, Wednesday 17:00 UTC.
    float nan = Float.NaN;
    float[] expected = {0, 6, 1, 1, 23, 1, 2, 23, 6, 3, 23, 6, 4, nan, nan};
    assertThat(data.trainRows()).isEqualTo(5);
    assertThat(data.trainFeatures()).containsExactly(expected);
    assertThat(data.holdout().inputs().text().get("departure"))
        .containsExactly("2001-01-03T17:00:00");
  }

  @Test
  void invalidTextTimestampNamesRowAndValue() throws Exception {
    Path file =
        writeTable(
            "bad-texts",
            "SELECT * FROM (VALUES (0, '2001-01-01T06:00:00', 1.0), (1, 'soon', 0.0)) t(id, departure, y)");
    PipelineSpec spec =
        FlightSamples.pipeline(
            new LabelSpec("y", null),
            new FeaturesSpec(
                List.of("id"),
                null,
                List.of(new DerivedFeature("hour", "departure", "hour_of_day")),
                null),
            RANDOM,
            FlightSamples.trainer("binary:logistic"));

    assertThatThrownBy(() -> DatasetLoader.load(file, spec, 1))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining("column 'departure' row 1")
        .hasMessageContaining("'soon'");
  }

  @Test
  void featureBeyondFloatRangeRejected() throws Exception {
    Path file =
        writeTable(
            "huge-values",
            "SELECT * FROM (VALUES (0, 1.5::DOUBLE, 1.0), (1, -1e308::DOUBLE, 0.0)) t(id, x, y)");
    PipelineSpec spec =
        FlightSamples.pipeline(
            new LabelSpec("y", null),
            new FeaturesSpec(List.of("id", "x"), null, null, null),
            RANDOM,
            FlightSamples.trainer("binary:logistic"));

    assertThatThrownBy(() -> DatasetLoader.load(file, spec, 1))
        .isInstanceOf(EvergreenException.class)
        .hasMessageContaining("column 'x' row 1: the value -1.0E308 is beyond ±3.4028235E38")
        .hasMessageContaining("features.numeric");
  }

  private static Path writeTable(String name, String select) throws Exception {
    Path file = dir.resolve(name + ".parquet");
    try (Connection connection = DriverManager.getConnection("jdbc:duckdb:");
        Statement statement = connection.createStatement()) {
      statement.execute("COPY (" + select + ") TO '" + file + "' (FORMAT parquet)");
    }
    return file;
  }

  private static long[] toArray(List<Long> values) {
    return values.stream().mapToLong(Long::longValue).toArray();
  }
}
